"""The managers' schedules: live alerts every minute, daily reports every hour."""

from __future__ import annotations

from typing import Any

from chalicelib import wiring
from chalicelib.clock import current_clock


def live_alerts(event: Any) -> None:
    from chalicelib.services.alerts import check_live_alerts  # cold start: as wiring.alert_channels

    check_live_alerts(
        current_clock().now(),
        shops=wiring.repository().list_shops(),
        queries=wiring.report_queries(),
        channels=wiring.alert_channels(),
    )


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
