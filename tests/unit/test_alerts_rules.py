"""Which events call for an alert (R6) and what it says."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from chalicelib.domain.report.facts import CallFact
from chalicelib.domain.report.tally import daily_figures
from chalicelib.domain.shop import AlertPolicy, ReportPolicy, ShopSettings
from chalicelib.services.alerts import alert_recipients, complaint_alert, large_order_alert, live_alerts
from chalicelib.services.live import LiveFigures, QueueNow

NOW = datetime(2014, 3, 29, 10, 15, tzinfo=UTC)  # 12:15 in Kyiv


def shop(**alerts: object) -> ShopSettings:
    return ShopSettings(
        shop_id="acme",
        name="Acme",
        languages=["en"],
        report=ReportPolicy(recipients=["owner@acme.example"], sender="reports@acme.example"),
        alerts=AlertPolicy.model_validate(alerts),
    )


def order(total: str, status: str = "queued", currency: str = "UAH") -> dict[str, object]:
    return {
        "order_id": "ord_1",
        "order_number": "A-7",
        "total": total,
        "currency": currency,
        "status": status,
        "phone": "+380671234567",
        "customer_name": "Olena",
    }


def test_an_order_above_the_threshold_calls_for_one_alert():
    alert = large_order_alert(shop(order_total_above="5000"), order("5000.01"))

    assert alert is not None
    assert (alert.kind, alert.event) == ("large-order", "ord_1")
    assert alert.subject == "Acme: order A-7 for 5000.01 UAH (above 5000)"
    assert "+380*******67" in alert.text and "+380671234567" not in alert.text


def test_orders_at_or_below_the_threshold_duplicates_fakes_and_no_threshold_are_quiet():
    policy = shop(order_total_above="5000")
    assert large_order_alert(policy, order("5000.00")) is None
    assert large_order_alert(policy, order("9000", status="duplicate")) is None
    assert large_order_alert(policy, order("9000", status="fake")) is None
    assert large_order_alert(policy, order("9000", currency="USD")) is None
    assert large_order_alert(policy, None) is None
    assert large_order_alert(shop(), order("1000000")) is None


def test_a_complaint_alert_names_the_order_the_agent_and_the_comment():
    alert = complaint_alert(
        shop(),
        event_id="CA1",
        phone="+380671234567",
        order_number="A-7",
        customer_name="Olena",
        agent_id="anna",
        comment="late delivery",
    )

    assert alert is not None
    assert (alert.kind, alert.event) == ("complaint", "CA1")
    assert alert.subject == "Acme: complaint from Olena (order A-7)"
    assert "Agent: anna" in alert.text and "Comment: late delivery" in alert.text
    assert complaint_alert(shop(complaints=False), event_id="CA1", phone="+380671234567") is None


def live(longest: int, *, drops: int = 0, answers: int = 0) -> LiveFigures:
    calls = [
        CallFact(f"a{n}", "outbound-agent", "completed", "human", NOW, NOW, result="dropped" if n < drops else None)
        for n in range(answers)
    ]
    return LiveFigures("acme", NOW, date(2014, 3, 29), QueueNow(2, longest), (), daily_figures([], calls))


def test_queue_wait_over_the_limit_alerts_once_per_local_hour():
    alerts = live_alerts(shop(max_queue_wait_seconds=120), live(121))

    assert [(a.kind, a.event) for a in alerts] == [("queue-wait", "2014-03-29T12")]
    assert "The longest has waited 2 min 1 s" in alerts[0].text
    assert live_alerts(shop(max_queue_wait_seconds=120), live(120)) == []
    assert live_alerts(shop(max_queue_wait_seconds=None), live(9999)) == []


def test_drop_rate_over_the_limit_alerts_once_per_local_day():
    alerts = live_alerts(shop(max_drop_rate_percent="3"), live(0, drops=2, answers=50))  # 4.0%

    assert [(a.kind, a.event) for a in alerts] == [("drop-rate", "2014-03-29")]
    assert "dropped live answers ÷ live answers" in alerts[0].text
    assert live_alerts(shop(max_drop_rate_percent="3"), live(0, drops=1, answers=50)) == []  # 2.0%
    assert live_alerts(shop(), live(0)) == []  # no agent dialing: no rate


def test_alerts_go_to_the_alert_recipients_else_the_report_recipients():
    assert alert_recipients(shop()) == ("owner@acme.example",)
    assert alert_recipients(shop(recipients=["boss@acme.example"])) == ("boss@acme.example",)
    assert shop(order_total_above="10").alerts.order_total_above == Decimal("10")
