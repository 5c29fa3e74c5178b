"""What happens during and after a robot confirmation call (O7).

The answer webhook decides what the customer hears; a keypress records their decision on the
task and the orders; the final status callback ends the attempt: done with the decision,
queued again for a retry, or unreachable after the last attempt. Key 3 (talk to an agent) gives
the orders to a person at once (route ``agent``) and, when the call ends, the task to the agent
queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, TypeVar

from chalicelib.domain.entities import Call, DialTask, Order
from chalicelib.domain.robot import (
    AGENT_REQUESTED,
    KeypressAction,
    cancel_check_action,
    keypress_action,
    next_attempt_at,
    unanswered_result,
)
from chalicelib.domain.robot_call_ref import RobotCallRef
from chalicelib.domain.twilio_fields import FINAL_CALL_STATUSES
from chalicelib.observability import logger
from chalicelib.services.give_up import orders_unreachable

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.ports import DialerStore, RobotCallStore, Telephony, Together

DECISIONS: dict[KeypressAction, str] = {"confirm": "confirmed", "cancel": "cancelled", "agent": "agent"}

A = TypeVar("A")
B = TypeVar("B")


def one_after_another(first: Callable[[], A], second: Callable[[], B], /) -> tuple[A, B]:
    return first(), second()


def ref_of_task(task: DialTask | None) -> RobotCallRef | None:
    """The attempt a task is on, as a webhook URL would carry it (for URLs that carry none)."""
    if task is None:
        return None
    return RobotCallRef(task.task_id, task.shop_id, task.language, tuple(task.call_order_ids), task.attempts)


@dataclass(frozen=True)
class RobotConversation:
    """What the robot talks about: the open orders of the task, in the customer's language."""

    shop: ShopSettings
    language: str
    orders: list[Order]


def answer_robot_call(
    task_id: str,
    call_sid: str,
    answered_by: str | None,
    *,
    store: RobotCallStore,
    now: datetime,
    ref: RobotCallRef | None = None,
    together: Together = one_after_another,
) -> RobotConversation | None:
    """None when there is nothing to talk about (a machine, a task already finished).

    ``ref``: the attempt as the webhook URL carries it; without it the task is read. One
    transaction attaches the call, marks the customer and the orders reached and records the
    answer on the call, all only if the task is still dialing this call; the orders to talk
    about are read meanwhile (``together``)."""
    ref = ref or ref_of_task(store.get_task(task_id))
    shop = store.get_shop(ref.shop_id) if ref else None  # cached configuration
    if ref is None or shop is None:
        return None
    person = not (answered_by and answered_by.startswith(("machine", "fax")))
    if not person:
        store.answer_robot_call(ref, call_sid, person=False, answered_by=answered_by)
        return None
    answered, orders = together(
        lambda: store.answer_robot_call(
            ref, call_sid, person=True, answered_by=answered_by or "human", answered_at=now
        ),
        lambda: store.orders_by_ids(ref.shop_id, list(ref.order_ids)),
    )
    # Still queued on this task: not one the shop moved to another phone meanwhile (#16 item 14).
    open_orders = [o for o in orders if o.status == "queued" and o.task_id in (None, ref.task_id)]
    if not answered or not open_orders:
        return None
    return RobotConversation(shop=shop, language=ref.language, orders=open_orders)


@dataclass(frozen=True)
class KeyPressed:
    action: KeypressAction | Literal["check_cancel"]  # check_cancel: read the cancel back first
    language: str | None  # the customer's; None for an unknown task
    overruled: str | None = None  # the prompt when the shop decided the orders meanwhile


def press_key(
    task_id: str,
    call_sid: str,
    digits: str | None,
    *,
    store: RobotCallStore,
    now: datetime,
    ref: RobotCallRef | None = None,
    cancel_checked: bool = False,
) -> KeyPressed:
    """``ref``: the attempt as the webhook URL carries it; without it the task is read. A
    decision is one transaction (task, call record, the call's orders), applied only if the
    task is still dialing this call. Key 2 decides nothing until the customer confirms the
    cancel they heard read back (``cancel_checked``)."""
    action = keypress_action(digits)
    decision = DECISIONS.get(action)
    ref = ref or ref_of_task(store.get_task(task_id))
    if ref is None:
        return KeyPressed("unknown" if decision else action, None)
    if decision is None:
        return KeyPressed(action, ref.language)
    if action == "cancel" and not cancel_checked:
        return KeyPressed("check_cancel", ref.language)
    order_status = decision if decision in ("confirmed", "cancelled") else None
    agent_reason = AGENT_REQUESTED if action == "agent" else None
    moved = store.decide_robot_call(
        ref, call_sid, decision, order_status=order_status, now=now, agent_reason=agent_reason
    )
    if moved is None:
        return KeyPressed("unknown", ref.language)  # not this task's call
    logger.info("robot call decision", extra={"task_id": task_id, "call_sid": call_sid, "decision": decision})
    if order_status and ref.order_ids and not moved:  # the shop cancelled or moved them (#16 item 14)
        from chalicelib.domain.order_changes import overruled_reply  # cold start: its models load pydantic

        overruled = overruled_reply(order_status, store.orders_by_ids(ref.shop_id, list(ref.order_ids)))
        return KeyPressed(action, ref.language, overruled)
    return KeyPressed(action, ref.language)


