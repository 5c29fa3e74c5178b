"""Every DynamoDB table, declared once as a PynamoDB model: the cloud stack (infra/), DynamoDB
Local and moto all create exactly these.

Models are named ``*Item`` (DynamoDB's word) so none shares a name with a domain value.
Table names carry ``TABLE_PREFIX`` so several deployments share an account. Models open no
connection until first used, and then all share one botocore client (``connection.Model``);
``reset_connections()`` forgets clients when tests switch
between moto and DynamoDB Local.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection

from chalicelib.adapters.config_cache import forget_cached_config
from chalicelib.adapters.dynamo.connection import Model, forget_shared_connections


class Utf8JSONAttribute(JSONAttribute):
    """JSON stored as compact UTF-8 text. PynamoDB's ``JSONAttribute`` writes every non-ASCII
    character as a six-byte ``\\uXXXX`` escape: a Cyrillic order of 232 kB became an item over
    DynamoDB's 400 KB ("Item size has exceeded"). Stored this way, an order is about the size
    of the body the shop sent (at most 256 kB). Reads take either form."""

    def serialize(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def table_name(suffix: str) -> str:
    return os.environ.get("TABLE_PREFIX", "callcenter-") + suffix


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"


class _Meta:
    billing_mode = "PAY_PER_REQUEST"
    region = _region()


def _index(
    name: str,
    hash_key: str,
    range_key: str | None = None,
    *,
    keys_only: bool = False,
    include: tuple[str, ...] = (),
) -> Any:
    """A global secondary index on a string hash key and, where given, a time range key (the
    only shapes the tables use); ``include`` projects those attributes besides the keys.
    Callers annotate it as ``GlobalSecondaryIndex[TheirItem]``."""
    projection = IncludeProjection(list(include)) if include else KeysOnlyProjection() if keys_only else AllProjection()
    meta = type("Meta", (), {"index_name": name, "projection": projection})
    keys: dict[str, Any] = {hash_key: UnicodeAttribute(hash_key=True)}
    if range_key:
        keys[range_key] = UTCDateTimeAttribute(range_key=True)
    return type(f"{name}_index", (GlobalSecondaryIndex,), {"Meta": meta, **keys})()


# ---- shops, their numbers and keys, agents --------------------------------------------------
class ShopItem(Model):
    """A shop and its settings (``chalicelib.domain.shop.ShopSettings`` as JSON)."""

    class Meta(_Meta):
        table_name = table_name("shops")

    shop_id = UnicodeAttribute(hash_key=True)
    settings = JSONAttribute()
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class PhoneNumberItem(Model):
    """A dialed number (E.164) and the shop and agent group it routes to (I1)."""

    class Meta(_Meta):
        table_name = table_name("numbers")

    number = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    group = UnicodeAttribute(default="main")


class ApiKeyItem(Model):
    """A shop API key, stored only as its SHA-256 digest."""

    class Meta(_Meta):
        table_name = table_name("api_keys")

    key_hash = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    key_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class AgentTokenItem(Model):
    """An agent's API token (agents' desk, A3), stored only as its SHA-256 digest."""

    class Meta(_Meta):
        table_name = table_name("agent_tokens")

    token_hash = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    agent_id = UnicodeAttribute()
    agent_key = UnicodeAttribute()  # "<shop_id>#<agent_id>"
    token_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()  # its issue: it expires desk.agent_token_days later
    supervisor = BooleanAttribute(null=True)  # every customer's timeline, not only the agent's own

    # An agent's tokens: rotating or revoking them finds them here.
    by_agent: GlobalSecondaryIndex[AgentTokenItem] = _index("by_agent", "agent_key", keys_only=True)


class AgentItem(Model):
    class Meta(_Meta):
        table_name = table_name("agents")

    shop_id = UnicodeAttribute(hash_key=True)
    agent_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    client_identity = UnicodeAttribute(null=True)
    groups = ListAttribute(of=UnicodeAttribute, default=list)
    languages = ListAttribute(of=UnicodeAttribute, default=list)
    language = UnicodeAttribute(null=True)  # what the agent hears (whisper, keypad menu)
    status = UnicodeAttribute(default="offline")
    status_since = UTCDateTimeAttribute(null=True)
    # Inbound routing (I8, A2): the call an agent is reserved for, when their last call ended.
    reserved_call_sid = UnicodeAttribute(null=True)
    last_call_ended_at = UTCDateTimeAttribute(null=True)
    missed_calls = NumberAttribute(null=True)
    # Agents' desk (A3): the call shown on the agent's screen, and whether the agent may see
    # callers' numbers in full (masked otherwise).
    current_call_sid = UnicodeAttribute(null=True)
    sees_phone_numbers = BooleanAttribute(null=True)

    # The agent behind a browser softphone's call (From=client:<identity>): one agent's across
    # the shops (services.admin refuses a second). Sparse: only agents with a softphone.
    by_client_identity: GlobalSecondaryIndex[AgentItem] = _index(
        "by_client_identity", "client_identity", keys_only=True
    )
    # Agents busy on a call from their browser (#17), while reserved for it: the minute's sweep
    # finds those whose call's end never reached us across the shops (services.browser_call_legs).
    # Sparse: set with the reservation, removed with it.
    desk_call_key = UnicodeAttribute(null=True)  # DESK_CALL_KEY while set
    desk_call_checked_at = UTCDateTimeAttribute(null=True)  # the call's start, then its last check
    by_desk_call: GlobalSecondaryIndex[AgentItem] = _index(
        "by_desk_call", "desk_call_key", "desk_call_checked_at", keys_only=True
    )


class SoftphoneIdentityItem(Model):
    """Whose a softphone identity is: one agent's across the shops. Written in the same
    TransactWriteItems as the agent (``adapters.dynamo.agents``), on the condition that it is
    free or already that agent's, so two operators giving one identity at once cannot both win
    (the ``by_client_identity`` index is only read after the write, eventually)."""

    class Meta(_Meta):
        table_name = table_name("softphone_identities")

    identity = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    agent_id = UnicodeAttribute()


class AgentStatusItem(Model):
    """Every change of an agent's status, with its time (A1; time in each status, R4)."""

    class Meta(_Meta):
        table_name = table_name("agent_status_log")

    agent_key = UnicodeAttribute(hash_key=True)  # "<shop_id>#<agent_id>"
    changed_at = UTCDateTimeAttribute(range_key=True)
    shop_id = UnicodeAttribute()
    agent_id = UnicodeAttribute()
    status = UnicodeAttribute()  # available | busy | wrap-up | break | away | offline
    previous_status = UnicodeAttribute(null=True)
    source = UnicodeAttribute(default="api")  # api | sms | system
    shop_day = UnicodeAttribute()

    by_shop_day: GlobalSecondaryIndex[AgentStatusItem] = _index("by_shop_day", "shop_day", "changed_at")


