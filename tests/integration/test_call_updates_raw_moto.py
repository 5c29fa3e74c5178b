"""A call's later updates (``update_call`` from the agent and transfer webhooks, the status
callback's ``apply_call_status``) go to DynamoDB as one raw UpdateItem each, without PynamoDB's
expression objects (#19): write after write, the item stored, the status callbacks applied or
refused, the agent's desk pointed at the call and the error for a call never stored are those
of the ``CallItem.update`` calls they replace."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pynamodb.exceptions import UpdateError

from chalicelib.adapters.dynamo.items import setting, updated
from chalicelib.adapters.dynamo.schema import AgentItem, CallItem
from chalicelib.domain.entities import Call
from chalicelib.services.ports import Store
from chalicelib.wiring import repository

pytestmark = pytest.mark.integration

T0 = datetime(2003, 6, 2, 9, 30, tzinfo=UTC)  # business time, far from any real date


def _reference_update_call(call_sid: str, **fields: Any) -> None:
    """``CallRepository.update_call`` before #19 (the reference)."""
    item = CallItem(call_sid)
    item.update(actions=setting(CallItem, fields), condition=CallItem.call_sid.exists())
    for given in ("agent_id", "transfer_to"):
        if fields.get(given) and item.shop_id:
            updated(
                AgentItem(item.shop_id, fields[given]),
                actions=[AgentItem.current_call_sid.set(call_sid)],
                condition=AgentItem.agent_id.exists(),
            )


def _reference_apply_call_status(call_sid: str, sequence: int, **fields: Any) -> bool:
    """``CallRepository.apply_call_status`` before #19 (the reference)."""
    actions = [CallItem.last_sequence.set(sequence), *setting(CallItem, fields)]
    condition = CallItem.last_sequence.does_not_exist() | (CallItem.last_sequence < sequence)
    return updated(CallItem(call_sid), actions=actions, condition=condition)


def _stored(call_sid: str) -> dict[str, Any]:
    """The item as DynamoDB holds it, raw, without its key and TTL (the real clock's seconds)."""
    client = CallItem._get_connection().connection.client
    item = client.get_item(TableName=CallItem.Meta.table_name, Key={"call_sid": {"S": call_sid}}, ConsistentRead=True)
    raw = dict(item["Item"])
    raw.pop("call_sid")
    raw.pop("expires_ttl", None)
    return raw


def _desk(agent_id: str) -> str | None:
    return AgentItem.get("demo", agent_id, consistent_read=True).current_call_sid


# Each write: ("update", fields) or ("status", sequence, fields), on the item the earlier left.
WRITES: list[tuple[Any, ...]] = [
    ("update", {"language": "uk", "on_hold": True}),
    ("status", 2, {"status": "ringing"}),
    ("update", {"agent_id": "anna", "result": "connecting", "answered_at": T0 + timedelta(seconds=9)}),
    ("status", 5, {"status": "in-progress", "answered_by": "human"}),
    ("status", 4, {"status": "ringing"}),  # late: refused, nothing changes
    ("update", {"transfer_to": "olha", "transfer_mode": "warm", "handled_by": ["anna", "olha"]}),
    ("update", {"transfer_to": None, "transfer_mode": None, "on_hold": False, "transcription": ""}),
    ("status", 7, {"status": "completed", "duration_seconds": 42, "ended_at": T0 + timedelta(minutes=3)}),
    ("update", {"agent_id": "nobody"}),  # an agent not stored: the call keeps it, no desk is made
]


def _run(
    call_sid: str,
    update_call: Callable[..., None],
    apply_call_status: Callable[..., bool],
) -> list[Any]:
    outcomes: list[Any] = []
    for write in WRITES:
        if write[0] == "update":
            update_call(call_sid, **write[1])
            outcomes.append(None)
        else:
            outcomes.append(apply_call_status(call_sid, write[1], **write[2]))
    try:
        update_call(call_sid + "-never-stored", result="queued")
    except UpdateError as error:
        outcomes.append(error.cause_response_code)
    return outcomes


def test_call_updates_store_what_the_pynamodb_updates_did(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    store: Store = repository()
    for agent_id in ("anna", "olha"):
        AgentItem("demo", agent_id).update(actions=[AgentItem.status.set("available")])
    for call_sid in ("CAref", "CAraw"):
        call = Call(
            call_sid=call_sid,
            shop_id="demo",
            direction="inbound",
            customer_phone="+380671112233",
            shop_number="+380441234567",
            created_at=T0,
            day="2003-06-02",
            status="ringing",
        )
        store.upsert_call(call, group="sales")

    reference = _run("CAref", _reference_update_call, _reference_apply_call_status)
    reference_desks = (_desk("anna"), _desk("olha"))

    def no_model_update(*args: object, **kwargs: object) -> None:
        raise AssertionError("a call update went through CallItem.update")

    for agent_id in ("anna", "olha"):
        AgentItem("demo", agent_id).update(actions=[AgentItem.current_call_sid.remove()])
    monkeypatch.setattr(CallItem, "update", no_model_update)
    raw = _run("CAraw", store.update_call, store.apply_call_status)
    monkeypatch.undo()

    assert reference == [None, True, None, True, False, None, None, True, None, "ConditionalCheckFailedException"]
    assert raw == reference
    assert _stored("CAraw") == _stored("CAref")
    assert reference_desks == ("CAref", "CAref")
    assert (_desk("anna"), _desk("olha")) == ("CAraw", "CAraw")
    final = store.get_call("CAraw")
    assert final is not None
    assert (final.status, final.result, final.agent_id, final.transfer_to) == (
        "completed",
        "connecting",
        "nobody",
        None,
    )
    assert (final.duration_seconds, final.on_hold, final.handled_by, final.language) == (
        42,
        False,
        ["anna", "olha"],
        "uk",
    )
