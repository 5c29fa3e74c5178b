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
- ``call_stream`` only adds the live counters: it reads and writes ``live_counts``, nothing else.
- ``crm_stream`` and ``crm_retry`` read the shops and the outbox's context and write the CRM outbox
  only; the only functions with the shops' CRM signing secrets; no Twilio token, no email.
- ``daily_reports`` reads and writes only its runs (``report_runs``) and its "once" records
  (``idempotency``); it signs recording links (the link key) and emails (SES), never Twilio.

Reads stay on every table for the functions whose code paths read across aggregates (the one
store serves them all, and a read grant missing in one branch is an outage); writes, streams,
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
CONFIG_TABLES = frozenset({"shops", "numbers", "api_keys", "agent_tokens"})
# Written by one function each.
OWN_TABLES = frozenset({"report_runs", "live_counts"})
# The tables the code scans (shops.py, orders.py, tasks.py, inbound_queue.py: the minute's
# sweep of the callers waiting): Scan is granted only on these. (The agent behind a browser's
# outgoing call is a Query of the agents' by_client_identity index: the "Indexes" grant.)
SCANNED_TABLES = frozenset({"shops", "numbers", "api_keys", "orders", "dial_tasks", "queue_entries"})

Secret = Literal["twilio_token", "recording_link", "twilio_api_key", "crm"]


@dataclass(frozen=True)
class Access:
    reads: frozenset[str] | Literal["*"]
    writes: frozenset[str] | Literal["*"]  # ALL, or these tables; "except" below narrows ALL
    writes_except: frozenset[str] = frozenset()
    secrets: frozenset[Secret] = frozenset()
    email: bool = False

    def tables_read(self, every: frozenset[str]) -> frozenset[str]:
        return every if self.reads == ALL else frozenset(self.reads)

    def tables_written(self, every: frozenset[str]) -> frozenset[str]:
        written = every if self.writes == ALL else frozenset(self.writes)
        return written - self.writes_except


_TWILIO: frozenset[Secret] = frozenset({"twilio_token"})


def _call_handling(secrets: frozenset[Secret] = _TWILIO, *, email: bool = True) -> Access:
    """Reads every table, writes the call-handling ones (not configuration, report runs, counters)."""
    return Access(reads=ALL, writes=ALL, writes_except=CONFIG_TABLES | OWN_TABLES, secrets=secrets, email=email)


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
        reads=ALL, writes=ALL, writes_except=CONFIG_TABLES | {"report_runs"}, secrets=_TWILIO, email=True
    ),
    "task_stream": _call_handling(),
    "dial_due": _call_handling(),
    "outcome_stream": _call_handling(),
    "live_alerts": _call_handling(),
    "text_retry": _call_handling(email=False),
    "call_stream": Access(reads=frozenset({"live_counts"}), writes=frozenset({"live_counts"})),
    "crm_stream": Access(reads=ALL, writes=frozenset({"crm_outbox"}), secrets=frozenset({"crm"})),
    "crm_retry": Access(reads=ALL, writes=frozenset({"crm_outbox"}), secrets=frozenset({"crm"})),
    "daily_reports": Access(
        reads=ALL,
        writes=frozenset({"report_runs", "idempotency"}),
        secrets=frozenset({"recording_link"}),
        email=True,
    ),
}
