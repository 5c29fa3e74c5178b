"""PynamoDB models: the one definition of every table, used by the cloud stack (infra/),
DynamoDB Local and moto alike.

Table names carry ``TABLE_PREFIX`` so several deployments share an account. Models open no
connection until first used; ``reset_connections()`` forgets clients when tests switch
between moto and DynamoDB Local.
"""

from __future__ import annotations

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
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model


def _table(name: str) -> str:
    return os.environ.get("TABLE_PREFIX", "callcenter-") + name


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"


class _Meta:
    billing_mode = "PAY_PER_REQUEST"
    region = _region()


class ShopRecord(Model):
    """A shop and its settings (``chalicelib.domain.shop.ShopSettings`` as JSON)."""

    class Meta(_Meta):
        table_name = _table("shops")

    shop_id = UnicodeAttribute(hash_key=True)
    settings = JSONAttribute()
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class PhoneNumberRecord(Model):
    """A dialed number (E.164) and the shop and agent group it routes to (I1)."""

    class Meta(_Meta):
        table_name = _table("numbers")

    number = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    group = UnicodeAttribute(default="main")


class ApiKeyRecord(Model):
    """A shop API key, stored only as its SHA-256 digest."""

    class Meta(_Meta):
        table_name = _table("api_keys")

    key_hash = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    key_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class AgentTokenByAgentIndex(GlobalSecondaryIndex["AgentTokenRecord"]):
    """An agent's tokens: rotating or revoking them finds them here."""

    class Meta:
        index_name = "by_agent"
        projection = KeysOnlyProjection()

    agent_key = UnicodeAttribute(hash_key=True)


class AgentTokenRecord(Model):
    """An agent's API token (agents' desk, A3), stored only as its SHA-256 digest."""

    class Meta(_Meta):
        table_name = _table("agent_tokens")

    token_hash = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    agent_id = UnicodeAttribute()
    agent_key = UnicodeAttribute()  # "<shop_id>#<agent_id>"
    token_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    by_agent = AgentTokenByAgentIndex()


class AgentRecord(Model):
    class Meta(_Meta):
        table_name = _table("agents")

    shop_id = UnicodeAttribute(hash_key=True)
    agent_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    client_identity = UnicodeAttribute(null=True)
    groups = ListAttribute(of=UnicodeAttribute, default=list)
    languages = ListAttribute(of=UnicodeAttribute, default=list)
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


class OrderByDayIndex(GlobalSecondaryIndex["OrderRecord"]):
    """Orders of a shop's local calendar day: reports Query this, never Scan."""

    class Meta:
        index_name = "by_shop_day"
        projection = AllProjection()

    shop_day = UnicodeAttribute(hash_key=True)
    received_at = UTCDateTimeAttribute(range_key=True)


class OrderByPhoneIndex(GlobalSecondaryIndex["OrderRecord"]):
    """Orders of one customer of one shop (merge, self-service, timeline)."""

    class Meta:
        index_name = "by_shop_phone"
        projection = AllProjection()

    shop_phone = UnicodeAttribute(hash_key=True)
    received_at = UTCDateTimeAttribute(range_key=True)


class OrderRecord(Model):
    """One order as received. Inserts feed the orders stream (dedup, dial tasks)."""

    class Meta(_Meta):
        table_name = _table("orders")
        stream_view_type = "NEW_AND_OLD_IMAGES"

    shop_id = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute(range_key=True)
    order_number = UnicodeAttribute(null=True)
    phone = UnicodeAttribute()  # E.164 when valid, else as sent
    phone_valid = BooleanAttribute(default=True)
    phone_problem = UnicodeAttribute(null=True)
    customer_name = UnicodeAttribute(default="")
    language = UnicodeAttribute(null=True)
    payload = JSONAttribute()  # the validated order as the shop sent it (items, delivery, flags)
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
    delivery_slot = JSONAttribute(null=True)  # {start, end, chosen_at}: picked by the caller (I4)
    shop_day = UnicodeAttribute()
    shop_phone = UnicodeAttribute()

    by_shop_day = OrderByDayIndex()
    by_shop_phone = OrderByPhoneIndex()


class DedupClaimRecord(Model):
    """Who owns a dedup key (phone + order number, or phone within a window)."""

    class Meta(_Meta):
        table_name = _table("dedup_claims")

    claim_key = UnicodeAttribute(hash_key=True)
    order_id = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)
    expires_ttl = TTLAttribute(null=True)  # lets DynamoDB delete lapsed window claims


class DueTaskIndex(GlobalSecondaryIndex["DialTaskRecord"]):
    """Queued tasks of a shop and kind by when they are due (sparse: only queued tasks)."""

    class Meta:
        index_name = "by_queue_due"
        projection = AllProjection()

    queue_key = UnicodeAttribute(hash_key=True)
    due_at = UTCDateTimeAttribute(range_key=True)


