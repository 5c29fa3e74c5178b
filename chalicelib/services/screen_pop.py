"""The agent's screen pop (A3): the call on the agent's desk with the caller (masked unless the
agent may see numbers), the shop, the orders the call is about with their items, the last
contacts from the customer's timeline, and the outcome saved so far.

Which call is on the desk: the last one given to the agent (``current_call_sid``), while it
is theirs (or rings them as a transfer's target, #17) and until its outcome is final (saved
and past the correction window). A call without an outcome stays on the desk until the next
one arrives, so an agent can record it after hanging up; a call transferred on leaves the
first agent's desk: the agent who has the caller at the end records the outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.entities import Call, DialTask, Order
from chalicelib.domain.outcomes import OUTCOMES, SavedOutcome, correction_open
from chalicelib.domain.phones import mask_phone
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.outcomes import orders_of_call
from chalicelib.services.ports import RecordingLink, ScreenPopStore
from chalicelib.services.timeline import customer_timeline

RECENT_CONTACTS = 10
ENDED_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def screen_pop(
    shop: ShopSettings,
    agent_id: str,
    *,
    store: ScreenPopStore,
    now: datetime,
    recording_link: RecordingLink | None = None,
) -> dict[str, Any] | None:
    """What the agent's screen shows now; None when no call is on their desk."""
    agent = store.desk_agent(shop.shop_id, agent_id)
    if agent is None or not agent.current_call_sid:
        return None
    call = store.get_call(agent.current_call_sid)
    if call is None or call.shop_id != shop.shop_id or agent_id not in (call.agent_id, call.transfer_to):
        return None  # the call went to someone else (this agent missed it, or transferred it on)
    history = store.outcomes_of(call.call_sid)
    wrap_up = shop.inbound.wrap_up_seconds
    if history and not correction_open(history[0].saved_at, now, wrap_up):
        return None  # done: the outcome is final
    task = store.get_task(call.task_id) if call.task_id else None
    order_ids = history[-1].order_ids if history else orders_of_call(shop, call, task, store)
    orders = store.orders_by_ids(shop.shop_id, order_ids)
    recent = customer_timeline(
        shop, call.customer_phone, store=store, limit=RECENT_CONTACTS, recording_link=recording_link
    )
    phone = call.customer_phone if agent.sees_phone_numbers else mask_phone(call.customer_phone)
    return {
        "agent": {"agent_id": agent.agent_id, "name": agent.name, "status": agent.status},
        "shop": {"shop_id": shop.shop_id, "name": shop.name},
        "call": {
            "call_sid": call.call_sid,
            "direction": call.direction,
            "state": "ended" if call.status in ENDED_STATUSES or call.ended_at else "live",
            "status": call.status,
            "language": call.language,
            "started_at": call.created_at.isoformat(),
            "answered_at": call.answered_at.isoformat() if call.answered_at else None,
            "purpose": _purpose(call, task),
            # a transfer under way: the agent or outside number rung (the page shows its outcome)
            "transfer_to": call.transfer_to or call.transfer_number,
            "on_hold": bool(call.on_hold),
        },
        "caller": {
            "phone": phone,
            "phone_masked": not agent.sees_phone_numbers,
            "name": next((order.customer_name for order in orders if order.customer_name), None),
        },
        "orders": [_order_view(order) for order in orders],
        # The customer's number is the timeline's key, never inside an entry: nothing to mask.
        "recent_contacts": [entry.public_view() for entry in recent.entries],
        "outcome": _outcome_view(history, wrap_up),
        "outcome_codes": list(OUTCOMES),
    }


def _purpose(call: Call, task: DialTask | None) -> str:
    if task is not None and task.kind == "callback":
        return "callback"
    return "order-confirmation" if call.direction == "outbound-agent" else "inbound"


def _order_view(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "status": order.status,
        "total": str(order.total),
        "currency": order.currency,
        "items": order.payload.get("items", []),
        "delivery": order.payload.get("delivery"),
        "comment": order.payload.get("comment"),
        "received_at": order.received_at.isoformat(),
    }


def _outcome_view(history: list[SavedOutcome], wrap_up_seconds: int) -> dict[str, Any] | None:
    if not history:
        return None
    latest = history[-1]
    return {
        "outcome": latest.outcome,
        "comment": latest.comment,
        "saved_at": latest.saved_at.isoformat(),
        "correctable_until": (history[0].saved_at + timedelta(seconds=wrap_up_seconds)).isoformat(),
    }
