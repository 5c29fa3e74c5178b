"""Texts with customers (O7 fallback, O9, O10) and the do-not-call list (O11), on fakes."""

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.domain.entities import Order
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.shop import RobotPolicy, ShopSettings
from chalicelib.domain.sms import sms_intent
from chalicelib.services import dialer, intake, messaging, order_events, text_outbox
from tests.fakes.links import FakeUrls
from tests.fakes.store import FakeStore
from tests.fakes.texts import FakeTextOutbox, text_line
from tests.fakes.twilio import FakeTelephony

NOON = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
PHONE = "+380671234567"


@pytest.fixture
def shop() -> ShopSettings:
    return ShopSettings.model_validate(
        {"shop_id": "demo", "name": "Kvitka", "caller_id": "+380441234567", "robot": RobotPolicy(max_attempts=2)}
    )


@pytest.fixture
def store(shop: ShopSettings) -> FakeStore:
    return FakeStore([shop])


def queued_order(store: FakeStore, shop: ShopSettings, number: str = "A-1", **fields: Any) -> Order:
    body = {"phone": PHONE, "total": "250", "order_number": number, "customer_name": "Olena"} | fields
    order_id = intake.new_order_id(NOON, "+380671234567")
    intake.accept_order(shop, OrderIn.model_validate(body), store=store, now=NOON, order_id=order_id)
    intake.decide_new_order(shop, order_id, store=store, tasks=store, now=NOON)
    order = store.get_order("demo", order_id)
    assert order is not None
    return order


@pytest.mark.parametrize(
    ("body", "opt_out", "intent"),
    [
        ("1", None, "confirm"),
        (" yes! ", None, "confirm"),
        ("Так", None, "confirm"),
        ("2", None, "cancel"),
        ("no", None, "cancel"),
        ("2 SP-1042", None, "cancel"),
        ("Ні, 1042", None, "cancel"),
        ("no thanks", None, "other"),
        ("STOP", None, "stop"),
        ("please stop", "STOP", "stop"),
        ("start", None, "start"),
        ("YES", "START", "confirm"),
        ("HELP", "HELP", "help"),
        ("Can you deliver tomorrow?", None, "other"),
    ],
)
def test_what_a_text_means(body: str, opt_out: str | None, intent: str) -> None:
    assert sms_intent(body, opt_out) == intent


def asked(store: FakeStore, order: Order, by: str, **fields: Any) -> Order:
    """The order as the robot (answered by a person) or the confirm-request text left it."""
    [marked] = store.mark_orders("demo", [order.order_id], asked_by=by, **fields)
    return marked


def test_replying_1_confirms_every_order_the_customer_was_asked_about_and_takes_them_off_the_dial_list(
    store: FakeStore, shop: ShopSettings
) -> None:
    first = asked(store, queued_order(store, shop, "A-1"), "robot")
    second = asked(store, queued_order(store, shop, "A-2"), "sms", status="unreachable")
    reply = messaging.receive_sms(shop, PHONE, "1", None, "SM1", store=store, now=NOON)
    assert reply == ["Kvitka: замовлення A-1, A-2 підтверджено. Дякуємо!"]
    assert {store.orders[("demo", o.order_id)].status for o in (first, second)} == {"confirmed"}
    assert store.tasks[first.task_id].state == "done"  # type: ignore[index]
    [logged] = store.messages
    assert (logged.direction, logged.intent, sorted(logged.order_ids)) == (
        "inbound",
        "confirm",
        sorted([first.order_id, second.order_id]),
    )


def test_replying_2_with_the_order_number_cancels_that_order_only(store: FakeStore, shop: ShopSettings) -> None:
    first = asked(store, queued_order(store, shop, "A-1"), "robot")
    second = asked(store, queued_order(store, shop, "A-2"), "sms", status="unreachable")
    assert messaging.receive_sms(shop, PHONE, "no a2", None, "SM1", store=store, now=NOON) == [
        "Kvitka: замовлення A-2 скасовано."
    ]
    assert [store.orders[("demo", o.order_id)].status for o in (first, second)] == ["queued", "cancelled"]
    # the digits alone name it too
    assert messaging.receive_sms(shop, PHONE, "2 1", None, "SM2", store=store, now=NOON) == [
        "Kvitka: замовлення A-1 скасовано."
    ]
    assert store.orders[("demo", first.order_id)].status == "cancelled"
    assert [m.order_ids for m in store.messages] == [[second.order_id], [first.order_id]]


