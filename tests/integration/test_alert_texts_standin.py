"""Alerts by text through the production path: the idempotency records and the do-not-call list
in (moto) DynamoDB, the email through (moto) SES, the text through the Twilio SDK to the Twilio
stand-in. Each alert fired twice reaches the stand-in exactly once per manager's number."""

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
from chalicelib.config import reload_settings
from chalicelib.domain.report.tally import daily_figures
from chalicelib.domain.shop import AlertPolicy, ReportPolicy, ShopSettings
from chalicelib.services import alerts
from chalicelib.services.live import LiveFigures, QueueNow
from chalicelib.wiring import repository
from devtools.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.integration
REGION = "eu-central-1"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "alert-texts-token"
SHOP_NUMBER = "+380441234567"
MANAGER = "+380661234500"
OPTED_OUT = "+380661234501"
NOW = datetime(2014, 3, 29, 10, 15, tzinfo=UTC)


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioStandIn]:
    twilio = TwilioStandIn(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, speed=0.0).start()
    twilio.register_number(SHOP_NUMBER)  # the shop's number may send texts
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": twilio.base_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SES", "SES_REGION"):
        monkeypatch.delenv(name, raising=False)
    reload_settings()
    reset_connections()
    wiring.forget_clients()
    with mock_aws():
        create_tables(wait=False)
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress="reports@acme.example")
        yield twilio
    twilio.stop()
    reset_connections()
    wiring.forget_clients()
    monkeypatch.undo()
    reload_settings()


def shop() -> ShopSettings:
    return ShopSettings(
        shop_id="acme",
        name="Acme",
        languages=["uk"],
        caller_id=SHOP_NUMBER,
        report=ReportPolicy(recipients=["owner@acme.example"], sender="reports@acme.example"),
        alerts=AlertPolicy(
            order_total_above=Decimal("5000"), max_queue_wait_seconds=60, sms_numbers=[MANAGER, OPTED_OUT]
        ),
    )


def texts_to(twilio: TwilioStandIn, number: str) -> list[str]:
    return [m.body for m in twilio.messages if m.to == number and m.direction == "outbound-api"]


def emails() -> int:
    return len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def test_every_alert_fired_twice_reaches_the_manager_once_by_text_and_once_by_email(standin):
    # GIVEN a manager's number and another that opted out of the shop's texts
    repository().add_do_not_call("acme", OPTED_OUT, "sms", NOW)
    order = {"order_id": "ord_1", "order_number": "A-7", "total": "7500.00", "currency": "UAH", "status": "queued"}
    figures = LiveFigures("acme", NOW, date(2014, 3, 29), QueueNow(2, 95), (), daily_figures([], []))

    # WHEN each kind of alert fires twice (stream redelivery, the next minute's check)
    for _ in range(2):
        alerts.alert_on_new_order(shop(), order, channels=wiring.alert_channels())
        complaint = alerts.complaint_alert(
            shop(), event_id="CA1", phone="+380671234567", order_number="A-8", agent_id="anna"
        )
        alerts.send_alert(shop(), complaint, channels=wiring.alert_channels())
        alerts.alert_on_live_figures(shop(), figures, channels=wiring.alert_channels())

    # THEN the stand-in received one text per alert, in Ukrainian, from the shop's number
    assert texts_to(standin, MANAGER) == [
        "Acme: замовлення A-7 на 7500.00 UAH, понад 5000.",
        "Acme: скарга від +380*******67, замовлення A-8, оператор anna.",
        "Acme: клієнт чекає 95 с (ліміт 60 с); у черзі 2.",
    ]
    assert {m.from_ for m in standin.messages} == {SHOP_NUMBER}
    assert texts_to(standin, OPTED_OUT) == []
    assert emails() == 3
