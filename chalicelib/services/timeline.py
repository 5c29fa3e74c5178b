"""A customer's timeline (A7) per (shop, phone): orders, calls (with their outcome, a
recording link and the voicemail left), text messages in and out, agents' outcomes and the opt-out, newest first,
paged. Every source is a Query on a (shop, phone) key, read only as far as the page needs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.entities import Call, Order, TextMessage
from chalicelib.domain.outcomes import SavedOutcome
from chalicelib.domain.shop import ShopSettings
from chalicelib.domain.timeline import Position, TimelineEntry, TimelinePage, decode_cursor, page_of
from chalicelib.services.ports import CustomerAccess, RecordingLink, TimelineStore

DEFAULT_PAGE = 20


def customer_timeline(
    shop: ShopSettings,
    phone: str,
    *,
    store: TimelineStore,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    recording_link: RecordingLink | None = None,
) -> TimelinePage:
    """One page of the customer's timeline; ``CursorRefused`` for a cursor we did not give."""
    after: Position | None = decode_cursor(cursor) if cursor else None
    until = after.at if after else None
    shop_id = shop.shop_id
    sources = [
        (order_entry(order) for order in store.orders_of_customer(shop_id, phone, until)),
        (call_entry(call, store, recording_link) for call in store.calls_of_customer(shop_id, phone, until)),
        (sms_entry(message) for message in store.messages_of_customer(shop_id, phone, until)),
        (outcome_entry(saved) for saved in store.outcomes_newest_first(shop_id, phone, until)),
        _opt_out(store.opted_out_since(shop_id, phone)),
    ]
    return page_of(sources, limit, after)


def agents_customer(shop: ShopSettings, agent_id: str, phone: str, *, store: CustomerAccess, now: datetime) -> bool:
    """Whether an agent (not a supervisor) may read this customer's timeline: they were given a
    call with them (inbound, agent-first, a callback they took, a predictive answer) within the
    shop's ``desk.customer_days``. The timeline holds texts and recording links: an agent's token
    reads only the customers of their own calls."""
    since = now - timedelta(days=shop.desk.customer_days)
    return store.agent_spoke_with(shop.shop_id, agent_id, phone, since)


def order_entry(order: Order) -> TimelineEntry:
    return TimelineEntry(
        order.received_at,
        "order",
        order.order_id,
        {
            "order_id": order.order_id,
            "order_number": order.order_number,
            "customer_name": order.customer_name,
            "status": order.status,
            "route": order.route,
            "route_reason": order.route_reason,
            "decided_by": order.decided_by,  # "shop": the shop cancelled it (#16 item 14)
            "cancel_reason": order.cancel_reason,
            "total": str(order.total),
            "currency": order.currency,
            "items": order.payload.get("items", []),
        },
    )


def call_entry(call: Call, store: TimelineStore, recording_link: RecordingLink | None) -> TimelineEntry:
    outcome = None
    if call.agent_id:  # only agents record outcomes: robot calls need no lookup
        saved = store.outcomes_of(call.call_sid)
        outcome = saved[-1].outcome if saved else None
    has_recording = bool(call.recording_sid or call.recording_url)
    return TimelineEntry(
        call.created_at,
        "call",
        call.call_sid,
        {
            "call_sid": call.call_sid,
            "direction": call.direction,
            "status": call.status,
            "result": call.result,
            "duration_seconds": call.duration_seconds,
            "agent_id": call.agent_id,
            # every agent who talked to the caller, in order (a transfer adds the next, #17)
            "handled_by": call.handled_by or ([call.agent_id] if call.agent_id else []),
            "transferred_to_number": call.transferred_to_number,  # handed to an outside number (#17)
            "outcome": outcome,
            "recording": {
                "available": has_recording,
                "url": recording_link(call) if has_recording and recording_link else None,
            },
            "voicemail": _voicemail(call),
        },
    )


def _voicemail(call: Call) -> dict[str, Any] | None:
    """The message the caller left (its length, its callback task, Twilio's text where the shop
    asks for it); None for a call without one."""
    if call.result != "voicemail":
        return None
    return {
        "seconds": call.voicemail_seconds,
        "callback_task_id": call.callback_task_id,
        "transcription": call.transcription,
    }


def sms_entry(message: TextMessage) -> TimelineEntry:
    return TimelineEntry(
        message.at,
        "sms",
        message.message_sid,
        {
            "message_sid": message.message_sid,
            "direction": message.direction,
            "body": message.body,
            "purpose": message.purpose,
            "intent": message.intent,
            "order_ids": message.order_ids,
            "left_open": message.left_open,
        },
    )


def outcome_entry(saved: SavedOutcome) -> TimelineEntry:
    return TimelineEntry(
        saved.saved_at,
        "outcome",
        f"{saved.call_sid}@{saved.saved_at.isoformat()}",
        {
            "call_sid": saved.call_sid,
            "agent_id": saved.agent_id,
            "outcome": saved.outcome,
            "comment": saved.comment,
            "callback_at": saved.callback_at.isoformat() if saved.callback_at else None,
            "orders_updated": saved.orders_moved,
        },
    )


def _opt_out(opted_out: tuple[datetime, str] | None) -> Iterator[TimelineEntry]:
    """The do-not-call entry as it stands (a START removes it; the texts themselves are on the
    timeline as SMS entries)."""
    if opted_out is not None:
        at, source = opted_out
        yield TimelineEntry(at, "opt_out", "do-not-call", {"source": source})