def test_a_bare_2_from_the_customers_number_cancels_nothing_and_asks_for_the_order_number(
    store: FakeStore, shop: ShopSettings
) -> None:
    # GIVEN anyone can send a text from the customer's number (a spoofed sender)
    order = asked(store, queued_order(store, shop), "robot")
    assert messaging.receive_sms(shop, PHONE, "2", None, "SM1", store=store, now=NOON) == [
        "Kvitka: щоб скасувати, надішліть 2 і номер замовлення з нашого повідомлення, наприклад: 2 A-1234."
    ]
    stored = store.orders[("demo", order.order_id)]
    assert (stored.status, stored.cancel_misses, stored.asked_by) == ("queued", 0, "robot")


def test_a_wrong_order_number_is_refused_twice_then_texts_decide_that_order_no_more(
    store: FakeStore, shop: ShopSettings
) -> None:
    order = asked(store, queued_order(store, shop), "robot")
    wrong = messaging.receive_sms(shop, PHONE, "2 A-7", None, "SM1", store=store, now=NOON)
    assert wrong == [
        "Kvitka: серед ваших замовлень, що чекають на відповідь, немає такого номера, тож нічого не скасовано. "
        "Перевірте номер у нашому повідомленні й надішліть 2 і номер ще раз."
    ]
    again = messaging.receive_sms(shop, PHONE, "2 A-8", None, "SM2", store=store, now=NOON)
    assert again == [
        "Kvitka: це знову не номер вашого замовлення, тож нічого не скасовано. Щоб скасувати його, зателефонуйте нам."
    ]
    stored = store.orders[("demo", order.order_id)]
    assert (stored.status, stored.cancel_misses, stored.asked_by) == ("queued", 2, None)
    # THEN even the right number by text no longer cancels it: the shop's call will ask
    assert messaging.receive_sms(shop, PHONE, "2 A-1", None, "SM3", store=store, now=NOON) == [
        "Kvitka: щодо замовлення A-1 ми вам зателефонуємо; ваше повідомлення збережено."
    ]
    assert store.orders[("demo", order.order_id)].status == "queued"


def test_a_yes_with_nothing_open_says_so(store: FakeStore, shop: ShopSettings) -> None:
    reply = messaging.receive_sms(shop, PHONE, "1", None, "SM1", store=store, now=NOON)
    assert reply == ["Kvitka: у вас немає замовлень, що чекають на підтвердження."]


@pytest.mark.parametrize("body", ["1", "2", "YES", "ні"])
def test_a_reply_nobody_asked_for_leaves_an_order_that_waits_for_a_person(
    store: FakeStore, shop: ShopSettings, body: str
) -> None:
    # GIVEN a 25,000 UAH order with an item out of stock: it waits for an agent's call
    order = queued_order(store, shop, "BIG-1", total="25000", in_stock=False)
    assert (order.route, order.asked_by) == ("agent", None)
    # WHEN the customer texts without being asked
    reply = messaging.receive_sms(shop, PHONE, body, None, "SM1", store=store, now=NOON)
    # THEN the order stays as it is, in its agent task, and the text is kept for the agent
    assert reply == ["Kvitka: щодо замовлення BIG-1 вам зателефонує оператор; ваше повідомлення передано йому."]
    stored = store.orders[("demo", order.order_id)]
    assert (stored.status, stored.decided_at) == ("queued", None)
    assert store.tasks[order.task_id or ""].order_ids == [order.order_id]
    [logged] = store.messages
    assert (logged.body, logged.order_ids, logged.left_open) == (body, [], [order.order_id])


def test_a_reply_decides_what_was_asked_and_says_who_calls_about_the_rest(store: FakeStore, shop: ShopSettings) -> None:
    asked_one = asked(store, queued_order(store, shop, "A-1"), "robot")
    for_agent = queued_order(store, shop, "A-2", needs_call=True)
    not_called_yet = queued_order(store, shop, "A-3")
    given_up = queued_order(store, shop, "A-4")
    store.orders[("demo", given_up.order_id)].status = "unreachable"  # no text asked (do not call)
    reply = messaging.receive_sms(shop, PHONE, "1", None, "SM1", store=store, now=NOON)
    assert reply == [
        "Kvitka: замовлення A-1 підтверджено. Дякуємо!",
        "Kvitka: щодо замовлення A-2 вам зателефонує оператор; ваше повідомлення передано йому.",
        "Kvitka: щодо замовлення A-3 ми вам зателефонуємо; ваше повідомлення збережено.",
    ]
    statuses = [store.orders[("demo", o.order_id)].status for o in (asked_one, for_agent, not_called_yet, given_up)]
    assert statuses == ["confirmed", "queued", "queued", "unreachable"]
    [logged] = store.messages
    assert logged.order_ids == [asked_one.order_id]
    assert sorted(logged.left_open) == sorted([for_agent.order_id, not_called_yet.order_id, given_up.order_id])


