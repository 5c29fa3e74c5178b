"""Phone calls, inbound and outbound, as Twilio reported them. Status callbacks may repeat,
reorder or outrun the dialer: an upsert keeps a call's identity as first written, and a
sequence number keeps a late callback from undoing a later one."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters.dynamo.items import (
    count,
    day_key,
    day_of,
    from_item,
    int_or_none,
    shop_phone,
    updated,
)
from chalicelib.adapters.dynamo.raw_update import Raw, update_item, values_of
from chalicelib.adapters.dynamo.retention import kept_until
from chalicelib.adapters.dynamo.schema import AgentItem, CallItem
from chalicelib.domain.entities import Call


def call_entity(item: CallItem) -> Call:
    return from_item(
        Call,
        item,
        day=day_of(item.shop_day),
        duration_seconds=count(item.duration_seconds),
        wait_seconds=int_or_none(item.wait_seconds),
        voicemail_seconds=int_or_none(item.voicemail_seconds),
    )


# The Call fields copied from the item as stored, and those converted (call_entity's split).
_CONVERTED = ("day", "duration_seconds", "wait_seconds", "voicemail_seconds")
_COPIED = tuple(
    f.name for f in dataclasses.fields(Call) if f.name in CallItem.get_attributes() and f.name not in _CONVERTED
)
_READ = (*_COPIED, "shop_day", "duration_seconds", "wait_seconds", "voicemail_seconds")


def call_from_raw(raw: Raw) -> Call:
    """``call_entity`` of an UpdateItem's raw ALL_NEW item, without building a ``CallItem``."""
    values = values_of(CallItem, raw, _READ)
    return Call(
        **{name: values[name] for name in _COPIED},
        day=day_of(values["shop_day"]),
        duration_seconds=count(values["duration_seconds"]),
        wait_seconds=int_or_none(values["wait_seconds"]),
        voicemail_seconds=int_or_none(values["voicemail_seconds"]),
    )


def _identity(call: Call) -> dict[str, Any]:
    """The identity a call keeps as first written (if_not_exists); a field a write gives wins
    over the same identity attribute (one path may appear once in an update)."""
    static = {
        "shop_id": call.shop_id,
        "direction": call.direction,
        "customer_phone": call.customer_phone,
        "shop_number": call.shop_number,
        "created_at": call.created_at,
        "shop_day": day_key(call.shop_id, call.day),
        "status": call.status,
        "shop_phone": shop_phone(call.shop_id, call.customer_phone),
        "expires_ttl": kept_until(call.shop_id),  # with its recording's metadata (#18)
    }
    if call.task_id:
        static["task_id"] = call.task_id
    if call.language:
        static["language"] = call.language
    return static


class CallRepository:
    def upsert_call(self, call: Call, **fields: Any) -> Call:
        """Create the call item or leave its identity as first written (webhooks may repeat
        or arrive before the dialer records the call), set ``fields`` as given, and return the
        call as stored (one UpdateItem, ALL_NEW)."""
        stored = update_item(CallItem, call.call_sid, keep=_identity(call), put=fields)
        assert stored is not None  # unconditional
        return call_from_raw(stored)

    def get_call(self, call_sid: str) -> Call | None:
        if not call_sid:
            return None
        try:
            return call_entity(CallItem.get(call_sid, consistent_read=True))
        except DoesNotExist:
            return None

    def update_call(self, call_sid: str, **fields: Any) -> None:
        """Set ``fields`` on a stored call (UpdateError when it is not stored): one raw UpdateItem
        (#19), whose ALL_NEW item gives the call's shop."""
        stored = update_item(CallItem, call_sid, keep={}, put=fields, existing=True)
        assert stored is not None  # no sequence condition
        shop_id = values_of(CallItem, stored, ("shop_id",))["shop_id"]
        for given in ("agent_id", "transfer_to"):
            if fields.get(given) and shop_id:
                # The call an agent is given, or is rung for as a transfer's target (#17), becomes
                # the one on their desk (A3). The update read the item back, so its shop is known.
                updated(
                    AgentItem(shop_id, fields[given]),
                    actions=[AgentItem.current_call_sid.set(call_sid)],
                    condition=AgentItem.agent_id.exists(),
                )

    def claim_queued_call(self, call_sid: str, agent_id: str, result: str) -> bool:
        """The waiting caller is given ``agent_id`` (``result``: connecting, or bridging when the
        app takes them out of the queue through Twilio's API); False when the caller was given to
        an agent already, left or asked for something else: one caller never goes to two agents."""
        item = CallItem(call_sid)
        claimed = updated(
            item,
            actions=[CallItem.agent_id.set(agent_id), CallItem.result.set(result)],
            condition=CallItem.call_sid.exists() & (CallItem.result == "queued"),
        )
        if claimed and item.shop_id:
            updated(
                AgentItem(item.shop_id, agent_id),
                actions=[AgentItem.current_call_sid.set(call_sid)],
                condition=AgentItem.agent_id.exists(),
            )
        return claimed

    def claim_agent_leg(self, call_sid: str, reservation: str) -> bool:
        """One agent's leg per reservation: the queue's exit and ``/bridge`` may both meet it."""
        return updated(
            CallItem(call_sid),
            actions=[CallItem.agent_leg_for.set(reservation)],
            condition=CallItem.call_sid.exists()
            & (CallItem.agent_leg_for.does_not_exist() | (CallItem.agent_leg_for != reservation)),
        )

    def apply_call_status(self, call_sid: str, sequence: int, **fields: Any) -> bool:
        """Apply a status callback unless a later one was applied already (callbacks reorder):
        one raw UpdateItem (#19), nothing read back."""
        put = {"last_sequence": sequence, **fields}
        below = ("last_sequence", sequence)
        return update_item(CallItem, call_sid, keep={}, put=put, below=below, returned=False) is not None

    def upsert_call_with_status(self, call: Call, sequence: int, **fields: Any) -> tuple[bool, Call]:
        """``upsert_call`` and ``apply_call_status`` in one UpdateItem: whether the status was
        applied (False for a callback older than one applied already), and the call as stored."""
        put = {"last_sequence": sequence, **fields}
        stored = update_item(CallItem, call.call_sid, keep=_identity(call), put=put, below=("last_sequence", sequence))
        if stored is not None:
            return True, call_from_raw(stored)
        return False, self.upsert_call(call)  # a late callback: only make sure the item exists

    def calls_of_day(self, shop_id: str, day: str) -> Iterator[Call]:
        for item in CallItem.by_shop_day.query(day_key(shop_id, day)):
            yield call_entity(item)

    def calls_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[Call]:
        """Timeline source: lazy, newest first, from ``until`` back (inclusive)."""
        condition = CallItem.created_at <= until if until else None
        query = CallItem.by_shop_phone.query(shop_phone(shop_id, phone), condition, scan_index_forward=False)
        return (call_entity(item) for item in query)

    def agent_spoke_with(self, shop_id: str, agent_id: str, phone: str, since: datetime) -> bool:
        """Whether the agent was given a call with this customer (inbound, agent-first, a
        callback, a predictive answer) since ``since``: a Query on the customer's calls from
        then on, filtered by the agent, stopping at the first; never a Scan."""
        query = CallItem.by_shop_phone.query(
            shop_phone(shop_id, phone),
            CallItem.created_at >= since,
            filter_condition=CallItem.agent_id == agent_id,
            attributes_to_get=["call_sid"],
        )
        return any(True for _ in query)
