"""A dialer failure as Twilio words it (issue 18): the Twilio SDK against the Twilio stand-in
refuses the robot's call with an error text that names a phone number; the log line the dialer
writes gives the reason and the traceback with the number masked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.twilio_rest import TwilioTelephony
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.shop import ShopSettings
from chalicelib.services import dialer, intake
from devtools.twilio_standin import TwilioStandIn
from tests.fakes.links import FakeUrls
from tests.fakes.store import FakeStore
from tests.log_lines import captured_log_lines

pytestmark = pytest.mark.integration
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "log-masking-token"
NOT_OURS = "+380441234567"  # a caller ID the Twilio account does not own
NOON = datetime(2015, 11, 22, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv: inside calling hours


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    twilio = TwilioStandIn(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, speed=0.0).start()
    yield twilio
    twilio.stop()


def test_a_call_twilio_refuses_is_logged_with_twilios_words_and_no_number_in_clear(standin: TwilioStandIn) -> None:
    # GIVEN a shop whose caller ID is not verified at Twilio, and a customer's order queued for the robot
    shop = ShopSettings.model_validate({"shop_id": "demo", "name": "Kvitka", "caller_id": NOT_OURS})
    store = FakeStore([shop])
    order_id = intake.new_order_id(NOON, "+380671234567")
    order = OrderIn.model_validate({"phone": "067 123-45-67", "total": "100", "order_number": "A-1"})
    intake.accept_order(shop, order, store=store, now=NOON, order_id=order_id)
    intake.decide_new_order(shop, order_id, store=store, tasks=store, now=NOON)
    task_id = store.orders[("demo", order_id)].task_id or ""
    telephony = TwilioTelephony(ACCOUNT_SID, lambda: AUTH_TOKEN, standin.base_url)

    # WHEN the dialer places the call through the Twilio SDK
    with captured_log_lines() as lines:
        placed = dialer.dial_task(shop, task_id, store=store, telephony=telephony, urls=FakeUrls(), now=NOON)

    # THEN no call, a failed attempt, and the log line quotes Twilio with the number masked
    assert placed is None and standin.calls == []
    assert store.tasks[task_id].attempts == 1
    (line,) = [line for line in lines if line["message"] == "call refused; a failed attempt"]
    assert "21210: Unable to create record: The source phone number provided, +380*******67, is not" in line["reason"]
    assert "TwilioRestException" in line["exception"] and "+380*******67" in line["exception"]
    for written in lines:
        assert NOT_OURS not in written["_raw"] and "441234567" not in written["_raw"]
