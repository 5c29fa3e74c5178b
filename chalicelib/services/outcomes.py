"""An agent records a call's outcome (A4) and what it sets off (A5).

- The call must be one of the shop's and one the agent handled (``Call.agent_id``).
- ``confirmed``/``cancelled`` move the call's open orders with conditional transitions: the
  dial task's orders of that call for an agent-dialed call, the caller's open orders otherwise.
- ``callback`` schedules a callback task for the agents at the agreed time.
- Saving again within the shop's wrap-up window (counted from the first save) corrects the
  outcome: what the previous one did to the orders is undone, a callback it scheduled and
  not yet served is dropped; every save is kept with its time (``OutcomeRecord``).
- ``needs_manager`` emails the shop's managers once per call, ``complaint`` raises the
  complaint alert once per call (both through the alerts' idempotent email path), however
  often the outcome is saved. Other outcomes send nothing. The email goes from the outcomes
  stream (``after_outcome_saved``), not from the request: a failed send fails the stream
  record, which is retried, whether or not the agent can still correct the outcome.
- ``after_outcome_saved`` also queues the outcome's event for the shop's CRM (A6).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain.entities import Call, DialTask, Order
from chalicelib.domain.outcomes import (
    OPEN_ORDER_STATUSES,
    OutcomeIn,
    SavedOutcome,
    correction_open,
    order_moves,
    purpose_of,
)
from chalicelib.observability import logger
from chalicelib.services.alerts import AlertChannels, complaint_alert, send_alert, worded_alert
from chalicelib.services.crm_push import queue_outcome_event
from chalicelib.voice.alert_words import NeedsManagerFacts

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.ports import Outbox, OutcomeStore, SavedOutcomes

# (shop, outcome, call, orders, purpose) -> whether an email went out now
Notifier = Callable[["ShopSettings", SavedOutcome, Call, list[Order], str], bool]
MANAGER_OUTCOMES = frozenset({"needs_manager", "complaint"})


class OutcomeError(Exception):
    """The outcome cannot be saved: HTTP status, error code, the field at fault, a message."""

    def __init__(self, status: int, error: str, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status, self.error, self.field, self.message = status, error, field, message


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    saved: SavedOutcome
    corrected: bool
    correctable_until: datetime
    notified: bool  # this save sets off the managers' email (sent from the outcomes stream)

    def public_view(self) -> dict[str, Any]:
        saved = self.saved
        return {
            "call_sid": saved.call_sid,
            "agent_id": saved.agent_id,
            "outcome": saved.outcome,
            "comment": saved.comment,
            "saved_at": saved.saved_at.isoformat(),
            "corrected": self.corrected,
            "correctable_until": self.correctable_until.isoformat(),
            "order_ids": saved.order_ids,
            "orders_updated": saved.orders_moved,
            "callback": (
                {"task_id": saved.callback_task_id, "callback_at": saved.callback_at.isoformat()}
                if saved.callback_task_id and saved.callback_at
                else None
            ),
            "manager_notified": self.notified,
        }


def record_outcome(
    shop: ShopSettings,
    call_sid: str,
    request: OutcomeIn,
    *,
    store: OutcomeStore,
    now: datetime,
) -> OutcomeResult:
    call = store.get_call(call_sid)
    if call is None or call.shop_id != shop.shop_id:
        raise OutcomeError(404, "not_found", "call_sid", f"no call {call_sid!r} for this shop")
    if not call.agent_id or call.agent_id != request.agent_id:
        raise OutcomeError(403, "forbidden", "agent_id", f"agent {request.agent_id!r} did not handle this call")
    history = store.outcomes_of(call_sid)
    wrap_up = shop.inbound.wrap_up_seconds
    if history and not correction_open(history[0].saved_at, now, wrap_up):
        until = history[0].saved_at + timedelta(seconds=wrap_up)
        raise OutcomeError(
            409,
            "outcome_final",
            "outcome",
            f"the outcome can no longer be corrected (wrap-up ended {until.isoformat()})",
        )
    previous = history[-1] if history else None
    task = store.get_task(call.task_id) if call.task_id else None
    order_ids = previous.order_ids if previous else orders_of_call(shop, call, task, store)

    moved: list[str] = []
    move = order_moves(previous.outcome if previous else None, request.outcome)
    if move is not None:
        sources, target = move
        undoable = set(previous.orders_moved) if previous else set()
        for order_id in order_ids:
            # A correction undoes only what the previous save did: an order someone else decided
            # meanwhile (the shop's cancel, #16 item 14) stays as they decided it.
            allowed = set(sources) if order_id in undoable else set(sources) & OPEN_ORDER_STATUSES
            if allowed and store.transition_order(shop.shop_id, order_id, allowed, target, decided_at=now):
                moved.append(order_id)

    callback_task_id = None
    if request.outcome == "callback" and request.callback_at is not None:
        callback_task_id = _callback_task_id(call_sid, request.callback_at)
        language = call.language or (task.language if task else None) or shop.main_language
        store.insert_callback_task(
            callback_task_id, shop.shop_id, call.customer_phone, language, request.callback_at, now
        )
    if previous and previous.callback_task_id and previous.callback_task_id != callback_task_id:
        _drop_callback(previous.callback_task_id, store)

    saved = SavedOutcome(
        call_sid=call_sid,
        shop_id=shop.shop_id,
        phone=call.customer_phone,
        agent_id=request.agent_id,
        outcome=request.outcome,
        saved_at=now,
        comment=request.comment,
        callback_at=request.callback_at,
        callback_task_id=callback_task_id,
        order_ids=sorted(order_ids),
        orders_moved=sorted(moved),
    )
    store.save_outcome(saved)
    logger.info(
        "outcome saved",
        extra={"call_sid": call_sid, "outcome": request.outcome, "corrected": bool(history), "moved": moved},
    )
    # The email itself goes from the outcomes stream; this save is the one that sets it off
    # unless an earlier save of the call already asked for the same.
    notified = (
        request.outcome in MANAGER_OUTCOMES
        and (request.outcome != "complaint" or shop.alerts.complaints)
        and all(h.outcome != request.outcome for h in history)
    )
    first_saved = history[0].saved_at if history else now
    return OutcomeResult(
        saved=saved,
        corrected=bool(history),
        correctable_until=first_saved + timedelta(seconds=wrap_up),
        notified=notified,
    )


def orders_of_call(shop: ShopSettings, call: Call, task: DialTask | None, store: OutcomeStore) -> list[str]:
    """The orders the call was about: the dial task's for that call, else the caller's open ones."""
    if task is not None and task.last_call_sid == call.call_sid and task.call_order_ids:
        return sorted(task.call_order_ids)
    return sorted(order.order_id for order in store.open_orders_of(shop.shop_id, call.customer_phone))


def _callback_task_id(call_sid: str, at: datetime) -> str:
    return "cb_out_" + hashlib.sha256(f"{call_sid}#{at.isoformat()}".encode()).hexdigest()[:20]


def _drop_callback(task_id: str, store: OutcomeStore) -> None:
    """A corrected callback outcome: its task goes unless an agent is already on it."""
    task = store.get_task(task_id)
    if task is not None and task.state == "waiting":
        store.finish_callback(task_id, "corrected")


# ---- after the save: from the outcomes stream ------------------------------------------------
def after_outcome_saved(
    call_sid: str,
    saved_key: str,
    *,
    store: SavedOutcomes,
    outbox: Outbox,
    now: datetime,
    notify: Notifier,
) -> str | None:
    """What one saved outcome sets off, each once however often the record is delivered or
    the outcome saved: its CRM event (the id is returned) and, for ``needs_manager`` and
    ``complaint``, the managers' email. A failure raises, and the stream tries again."""
    saves = store.saves_of(call_sid)
    saved = dict(saves).get(saved_key)
    if saved is None:
        raise LookupError(f"outcome {saved_key!r} of {call_sid!r} not found")
    shop = store.get_shop(saved.shop_id)
    if shop is None:
        raise LookupError(f"outcome of unknown shop {saved.shop_id!r}")
    orders = store.orders_by_ids(shop.shop_id, saved.order_ids)
    call = store.get_call(call_sid)
    handled_by = (call.handled_by or ([call.agent_id] if call.agent_id else None)) if call else None
    event_id = queue_outcome_event(shop, saves, saved_key, orders, outbox=outbox, now=now, handled_by=handled_by)
    if saved.outcome in MANAGER_OUTCOMES:
        if call is None:
            raise LookupError(f"call {call_sid!r} not found")
        task = store.get_task(call.task_id) if call.task_id else None
        purpose = purpose_of(call.direction, task.kind if task else None)
        sent = notify(shop, saved, call, orders, purpose)
        logger.info("manager email", extra={"call_sid": call_sid, "outcome": saved.outcome, "sent_now": sent})
    return event_id


