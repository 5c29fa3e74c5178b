"""Alerts on moto: one email per event however often the hook is called; a failed send raises."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib import wiring
from chalicelib.adapters.dynamo.schema import create_tables, reset_connections
from chalicelib.adapters.email import EmailRejected
from chalicelib.domain.report.tally import daily_figures
from chalicelib.domain.shop import AlertPolicy, ReportPolicy, ShopSettings
from chalicelib.services import alerts
from chalicelib.services.live import LiveFigures, QueueNow

pytestmark = pytest.mark.integration
REGION = "eu-central-1"
NOW = datetime(2014, 3, 29, 10, 15, tzinfo=UTC)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SES", "SES_REGION"):
        monkeypatch.delenv(name, raising=False)
    reset_connections()
    wiring.forget_clients()
    with mock_aws():
        create_tables(wait=False)
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress="reports@acme.example")
        yield
    reset_connections()
    wiring.forget_clients()


def sent() -> list[object]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def shop(sender: str = "reports@acme.example") -> ShopSettings:
    return ShopSettings(
        shop_id="acme",
        name="Acme",
        report=ReportPolicy(recipients=["owner@acme.example"], sender=sender),
        alerts=AlertPolicy(
            recipients=["manager@acme.example"], order_total_above=Decimal("5000"), max_queue_wait_seconds=60
        ),
    )


ORDER = {
    "order_id": "ord_1",
    "order_number": "A-7",
    "total": "7500.00",
    "currency": "UAH",
    "status": "queued",
    "phone": "+380671234567",
}


def test_a_large_order_alerts_once_however_often_the_stream_redelivers_it(aws):
    # WHEN the stream hands the same new order over three times
    results = [alerts.alert_on_new_order(shop(), ORDER, channels=wiring.alert_channels()) for _ in range(3)]

    # THEN one email went to the managers
    assert results == [True, False, False]
    (message,) = sent()
    assert set(message.destinations) == {"manager@acme.example"}  # type: ignore[attr-defined]
    assert "Subject: Acme: order A-7 for 7500.00 UAH (above 5000)" in message.raw_data  # type: ignore[attr-defined]
    # another order is another event
    assert alerts.alert_on_new_order(shop(), ORDER | {"order_id": "ord_2"}, channels=wiring.alert_channels()) is True
    assert len(sent()) == 2


def test_a_complaint_alerts_once_per_outcome(aws):
    complaint = alerts.complaint_alert(shop(), event_id="CA1", phone="+380671234567", comment="rude")
    assert alerts.send_alert(shop(), complaint, channels=wiring.alert_channels()) is True
    assert alerts.send_alert(shop(), complaint, channels=wiring.alert_channels()) is False
    assert len(sent()) == 1


def test_queue_wait_alerts_once_per_hour(aws):
    figures = LiveFigures("acme", NOW, date(2014, 3, 29), QueueNow(3, 95), (), daily_figures([], []))

    assert alerts.alert_on_live_figures(shop(), figures, channels=wiring.alert_channels()) == ["queue-wait"]
    assert alerts.alert_on_live_figures(shop(), figures, channels=wiring.alert_channels()) == []
    assert len(sent()) == 1


def test_a_rejected_send_raises_so_the_caller_retries_and_nothing_is_marked_sent(aws):
    with pytest.raises(EmailRejected):
        alerts.alert_on_new_order(shop(sender="nobody@unverified.example"), ORDER, channels=wiring.alert_channels())

    # the retry, once the sender is verified, sends it
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress="nobody@unverified.example")
    assert (
        alerts.alert_on_new_order(shop(sender="nobody@unverified.example"), ORDER, channels=wiring.alert_channels())
        is True
    )
    assert len(sent()) == 1
