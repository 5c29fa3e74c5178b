"""The call record's upsert (every incoming call and status callback) goes to DynamoDB as one
raw UpdateItem, without PynamoDB's expression objects (#19): the item it stores and the call it
returns are those ``CallItem.update`` stored and returned, write after write (the identity kept
as first written, fields given set, a None removed, a late status callback refused)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamo.items import day_key, setting, shop_phone, updated
from chalicelib.adapters.dynamo.retention import kept_until
from chalicelib.adapters.dynamo.schema import CallItem
from chalicelib.domain.entities import Call
from chalicelib.services.ports import Store
from chalicelib.wiring import repository

pytestmark = pytest.mark.integration

T0 = datetime(2003, 6, 2, 9, 30, tzinfo=UTC)  # business time, far from any real date
PHONE = "+380671112233"


def _pynamodb_actions(call: Call, fields: dict[str, Any]) -> list[Action]:
    """The actions ``CallRepository`` gave ``CallItem.update`` before #19 (the reference)."""
    static: dict[str, Any] = {
        "shop_id": call.shop_id,
        "direction": call.direction,
        "customer_phone": call.customer_phone,
        "shop_number": call.shop_number,
        "created_at": call.created_at,
        "shop_day": day_key(call.shop_id, call.day),
        "status": call.status,
        "shop_phone": shop_phone(call.shop_id, call.customer_phone),
        "expires_ttl": kept_until(call.shop_id),
    }
    if call.task_id:
        static["task_id"] = call.task_id
    if call.language:
        static["language"] = call.language
    actions: list[Action] = []
    for name, value in static.items():
        if name not in fields:
            attribute = getattr(CallItem, name)
            actions.append(attribute.set(attribute | value))
    return actions + setting(CallItem, fields)


def _reference_upsert(call: Call, sequence: int | None, fields: dict[str, Any]) -> bool:
    item = CallItem(call.call_sid)
    if sequence is None:
        item.update(actions=_pynamodb_actions(call, fields))
        return True
    condition = CallItem.last_sequence.does_not_exist() | (CallItem.last_sequence < sequence)
    if updated(item, actions=_pynamodb_actions(call, {"last_sequence": sequence, **fields}), condition=condition):
        return True
    CallItem(call.call_sid).update(actions=_pynamodb_actions(call, {}))
    return False


def _stored(call_sid: str) -> dict[str, Any]:
    """The item as DynamoDB holds it, raw, without its key; the TTL (seconds of the real clock
    at the write) to the minute, since the two writes are a moment apart."""
    client = CallItem._get_connection().connection.client
    item = client.get_item(TableName=CallItem.Meta.table_name, Key={"call_sid": {"S": call_sid}}, ConsistentRead=True)
    raw = dict(item["Item"])
    raw.pop("call_sid")
    raw["expires_ttl"] = int(raw["expires_ttl"]["N"]) // 60
    return raw


def _call(call_sid: str, **given: Any) -> Call:
    base: dict[str, Any] = {
        "call_sid": call_sid,
        "shop_id": "demo",
        "direction": "inbound",
        "customer_phone": PHONE,
        "shop_number": "+380441234567",
        "created_at": T0,
        "day": "2003-06-02",
        "status": "in-progress",
    }
    return Call(**(base | given))


# Each write: the call as the webhook describes it, the status callback's sequence (None: a plain
# upsert), and the fields it sets. Later writes meet the item the earlier ones left.
WRITES: list[tuple[dict[str, Any], int | None, dict[str, Any]]] = [
    ({"language": "uk"}, None, {"group": "sales", "after_hours": False}),
    ({"language": "en", "created_at": T0 + timedelta(minutes=1)}, None, {"after_hours": True}),
    ({}, None, {"queued_at": T0 + timedelta(seconds=20), "wait_seconds": 15, "handled_by": ["anna", "olha"]}),
    ({"task_id": "task_1", "direction": "outbound-robot"}, 3, {"status": "in-progress", "answered_by": "human"}),
    ({}, 2, {"status": "ringing"}),  # late: refused, the item only made sure of
    ({}, 5, {"status": "completed", "duration_seconds": 42, "ended_at": T0 + timedelta(minutes=3), "group": None}),
    ({}, None, {"on_hold": True, "transfers": 1, "transcription": ""}),
]


def test_the_raw_upsert_stores_and_returns_what_the_pynamodb_update_did(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: Store = repository()
    for given, sequence, fields in WRITES:
        assert _reference_upsert(_call("CAref", **given), sequence, dict(fields)) in (True, False)
    reference = _stored("CAref")

    def no_model_update(*args: object, **kwargs: object) -> None:
        raise AssertionError("the call upsert went through CallItem.update")

    monkeypatch.setattr(CallItem, "update", no_model_update)
    applied: list[bool] = []
    for given, sequence, fields in WRITES:
        call = _call("CAraw", **given)
        if sequence is None:
            returned = store.upsert_call(call, **fields)
            applied.append(True)
        else:
            done, returned = store.upsert_call_with_status(call, sequence, **fields)
            applied.append(done)
        as_read = store.get_call("CAraw")
        assert returned == as_read  # the call returned is the call as stored, every field
    monkeypatch.undo()

    assert applied == [True, True, True, True, False, True, True]
    assert _stored("CAraw") == reference
    final = store.get_call("CAraw")
    assert final is not None
    assert (final.language, final.status, final.duration_seconds, final.group) == ("uk", "completed", 42, None)
    assert (final.handled_by, final.on_hold, final.transfers, final.created_at) == (["anna", "olha"], True, 1, T0)
