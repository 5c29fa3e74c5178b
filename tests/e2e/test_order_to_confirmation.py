"""An order posted over HTTP ends confirmed after the customer presses a key on the robot's
call: through DynamoDB Local streams, the dialer, the real Twilio SDK and the stand-in."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlencode

import requests

from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import Callee, CallerScript, Press, Silence
from tests.e2e.conftest import ShopApi


def test_an_order_ends_confirmed_after_the_customer_presses_1(stack: LocalStack, shop_api: ShopApi) -> None:
    stack.standin.set_callee("+380671110001", Callee(answer="human", ring_seconds=4, script=CallerScript([Press("1")])))
    created = shop_api.post_order(
        {"order_number": "E2E-1", "phone": "067 111 00 01", "customer_name": "Olena", "total": "1250.00"},
        key="e2e-1",
    )
    assert created.status_code == 201
    assert stack.wait_quiet(timeout=60)

    order = shop_api.order(created.json()["id"])
    assert (order["status"], order["reached"]) == ("confirmed", True)
    [call] = [c for c in stack.standin.calls if c.to == "+380671110001"]
    assert call.from_ == "+380441234567"
    heard = call.transcript.heard()
    assert heard[0] == "Добрий день! Це Kvitka Flowers."
    assert "Ви оформили замовлення номер E2E-1 на суму 1250 гривень." in heard
    assert heard[-1] == "Дякуємо! Ваше замовлення підтверджено."
    assert call.transcript.application_errors == []


def test_a_busy_customer_is_called_again_when_the_retry_is_due(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    phone = "+380671110002"
    stack.standin.set_callee(phone, Callee(answer="busy", ring_seconds=2))
    order_id = shop_api.post_order({"order_number": "E2E-2", "phone": phone, "total": "300"}).json()["id"]
    assert stack.wait_quiet(timeout=60)
    assert [c.status for c in stack.standin.calls if c.to == phone] == ["busy"]
    assert shop_api.order(order_id)["status"] == "queued"

    # The customer frees the line and will cancel; the shop's busy retry is 10 minutes.
    stack.standin.set_callee(
        phone, Callee(answer="human", ring_seconds=2, script=CallerScript([Press("2"), Press("1")]))
    )
    clock.advance(timedelta(minutes=11))
    for _ in range(100):  # the minute schedule picks the due task up on its next ticks
        if len([c for c in stack.standin.calls if c.to == phone]) >= 2:
            break
        clock.advance(timedelta(minutes=1))
        time.sleep(0.1)
    assert stack.wait_quiet(timeout=60)
    assert [c.status for c in stack.standin.calls if c.to == phone] == ["busy", "completed"]
    assert shop_api.order(order_id)["status"] == "cancelled"
    heard = stack.standin.calls[-1].transcript.heard()
    assert heard[-2:] == [
        "Ви хочете скасувати замовлення номер E2E-2 на суму 300 гривень. Щоб скасувати його, натисніть 1. "
        "Щоб залишити, натисніть 2.",
        "Ваше замовлення скасовано.",
    ]


def test_key_2_by_mistake_is_read_back_and_2_keeps_the_order(stack: LocalStack, shop_api: ShopApi) -> None:
    phone = "+380671110006"
    script = CallerScript([Press("2"), Press("2"), Press("1")])  # cancel? no, keep; then confirm
    stack.standin.set_callee(phone, Callee(answer="human", ring_seconds=2, script=script))
    order_id = shop_api.post_order({"order_number": "E2E-6", "phone": phone, "total": "700"}).json()["id"]
    assert stack.wait_quiet(timeout=60)
    [call] = [c for c in stack.standin.calls if c.to == phone]
    heard = call.transcript.heard()
    assert call.transcript.application_errors == []
    [check] = [i for i, text in enumerate(heard) if text.startswith("Ви хочете скасувати замовлення номер E2E-6")]
    assert heard[check + 1 :] == [
        "Ви оформили замовлення номер E2E-6 на суму 700 гривень.",  # kept: the order and the menu again
        (
            "Щоб підтвердити замовлення, натисніть 1. Щоб скасувати, натисніть 2. "
            "Щоб поговорити з оператором, натисніть 3. Щоб прослухати ще раз, натисніть 9."
        ),
        "Дякуємо! Ваше замовлення підтверджено.",
    ]
    assert shop_api.order(order_id)["status"] == "confirmed"


def test_key_2_then_silence_cancels_nothing(stack: LocalStack, shop_api: ShopApi) -> None:
    phone = "+380671110007"
    script = CallerScript([Press("2"), Silence(), Silence()])
    stack.standin.set_callee(phone, Callee(answer="human", ring_seconds=2, script=script))
    order_id = shop_api.post_order({"order_number": "E2E-7", "phone": phone, "total": "80"}).json()["id"]
    assert stack.wait_quiet(timeout=60)
    [call] = [c for c in stack.standin.calls if c.to == phone]
    heard = call.transcript.heard()
    assert call.transcript.application_errors == []
    assert "Вибачте, ми вас не почули." in heard
    assert heard[-1] == "Ми зателефонуємо вам пізніше. До побачення!"
    assert shop_api.order(order_id)["status"] == "queued"  # nothing cancelled: waits for its retry


def test_a_silent_customer_is_asked_twice_then_hears_goodbye(stack: LocalStack, shop_api: ShopApi) -> None:
    phone = "+380671110003"
    stack.standin.set_callee(phone, Callee(answer="human", script=CallerScript([Silence(), Silence()])))
    order_id = shop_api.post_order({"order_number": "E2E-3", "phone": phone, "total": "50"}).json()["id"]
    assert stack.wait_quiet(timeout=60)
    [call] = [c for c in stack.standin.calls if c.to == phone]
    heard = call.transcript.heard()
    assert heard.count("Вибачте, ми вас не почули.") == 1
    assert heard[-1] == "Ми зателефонуємо вам пізніше. До побачення!"
    assert shop_api.order(order_id)["status"] == "queued"  # waits for its retry


def test_a_forged_webhook_gets_403(stack: LocalStack) -> None:
    response = requests.post(
        f"{stack.api_url}/twilio/voice/incoming",
        data=urlencode({"CallSid": "CAforged", "From": "+380671110005", "To": "+380441234567"}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        timeout=10,
    )
    assert response.status_code == 403