# ---- orders and their dedup claims ----------------------------------------------------------
class OrderItem(Model):
    """One order as received. Inserts feed the orders stream (dedup, dial tasks)."""

    class Meta(_Meta):
        # A new name with the new keys (#19): CloudFormation replaces a table whose key schema
        # changed only under another name; ``cli.admin copy-orders`` moves the old "orders" items.
        table_name = table_name("order_lanes")
        stream_view_type = "NEW_AND_OLD_IMAGES"

    # "<shop_id>#<lane>" (domain.order_lanes): a shop's orders spread over partitions, one
    # customer's in one, so the stream keeps a customer's records in order, not a shop's.
    order_key = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute(range_key=True)
    shop_id = UnicodeAttribute()
    order_number = UnicodeAttribute(null=True)
    phone = UnicodeAttribute()  # E.164 when valid, else as sent
    phone_valid = BooleanAttribute(default=True)
    phone_problem = UnicodeAttribute(null=True)
    customer_name = UnicodeAttribute(default="")
    language = UnicodeAttribute(null=True)
    payload = Utf8JSONAttribute()  # the validated order as the shop sent it (items, delivery, flags)
    total = UnicodeAttribute()  # decimal string: money is never a float
    currency = UnicodeAttribute()
    status = UnicodeAttribute(default="received")
    duplicate_of = UnicodeAttribute(null=True)
    fake_reason = UnicodeAttribute(null=True)
    task_id = UnicodeAttribute(null=True)
    route = UnicodeAttribute(null=True)  # auto_confirm | robot | agent (O5)
    route_reason = UnicodeAttribute(null=True)
    reached = BooleanAttribute(default=False)
    received_at = UTCDateTimeAttribute()
    decided_at = UTCDateTimeAttribute(null=True)
    first_dial_at = UTCDateTimeAttribute(null=True)
    delivery_slot = Utf8JSONAttribute(null=True)  # {start, end, chosen_at}: picked by the caller (I4)
    asked_by = UnicodeAttribute(null=True)  # robot | sms: who asked for the yes or no a text may give
    decided_by = UnicodeAttribute(null=True)  # "shop": cancelled through the API (#16 item 14)
    cancel_reason = UnicodeAttribute(null=True)
    changed_at = UTCDateTimeAttribute(null=True)
    cancel_misses = NumberAttribute(null=True)  # texts cancelling it with a wrong number (#18)
    idempotency_key = UnicodeAttribute(null=True)  # the shop's Idempotency-Key: its answer is erased too
    shop_day = UnicodeAttribute()
    shop_phone = UnicodeAttribute()
    # "<shop_id>#<order number, casefolded>"; absent for orders sent without a number.
    shop_order_number = UnicodeAttribute(null=True)
    expires_ttl = TTLAttribute(null=True)  # the shop's privacy.retention_days after it came (#18)

    # Orders of a shop's local calendar day: reports Query this, never Scan.
    by_shop_day: GlobalSecondaryIndex[OrderItem] = _index("by_shop_day", "shop_day", "received_at")
    # Orders of one customer of one shop (merge, self-service, timeline).
    by_shop_phone: GlobalSecondaryIndex[OrderItem] = _index("by_shop_phone", "shop_phone", "received_at")
    # A shop's orders by its own order number (GET /v1/orders?order_number=), newest first.
    by_shop_order_number: GlobalSecondaryIndex[OrderItem] = _index(
        "by_shop_order_number", "shop_order_number", "received_at"
    )


