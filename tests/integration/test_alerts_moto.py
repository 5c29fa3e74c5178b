"""Alerts on moto: one email per event however often the hook is called; a failed send raises."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib import wiring
from chalicelib.adapters.dynamo.schema import create_tables, reset_connections
from chalicelib.adapters.email import EmailRejected
from chalicelib.domain.report.facts import CallFact
from chalicelib.domain.report.tally import daily_figures
from chalicelib.domain.shop import AlertPolicy, ReportPolicy, ShopSettings
from chalicelib.services import alerts
from chalicelib.services.live import LiveFigures, QueueNow
from tests.fakes.twilio import FakeTelephony

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
    assert read(message)[0] == "Acme: замовлення A-7 на 7500.00 UAH (понад 5000)"  # the shop's language: uk
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


def read(message: object) -> tuple[str, str]:
    """The email's subject and plain text as the owner's mail program shows them."""
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)  # type: ignore[attr-defined]
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    return str(parsed["Subject"]), body.get_content()


@dataclass(frozen=True)
class Agent:
    agent_id: str
    status: str
    name: str = ""
    status_since: datetime | None = None


PYTHON_LOOKS = re.compile(r"[{}\[\]']|None|\d{4}-\d\d-\d\dT\d\d:\d\d")
# What the owner reads, per language: the queue (95 s, 3 waiting, two agents offline, one on a
# break), the drop rate (2 of 50), a large order and a complaint.
READS = {
    "uk": [
        "Acme: клієнт чекає вже 1 хв 35 с (ліміт 1 хв)",
        "О 12:15 (Europe/Kyiv) клієнтів у черзі: 3. Найдовше очікування — 1 хв 35 с, понад ваш ліміт 1 хв.",
        "Оператори: на перерві — 1, не в мережі — 2.",
        "Acme: частка скинутих дзвінків сьогодні 4.0% (ліміт 3%)",
        "Сьогодні скинуто 2 з 50 живих відповідей",
        "Acme: замовлення A-7 на 7500.00 UAH (понад 5000)",
        "Клієнт: —",
        "Acme: скарга від +380*******67 (замовлення A-8)",
        "Коментар: —",
    ],
    "ru": [
        "Acme: клиент ждёт уже 1 мин 35 с (лимит 1 мин)",
        "В 12:15 (Europe/Kyiv) клиентов в очереди: 3.",
        "Самое долгое ожидание — 1 мин 35 с, больше вашего лимита 1 мин.",
        "Операторы: на перерыве — 1, не в сети — 2.",
        "Acme: доля сброшенных звонков сегодня 4.0% (лимит 3%)",
        "Сегодня сброшено 2 из 50 живых ответов",
        "Acme: заказ A-7 на 7500.00 UAH (больше 5000)",
        "Acme: жалоба от +380*******67 (заказ A-8)",
    ],
    "en": [
        "Acme: a caller has waited 1 min 35 s (limit 1 min)",
        "At 12:15 (Europe/Kyiv) callers waiting in the queue: 3.",
        "The longest has waited 1 min 35 s, over your limit of 1 min.",
        "Agents: 1 on a break, 2 offline.",
        "Acme: drop rate 4.0% today (limit 3%)",
        "Today 2 of 50 live answers of agent dialing were dropped",
        "Acme: order A-7 for 7500.00 UAH (above 5000)",
        "Acme: complaint from +380*******67 (order A-8)",
    ],
}


@pytest.mark.parametrize("language", ["uk", "ru", "en"])
def test_every_alert_reads_as_sentences_in_the_shops_language_by_email_and_by_text(
    aws, monkeypatch: pytest.MonkeyPatch, language: Literal["uk", "ru", "en"]
) -> None:
    # GIVEN a shop speaking the language, with mobiles for its alerts; two agents offline, one on a break
    texts = FakeTelephony()
    monkeypatch.setattr(wiring, "telephony", lambda: texts)
    owner = ShopSettings(
        shop_id="acme",
        name="Acme",
        languages=[language],
        caller_id="+380441234567",
        report=ReportPolicy(recipients=["owner@acme.example"], sender="reports@acme.example"),
        alerts=AlertPolicy(
            order_total_above=Decimal("5000"),
            max_queue_wait_seconds=60,
            max_drop_rate_percent=Decimal("3"),
            sms_numbers=["+380661234500"],
        ),
    )
    calls = [
        CallFact(f"a{n}", "outbound-agent", "completed", "human", NOW, NOW, result="dropped" if n < 2 else None)
        for n in range(50)
    ]
    agents = (Agent("anna", "offline"), Agent("oleh", "break"), Agent("petro", "offline"))
    figures = LiveFigures("acme", NOW, date(2014, 3, 29), QueueNow(3, 95), agents, daily_figures([], calls))

    # WHEN every kind of alert fires through the service, to (moto) SES and the texts
    channels = wiring.alert_channels()
    assert alerts.alert_on_live_figures(owner, figures, channels=channels) == ["queue-wait", "drop-rate"]
    assert alerts.alert_on_new_order(owner, ORDER, channels=channels)
    complaint = alerts.complaint_alert(owner, event_id="CA1", phone="+380671234567", order_number="A-8")
    assert alerts.send_alert(owner, complaint, channels=channels)

    # THEN the owner reads sentences in the shop's language: no Python values, no ISO times
    emails = [read(message) for message in sent()]
    bodies = [text["body"] for text in texts.texts]
    assert len(emails) == 4 and len(bodies) == 4
    everything = "\n".join([*(subject + "\n" + text for subject, text in emails), *bodies])
    assert PYTHON_LOOKS.search(everything) is None, everything
    for expected in READS[language]:
        assert expected in everything
