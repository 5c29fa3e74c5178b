"""Alerts by text message (R6): every alert also to the managers' mobiles, once per event and
number, in the shop's language, never to a number on the do-not-call list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from chalicelib.adapters.email import OutgoingEmail
from chalicelib.clock import FixedClock
from chalicelib.domain.report.tally import daily_figures
from chalicelib.domain.shop import AlertPolicy, ReportPolicy, ShopSettings
from chalicelib.services.alerts import (
    Alert,
    AlertChannels,
    alert_on_live_figures,
    alert_on_new_order,
    complaint_alert,
    send_alert,
)
from chalicelib.services.live import LiveFigures, QueueNow
from chalicelib.services.text_outbox import sweep_due
from tests.fakes.store import FakeStore
from tests.fakes.texts import FakeTextOutbox
from tests.fakes.twilio import FakeTelephony

NOW = datetime(2014, 3, 29, 10, 15, tzinfo=UTC)  # 12:15 in Kyiv
MANAGER = "+380661234500"
DEPUTY = "+380661234501"
SHOP_NUMBER = "+380441234567"
ORDER = {
    "order_id": "ord_1",
    "order_number": "A-7",
    "total": "7500.00",
    "currency": "UAH",
    "status": "queued",
    "phone": "+380671234567",
}


class FakeOnce:
    """The idempotency store: a key that succeeded once never sends again; a failure keeps nothing."""

    def __init__(self) -> None:
        self.done: set[str] = set()

    def __call__(self, key: dict[str, str], send: Callable[[], str]) -> bool:
        token = repr(sorted(key.items()))
        if token in self.done:
            return False
        send()
        self.done.add(token)
        return True


class FakeSender:
    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []

    def send(self, email: OutgoingEmail) -> str:
        self.sent.append(email)
        return f"ses-{len(self.sent)}"


def shop(
    *,
    language: str = "uk",
    sms: tuple[str, ...] = (MANAGER,),
    emails: tuple[str, ...] = ("owner@acme.example",),
    caller_id: str | None = SHOP_NUMBER,
) -> ShopSettings:
    return ShopSettings.model_validate(
        {
            "shop_id": "acme",
            "name": "Acme",
            "languages": [language],
            "caller_id": caller_id,
            "report": ReportPolicy(recipients=list(emails), sender="reports@acme.example"),
            "alerts": AlertPolicy(order_total_above=Decimal("5000"), sms_numbers=list(sms), max_queue_wait_seconds=60),
        }
    )


def chans(sender: FakeSender, telephony: FakeTelephony, store: FakeStore, once: FakeOnce) -> AlertChannels:
    """The alerts' channels; each test's store keeps its text outbox."""
    outbox = store.__dict__.setdefault("text_outbox", FakeTextOutbox())
    return AlertChannels(sender, telephony, store, once, outbox, FixedClock(NOW))


@pytest.fixture
def channels() -> tuple[FakeSender, FakeTelephony, FakeStore, FakeOnce]:
    return FakeSender(), FakeTelephony(), FakeStore(), FakeOnce()


def test_a_large_order_goes_by_email_and_by_one_text_in_the_shops_language_however_often_it_fires(channels):
    sender, telephony, store, once = channels

    # WHEN the orders stream hands the same order over twice
    results = [alert_on_new_order(shop(), ORDER, channels=chans(sender, telephony, store, once)) for _ in range(2)]

    # THEN one email and one text went, the text short, in Ukrainian, from the shop's number
    assert results == [True, False]
    assert len(sender.sent) == 1
    assert telephony.texts == [
        {"to": MANAGER, "from_": SHOP_NUMBER, "body": "Acme: замовлення A-7 на 7500.00 UAH, понад 5000."}
    ]


def test_every_configured_number_gets_the_text_but_not_one_on_the_do_not_call_list(channels):
    sender, telephony, store, once = channels
    store.add_do_not_call("acme", DEPUTY, "sms", NOW)

    managers = shop(sms=(MANAGER, DEPUTY), language="en")
    complaint = complaint_alert(managers, event_id="CA1", phone="+380671234567", order_number="A-7", agent_id="anna")
    sent = send_alert(managers, complaint, channels=chans(sender, telephony, store, once))

    assert sent is True
    assert [text["to"] for text in telephony.texts] == [MANAGER]
    body = telephony.texts[0]["body"]
    assert body == "Acme: complaint from +380*******67, order A-7, agent anna."
    assert "+380671234567" not in body  # the customer's number masked, as in the logs


def test_a_text_twilio_cannot_take_waits_in_the_outbox_and_the_sweep_sends_it_once(channels):
    sender, _, store, once = channels

    # WHEN Twilio is unreachable on the first delivery
    down = FakeTelephony(fail=True)
    assert alert_on_new_order(shop(), ORDER, channels=chans(sender, down, store, once)) is True

    # THEN the email went, the text waits; a redelivered event sends neither again
    assert len(sender.sent) == 1 and down.texts == []
    assert alert_on_new_order(shop(), ORDER, channels=chans(sender, down, store, once)) is False
    [waiting] = store.text_outbox.texts.values()
    assert (waiting.state, waiting.to, waiting.kind) == ("pending", MANAGER, "alert")

    # WHEN Twilio is back and the minute sweep runs (twice)
    working = FakeTelephony()
    line = chans(sender, working, store, once).text_line()
    later = datetime(2014, 3, 29, 10, 30, tzinfo=UTC)
    assert sweep_due(line=line, now=later) == {"sent": 1}
    assert sweep_due(line=line, now=later) == {}

    # THEN the text went once, and the email not again
    assert len(sender.sent) == 1
    assert [text["to"] for text in working.texts] == [MANAGER]


def test_a_shop_with_mobiles_and_no_email_gets_texts_only(channels):
    sender, telephony, store, once = channels
    figures = LiveFigures("acme", NOW, date(2014, 3, 29), QueueNow(3, 95), (), daily_figures([], []))
    quiet_inbox = shop(emails=(), language="ru")

    kinds = alert_on_live_figures(quiet_inbox, figures, channels=chans(sender, telephony, store, once))
    again = alert_on_live_figures(quiet_inbox, figures, channels=chans(sender, telephony, store, once))

    assert (kinds, again) == (["queue-wait"], [])
    assert sender.sent == []
    assert [text["body"] for text in telephony.texts] == ["Acme: клиент ждёт 95 с (лимит 60 с); в очереди 3."]


def test_no_text_without_a_number_to_send_from_or_for_an_email_only_alert(channels):
    sender, telephony, store, once = channels

    assert alert_on_new_order(shop(caller_id=None), ORDER, channels=chans(sender, telephony, store, once))
    follow_up = Alert(kind="needs-manager", event="CA9", subject="Acme: a customer needs a manager", text="...")
    assert send_alert(shop(), follow_up, channels=chans(sender, telephony, store, once))

    assert len(sender.sent) == 2
    assert telephony.texts == []


def test_alert_mobiles_must_be_international_and_are_kept_in_e164():
    policy = AlertPolicy(sms_numbers=["+380 66 123 45 00", "+380661234500", "+48 601 234 567"])
    assert policy.sms_numbers == [MANAGER, "+48601234567"]
    with pytest.raises(ValidationError, match="international form"):
        AlertPolicy(sms_numbers=["066 123 45 00"])
    with pytest.raises(ValidationError, match="international form"):
        AlertPolicy(sms_numbers=["+380 12"])