class DedupClaimItem(Model):
    """Who owns a dedup key (phone + order number, or phone within a window). Also a shop's
    new destinations of a local day (``adapters.dynamo.destinations``): one claim per number
    (hashed) and the day's counter, ``new_numbers``."""

    class Meta(_Meta):
        table_name = table_name("dedup_claims")

    claim_key = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)
    expires_ttl = TTLAttribute(null=True)  # lets DynamoDB delete lapsed window claims
    new_numbers = NumberAttribute(null=True)  # the day's counter of new destinations


# ---- dial tasks and calls -------------------------------------------------------------------
class DialTaskItem(Model):
    """One customer of one shop to reach about their open orders (O4: one task, one call for
    all of them). It is reused: a new order reopens a finished task for a new round of attempts.
    Inserts and state changes feed the tasks stream."""

    class Meta(_Meta):
        table_name = table_name("dial_tasks")
        stream_view_type = "NEW_AND_OLD_IMAGES"

    task_id = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    order_ids = UnicodeSetAttribute(null=True)  # the customer's open orders (absent when none)
    call_order_ids = UnicodeSetAttribute(null=True)  # the orders the current call is about
    kind = UnicodeAttribute(default="robot")  # robot | agent | callback
    language = UnicodeAttribute()
    # queued | dialing | done | failed; absent while a new task's first write is in flight.
    # No default: a default would make an unwritten state read back as "queued".
    state = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    result = UnicodeAttribute(null=True)  # confirmed | cancelled | agent | unreachable
    last_call_sid = UnicodeAttribute(null=True)
    last_call_result = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    queue_key = UnicodeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)
    active_key = UnicodeAttribute(null=True)
    dialing_at = UTCDateTimeAttribute(null=True)
    callback_at = UTCDateTimeAttribute(null=True)  # a time agreed with the customer
    contacted = BooleanAttribute(null=True)  # a person answered on some attempt
    write_token = UnicodeAttribute(null=True)  # the last state change's own mark (tasks.update_task)
    # One of a few spreads of the task across shops (``tasks.work_shard``): the minute schedule
    # finds the shops with due or stuck tasks in the two indexes below, never visiting idle shops.
    work_shard = UnicodeAttribute(null=True)

    # Queued tasks of a shop and kind by when they are due (sparse: only queued tasks).
    by_queue_due: GlobalSecondaryIndex[DialTaskItem] = _index("by_queue_due", "queue_key", "due_at")
    # Tasks with a call in progress (sparse): the dialer's capacity count.
    by_active: GlobalSecondaryIndex[DialTaskItem] = _index("by_active", "active_key", "dialing_at", keys_only=True)
    # Across shops (sparse as the two above: due_at only while queued, dialing_at while dialing).
    by_shard_due: GlobalSecondaryIndex[DialTaskItem] = _index(
        "by_shard_due", "work_shard", "due_at", include=("shop_id", "kind")
    )
    by_shard_dialing: GlobalSecondaryIndex[DialTaskItem] = _index(
        "by_shard_dialing", "work_shard", "dialing_at", include=("shop_id", "kind")
    )


