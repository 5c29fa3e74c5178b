"""What happens during and after a robot confirmation call (O7).

The answer webhook decides what the customer hears; a keypress records their decision on the
task and the orders; the final status callback ends the attempt: done with the decision,
queued again for a retry, or unreachable after the last attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.entities import Call, Order
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

    language: str
    orders: list[Order]


def answer_robot_call(
    shop: ShopSettings,
    task_id: str,
    call_sid: str,
    answered_by: str | None,
    *,
    store: DialerStore,
    now: datetime,
) -> RobotConversation | None:
    """None when there is nothing to talk about (a machine, a task already finished)."""
    task = store.get_task(task_id)
    if task is None or task.state != "dialing" or not store.attach_call(task_id, call_sid):
        return None
    if answered_by and answered_by.startswith(("machine", "fax")):
        store.update_call(call_sid, answered_by=answered_by)
        return None
    store.update_call(call_sid, answered_by=answered_by or "human", answered_at=now)
    store.mark_contacted(task_id)
    store.mark_orders(shop.shop_id, task.call_order_ids, reached=True)
    open_orders = [o for o in store.orders_by_ids(shop.shop_id, task.call_order_ids) if o.status == "queued"]
    if not open_orders:
        return None
    return RobotConversation(language=task.language, orders=open_orders)


def press_key(
    shop: ShopSettings, task_id: str, call_sid: str, digits: str | None, *, store: DialerStore, now: datetime
) -> KeypressAction:
    action = keypress_action(digits)
    decision = DECISIONS.get(action)
    if decision is None:
        return action
    task = store.get_task(task_id)
    if task is None or not store.attach_call(task_id, call_sid):
        return "unknown"
    store.set_task_result(task_id, call_sid, decision)
    store.update_call(call_sid, result=decision)
    if decision in ("confirmed", "cancelled"):
        for order_id in task.call_order_ids:
            store.transition_order(shop.shop_id, order_id, {"queued"}, decision, decided_at=now)
    logger.info("robot call decision", extra={"task_id": task_id, "call_sid": call_sid, "decision": decision})
    return action


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
    shop: ShopSettings, task_id: str, callback: StatusCallback, *, store: DialerStore, now: datetime
) -> None:
    task = store.get_task(task_id)
    if task is None:
        logger.warning("status callback for an unknown task", extra={"task_id": task_id})
        return
    store.upsert_call(
        Call(
            call_sid=callback.call_sid,
            shop_id=shop.shop_id,
            direction="outbound-robot",
            customer_phone=task.phone,
            shop_number=callback.from_,
            created_at=now,
            day=local_day(now, shop.timezone),
            task_id=task_id,
        )
    )
    final = callback.call_status in FINAL_CALL_STATUSES
    fields: dict[str, object] = {"status": callback.call_status}
    if final:
        fields.update(duration_seconds=callback.duration_seconds, ended_at=now)
    if callback.answered_by:
        fields["answered_by"] = callback.answered_by
    store.apply_call_status(callback.call_sid, callback.sequence, **fields)
    if final:
        _end_attempt(shop, task_id, callback, store=store, now=now)


def _end_attempt(
    shop: ShopSettings, task_id: str, callback: StatusCallback, *, store: DialerStore, now: datetime
) -> None:
    store.attach_call(task_id, callback.call_sid)
    task = store.get_task(task_id)
    if task is None or task.state != "dialing" or task.last_call_sid != callback.call_sid:
        return  # a repeated callback: the attempt is already over
    if task.result:
        store.end_attempt(
            task_id, callback.call_sid, call_result="decided", requeue_at=None, final_result=task.result, now=now
        )
        return
    call = store.get_call(callback.call_sid)
    answered_by = callback.answered_by or (call.answered_by if call else None)
    result = unanswered_result(callback.call_status, answered_by)
    retry_at = next_attempt_at(task.attempts, result, shop.robot, now)
    store.end_attempt(
        task_id,
        callback.call_sid,
        call_result=result,
        requeue_at=retry_at,
        final_result=None if retry_at else "unreachable",
        now=now,
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
            record_call_status(shop, task_id, callback, store=store, now=now)
            settled.append(task_id)
    return settled


LATE_SEQUENCE = 1_000_000  # after any real callback's SequenceNumber
