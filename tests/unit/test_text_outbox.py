"""The text outbox (#18) on fakes: a text Twilio cannot take waits and goes once when Twilio is
back, in the order written; a refusal is recorded with its reason; a timeout is never a second
text; a day of failures parks it for a replay; an opt-out while it waits stops it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.shop import ShopSettings
from chalicelib.domain.text_outbox import OutgoingText, text_id
from chalicelib.services import text_outbox
from chalicelib.services.ports import MessageNotSentError, MessageOutcomeUnknownError
from tests.fakes.store import FakeStore
from tests.fakes.texts import FakeTextOutbox, text_line
from tests.fakes.twilio import FakeTelephony

NOON = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
PHONE = "+380671234599"
SHOP_NUMBER = "+380441234567"


class Twilio(FakeTelephony):
    """Twilio as scripted: down (5xx), refusing, or timing out after taking the text."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.refuse: str | None = None
        self.time_out_once = False
        self.tries = 0

    def send_sms(self, *, to: str, from_: str, body: str) -> str:
        self.tries += 1
        if self.down:
            raise MessageNotSentError("Twilio 503 20500: Service Unavailable", temporary=True)
        if self.refuse:
            raise MessageNotSentError(self.refuse, temporary=False)
        sid = super().send_sms(to=to, from_=from_, body=body)
        if self.time_out_once:
            self.time_out_once = False
            raise MessageOutcomeUnknownError("read timed out")
        return sid

    def find_sent_text(self, *, to: str, from_: str, body: str, since: datetime) -> str | None:
        sent = [t for t in self.texts if (t["to"], t["from_"], t["body"]) == (to, from_, body)]
        return "SM-found" if sent else None


@pytest.fixture
def shop() -> ShopSettings:
    return ShopSettings.model_validate({"shop_id": "demo", "name": "Kvitka", "caller_id": SHOP_NUMBER})


def text(key: str, body: str, at: datetime, **fields: Any) -> OutgoingText:
    return OutgoingText(
        text_id("demo", key), "demo", PHONE, SHOP_NUMBER, body, "customer", "delivery-notice", at, **fields
    )


def every_minute(line: Any, start: datetime, minutes: int) -> dict[str, int]:
    totals: dict[str, int] = {}
    for minute in range(1, minutes + 1):
        for result, count in text_outbox.sweep_due(line=line, now=start + timedelta(minutes=minute)).items():
            totals[result] = totals.get(result, 0) + count
    return totals


def test_texts_written_in_an_hour_long_outage_go_once_in_order_and_show_when_they_went(shop: ShopSettings) -> None:
    store, twilio, outbox = FakeStore([shop]), Twilio(), FakeTextOutbox()
    line = text_line(store, twilio, outbox)
    twilio.down = True
    # WHEN two texts to one customer are written during the outage (the second one twice)
    assert text_outbox.send(text("a", "first", NOON), line=line, now=NOON) == "queued"
    later = NOON + timedelta(minutes=3)
    assert text_outbox.send(text("b", "second", later), line=line, now=later) == "queued"
    assert text_outbox.send(text("b", "second", later), line=line, now=later) == "duplicate"
    every_minute(line, NOON, 60)
    # THEN nothing went, nothing is on the timeline, and Twilio was not hammered every minute
    assert twilio.texts == [] and store.messages == []
    assert twilio.tries < 15
    assert {t.state for t in outbox.texts.values()} == {"pending"}

    # WHEN Twilio is back for 16 minutes of sweeps
    twilio.down = False
    back = NOON + timedelta(minutes=60)
    every_minute(line, back, 16)
    # THEN each text went once, in the order written, logged at the time it went
    assert [t["body"] for t in twilio.texts] == ["first", "second"]
    assert [m.body for m in store.messages] == ["first", "second"]
    assert all(m.at > back for m in store.messages)
    assert {t.state for t in outbox.texts.values()} == {"sent"}
    every_minute(line, back + timedelta(minutes=16), 30)
    assert len(twilio.texts) == 2


def test_a_refused_text_is_failed_with_twilios_reason_and_never_tried_again(shop: ShopSettings) -> None:
    store, twilio, outbox = FakeStore([shop]), Twilio(), FakeTextOutbox()
    twilio.refuse = "Twilio 400 21211: Invalid 'To' Phone Number"
    line = text_line(store, twilio, outbox)
    assert text_outbox.send(text("a", "hello", NOON), line=line, now=NOON) == "failed"
    every_minute(line, NOON, 30)
    [stored] = outbox.texts.values()
    assert (stored.state, stored.last_error, twilio.tries) == (
        "failed",
        "Twilio 400 21211: Invalid 'To' Phone Number",
        1,
    )
    assert store.messages == []


def test_a_timeout_after_twilio_took_the_text_is_never_a_second_text(shop: ShopSettings) -> None:
    store, twilio, outbox = FakeStore([shop]), Twilio(), FakeTextOutbox()
    twilio.time_out_once = True
    line = text_line(store, twilio, outbox)
    assert text_outbox.send(text("a", "hello", NOON), line=line, now=NOON) == "queued"
    every_minute(line, NOON, 5)
    assert [t["body"] for t in twilio.texts] == ["hello"]
    [stored] = outbox.texts.values()
    assert (stored.state, stored.message_sid) == ("sent", "SM-found")
    assert [m.message_sid for m in store.messages] == ["SM-found"]


def test_a_day_of_failures_parks_the_text_and_a_replay_sends_it(shop: ShopSettings) -> None:
    store, twilio, outbox = FakeStore([shop]), Twilio(), FakeTextOutbox()
    twilio.down = True
    line = text_line(store, twilio, outbox)
    text_outbox.send(text("a", "hello", NOON), line=line, now=NOON)
    for hour in range(25):
        every_minute(line, NOON + timedelta(hours=hour), 60)
    [stored] = outbox.texts.values()
    assert stored.state == "parked" and "gave up after" in (stored.last_error or "")
    assert text_outbox.parked_texts([shop], outbox=outbox) == [stored]

    twilio.down = False
    replay_at = NOON + timedelta(days=2)
    assert text_outbox.replay([stored.text_id, "txt-unknown"], outbox=outbox, now=replay_at) == {
        stored.text_id: True,
        "txt-unknown": False,
    }
    assert text_outbox.sweep_due(line=line, now=replay_at) == {"sent": 1}
    assert [t["body"] for t in twilio.texts] == ["hello"]


def test_a_customer_who_opts_out_while_their_text_waits_gets_nothing(shop: ShopSettings) -> None:
    store, twilio, outbox = FakeStore([shop]), Twilio(), FakeTextOutbox()
    twilio.down = True
    line = text_line(store, twilio, outbox)
    text_outbox.send(text("a", "hello", NOON), line=line, now=NOON)
    store.add_do_not_call("demo", PHONE, "sms", NOON + timedelta(minutes=1))
    twilio.down = False
    every_minute(line, NOON, 20)
    [stored] = outbox.texts.values()
    assert (stored.state, stored.last_error) == ("failed", "on the do-not-call list")
    assert twilio.texts == []
