"""What happens during and after a robot confirmation call (O7).

The answer webhook decides what the customer hears; a keypress records their decision on the
task and the orders; the final status callback ends the attempt: done with the decision,
queued again for a retry, or unreachable after the last attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.entities import Call, DialTask, Order
from chalicelib.domain.orders import local_day
from chalicelib.domain.robot import (
    FINAL_CALL_STATUSES,
    KeypressAction,
    keypress_action,
    next_attempt_at,
    unanswered_result,
)
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger
from chalicelib.services.dialer import DialerStore
from chalicelib.services.ports import Telephony

DECISIONS: dict[KeypressAction, str] = {"confirm": "confirmed", "cancel": "cancelled", "agent": "agent"}


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
    store: DialerStore,
    now: datetime,
) -> RobotConversation | None:
    """None when there is nothing to talk about (a machine, a task already finished)."""
    person = not (answered_by and answered_by.startswith(("machine", "fax")))
    # One conditional write attaches the call, marks the customer reached and gives the task.
    task = store.answer_task(task_id, call_sid, contacted=person)
    shop = store.get_shop(task.shop_id) if task else None
    if task is None or shop is None:
        return None
    if not person:
        store.update_call(call_sid, answered_by=answered_by)
        return None
    store.update_call(call_sid, answered_by=answered_by or "human", answered_at=now)
    reached = store.mark_orders(shop.shop_id, task.call_order_ids, reached=True)  # each comes back as stored
    open_orders = [o for o in reached if o.status == "queued"]
    if not open_orders:
        return None
    return RobotConversation(shop=shop, language=task.language, orders=open_orders)


@dataclass(frozen=True)
class KeyPressed:
    action: KeypressAction
    task: DialTask | None  # as stored after the key; None for an unknown task


def press_key(task_id: str, call_sid: str, digits: str | None, *, store: DialerStore, now: datetime) -> KeyPressed:
    action = keypress_action(digits)
    decision = DECISIONS.get(action)
    if decision is None:
        return KeyPressed(action, store.get_task(task_id))
    task = store.set_task_result(task_id, call_sid, decision)  # also attaches the call
    if task is None:  # not this task's call (or no such task)
        return KeyPressed("unknown", store.get_task(task_id))
    store.update_call(call_sid, result=decision)
    if decision in ("confirmed", "cancelled"):
        for order_id in task.call_order_ids:
            store.transition_order(task.shop_id, order_id, {"queued"}, decision, decided_at=now)
    logger.info("robot call decision", extra={"task_id": task_id, "call_sid": call_sid, "decision": decision})
    return KeyPressed(action, task)


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
) -> None:
    """``task``: the task as the caller just read it (saves reading it again)."""
    task = task or store.get_task(task_id)
    if task is None:
        logger.warning("status callback for an unknown task", extra={"task_id": task_id})
        return
    final = callback.call_status in FINAL_CALL_STATUSES
    fields: dict[str, object] = {"status": callback.call_status}
    if final:
        fields.update(duration_seconds=callback.duration_seconds, ended_at=now)
    if callback.answered_by:
        fields["answered_by"] = callback.answered_by
    _, call = store.upsert_call_with_status(
        Call(
            call_sid=callback.call_sid,
            shop_id=shop.shop_id,
            direction="outbound-robot",
            customer_phone=task.phone,
            shop_number=callback.from_,
            created_at=now,
            day=local_day(now, shop.timezone),
            task_id=task_id,
        ),
        callback.sequence,
        **fields,
    )
    if final:
        _end_attempt(shop, task, callback, call, store=store, now=now)


def _end_attempt(
    shop: ShopSettings, task: DialTask, callback: StatusCallback, call: Call, *, store: DialerStore, now: datetime
) -> None:
    if task.state != "dialing" or task.last_call_sid not in (None, callback.call_sid):
        return  # a repeated callback: the attempt is already over
    # end_attempt's condition holds the task to the attempt read here, and attaches the call.
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
    result = unanswered_result(callback.call_status, callback.answered_by or call.answered_by)
    retry_at = next_attempt_at(task.attempts, result, shop.robot, now)
    store.end_attempt(
        task.task_id,
        callback.call_sid,
        call_result=result,
        requeue_at=retry_at,
        final_result=None if retry_at else "unreachable",
        now=now,
        seen=task,
    )
    if retry_at is None:
        for order_id in task.call_order_ids:
            store.transition_order(shop.shop_id, order_id, {"queued"}, "unreachable", decided_at=now)


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
