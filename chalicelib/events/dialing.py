"""The dialers' triggers: the tasks stream (a task queued, a line freed) and the minute schedule
(the shops with due or stuck tasks, found across shops in the tasks' sparse indexes: stuck calls
settled, due tasks dialed, agent-first and customer-first dialing; agents' browser calls whose
end was lost, in the agents' sparse index; idle shops are never read)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import wiring
from chalicelib.clock import current_clock
from chalicelib.domain.predictive import STALE_LINE, DayCounts
from chalicelib.domain.shop import ShopSettings
from chalicelib.events.batch import process_stream
from chalicelib.events.budget import random_start, seconds_left
from chalicelib.observability import logger, metrics, tracer
from chalicelib.services import agent_dialer, bridging, browser_call_legs, dialer, predictive_dialer, robot_call
from chalicelib.services.shop_sweep import SweepRun, sweep

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

DROP_RATE_METRIC = "DialerDropRate"  # infra/stack.py's alarm watches it (namespace CallCenter, service)


def task_stream(event: dict[str, Any], context: Any) -> Any:
    return process_stream(event, context, dial_on_change)


@tracer.capture_method
def dial_on_change(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else {}
    old = (record.dynamodb.old_image if record.dynamodb else None) or {}
    if not image.get("shop_id"):
        return  # an item still being created (moto writes the key first), or removed
    shop = wiring.repository().get_shop(image["shop_id"])
    if shop is None:
        return
    store, telephony, urls, now = wiring.repository(), wiring.telephony(), wiring.urls(), current_clock().now()
    if old.get("state") == "dialing" and image.get("state") != "dialing":
        dialer.dial_due_tasks(shop, store=store, telephony=telephony, urls=urls, now=now)  # a line is free again
    if image.get("state") == "queued" and old.get("state") != "queued":
        dialer.dial_task(
            shop, image["task_id"], store=store, telephony=telephony, urls=urls, now=now
        )  # new or reopened
    if image.get("kind") == "agent" and image.get("state") != old.get("state"):
        pace_shop(shop, now)  # customer-first shops: a task or an agent freed


# A call is looked at by the sweeps once it has been dialing this long (the shortest of them).
STUCK_AFTER = min(robot_call.STALE_DIALING, agent_dialer.STALE_DIALING, STALE_LINE)


def dial_due(event: Any) -> SweepRun:
    store, now = wiring.repository(), current_clock().now()
    release_lost_browser_calls(now)
    with_work = store.shops_with_tasks_due(now, now - STUCK_AFTER)
    waiting = store.shops_with_callers_waiting()  # wrap-ups that ran their time meet them (issue 17)

    def visit(shop_id: str) -> None:
        shop = store.get_shop(shop_id)
        if shop is None:
            return
        if shop_id in with_work:
            dial_shop(shop, now)
        if shop_id in waiting:
            bridge_free_agents(shop, now)

    run = sweep(
        set(with_work) | waiting, visit, start=random_start(), seconds_left=seconds_left(event), name="dial_due"
    )
    metrics.add_metric(name="DialDueShops", unit=MetricUnit.Count, value=len(run.visited))
    metrics.add_metric(name="ScheduleShopsFailed", unit=MetricUnit.Count, value=len(run.failed))
    metrics.add_metric(name="ScheduleShopsLeft", unit=MetricUnit.Count, value=len(run.left))
    return run


def release_lost_browser_calls(now: datetime) -> list[str]:
    """Agents still busy on a browser call whose end never reached us (#17): one Query of a
    sparse index across the shops, nothing per shop."""
    try:
        return browser_call_legs.release_lost_calls(store=wiring.repository(), telephony=wiring.telephony(), now=now)
    except Exception:  # the dialing below must run whatever happened here
        logger.exception("lost browser calls not settled")
        return []


def dial_shop(shop: ShopSettings, now: datetime) -> None:
    store = wiring.repository()
    robot_call.reconcile_stuck_calls(shop, store=store, telephony=wiring.telephony(), now=now)
    dialer.dial_due_tasks(shop, store=store, telephony=wiring.telephony(), urls=wiring.urls(), now=now)
    dial_agents(shop, now)  # agent tasks and callbacks, agent first (O8, I6)


def bridge_free_agents(shop: ShopSettings, now: datetime) -> list[str]:
    """Agents free again (a wrap-up that ran its time) take waiting callers out of the queue
    now rather than at the end of the callers' hold music (services.bridging)."""
    return bridging.sweep(
        shop, store=wiring.inbound_store(), calls=wiring.telephony(), links=wiring.inbound_links(), now=now
    )


def dial_agents(shop: ShopSettings, now: datetime) -> list[str]:
    """Settle agent-first calls whose end never reached us, let free agents call the due
    callbacks and (progressive shops) agent tasks, and pace predictive shops' customer-first
    calls, publishing their day's drop rate (``DialerDropRate``, percent)."""
    placed: list[str] = []
    try:
        store = wiring.inbound_store()
        agent_dialer.reconcile_stuck_agent_calls(shop, store=store, telephony=wiring.telephony(), now=now)
        placed = agent_dialer.dial_for_free_agents(
            shop, store=store, telephony=wiring.telephony(), urls=wiring.agent_dial_links(), now=now
        )
    except Exception:  # one shop's fault must not stop the schedule for the others
        logger.exception("agent dialing failed", extra={"shop_id": shop.shop_id})
    today = pace_shop(shop, now, sweep=True)
    if today is not None:
        metrics.add_metric(name=DROP_RATE_METRIC, unit=MetricUnit.Percent, value=today.drop_rate_percent)
    return placed


def pace_shop(shop: ShopSettings, now: datetime, *, sweep: bool = False) -> DayCounts | None:
    """Customer-first dialing of the shop's agent tasks (a no-op for progressive shops); today's
    counters, or None when the shop's dialing failed (one shop must not stop the others)."""
    if not predictive_dialer.is_predictive(shop):
        return None
    try:
        store = wiring.dialer_store()
        if sweep:
            predictive_dialer.sweep_lines(shop, store=store, telephony=wiring.telephony(), now=now)
        run = predictive_dialer.pace(
            shop, store=store, telephony=wiring.telephony(), urls=wiring.predictive_links(), now=now
        )
    except Exception:
        logger.exception("predictive dialing failed", extra={"shop_id": shop.shop_id})
        return None
    return run.today