class CallItem(Model):
    """One phone call, inbound or outbound, as Twilio reported it."""

    class Meta(_Meta):
        table_name = table_name("calls")
        stream_view_type = "NEW_AND_OLD_IMAGES"  # the live counters (#19) follow every change

    call_sid = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    direction = UnicodeAttribute()  # inbound | outbound-robot
    customer_phone = UnicodeAttribute()
    shop_number = UnicodeAttribute()
    task_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="queued")
    answered_by = UnicodeAttribute(null=True)
    result = UnicodeAttribute(null=True)
    duration_seconds = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    answered_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    last_sequence = NumberAttribute(null=True)
    recording_url = UnicodeAttribute(null=True)
    recording_sid = UnicodeAttribute(null=True)
    shop_day = UnicodeAttribute()
    # Inbound calls (SPEC I1-I10, reports R3-R5); empty on robot calls.
    language = UnicodeAttribute(null=True)
    group = UnicodeAttribute(null=True)  # the agent group the dialed number routes to
    after_hours = BooleanAttribute(null=True)
    queued_at = UTCDateTimeAttribute(null=True)  # entered the agent queue
    wait_seconds = NumberAttribute(null=True)  # queued_at -> agent answered, or -> hang-up
    agent_id = UnicodeAttribute(null=True)  # the agent who talked to the caller
    abandoned = BooleanAttribute(null=True)  # hung up before reaching an agent
    callback_task_id = UnicodeAttribute(null=True)  # asked for (I6) or made for (I7)
    survey = UnicodeAttribute(null=True)  # "1" solved first time, "2" called several times, "3" not solved
    shop_phone = UnicodeAttribute(null=True)  # "<shop_id>#<customer E.164>" (timeline index)
    voicemail_seconds = NumberAttribute(null=True)  # a message left (result "voicemail"), its length
    transcription = UnicodeAttribute(null=True)  # Twilio's text of the voicemail
    transcription_status = UnicodeAttribute(null=True)  # completed | failed
    agent_call_sid = UnicodeAttribute(null=True)  # the agent's leg into the call's conference (#17)
    agent_leg_for = UnicodeAttribute(null=True)  # the reservation whose agent's leg was placed: once only
    customer_call_sid = UnicodeAttribute(null=True)  # an agent-first call's leg to the customer, in its conference
    on_hold = BooleanAttribute(null=True)  # the caller on hold in the conference
    transfer_to = UnicodeAttribute(null=True)  # the agent a transfer under way goes to
    transfer_mode = UnicodeAttribute(null=True)  # cold | warm
    transfer_call_sid = UnicodeAttribute(null=True)  # that agent's leg into the conference
    transfers = NumberAttribute(null=True)  # transfers completed
    handled_by = ListAttribute(of=UnicodeAttribute, null=True)  # every agent who talked to the caller
    transfer_number = UnicodeAttribute(null=True)  # the outside number a transfer under way rings
    transferred_to_number = UnicodeAttribute(null=True)  # the outside number the caller was handed to
    expires_ttl = TTLAttribute(null=True)  # the shop's privacy.retention_days after it began (#18)

    by_shop_day: GlobalSecondaryIndex[CallItem] = _index("by_shop_day", "shop_day", "created_at")
    # Calls of one customer of one shop, by time (customer timeline, A7).
    by_shop_phone: GlobalSecondaryIndex[CallItem] = _index("by_shop_phone", "shop_phone", "created_at")


