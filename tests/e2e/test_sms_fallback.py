"""A customer who never answers the robot gets the order by text after the last attempt
(O7), confirms it by replying (O10) and is told about delivery (O9): through the stand-in's
Messages API and SMS webhook."""

from __future__ import annotations

import time
from datetime import timedelta

from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import Callee
from tests.e2e.conftest import ShopApi

CUSTOMER = "+380671119901"
SHOP_NUMBER = "+380441234567"


def calls_to(stack: LocalStack, phone: str) -> list[str]:
    return [call.status for call in stack.standin.calls if call.to == phone]


def test_unreachable_by_phone_then_confirmed_by_text(stack: LocalStack, shop_api: ShopApi, clock: SimClock) -> None:
    stack.standin.set_callee(CUSTOMER, Callee(answer="no-answer", ring_seconds=5))
    order_id = shop_api.post_order({"order_number": "SMS-1", "phone": CUSTOMER, "total": "480"}).json()["id"]
    assert stack.wait_quiet(timeout=60)
    for attempt in (2, 3):  # the demo shop tries three times, 30 minutes apart after no answer
        clock.advance(timedelta(minutes=31))
        for _ in range(100):
            if len(calls_to(stack, CUSTOMER)) >= attempt:
                break
            clock.advance(timedelta(minutes=1))
            time.sleep(0.1)
        assert stack.wait_quiet(timeout=60)
    assert calls_to(stack, CUSTOMER) == ["no-answer"] * 3
    assert shop_api.order(order_id)["status"] == "unreachable"

    [request] = [m for m in stack.standin.messages if m.to == CUSTOMER]
    assert request.from_ == SHOP_NUMBER
    assert "SMS-1" in request.body and "480" in request.body and "Відповідайте 1" in request.body

    [reply] = stack.standin.send_inbound_sms(from_=CUSTOMER, to=SHOP_NUMBER, body="1")
    assert reply.body == "Kvitka Flowers: замовлення SMS-1 підтверджено. Дякуємо!"
    assert shop_api.order(order_id)["status"] == "confirmed"
    assert stack.wait_quiet(timeout=30)
    # the shop's delivery notice follows the reply, once (O9): nothing else is sent
    texts = [m.body for m in stack.standin.messages if m.to == CUSTOMER and m.direction == "outbound-api"]
    assert texts == [request.body, "Kvitka Flowers: замовлення SMS-1 підтверджено. Щодо доставки ми з вами зв'яжемося."]
