"""No text is lost when Twilio is down (#18): through the local stack, the Twilio stand-in failing
every REST request for an hour of simulated time, and the minute sweep. The customer's delivery
notice arrives once, after Twilio is back, and their timeline shows it at the time it went."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest

from devtools.simclock import SimClock
from devtools.stack import LocalStack
from tests.e2e.conftest import ShopApi
from tests.e2e.test_delivery_notice import texts_to
from tests.e2e.test_robot_agent_and_text_replies import timeline
from tests.e2e.test_sms_fallback import SHOP_NUMBER


def run_minutes(stack: LocalStack, clock: SimClock, minutes: int) -> None:
    """Let simulated minutes pass one by one, so the minute schedules fire in each."""
    for _ in range(minutes):
        clock.advance(timedelta(minutes=1))
        time.sleep(0.05)
    assert stack.wait_quiet(timeout=60)


def test_a_notice_written_while_twilio_is_down_for_an_hour_arrives_once_when_it_is_back(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    customer = "+380671280001"
    # GIVEN Twilio answers every REST request with 503
    stack.standin.set_outage(503)
    try:
        # WHEN a prepaid order is confirmed without a call: its delivery notice is due at once
        order_id = shop_api.post_order(
            {"order_number": "OUT-1", "phone": customer, "total": "300", "prepaid": True}
        ).json()["id"]
        assert stack.wait_quiet(timeout=60)
        assert shop_api.order(order_id)["status"] == "confirmed"
        # AND an hour of the outage passes, the sweep trying every few minutes
        run_minutes(stack, clock, 60)
        # THEN nothing reached the customer, and the timeline shows no text yet
        assert texts_to(stack, customer) == []
        assert [e for e in timeline(shop_api, customer) if e["type"] == "sms"] == []
    finally:
        stack.standin.set_outage(None)
    back_at = clock.now()

    # WHEN Twilio is back and the sweep runs again (the longest backoff is 15 minutes)
    run_minutes(stack, clock, 16)
    # THEN the notice went once
    notice = "Kvitka Flowers: замовлення OUT-1 підтверджено. Щодо доставки ми з вами зв'яжемося."
    assert texts_to(stack, customer) == [notice]
    # AND the timeline shows it as sent after the outage, not when it was written
    [sms] = [e for e in timeline(shop_api, customer) if e["type"] == "sms"]
    assert sms["body"] == notice
    assert datetime.fromisoformat(sms["at"]) >= back_at

    # WHEN more minutes pass (the sweep, redeliveries)
    run_minutes(stack, clock, 20)
    # THEN nothing more is sent
    assert texts_to(stack, customer) == [notice]


def test_a_text_twilio_refuses_is_recorded_as_failed_and_never_retried(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    from chalicelib.adapters.dynamo.schema import TextOutItem
    from chalicelib.domain.text_outbox import text_id

    customer = "+380671280002"
    # GIVEN a customer who unsubscribed at Twilio (Twilio refuses texts to them: 21610)
    stack.standin.engine.messages.opt_out(customer, SHOP_NUMBER)
    order_id = shop_api.post_order(
        {"order_number": "OUT-2", "phone": customer, "total": "300", "prepaid": True}
    ).json()["id"]
    assert stack.wait_quiet(timeout=60)
    run_minutes(stack, clock, 5)
    # THEN the outbox record says why, and no text was tried again
    item = TextOutItem.get(text_id("demo", f"sms#{order_id}#confirmed"))
    assert (item.state, item.attempts) == ("failed", 1)
    assert "21610" in (item.last_error or "")
    assert texts_to(stack, customer) == []


def test_a_parked_text_is_listed_without_its_number_and_a_replay_sends_it_once(
    stack: LocalStack, clock: SimClock, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.adapters.dynamo.text_outbox import text_outbox
    from chalicelib.domain.text_outbox import OutgoingText, text_id
    from cli.admin import main

    customer = "+380671280003"
    # GIVEN a text the outbox gave up on after a day of failures
    now = clock.now()
    parked = OutgoingText(
        text_id("demo", "test#parked"), "demo", customer, SHOP_NUMBER, "Kvitka: parked", "customer", "test", now
    )
    assert text_outbox().add(parked)
    text_outbox().park(parked.text_id, "demo", now, "gave up after 99 tries: Twilio 503")
    # WHEN the operator lists the parked texts
    assert main(["texts-parked", "--shop", "demo"]) == 0
    # (the local stack's handlers run in this process: their metrics lines share its stdout)
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    listed = [line for line in printed if "_aws" not in line]
    # THEN it is there, with why, and without the customer's number
    [view] = [v for v in listed if v["text_id"] == parked.text_id]
    assert view["last_error"] == "gave up after 99 tries: Twilio 503"
    assert customer not in json.dumps(listed)
    # WHEN they replay every parked text, and a minute passes
    assert main(["texts-replay", "--all-parked", "--shop", "demo"]) == 0
    assert f"{parked.text_id}: replayed" in capsys.readouterr().out
    run_minutes(stack, clock, 2)
    # THEN it went once
    assert texts_to(stack, customer) == ["Kvitka: parked"]
    assert main(["texts-replay", parked.text_id]) == 1  # sent: not parked any more