def test_a_reply_about_an_order_nobody_will_call_about_is_passed_on(store: FakeStore, shop: ShopSettings) -> None:
    order = queued_order(store, shop)
    store.orders[("demo", order.order_id)].status = "unreachable"  # given up on, never texted
    reply = messaging.receive_sms(shop, PHONE, "2", None, "SM1", store=store, now=NOON)
    assert reply == ["Kvitka: дякуємо, ваше повідомлення передано менеджеру."]
    assert store.orders[("demo", order.order_id)].status == "unreachable"


def test_stop_puts_the_customer_on_the_list_and_start_takes_them_off(store: FakeStore, shop: ShopSettings) -> None:
    assert "START" in " ".join(messaging.receive_sms(shop, PHONE, "STOP", None, "SM1", store=store, now=NOON))
    assert store.is_do_not_call("demo", PHONE)
    # With Twilio's Advanced Opt-Out the keyword is acted on but Twilio sends the reply.
    assert messaging.receive_sms(shop, PHONE, "START", "START", "SM2", store=store, now=NOON) == []
    assert not store.is_do_not_call("demo", PHONE)


def test_other_text_is_kept_for_an_agent(store: FakeStore, shop: ShopSettings) -> None:
    reply = messaging.receive_sms(shop, PHONE, "Can I pay by card?", None, "SM1", store=store, now=NOON)
    assert reply == ["Kvitka: дякуємо, ваше повідомлення передано менеджеру."]
    assert store.messages[0].body == "Can I pay by card?" and store.messages[0].intent == "other"


def test_no_call_and_no_text_to_a_do_not_call_customer(store: FakeStore, shop: ShopSettings) -> None:
    order = queued_order(store, shop)
    store.add_do_not_call("demo", PHONE, "api", NOON)
    telephony = FakeTelephony()
    assert (
        dialer.dial_task(shop, order.task_id or "", store=store, telephony=telephony, urls=FakeUrls(), now=NOON) is None
    )
    assert telephony.placed == []
    stored = store.orders[("demo", order.order_id)]
    assert (stored.status, stored.route_reason) == ("unreachable", "do not call")
    assert messaging.ask_by_sms(shop, stored, line=text_line(store, telephony), now=NOON) is None
    assert telephony.texts == []


def test_after_the_last_failed_call_the_customer_gets_the_order_by_text(store: FakeStore, shop: ShopSettings) -> None:
    order = queued_order(store, shop, total="1250.50")
    store.orders[("demo", order.order_id)].status = "unreachable"
    telephony, keys = FakeTelephony(), []

    def once(key: str, action: Any) -> Any:
        keys.append(key)
        return action()

    unreachable = store.orders[("demo", order.order_id)]
    purpose = order_events.after_status_change(
        shop, "queued", unreachable, texts=order_events.OrderTexts(store, telephony, once, FakeTextOutbox()), now=NOON
    )
    assert purpose == "confirm-request" and keys == [f"sms#{order.order_id}#confirm-request"]
    [text] = telephony.texts
    assert (text["to"], text["from_"]) == (PHONE, "+380441234567")
    assert text["body"] == (
        "Kvitka: ми не змогли до вас додзвонитися щодо замовлення A-1 на 1250.50 UAH. "
        "Відповідайте 1 — підтвердити, 2 A-1 — скасувати."
    )
    assert store.messages[0].purpose == "confirm-request"
    # THEN a reply decides it: the customer was asked by text
    assert store.orders[("demo", order.order_id)].asked_by == "sms"
    assert messaging.receive_sms(shop, PHONE, "1", None, "SM9", store=store, now=NOON) == [
        "Kvitka: замовлення A-1 підтверджено. Дякуємо!"
    ]


def test_a_confirmed_order_with_a_delivery_slot_gets_the_time_in_the_shops_zone(
    store: FakeStore, shop: ShopSettings
) -> None:
    slot = {"start": "2015-11-24T12:00:00+00:00", "end": "2015-11-24T14:00:00+00:00"}
    order = queued_order(store, shop, delivery={"address": "Kyiv", "slot": slot})
    confirmed = store.transition_order("demo", order.order_id, {"queued"}, "confirmed")
    assert confirmed is not None
    telephony = FakeTelephony()
    order_events.after_status_change(
        shop,
        "queued",
        confirmed,
        texts=order_events.OrderTexts(store, telephony, lambda key, action: action(), FakeTextOutbox()),
        now=NOON,
    )
    assert telephony.texts[0]["body"] == (
        "Kvitka: замовлення A-1 підтверджено. Доставка 24.11.2015 з 14:00 до 16:00 за адресою: Kyiv."
    )


