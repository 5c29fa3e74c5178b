"""Callers who answer the self-service menu in words, through the local stack and the Twilio
stand-in (I4, I11, #16 item 3): a no, two answers at once or words heard unsurely decide
nothing; a plain answer does; a cancellation needs the order's number keyed (#18), is read back
and needs a 1 or a clear yes."""

from __future__ import annotations

import pytest

from chalicelib.adapters.dynamo.schema import CallItem
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import Callee, CallerScript, HangUp, Press, Silence, Speak, Step
from tests.e2e.conftest import ShopApi

SHOP = "+380441234567"
UK, RU, EN = Press("1"), Press("2"), Press("3")  # the demo shop's language menu

UK_MENU = "Щоб підтвердити замовлення, натисніть 1. Щоб скасувати, натисніть 2."
RU_MENU = "Чтобы подтвердить заказ, нажмите 1. Чтобы отменить, нажмите 2."
EN_MENU = "To confirm the order, press 1. To cancel it, press 2."


@pytest.fixture(autouse=True)
def open_hours(stack: LocalStack, clock: SimClock) -> None:
    """Monday noon in Kyiv: the demo shop is open, its menus are read."""


def order_waiting(stack: LocalStack, shop_api: ShopApi, phone: str, number: str) -> str:
    """An order waiting for confirmation: the robot's call found the line busy."""
    stack.standin.set_callee(phone, Callee(answer="busy"))
    created = shop_api.post_order({"order_number": number, "phone": phone, "total": "410.00"})
    assert created.status_code == 201, created.text
    assert stack.wait_quiet(timeout=60)
    assert shop_api.order(created.json()["id"])["status"] == "queued"
    return str(created.json()["id"])


def said(heard: list[str], start: str) -> int:
    return sum(1 for text in heard if text.startswith(start))


def test_a_no_or_two_answers_at_once_in_ukrainian_decide_nothing(stack: LocalStack, shop_api: ShopApi) -> None:
    phone = "+380671230101"
    order_id = order_waiting(stack, shop_api, phone, "SP-1")
    # WHEN the caller says "no, not like that", then "yes, cancel", then hangs up
    script = CallerScript([UK, Speak("ні, не так"), Speak("так, скасувати"), HangUp()])
    transcript = stack.standin.place_inbound_call(phone, SHOP, script)
    # THEN the order is read again after each answer and nothing changed
    heard = transcript.heard()
    assert transcript.application_errors == []
    assert said(heard, UK_MENU) == 3
    assert not any("підтверджено" in text or "скасовано" in text for text in heard)
    assert shop_api.order(order_id)["status"] == "queued"


def test_a_no_in_english_and_a_yes_heard_unsurely_decide_nothing(stack: LocalStack, shop_api: ShopApi) -> None:
    phone = "+380671230102"
    order_id = order_waiting(stack, shop_api, phone, "SP-2")
    # WHEN the caller says "no, do not confirm", then a "yes" Twilio is only 35% sure of
    script = CallerScript([EN, Speak("no, do not confirm"), Speak("yes", confidence=0.35), HangUp()])
    transcript = stack.standin.place_inbound_call(phone, SHOP, script)
    heard = transcript.heard()
    assert transcript.application_errors == []
    assert said(heard, EN_MENU) == 3
    assert "Thank you! Your order is confirmed. Goodbye." not in heard
    assert shop_api.order(order_id)["status"] == "queued"
    # AND the stand-in passed Twilio's Confidence with the words
    speech = [event.data for event in transcript.of_kind("input") if "speech" in event.data]
    assert [data["confidence"] for data in speech] == [0.92, 0.35]


def test_a_cancellation_said_in_russian_is_read_back_a_no_keeps_the_order_and_a_yes_confirms_it(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    phone = "+380671230103"
    order_id = order_waiting(stack, shop_api, phone, "SP-3")
    # WHEN the caller says "no, I don't confirm", then "cancel it", keys the order's number, then
    # says "no" to the read-back, then "yes" to the order's menu
    steps: list[Step] = [RU, Speak("нет, не подтверждаю"), Speak("отмените"), Press("3#"), Speak("нет"), Speak("да")]
    script = CallerScript(steps)
    transcript = stack.standin.place_inbound_call(phone, SHOP, script)
    heard = transcript.heard()
    assert transcript.application_errors == []
    assert (
        "Вы хотите отменить заказ SP-3 на сумму 410 гривен. Чтобы отменить его, нажмите 1 или скажите «да». "
        "Чтобы оставить, нажмите 2." in heard
    )
    assert "Ничего не отменено, заказ остаётся как был." in heard
    assert said(heard, RU_MENU) == 3  # read, after the no, after the read-back
    assert heard[-1] == "Спасибо! Ваш заказ подтверждён. До свидания."
    assert shop_api.order(order_id)["status"] == "confirmed"
    assert CallItem.get(transcript.call_sid).result == "self-service"


def test_a_cancellation_said_in_ukrainian_is_read_back_and_a_yes_cancels_it(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    phone = "+380671230104"
    order_id = order_waiting(stack, shop_api, phone, "SP-4")
    script = CallerScript([UK, Speak("скасуйте, будь ласка"), Press("4#"), Speak("так")])
    transcript = stack.standin.place_inbound_call(phone, SHOP, script)
    heard = transcript.heard()
    assert transcript.application_errors == []
    assert "Щоб скасувати, введіть цифри номера замовлення, потім натисніть решітку." in heard
    assert (
        "Ви хочете скасувати замовлення SP-4 на суму 410 гривень. Щоб скасувати його, натисніть 1 "
        "або скажіть «так». Щоб залишити, натисніть 2." in heard
    )
    assert heard[-1] == "Ваше замовлення скасовано. До побачення."
    assert shop_api.order(order_id)["status"] == "cancelled"


def test_key_2_asks_the_number_then_is_read_back_2_or_silence_keeps_the_order_and_1_cancels_it(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    phone = "+380671230105"
    order_id = order_waiting(stack, shop_api, phone, "SP-5")
    # WHEN the caller presses 2 and keys the number, then 2 (keep), the same and says nothing,
    # the same and then 1
    cancel: list[Step] = [Press("2"), Press("5#")]
    keys: list[Step] = [EN, *cancel, Press("2"), *cancel, Silence(), *cancel, Press("1")]
    transcript = stack.standin.place_inbound_call(phone, SHOP, CallerScript(keys))
    heard = transcript.heard()
    assert transcript.application_errors == []
    check = "You asked to cancel order SP-5 for 410 hryvnias. To cancel it, press 1 or say yes. To keep it, press 2."
    assert heard.count(check) == 3
    assert heard.count("Nothing is cancelled, your order stays as it was.") == 2
    assert heard[-1] == "Your order has been cancelled. Goodbye."
    assert shop_api.order(order_id)["status"] == "cancelled"


def test_a_plain_yes_in_english_after_choosing_the_language_by_voice_confirms(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    phone = "+380671230106"
    order_id = order_waiting(stack, shop_api, phone, "SP-6")
    transcript = stack.standin.place_inbound_call(phone, SHOP, CallerScript([Speak("English"), Speak("Yes please")]))
    heard = transcript.heard()
    assert transcript.application_errors == []
    assert "Your order SP-6 for 410 hryvnias is waiting for confirmation." in heard
    assert heard[-1] == "Thank you! Your order is confirmed. Goodbye."
    assert shop_api.order(order_id)["status"] == "confirmed"