class ActiveTaskIndex(GlobalSecondaryIndex["DialTaskRecord"]):
    """Tasks with a call in progress (sparse): the dialer's capacity count."""

    class Meta:
        index_name = "by_active"
        projection = KeysOnlyProjection()

    active_key = UnicodeAttribute(hash_key=True)
    dialing_at = UTCDateTimeAttribute(range_key=True)


class DialTaskRecord(Model):
    """One customer of one shop to reach about their open orders (O4: one task, one call for
    all of them). It is reused: a new order reopens a finished task for a new round of attempts.
    Inserts and state changes feed the tasks stream."""

    class Meta(_Meta):
        table_name = _table("dial_tasks")
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
    write_token = UnicodeAttribute(null=True)  # the last state change's own mark (repository._update_task)

    by_queue_due = DueTaskIndex()
    by_active = ActiveTaskIndex()


class CallByDayIndex(GlobalSecondaryIndex["CallRecord"]):
    class Meta:
        index_name = "by_shop_day"
        projection = AllProjection()

    shop_day = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class CallByPhoneIndex(GlobalSecondaryIndex["CallRecord"]):
    """Calls of one customer of one shop, by time (customer timeline, A7)."""

    class Meta:
        index_name = "by_shop_phone"
        projection = AllProjection()

    shop_phone = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class CallRecord(Model):
    """One phone call, inbound or outbound, as Twilio reported it."""

    class Meta(_Meta):
        table_name = _table("calls")

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

    by_shop_day = CallByDayIndex()
    by_shop_phone = CallByPhoneIndex()


class AgentStatusByDayIndex(GlobalSecondaryIndex["AgentStatusRecord"]):
    class Meta:
        index_name = "by_shop_day"
        projection = AllProjection()

    shop_day = UnicodeAttribute(hash_key=True)
    changed_at = UTCDateTimeAttribute(range_key=True)


class AgentStatusRecord(Model):
    """Every change of an agent's status, with its time (A1; time in each status, R4)."""

    class Meta(_Meta):
        table_name = _table("agent_status_log")

    agent_key = UnicodeAttribute(hash_key=True)  # "<shop_id>#<agent_id>"
    changed_at = UTCDateTimeAttribute(range_key=True)
    shop_id = UnicodeAttribute()
    agent_id = UnicodeAttribute()
    status = UnicodeAttribute()  # available | busy | wrap-up | break | away | offline
    previous_status = UnicodeAttribute(null=True)
    source = UnicodeAttribute(default="api")  # api | sms | system
    shop_day = UnicodeAttribute()

    by_shop_day = AgentStatusByDayIndex()


CORE_MODELS: tuple[type[Model], ...] = (
    ShopRecord,
    PhoneNumberRecord,
    ApiKeyRecord,
    AgentRecord,
    OrderRecord,
    DedupClaimRecord,
    DialTaskRecord,
    CallRecord,
    AgentStatusRecord,
    AgentTokenRecord,
)


def all_models() -> tuple[type[Model], ...]:
    """Every table's model. Areas keep their tables in their own modules (imported here, late,
    because they build on this module's ``_Meta``); the cloud stack, the local stack and the
    tests create exactly these."""
    from chalicelib.adapters.agent_models import AGENT_MODELS
    from chalicelib.adapters.crm_models import CRM_MODELS
    from chalicelib.adapters.dialer_models import DIALER_MODELS
    from chalicelib.adapters.inbound_models import INBOUND_MODELS
    from chalicelib.adapters.outbound_models import OUTBOUND_MODELS
    from chalicelib.adapters.report_models import REPORT_MODELS

    return CORE_MODELS + INBOUND_MODELS + OUTBOUND_MODELS + AGENT_MODELS + REPORT_MODELS + CRM_MODELS + DIALER_MODELS


IDEMPOTENCY_TABLE_SUFFIX = "idempotency"


def idempotency_table_name() -> str:
    return _table(IDEMPOTENCY_TABLE_SUFFIX)


def create_tables(wait: bool = True) -> None:
    """Create every table (with its streams and TTL) unless it exists: the local stack and tests."""
    import boto3

    client = boto3.client("dynamodb", region_name=_region())
    existing = set(client.list_tables()["TableNames"])
    for model in all_models():
        if model.Meta.table_name not in existing:
            model.create_table(wait=wait)
    if idempotency_table_name() not in existing:
        client.create_table(**idempotency_table_definition())
        if wait:
            client.get_waiter("table_exists").wait(TableName=idempotency_table_name())
    _enable_ttl(client, DedupClaimRecord.Meta.table_name, "expires_ttl")
    _enable_ttl(client, idempotency_table_name(), "expiration")


def idempotency_table_definition() -> dict[str, Any]:
    """The table Powertools' idempotency utility expects (key ``id``, TTL ``expiration``)."""
    return {
        "TableName": idempotency_table_name(),
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


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
    from chalicelib.adapters.config_cache import forget_cached_config

    forget_cached_config()
    for model in all_models():
        model._connection = None
        for index in model._indexes.values():
            index._connection = None  # type: ignore[attr-defined]
