"""Caller ID is not identity (#18): a call from the customer's number cancels an order only
with the order's number keyed, through the local stack and the Twilio stand-in. A wrong number
is told so and asked again once, then the caller goes to an agent and nothing is cancelled."""

from __future__ import annotations

import pytest

from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import CallerScript, HangUp, Press, Silence
from tests.e2e.conftest import ShopApi
from tests.e2e.test_inbound_speech import EN, SHOP, order_waiting

ASK = "To cancel, key in the digits of your order number, then press the hash key."
WRONG = "That is not the number of this order."
REFUSED = "That is not the number of this order, so nothing is cancelled. Let me connect you to an agent."
READ_BACK = "You asked to cancel order SP-1042 for 410 hryvnias. To cancel it, press 1 or say yes. To keep it, press 2."


@pytest.fixture(autouse=True)
def open_hours(stack: LocalStack, clock: SimClock) -> None:
    """Monday noon in Kyiv: the demo shop is open, its menus are read."""


def test_someone_calling_from_the_customers_number_cannot_cancel_without_the_order_number(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN an order waiting for confirmation, and a caller showing its customer's number
    phone = "+380671230201"
    order_id = order_waiting(stack, shop_api, phone, "SP-1042")
    # WHEN they press 2 and key a wrong number twice
    script = CallerScript([EN, Press("2"), Press("1041#"), Press("42#"), HangUp()])
    transcript = stack.standin.place_inbound_call(phone, SHOP, script)
    heard = transcript.heard()
    # THEN they are told it is wrong, asked once more, then put through to an agent
    assert transcript.application_errors == []
    assert heard.count(ASK) == 2
    assert WRONG in heard
    assert REFUSED in heard
    assert READ_BACK not in heard
    # AND the order is as it was
    assert shop_api.order(order_id)["status"] == "queued"


def test_the_customer_who_mistypes_once_then_keys_the_number_hears_the_order_and_cancels_it(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    phone = "+380671230202"
    order_id = order_waiting(stack, shop_api, phone, "SP-1042")
    script = CallerScript([EN, Press("2"), Silence(), Press("1042#"), Press("1")])
    transcript = stack.standin.place_inbound_call(phone, SHOP, script)
    heard = transcript.heard()
    assert transcript.application_errors == []
    assert heard.count(ASK) == 2
    assert "Sorry, I did not understand." in heard
    assert READ_BACK in heard
    assert heard[-1] == "Your order has been cancelled. Goodbye."
    assert shop_api.order(order_id)["status"] == "cancelled"