# ---- inbound: who waits for an agent, and the groups' handle times (I5, I6, I8) ------------
class QueueEntryItem(Model):
    """A caller on hold or a callback request waiting for an agent of a group.

    The range key starts with the original arrival time, so a Query lists the group's queue in
    the order it is served; a callback keeps the arrival time of the call it came from (I6).
    """

    class Meta(_Meta):
        table_name = table_name("queue_entries")

    queue_key = UnicodeAttribute(hash_key=True)  # "<shop_id>#<group>"
    entry_key = UnicodeAttribute(range_key=True)  # "<arrival ISO UTC>#<call sid or task id>"
    kind = UnicodeAttribute()  # caller | callback
    ref = UnicodeAttribute()  # CallSid of the waiting call, or the callback's task id
    phone = UnicodeAttribute()
    language = UnicodeAttribute()
    queued_at = UTCDateTimeAttribute()
    announced_position = NumberAttribute(null=True)


class GroupStatsItem(Model):
    """Recent handle times of an agent group (seconds, newest last)."""

    class Meta(_Meta):
        table_name = table_name("group_stats")

    group_key = UnicodeAttribute(hash_key=True)  # "<shop_id>#<group>"
    handle_seconds = ListAttribute(of=NumberAttribute, default=list)
    version = VersionAttribute()


# ---- text messages and the do-not-call list (O10, O11) -------------------------------------
class DoNotCallItem(Model):
    """A customer a shop must neither call nor text, with why and since when."""

    class Meta(_Meta):
        table_name = table_name("do_not_call")

    shop_phone = UnicodeAttribute(hash_key=True)  # "<shop_id>#<E.164>"
    added_at = UTCDateTimeAttribute()
    source = UnicodeAttribute()  # sms | ivr | api


class MessageItem(Model):
    """One text message to or from a customer, newest last per (shop, phone)."""

    class Meta(_Meta):
        table_name = table_name("messages")

    shop_phone = UnicodeAttribute(hash_key=True)
    message_key = UnicodeAttribute(range_key=True)  # "<ISO time>#<MessageSid>": ordered, unique
    at = UTCDateTimeAttribute()
    message_sid = UnicodeAttribute()
    direction = UnicodeAttribute()  # inbound | outbound
    body = UnicodeAttribute()
    purpose = UnicodeAttribute(null=True)  # confirm-request | confirmed | reply | opt-out ...
    intent = UnicodeAttribute(null=True)  # what an inbound message meant: confirm | cancel | stop | start | other
    order_ids = UnicodeSetAttribute(null=True)
    left_open = UnicodeSetAttribute(null=True)  # a reply's open orders it did not decide (O10)
    shop_id = UnicodeAttribute()
    shop_day = UnicodeAttribute()
    expires_ttl = TTLAttribute(null=True)  # the shop's privacy.retention_days after it went (#18)

    by_shop_day: GlobalSecondaryIndex[MessageItem] = _index("by_shop_day", "shop_day", "at")