def test_the_slot_the_caller_picked_in_the_ivr_is_the_one_the_confirmation_text_gives(
    store: FakeStore, shop: ShopSettings
) -> None:
    # GIVEN an order the shop sent with a slot, for which the caller then picked another
    shops_slot = {"start": "2015-11-24T12:00:00+00:00", "end": "2015-11-24T14:00:00+00:00"}
    order = queued_order(store, shop, delivery={"address": "Kyiv", "slot": shops_slot})
    picked = {"start": "2015-11-25T08:00:00+00:00", "end": "2015-11-25T12:00:00+00:00"}
    confirmed = store.transition_order("demo", order.order_id, {"queued"}, "confirmed")
    assert confirmed is not None
    confirmed = dataclasses.replace(confirmed, delivery_slot=picked)
    telephony = FakeTelephony()
    order_events.after_status_change(
        shop,
        "queued",
        confirmed,
        texts=order_events.OrderTexts(store, telephony, lambda key, action: action(), FakeTextOutbox()),
        now=NOON,
    )
    assert telephony.texts[0]["body"] == (
        "Kvitka: замовлення A-1 підтверджено. Доставка 25.11.2015 з 10:00 до 14:00 за адресою: Kyiv."
    )


def test_a_delivery_time_picked_after_confirmation_is_texted_once_per_time_picked(
    store: FakeStore, shop: ShopSettings
) -> None:
    # GIVEN a confirmed order (its confirmation text already sent)
    order = queued_order(store, shop)
    confirmed = store.transition_order("demo", order.order_id, {"queued"}, "confirmed")
    assert confirmed is not None
    telephony, done = FakeTelephony(), {}

    def once(key: str, action: Any) -> Any:
        if key not in done:
            done[key] = action()
        return done[key]

    first = {"start": "2015-11-24T08:00:00+00:00", "end": "2015-11-24T12:00:00+00:00"}
    later = {"start": "2015-11-24T12:00:00+00:00", "end": "2015-11-24T16:00:00+00:00"}
    picked = dataclasses.replace(confirmed, delivery_slot=first)
    # WHEN the caller picks a time in the IVR (the record redelivered), then changes it
    for _ in range(2):
        purpose = order_events.after_slot_change(
            shop,
            "confirmed",
            None,
            picked,
            texts=order_events.OrderTexts(store, telephony, once, FakeTextOutbox()),
            now=NOON,
        )
        assert purpose == "delivery-slot"
    moved = dataclasses.replace(confirmed, delivery_slot=later)
    order_events.after_slot_change(
        shop,
        "confirmed",
        first["start"],
        moved,
        texts=order_events.OrderTexts(store, telephony, once, FakeTextOutbox()),
        now=NOON,
    )
    # AND an unrelated change of the order leaves the slot as it was
    unchanged = order_events.after_slot_change(
        shop,
        "confirmed",
        later["start"],
        moved,
        texts=order_events.OrderTexts(store, telephony, once, FakeTextOutbox()),
        now=NOON,
    )
    # THEN one text per time picked, each with its time in the shop's zone
    assert unchanged is None
    assert [text["body"] for text in telephony.texts] == [
        "Kvitka: замовлення A-1 підтверджено. Доставка 24.11.2015 з 10:00 до 14:00.",
        "Kvitka: замовлення A-1 підтверджено. Доставка 24.11.2015 з 14:00 до 18:00.",
    ]


def test_a_slot_picked_before_confirmation_waits_for_the_confirmation_text(
    store: FakeStore, shop: ShopSettings
) -> None:
    order = queued_order(store, shop)
    picked = dataclasses.replace(
        order, delivery_slot={"start": "2015-11-24T08:00:00+00:00", "end": "2015-11-24T12:00:00+00:00"}
    )
    telephony = FakeTelephony()
    for previous_status in ("queued", None):
        purpose = order_events.after_slot_change(
            shop,
            previous_status,
            None,
            picked,
            texts=order_events.OrderTexts(store, telephony, lambda k, a: a(), FakeTextOutbox()),
            now=NOON,
        )
        assert purpose is None
    assert telephony.texts == []


