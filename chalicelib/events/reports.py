"""The managers' schedules: live alerts every minute (the shops with calls today only), daily
reports every hour."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import wiring
from chalicelib.clock import current_clock
from chalicelib.domain.live_counts import days_somewhere
from chalicelib.events.budget import random_start, seconds_left
from chalicelib.observability import metrics
from chalicelib.services.shop_sweep import SweepRun, sweep


def live_alerts(event: Any) -> SweepRun:
    """The shops with calls today (the counters' sparse index), each checked on its own, from a
    random first shop, within the Lambda's time: the others cannot cross a live threshold."""
    from chalicelib.services.alerts import check_shop_live_alerts  # cold start: as wiring.alert_channels

    now, store, queries = current_clock().now(), wiring.repository(), wiring.report_queries()
    active = wiring.live_counters().shops_with_calls(day.isoformat() for day in days_somewhere(now))
    days: dict[str, set[str]] = {}
    for shop_id, day in active:
        days.setdefault(shop_id, set()).add(day)

    def visit(shop_id: str) -> None:
        shop = store.get_shop(shop_id)
        if shop is None or now.astimezone(shop.zone).date().isoformat() not in days[shop_id]:
            return  # its calls were on another day of its own
        check_shop_live_alerts(shop, now, queries=queries, channels=wiring.alert_channels())

    run = sweep(days, visit, start=random_start(), seconds_left=seconds_left(event), name="live_alerts")
    metrics.add_metric(name="ScheduleShopsFailed", unit=MetricUnit.Count, value=len(run.failed))
    metrics.add_metric(name="ScheduleShopsLeft", unit=MetricUnit.Count, value=len(run.left))
    return run


def daily_reports(event: Any) -> None:
    from chalicelib.services.reports.sending import send_due_reports  # cold start: Jinja and the charts

    now = current_clock().now()
    send_due_reports(
        now,
        shops=wiring.report_shops(),
        sender=wiring.mailer(),
        queries=wiring.report_queries(),
        once=wiring.report_once(),
        runs=wiring.report_runs(),
        recording_links=wiring.report_recording_links(now),
    )