# ---- the agents' desk: outcomes of calls (issue 5, A4, A7) --------------------------------
class OutcomeItem(Model):
    """One saved outcome of one call; a correction is a new item, the old ones stay (A4's
    audit trail; the customer timeline reads it by (shop, phone))."""

    class Meta(_Meta):
        table_name = table_name("call_outcomes")
        stream_view_type = "KEYS_ONLY"  # the managers' email and the CRM event follow each save

    call_sid = UnicodeAttribute(hash_key=True)
    saved_key = UnicodeAttribute(range_key=True)  # "<ISO UTC time>#<random>": ordered, unique
    saved_at = UTCDateTimeAttribute()
    shop_id = UnicodeAttribute()
    shop_phone = UnicodeAttribute()  # "<shop_id>#<E.164>"
    phone = UnicodeAttribute()
    agent_id = UnicodeAttribute()
    outcome = UnicodeAttribute()
    comment = UnicodeAttribute(default="")
    callback_at = UTCDateTimeAttribute(null=True)
    callback_task_id = UnicodeAttribute(null=True)
    order_ids = UnicodeSetAttribute(null=True)  # the orders the call was about
    orders_moved = UnicodeSetAttribute(null=True)  # those this save changed

    # Outcomes of one customer of one shop, by time (customer timeline, A7).
    expires_ttl = TTLAttribute(null=True)  # the shop's privacy.retention_days after it was saved (#18)

    by_shop_phone: GlobalSecondaryIndex[OutcomeItem] = _index("by_shop_phone", "shop_phone", "saved_at")


# ---- the CRM outbox (A6) --------------------------------------------------------------------
class CrmEventItem(Model):
    """One event for a shop's CRM, written before anything is sent. Its stream delivers a new
    (or replayed) event at once; failed ones wait in the sparse ``by_due`` index for the retry
    sweep, parked ones in ``by_parked`` for an operator."""

    class Meta(_Meta):
        table_name = table_name("crm_outbox")
        stream_view_type = "NEW_AND_OLD_IMAGES"

    event_id = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # call.outcome | order.status_changed
    subject = UnicodeAttribute()  # the call sid or order id it is about
    body = UnicodeAttribute()  # the exact JSON sent, the same on every try
    state = UnicodeAttribute()  # pending | delivered | parked
    attempts = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    retrying_since = UTCDateTimeAttribute()  # the day of retries counts from here
    next_attempt_at = UTCDateTimeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)  # shop id while pending
    parked_key = UnicodeAttribute(null=True)  # shop id while parked
    parked_at = UTCDateTimeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)
    last_status = NumberAttribute(null=True)  # the CRM's last HTTP status
    last_error = UnicodeAttribute(null=True)
    customer = UnicodeAttribute(null=True)  # the hash of the phone the body names (erasure, #18)
    expires_ttl = TTLAttribute(null=True)

    # Events of a shop waiting to be (re)tried, by when (sparse: only pending ones).
    by_due: GlobalSecondaryIndex[CrmEventItem] = _index("by_due", "due_key", "next_attempt_at")
    # Events of a shop given up after a day of failures or refused by the CRM (sparse).
    by_parked: GlobalSecondaryIndex[CrmEventItem] = _index("by_parked", "parked_key", "parked_at")
    # The events naming one customer (erasure): keys only, the phone hashed.
    by_customer: GlobalSecondaryIndex[CrmEventItem] = _index("by_customer", "customer", "created_at", keys_only=True)