@pytest.mark.parametrize(
    ("stored", "start"),
    [
        (None, None),
        ("", None),
        ('{"start": "2015-11-24T08:00:00+00:00", "end": "2015-11-24T12:00:00+00:00"}', "2015-11-24T08:00:00+00:00"),
        ({"start": "2015-11-24T08:00:00+00:00"}, "2015-11-24T08:00:00+00:00"),
        ("[]", None),
    ],
)
def test_the_slot_start_is_read_from_the_stream_image(stored: Any, start: str | None) -> None:
    assert order_events.stored_slot_start(stored) == start


def test_a_robot_confirmation_without_a_slot_says_the_shop_will_be_in_touch_about_delivery(
    store: FakeStore, shop: ShopSettings
) -> None:
    order = queued_order(store, shop)
    confirmed = store.transition_order("demo", order.order_id, {"queued"}, "confirmed")
    assert confirmed is not None
    telephony = FakeTelephony()
    purpose = order_events.after_status_change(
        shop,
        "queued",
        confirmed,
        texts=order_events.OrderTexts(store, telephony, lambda key, action: action(), FakeTextOutbox()),
        now=NOON,
    )
    assert purpose == "delivery-notice"
    assert [text["body"] for text in telephony.texts] == [
        "Kvitka: замовлення A-1 підтверджено. Щодо доставки ми з вами зв'яжемося."
    ]


def test_an_order_confirmed_without_any_call_is_told_by_text(store: FakeStore, shop: ShopSettings) -> None:
    order = queued_order(store, shop, prepaid=True)
    assert order.status == "confirmed" and order.route == "auto_confirm"
    telephony = FakeTelephony()
    order_events.after_status_change(
        shop,
        "received",
        order,
        texts=order_events.OrderTexts(store, telephony, lambda key, action: action(), FakeTextOutbox()),
        now=NOON,
    )
    assert telephony.texts[0]["body"] == "Kvitka: замовлення A-1 підтверджено. Щодо доставки ми з вами зв'яжемося."
    assert Decimal(order.total) == Decimal("250")


def test_the_new_order_alert_hook_runs_only_for_shops_with_a_threshold(store: FakeStore, shop: ShopSettings) -> None:
    order = queued_order(store, shop)
    seen: list[str] = []
    order_events.after_new_order(shop, order, alert=lambda s, o: seen.append(o.order_id))
    assert seen == []
    with_threshold = shop.model_copy(update={"alerts": shop.alerts.model_copy(update={"order_total_above": 100})})
    order_events.after_new_order(with_threshold, order, alert=lambda s, o: seen.append(o.order_id))
    assert seen == [order.order_id]


class _TimedOutMessenger:
    """Twilio took the request but the answer was lost: the text is on its way."""

    def __init__(self) -> None:
        self.requests = 0

    def send_sms(self, *, to: str, from_: str, body: str) -> str:
        from chalicelib.services.ports import MessageOutcomeUnknownError

        self.requests += 1
        raise MessageOutcomeUnknownError("read timeout")

    def find_sent_text(self, *, to: str, from_: str, body: str, since: datetime) -> str | None:
        return "SM-taken" if self.requests else None  # Twilio's own list has it


def test_a_text_whose_request_timed_out_is_found_at_twilio_and_never_sent_twice(
    shop: ShopSettings, store: FakeStore
) -> None:
    # GIVEN an unreachable order whose fallback text request times out
    order = dataclasses.replace(queued_order(store, shop), status="unreachable")
    messenger, outbox = _TimedOutMessenger(), FakeTextOutbox()
    done: dict[str, object] = {}

    def once(key: str, action: Any) -> Any:  # run_once: the result is stored unless the action raises
        if key not in done:
            done[key] = action()
        return done[key]

    # WHEN the orders stream delivers the change twice, and the sweep runs after the backoff
    for _ in range(2):
        order_events.after_status_change(
            shop, "queued", order, texts=order_events.OrderTexts(store, messenger, once, outbox), now=NOON
        )
    line = order_events.OrderTexts(store, messenger, once, outbox).line(shop)
    assert text_outbox.sweep_due(line=line, now=NOON + timedelta(minutes=2)) == {"sent": 1}
    # THEN one request, never a second text: the text is recorded as the one Twilio took
    assert messenger.requests == 1
    [stored] = outbox.texts.values()
    assert (stored.state, stored.message_sid) == ("sent", "SM-taken")
    assert [m.message_sid for m in store.messages] == ["SM-taken"]