# ---- manager emails (A5) -------------------------------------------------------------------
def notify_managers(
    shop: ShopSettings,
    saved: SavedOutcome,
    call: Call,
    orders: list[Order],
    purpose: str,
    *,
    channels: AlertChannels,
) -> bool:
    """One email per call and outcome kind, however often it is saved (alerts' idempotency is
    keyed by shop, kind and the call's sid). True when this call sent it."""
    first = orders[0] if orders else None
    number = ", ".join(order.order_number or order.order_id for order in orders) or "—"
    name = next((order.customer_name for order in orders if order.customer_name), "")
    if saved.outcome == "complaint":
        complaint = complaint_alert(
            shop,
            event_id=saved.call_sid,
            phone=saved.phone,
            order_id=first.order_id if first else None,
            order_number=number if orders else None,
            customer_name=name,
            agent_id=saved.agent_id,
            comment=saved.comment,
        )
        return send_alert(shop, complaint, channels=channels)
    facts = NeedsManagerFacts(
        shop_name=shop.name,
        call_sid=saved.call_sid,
        order_numbers=tuple(order.order_number or order.order_id for order in orders),
        customer_name=name,
        phone=saved.phone,
        purpose=purpose,
        agent=saved.agent_id or "",
        comment=saved.comment,
    )
    alert = worded_alert(shop, "needs-manager", saved.call_sid, facts)
    return send_alert(shop, alert, channels=channels)
