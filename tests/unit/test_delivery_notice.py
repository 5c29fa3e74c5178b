"""The shop's delivery notice once an order is confirmed (O9), on fakes: its words in the
customer's language for what is known of the delivery, the shop's own sentence, once per order,
never to a do-not-call customer, never for an order not confirmed, none when the shop says so."""

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.domain.entities import Order
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.shop import ShopSettings
from chalicelib.services import intake, order_events
from tests.fakes.store import FakeStore
from tests.fakes.texts import FakeTextOutbox
from tests.fakes.twilio import FakeTelephony

NOON = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
PHONE = "+380671234599"
SLOT = {"start": "2015-11-24T08:00:00+00:00", "end": "2015-11-24T12:00:00+00:00"}  # 10:00-14:00 in Kyiv


def shop_with(**settings: Any) -> ShopSettings:
    base = {"shop_id": "demo", "name": "Kvitka", "caller_id": "+380441234567", "languages": ["uk", "ru", "en"]}
    return ShopSettings.model_validate(base | settings)


def confirmed_order(store: FakeStore, shop: ShopSettings, **fields: Any) -> Order:
    body = {"phone": PHONE, "total": "250", "order_number": "D-1"} | fields
    order_id = intake.new_order_id(NOON, "+380671234567")
    intake.accept_order(shop, OrderIn.model_validate(body), store=store, now=NOON, order_id=order_id)
    intake.decide_new_order(shop, order_id, store=store, tasks=store, now=NOON)
    moved = store.transition_order("demo", order_id, {"queued"}, "confirmed")
    assert moved is not None
    return moved


def texts_after_confirming(shop: ShopSettings, **fields: Any) -> list[str]:
    store = FakeStore([shop])
    order = confirmed_order(store, shop, **fields)
    telephony = FakeTelephony()
    texts = order_events.OrderTexts(store, telephony, lambda key, action: action(), FakeTextOutbox())
    order_events.after_status_change(shop, "queued", order, texts=texts, now=NOON)
    return [text["body"] for text in telephony.texts]


@pytest.mark.parametrize(
    ("language", "fields", "expected"),
    [
        ("uk", {}, "Kvitka: замовлення D-1 підтверджено. Щодо доставки ми з вами зв'яжемося."),
        ("ru", {}, "Kvitka: заказ D-1 подтверждён. По поводу доставки мы с вами свяжемся."),
        ("en", {}, "Kvitka: order D-1 is confirmed. We will contact you about the delivery."),
        (
            "uk",
            {"delivery": {"address": "Київ,\n Хрещатик 22."}},
            "Kvitka: замовлення D-1 підтверджено. Доставимо за адресою: Київ, Хрещатик 22; "
            "про час доставки ми з вами зв'яжемося.",
        ),
        (
            "en",
            {"delivery": {"address": "Kyiv, Khreshchatyk 22"}},
            "Kvitka: order D-1 is confirmed. We will deliver it to Kyiv, Khreshchatyk 22 "
            "and contact you about the time.",
        ),
        (
            "ru",
            {"delivery": {"address": "Киев, Крещатик 22", "slot": SLOT}},
            "Kvitka: заказ D-1 подтверждён. Доставка 24.11.2015 с 10:00 до 14:00 по адресу: Киев, Крещатик 22.",
        ),
        (
            "en",
            {"delivery": {"slot": SLOT}},
            "Kvitka: order D-1 is confirmed. Delivery on 24.11.2015 between 10:00 and 14:00.",
        ),
        (
            "en",
            {"delivery": {"address": "", "slot": SLOT}},
            "Kvitka: order D-1 is confirmed. Delivery on 24.11.2015 between 10:00 and 14:00.",
        ),
    ],
)
def test_the_notice_names_the_order_and_what_is_known_of_its_delivery_in_the_customers_language(
    language: str, fields: dict[str, Any], expected: str
) -> None:
    assert texts_after_confirming(shop_with(), language=language, **fields) == [expected]


def test_the_shops_own_sentence_follows_in_the_customers_language_only() -> None:
    shop = shop_with(
        delivery_notice={"note": {"en": "  Our courier takes cash\nor card. ", "uk": "Кур'єр приймає готівку."}}
    )
    assert texts_after_confirming(shop, language="en") == [
        "Kvitka: order D-1 is confirmed. We will contact you about the delivery. Our courier takes cash or card."
    ]
    assert texts_after_confirming(shop, language="ru") == [  # no Russian sentence: none in another language
        "Kvitka: заказ D-1 подтверждён. По поводу доставки мы с вами свяжемся."
    ]


def test_a_shop_that_tells_its_customers_itself_sends_no_notice() -> None:
    shop = shop_with(delivery_notice={"mode": "off"})
    store = FakeStore([shop])
    order = confirmed_order(store, shop)
    telephony = FakeTelephony()
    texts = order_events.OrderTexts(store, telephony, lambda key, action: action(), FakeTextOutbox())
    assert order_events.after_status_change(shop, "queued", order, texts=texts, now=NOON) is None
    picked = dataclasses.replace(order, delivery_slot=SLOT)
    assert order_events.after_slot_change(shop, "confirmed", None, picked, texts=texts, now=NOON) is None
    assert telephony.texts == []


@pytest.mark.parametrize(
    "settings",
    [
        {"mode": "call"},  # no call mode: see DeliveryNoticePolicy
        {"note": {"de": "Danke"}},
        {"note": {"en": ""}},
        {"note": {"en": "x" * 301}},
    ],
)
def test_a_delivery_notice_setting_out_of_range_is_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="delivery_notice"):
        shop_with(delivery_notice=settings)


def test_a_redelivered_confirmation_sends_the_notice_once() -> None:
    shop = shop_with()
    store = FakeStore([shop])
    order = confirmed_order(store, shop)
    telephony, done = FakeTelephony(), dict[str, Any]()

    def once(key: str, action: Any) -> Any:
        if key not in done:
            done[key] = action()
        return done[key]

    for _ in range(3):
        order_events.after_status_change(
            shop, "queued", order, texts=order_events.OrderTexts(store, telephony, once, FakeTextOutbox()), now=NOON
        )
    assert len(telephony.texts) == 1
    assert [m.purpose for m in store.messages] == ["delivery-notice"]


def test_a_do_not_call_customer_gets_no_notice() -> None:
    shop = shop_with()
    store = FakeStore([shop])
    order = confirmed_order(store, shop)
    store.add_do_not_call("demo", PHONE, "api", NOON)
    telephony = FakeTelephony()
    order_events.after_status_change(
        shop,
        "queued",
        order,
        texts=order_events.OrderTexts(store, telephony, lambda k, a: a(), FakeTextOutbox()),
        now=NOON,
    )
    assert telephony.texts == [] and store.messages == []


@pytest.mark.parametrize("status", ["cancelled", "unreachable", "queued"])
def test_an_order_not_confirmed_gets_no_notice(status: str) -> None:
    shop = shop_with()
    store = FakeStore([shop])
    order = confirmed_order(store, shop)
    moved = store.transition_order("demo", order.order_id, {"confirmed"}, status)
    assert moved is not None
    telephony = FakeTelephony()
    texts = order_events.OrderTexts(store, telephony, lambda k, a: a(), FakeTextOutbox())
    order_events.after_status_change(shop, "confirmed", moved, texts=texts, now=NOON)
    assert [t for t in telephony.texts if "підтверджено" in t["body"]] == []