# ---- the text outbox (#18) ------------------------------------------------------------------
class TextOutItem(Model):
    """One text to send, written before it is sent (``chalicelib.domain.text_outbox``). Pending
    ones wait in the sparse ``by_due`` index (one partition: only texts Twilio could not take
    yet); parked ones in ``by_parked``; ``by_customer`` finds a recipient's texts (their order,
    erasure)."""

    class Meta(_Meta):
        table_name = table_name("text_outbox")

    text_id = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    shop_phone = UnicodeAttribute()  # "<shop_id>#<E.164 of the recipient>"
    to = UnicodeAttribute()
    from_ = UnicodeAttribute(attr_name="from")
    body = UnicodeAttribute()
    kind = UnicodeAttribute()  # customer | alert
    purpose = UnicodeAttribute()
    order_ids = UnicodeSetAttribute(null=True)
    state = UnicodeAttribute()  # pending | sent | failed | parked
    attempts = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    retrying_since = UTCDateTimeAttribute()
    next_attempt_at = UTCDateTimeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)  # "due" while pending
    parked_key = UnicodeAttribute(null=True)  # shop id while parked
    parked_at = UTCDateTimeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    message_sid = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    uncertain = BooleanAttribute(default=False)
    expires_ttl = TTLAttribute(null=True)

    by_due: GlobalSecondaryIndex[TextOutItem] = _index("by_due", "due_key", "next_attempt_at")
    by_parked: GlobalSecondaryIndex[TextOutItem] = _index("by_parked", "parked_key", "parked_at")
    by_customer: GlobalSecondaryIndex[TextOutItem] = _index("by_customer", "shop_phone", "created_at")


# ---- customer-first dialing (O8) ------------------------------------------------------------
class CallRateItem(Model):
    """A Twilio account's calls placed per window of time (calls per second): one item a window."""

    class Meta(_Meta):
        table_name = table_name("call_rate")

    account_sid = UnicodeAttribute(hash_key=True)  # "<account sid>#<window>" (domain.call_rate.RateBucket)
    next_free_at = NumberAttribute(null=True)  # POSIX seconds (the single timeline before #19)
    placed = NumberAttribute(null=True)  # calls placed in the window: an atomic ADD, conditional on the limit
    expires = TTLAttribute(null=True)


class DialerDayItem(Model):
    """A shop's predictive dialing on one local day: counted with atomic ADDs."""

    class Meta(_Meta):
        table_name = table_name("dialer_days")

    shop_id = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)  # the shop's local date, ISO
    dials = NumberAttribute(default=0)
    live_answers = NumberAttribute(default=0)
    drops = NumberAttribute(default=0)


class DialLineItem(Model):
    """One customer call of the predictive dialer (``chalicelib.domain.predictive.DialLine``);
    newest first per shop, kept two days for the pacing statistics."""

    class Meta(_Meta):
        table_name = table_name("dialer_lines")

    shop_id = UnicodeAttribute(hash_key=True)
    line_key = UnicodeAttribute(range_key=True)  # "<placed_at UTC ISO>#<task_id>": ordered, unique
    task_id = UnicodeAttribute()
    placed_at = UTCDateTimeAttribute()
    phase = UnicodeAttribute()
    call_sid = UnicodeAttribute(null=True)
    answered_at = UTCDateTimeAttribute(null=True)
    amd_seconds = NumberAttribute(null=True)
    handle_seconds = NumberAttribute(null=True)
    agent_id = UnicodeAttribute(null=True)
    reservation = UnicodeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    expires = TTLAttribute(null=True)


