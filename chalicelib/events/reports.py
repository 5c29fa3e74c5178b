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
        queries=wiring.live_queries(),
        channels=wiring.alert_channels(),
    )


def daily_reports(event: Any) -> None:
    from chalicelib.services.reports import send_due_reports_now  # cold start: Jinja and the charts

    # The event carries the Lambda context: app.lambda_context exists only after an HTTP request.
    send_due_reports_now(current_clock().now(), lambda_context=event.context)
