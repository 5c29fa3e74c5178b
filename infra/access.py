"""What each Lambda function may reach (issue #18): the one table of function -> tables, actions,
secrets and email the stack turns into each function's role (``infra/stack.py``), and that
``tests/infra/test_access.py`` checks the template against.

Derived from the code, handler by handler (``app.py`` names the handlers, ``chalicelib/events``
holds their bodies, ``chalicelib/wiring.py`` builds what they use):

- ``api_handler`` serves every non-Twilio route: the shop API, the agent desk, the privacy routes
  (erasing a customer touches nearly every table) and recording links: every table.
- ``twilio_webhooks`` (``chalicelib/twilio_webhooks.py``: the ``voice_*``/``sms*`` blueprints)
  reads every table and writes the call-handling ones; never the configuration tables (shops,
  numbers, API keys, agent tokens: the operator's CLI and the API handler write them), nor the
  report runs or the live counters. No softphone key (the token route is the desk's, in the API
  handler), no CRM secret.
- the dialers (``task_stream``, ``dial_due``), the orders and outcomes streams, the live alerts and
  the text retry write the call-handling tables: orders (texts mark orders asked by SMS), tasks,
  calls, the text outbox and its log, the call-rate slots, ``idempotency`` ("once"), the CRM
  outbox... ``order_stream`` also counts orders (``live_counts``).
- ``call_stream`` adds the live counters: it reads and writes ``live_counts``, no other table; it
  also deletes at Twilio the recordings of calls the shops' retention removed (the Twilio token).
- ``crm_stream`` and ``crm_retry`` read the shops and the outbox's context and write the CRM outbox
  only; the only functions with the shops' CRM signing secrets; no Twilio token, no email.
- ``daily_reports`` reads and writes only its runs (``report_runs``) and its "once" records
  (``idempotency``); it signs recording links (the link key) and emails (SES), never Twilio.

Reads are narrowed too, by what no code path of the function reads (a read grant missing in one
branch is an outage, so a table goes only where the code shows it unread): only the API handler
reads the API keys and the agents' tokens (the shop routes' and the desk's authentication); only
the API handler and the report read the report runs; only the API handler and the CRM functions
read the CRM outbox (everyone else only adds to it, a conditional put); the live counters are read
by the API (``/v1/live``), the live alerts, the report and their own consumer, and the orders
stream that counts; the CRM functions read the shops and their outbox, nothing else. The rest of
the stores read across aggregates (one store serves them all). ``devtools/access_probe.py`` checks
every call of the moto tests against the rows. Writes, streams,
secrets and email are each function's own. Scan is granted only where the code scans (the
shops and numbers listings and the sweeps' leftovers: ``configured_shops``, ``list_shops``,
``OrderItem.scan``, ``DialTaskItem.scan``, ``ApiKeyItem.scan``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ALL: Literal["*"] = "*"  # every table of the stack

# The item operations, split as the grants are. ConditionCheckItem only happens inside a
# TransactWriteItems (authorised per item action), so it goes with the writes.
READ_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query")
SCAN_ACTION = "dynamodb:Scan"
WRITE_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)
INDEX_ACTIONS = ("dynamodb:Query",)

# The tables only the operator (cli.admin) and the API handler write.
CONFIG_TABLES = frozenset({"shops", "numbers", "api_keys", "agent_tokens", "softphone_identities"})
# Written by one function each.
OWN_TABLES = frozenset({"report_runs", "live_counts"})
# The tables the code scans (shops.py, orders.py, task_queries.py, inbound_queue.py: the minute's
# sweep of the callers waiting): Scan is granted only on these. (The agent behind a browser's
# outgoing call is a Query of the agents' by_client_identity index: the "Indexes" grant.)
SCANNED_TABLES = frozenset({"shops", "numbers", "api_keys", "order_lanes", "dial_tasks", "queue_entries"})

Secret = Literal["twilio_token", "recording_link", "twilio_api_key", "crm"]


@dataclass(frozen=True)
class Access:
    reads: frozenset[str] | Literal["*"]
    writes: frozenset[str] | Literal["*"]  # ALL, or these tables; "except" below narrows ALL
    writes_except: frozenset[str] = frozenset()
    reads_except: frozenset[str] = frozenset()  # narrows reads of ALL
    secrets: frozenset[Secret] = frozenset()
    email: bool = False

    def tables_read(self, every: frozenset[str]) -> frozenset[str]:
        read = every if self.reads == ALL else frozenset(self.reads)
        return read - self.reads_except

    def tables_written(self, every: frozenset[str]) -> frozenset[str]:
        written = every if self.writes == ALL else frozenset(self.writes)
        return written - self.writes_except


_TWILIO: frozenset[Secret] = frozenset({"twilio_token"})
# Read by the API handler alone: the shop API's keys and the desk's tokens (authentication).
API_ONLY_READS = frozenset({"api_keys", "agent_tokens"})
# Read by the API, the report and the CRM functions only, besides the above.
NOT_CALL_HANDLING_READS = API_ONLY_READS | {"report_runs", "crm_outbox"}


def _call_handling(secrets: frozenset[Secret] = _TWILIO, *, email: bool = True, counters: bool = False) -> Access:
    """Reads what calls, orders and texts need (no keys, tokens, report runs or CRM outbox; the
    live counters only with ``counters``), writes the call-handling tables (not configuration,
    report runs, counters)."""
    unread = NOT_CALL_HANDLING_READS | (frozenset() if counters else {"live_counts"})
    return Access(
        reads=ALL,
        writes=ALL,
        writes_except=CONFIG_TABLES | OWN_TABLES,
        reads_except=unread,
        secrets=secrets,
        email=email,
    )


_CRM_READS = frozenset({"shops", "crm_outbox"})  # the shop's CRM settings, the events

FUNCTION_ACCESS: dict[str, Access] = {
    "api_handler": Access(
        reads=ALL,
        writes=ALL,
        secrets=frozenset({"twilio_token", "recording_link", "twilio_api_key"}),
        email=True,
    ),
    "twilio_webhooks": _call_handling(frozenset({"twilio_token", "recording_link"})),
    # the orders stream counts orders first (events.live.count_order)
    "order_stream": Access(
        reads=ALL,
        writes=ALL,
        writes_except=CONFIG_TABLES | {"report_runs"},
        reads_except=NOT_CALL_HANDLING_READS,
        secrets=_TWILIO,
        email=True,
    ),
    "task_stream": _call_handling(),
    "dial_due": _call_handling(),
    "outcome_stream": _call_handling(),
    "live_alerts": _call_handling(counters=True),
    "text_retry": _call_handling(email=False),
    "call_stream": Access(reads=frozenset({"live_counts"}), writes=frozenset({"live_counts"}), secrets=_TWILIO),
    "crm_stream": Access(reads=_CRM_READS, writes=frozenset({"crm_outbox"}), secrets=frozenset({"crm"})),
    "crm_retry": Access(reads=_CRM_READS, writes=frozenset({"crm_outbox"}), secrets=frozenset({"crm"})),
    "daily_reports": Access(
        reads=ALL,
        reads_except=API_ONLY_READS | {"crm_outbox"},
        writes=frozenset({"report_runs", "idempotency"}),
        secrets=frozenset({"recording_link"}),
        email=True,
    ),
}