# ---- live figures: running counters (#19) --------------------------------------------------
class LiveCountItem(Model):
    """A shop's running counters of one local day, kept by the orders and calls streams
    (``chalicelib.domain.live_counts``): ``<shop_id>#<day>`` holds the counts (attributes named
    by the counter, added with ADD), ``<shop_id>#<day>#fd`` and ``#w`` the first-dial and wait
    histograms; ``record#<stream event id>`` marks a record counted (a redelivery adds nothing)."""

    class Meta(_Meta):
        table_name = table_name("live_counts")

    count_key = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute(null=True)
    day = UnicodeAttribute(null=True)  # the shop's local date, ISO
    # "<day>#<spread>" on a day's counters once the shop has a call that day: the live alerts
    # find the shops with calls today here, never visiting the others (sparse).
    active_key = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)

    by_active_day: GlobalSecondaryIndex[LiveCountItem] = _index(
        "by_active_day", "active_key", include=("shop_id", "day")
    )


# ---- report runs ----------------------------------------------------------------------------
class ReportRunItem(Model):
    """Per shop and period, what the last scheduled run did with its report (sent, skipped and
    why, failed and why): one item per (shop, period), overwritten by later runs."""

    class Meta(_Meta):
        table_name = table_name("report_runs")

    shop_id = UnicodeAttribute(hash_key=True)
    run_key = UnicodeAttribute(range_key=True)  # "<first day>#<period>": newest last
    period = UnicodeAttribute()  # day | week | month
    first_day = UnicodeAttribute()
    status = UnicodeAttribute()  # sent | skipped | failed
    at = UTCDateTimeAttribute()
    reason = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    recipients = NumberAttribute(default=0)


ALL_MODELS: tuple[type[Model], ...] = (
    ShopItem,
    PhoneNumberItem,
    ApiKeyItem,
    AgentItem,
    SoftphoneIdentityItem,
    OrderItem,
    DedupClaimItem,
    DialTaskItem,
    CallItem,
    AgentStatusItem,
    AgentTokenItem,
    QueueEntryItem,
    GroupStatsItem,
    DoNotCallItem,
    MessageItem,
    OutcomeItem,
    ReportRunItem,
    CrmEventItem,
    TextOutItem,
    CallRateItem,
    DialerDayItem,
    DialLineItem,
    LiveCountItem,
)


def all_models() -> tuple[type[Model], ...]:
    """Every table's model: the cloud stack, the local stack and the tests create exactly these."""
    return ALL_MODELS


IDEMPOTENCY_TABLE_SUFFIX = "idempotency"


def idempotency_table_name() -> str:
    return table_name(IDEMPOTENCY_TABLE_SUFFIX)


def idempotency_table_definition() -> dict[str, Any]:
    """The table Powertools' idempotency utility expects (key ``id``, TTL ``expiration``)."""
    return {
        "TableName": idempotency_table_name(),
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def create_tables(wait: bool = True) -> None:
    """Create every table (with its streams and TTL) unless it exists: the local stack and tests."""
    import boto3  # cold start: only the local stack and tests create tables

    client = boto3.client("dynamodb", region_name=_region())
    existing = set(client.list_tables()["TableNames"])
    for model in ALL_MODELS:
        if model.Meta.table_name not in existing:
            model.create_table(wait=wait)
    if idempotency_table_name() not in existing:
        client.create_table(**idempotency_table_definition())
        if wait:
            client.get_waiter("table_exists").wait(TableName=idempotency_table_name())
    _enable_ttl(client, DedupClaimItem.Meta.table_name, "expires_ttl")
    _enable_ttl(client, idempotency_table_name(), "expiration")


def _enable_ttl(client: Any, table: str, attribute: str) -> None:
    try:
        client.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )
    except client.exceptions.ClientError as error:  # already enabled
        if "TimeToLive is already enabled" not in str(error):
            raise


def reset_connections() -> None:
    """Drop cached clients so the next call picks up the current endpoint and credentials (and
    the configuration items cached from the previous database)."""
    forget_cached_config()
    forget_shared_connections()
    for model in ALL_MODELS:
        model._connection = None
        for index in model._indexes.values():
            index._connection = None  # type: ignore[attr-defined]