def answer_cancel_check(
    task_id: str, call_sid: str, digits: str | None, *, store: RobotCallStore, now: datetime, ref: RobotCallRef | None
) -> KeyPressed:
    """The customer's answer to the cancel read back: 1 cancels, 2 keeps (the menu again)."""
    action = cancel_check_action(digits)
    if action == "cancel":
        return press_key(task_id, call_sid, "2", store=store, now=now, ref=ref, cancel_checked=True)
    ref = ref or ref_of_task(store.get_task(task_id))
    return KeyPressed(action, ref.language if ref else None)


@dataclass(frozen=True)
class StatusCallback:
    call_sid: str
    call_status: str
    sequence: int
    duration_seconds: int
    answered_by: str | None
    to: str
    from_: str


def record_call_status(
    shop: ShopSettings,
    task_id: str,
    callback: StatusCallback,
    *,
    store: DialerStore,
    now: datetime,
    task: DialTask | None = None,
    together: Together = one_after_another,
    ref: RobotCallRef | None = None,
) -> None:
    """``task``: the task as the caller just read it (saves reading it again). ``ref``: the
    attempt as the status URL carries it: then the task is not read (below).

    The call record's update and the end of the attempt touch different items: when the end
    does not depend on the call record (a decision was made, or Twilio said who answered), they
    are made ``together``."""
    if task is None and ref is not None:
        _status_of_attempt(shop, ref, callback, store=store, now=now)
        return
    task = task or store.get_task(task_id)
    if task is None:
        logger.warning("status callback for an unknown task", extra={"task_id": task_id})
        return
    final = callback.call_status in FINAL_CALL_STATUSES
    fields = _status_fields(callback, final, now)
    call = Call.to_customer_of(task, callback.call_sid, "outbound-robot", callback.from_, now, shop.timezone)

    def record_status() -> Call:
        return store.upsert_call_with_status(call, callback.sequence, **fields)[1]

    if not (final and _attempt_open(task, callback)):
        record_status()  # a repeated final callback: the attempt is already over
        return
    if task.result or callback.answered_by:
        together(record_status, lambda: _end_attempt(shop, task, callback, callback.answered_by, store=store, now=now))
        return
    stored = record_status()
    _end_attempt(shop, task, callback, stored.answered_by, store=store, now=now)


def _status_of_attempt(
    shop: ShopSettings, ref: RobotCallRef, callback: StatusCallback, *, store: DialerStore, now: datetime
) -> None:
    """The status callback in two requests (#19): the call record's update answers with the
    decision the keypress wrote on it (in one transaction with the task's), and the attempt ends
    with one UpdateItem conditional on the attempt as the URL names it, still dialing this call
    with that decision and kind. Only when that fails (the attempt already over, the task made
    an agent task meanwhile) or the customer asked for a person is the task read."""
    seen = DialTask(
        task_id=ref.task_id,
        shop_id=ref.shop_id,
        phone=callback.to,  # the number Twilio called: the customer's
        order_ids=list(ref.order_ids),
        language=ref.language,
        created_at=now,
        kind="robot",
        state="dialing",
        attempts=ref.attempt,
        call_order_ids=list(ref.order_ids),
    )
    final = callback.call_status in FINAL_CALL_STATUSES
    fields = _status_fields(callback, final, now)
    call = Call.to_customer_of(seen, callback.call_sid, "outbound-robot", callback.from_, now, shop.timezone)
    stored = store.upsert_call_with_status(call, callback.sequence, **fields)[1]
    if not final:
        return
    seen.result = stored.result
    answered_by = callback.answered_by or stored.answered_by
    if seen.result != DECISIONS["agent"] and _end_seen(shop, seen, callback, answered_by, store=store, now=now):
        return
    task = store.get_task(ref.task_id)
    if task is None:
        logger.warning("status callback for an unknown task", extra={"task_id": ref.task_id})
    elif _attempt_open(task, callback):
        _end_attempt(shop, task, callback, answered_by, store=store, now=now)


