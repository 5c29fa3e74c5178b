"""Outbound dialing of robot confirmation tasks (O6, O7): as soon as a task is queued and a
line is free, inside the customer's calling hours; retries when due.

Claiming the task (queued -> dialing) is a conditional write, so two dialers seeing the same
task never call the customer twice for one attempt.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.calling_hours import next_calling_time
from chalicelib.domain.entities import Call, DialTask
from chalicelib.domain.phones import number_time_zone
from chalicelib.domain.priority import in_dial_order
from chalicelib.domain.robot import next_attempt_at
from chalicelib.domain.robot_call_ref import RobotCallRef
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger
from chalicelib.services.destinations import refused_contact
from chalicelib.services.give_up import end_for_do_not_call, orders_unreachable
from chalicelib.services.ports import (
    CallNotPlacedError,
    CallOutcomeUnknownError,
    DialerStore,
    OutboundCall,
    Telephony,
    WebhookUrls,
)

DUE_LOOKAHEAD = 100
TEMPORARY_FAILURE_BACKOFF = timedelta(minutes=1)


def dial_task(
    shop: ShopSettings,
    task_id: str,
    *,
    store: DialerStore,
    telephony: Telephony,
    urls: WebhookUrls,
    now: datetime,
) -> str | None:
    """Place the task's next call if it is due, allowed and a line is free; its CallSid or None."""
    task = store.get_task(task_id)
    if task is None or task.kind != "robot" or task.state != "queued" or (task.due_at and task.due_at > now):
        return None  # agent and callback tasks are for people: the agent dialer takes them
    zone = ZoneInfo(number_time_zone(task.phone) or shop.timezone)
    opening = next_calling_time(now, zone, shop.calling_hours)
    if opening > now:
        store.defer_task(task_id, opening)
        return None
    if store.count_active_tasks(shop.shop_id, task.kind) >= shop.robot.max_concurrent_calls:
        return None  # a line frees up -> the tasks stream or the minute schedule dials it
    if not shop.caller_id:
        logger.error("shop has no caller_id: cannot dial", extra={"shop_id": shop.shop_id})
        return None
    claimed = store.claim_task_for_dial(task_id, now)
    if claimed is None:
        return None
    refused = refused_contact(shop, claimed.phone)  # the last line against toll fraud
    if refused or store.is_do_not_call(shop.shop_id, claimed.phone):
        end_for_do_not_call(store, shop.shop_id, task_id, claimed.call_order_ids, now, refused=refused)
        return None
    # The attempt rides in the answer URL (signed by Twilio): the webhooks need not read the task.
    attempt = RobotCallRef(task_id, shop.shop_id, claimed.language, tuple(claimed.call_order_ids), claimed.attempts)
    try:
        call_sid = telephony.place_call(
            OutboundCall(
                to=claimed.phone,
                from_=shop.caller_id,
                answer_url=urls.robot_answer(task_id, attempt.params()),
                status_url=urls.call_status(task_id, attempt.params()),
                ring_timeout_seconds=shop.robot.ring_timeout_seconds,
                detect_machine=True,
            )
        )
    except CallOutcomeUnknownError:
        # The call may be ringing: its webhooks will tie it to the task, or the sweep
        # (reconcile_stuck_calls) releases the task if none ever comes. Never dial again now.
        logger.warning("call create outcome unknown; waiting for Twilio", extra={"task_id": task_id})
        return None
    except CallNotPlacedError as error:
        if error.temporary:  # throttled or Twilio down: no call was made, the attempt doesn't count
            logger.warning("call not placed; retrying soon", extra={"task_id": task_id, "reason": str(error)})
            store.release_claim(task_id, now + TEMPORARY_FAILURE_BACKOFF)
            return None
        logger.warning(
            "call refused; a failed attempt", extra={"task_id": task_id, "reason": str(error)}, exc_info=True
        )
        _attempt_failed(shop, claimed, store=store, now=now)
        return None
    except Exception:
        logger.exception("call create failed", extra={"task_id": task_id})
        _attempt_failed(shop, claimed, store=store, now=now)
        return None
    store.attach_call(task_id, call_sid)
    store.upsert_call(Call.to_customer_of(claimed, call_sid, "outbound-robot", shop.caller_id, now, shop.timezone))
    store.note_first_dial(shop.shop_id, claimed.call_order_ids, now)
    logger.info("robot call placed", extra={"task_id": task_id, "call_sid": call_sid, "attempt": claimed.attempts})
    return call_sid


def _attempt_failed(shop: ShopSettings, claimed: DialTask, *, store: DialerStore, now: datetime) -> None:
    """Twilio refused the call for good (e.g. an invalid number): a failed attempt, retried by policy."""
    retry_at = next_attempt_at(claimed.attempts, "failed", shop.robot, now)
    if retry_at is None:  # the orders before the task (give_up): the sweep redoes a failed end
        orders_unreachable(store, shop.shop_id, claimed.call_order_ids, now)
    store.end_attempt(
        claimed.task_id,
        None,
        call_result="failed",
        requeue_at=retry_at,
        final_result=None if retry_at else "unreachable",
        now=now,
    )


def dial_due_tasks(
    shop: ShopSettings,
    *,
    store: DialerStore,
    telephony: Telephony,
    urls: WebhookUrls,
    now: datetime,
) -> list[str]:
    """Dial the shop's due robot tasks in the shop's priority order (O6) while lines are free;
    at the morning's opening this is the night's backlog."""
    free_lines = shop.robot.max_concurrent_calls - store.count_active_tasks(shop.shop_id, "robot")
    placed: list[str] = []
    if free_lines <= 0:
        return placed
    # Look further than the free lines: the index orders by due time, the shop by priority.
    due = store.due_tasks(shop.shop_id, "robot", now, limit=max(DUE_LOOKAHEAD, free_lines))
    for task in in_dial_order(due, shop.dialing.priority_variant):
        if len(placed) >= free_lines:
            break
        call_sid = dial_task(shop, task.task_id, store=store, telephony=telephony, urls=urls, now=now)
        if call_sid:
            placed.append(call_sid)
    return placed