def _status_fields(callback: StatusCallback, final: bool, now: datetime) -> dict[str, object]:
    """What a status callback writes on the call record."""
    fields: dict[str, object] = {"status": callback.call_status}
    if final:
        fields.update(duration_seconds=callback.duration_seconds, ended_at=now)
    if callback.answered_by:
        fields["answered_by"] = callback.answered_by
    return fields


def _end_seen(
    shop: ShopSettings,
    seen: DialTask,
    callback: StatusCallback,
    answered_by: str | None,
    *,
    store: DialerStore,
    now: datetime,
) -> bool:
    """``_end_attempt``'s ending for a task not read: False when its condition did not hold."""
    result: str = "decided"
    retry_at: datetime | None = None
    final_result: str | None = seen.result
    if not seen.result:
        result = unanswered_result(callback.call_status, answered_by)
        retry_at = next_attempt_at(seen.attempts, result, shop.robot, now)
        final_result = None if retry_at else "unreachable"
        if retry_at is None:  # before the end: see _end_attempt
            orders_unreachable(store, shop.shop_id, seen.call_order_ids, now)
    ended = store.end_attempt(
        seen.task_id,
        callback.call_sid,
        call_result=result,
        requeue_at=retry_at,
        final_result=final_result,
        now=now,
        seen=seen,
    )
    return ended is not None


def _attempt_open(task: DialTask, callback: StatusCallback) -> bool:
    return task.state == "dialing" and task.last_call_sid in (None, callback.call_sid)


def _end_attempt(
    shop: ShopSettings,
    task: DialTask,
    callback: StatusCallback,
    answered_by: str | None,
    *,
    store: DialerStore,
    now: datetime,
) -> None:
    """``answered_by``: who answered (machine or person), as Twilio or the call record says."""
    # end_attempt's condition holds the task to the attempt read here, and attaches the call.
    handed = task.result == DECISIONS["agent"] and task.order_ids
    if handed and store.hand_attempt_to_agents(task, callback.call_sid, now) is not None:
        logger.info("robot task handed to the agents", extra={"task_id": task.task_id})
        return
    if task.result:
        store.end_attempt(
            task.task_id,
            callback.call_sid,
            call_result="decided",
            requeue_at=None,
            final_result=task.result,
            now=now,
            seen=task,
        )
        return
    result = unanswered_result(callback.call_status, answered_by)
    retry_at = next_attempt_at(task.attempts, result, shop.robot, now)
    if retry_at is None:
        # The orders first, the task after: if a write fails, the task is still dialing and
        # the sweep (reconcile_stuck_calls) ends it again; once the task is finished nothing
        # would come back for orders left queued. Repeated, the transitions change nothing.
        orders_unreachable(store, shop.shop_id, task.call_order_ids, now)
    store.end_attempt(
        task.task_id,
        callback.call_sid,
        call_result=result,
        requeue_at=retry_at,
        final_result=None if retry_at else "unreachable",
        now=now,
        seen=task,
    )


STALE_DIALING = timedelta(minutes=10)  # far beyond ring time plus a robot conversation


def reconcile_stuck_calls(shop: ShopSettings, *, store: DialerStore, telephony: Telephony, now: datetime) -> list[str]:
    """Settle robot attempts whose end never reached us: a create that timed out and never
    produced a webhook (no call was made: released, not counted), or a call whose final status
    callback was lost (asked of Twilio and applied as if it had arrived)."""
    settled = []
    for task_id in store.stale_dialing_task_ids(shop.shop_id, "robot", now - STALE_DIALING):
        task = store.get_task(task_id)
        if task is None or task.state != "dialing":
            continue
        if task.last_call_sid is None:
            if store.release_claim(task_id, now):
                settled.append(task_id)
            continue
        state = telephony.fetch_call(task.last_call_sid)
        if state.status in FINAL_CALL_STATUSES:
            callback = StatusCallback(
                task.last_call_sid,
                state.status,
                LATE_SEQUENCE,
                state.duration_seconds,
                state.answered_by,
                task.phone,
                "",
            )
            record_call_status(shop, task_id, callback, store=store, now=now, task=task)
            settled.append(task_id)
    return settled


LATE_SEQUENCE = 1_000_000  # after any real callback's SequenceNumber
