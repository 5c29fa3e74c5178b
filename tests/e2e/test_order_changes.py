"""#16 item 14 on the local stack, as the shop and its customers live it: the shop cancels or
changes an order after posting it, and the robot's calls follow (DynamoDB Local streams, the
dialer's schedule, the real Twilio SDK and the stand-in)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.clock import wall_now
from devtools.simclock import SimClock
from devtools.stack import LocalStack, StackOptions
from devtools.twilio_standin import Callee, CallerScript, Press
from tests.e2e.conftest import ShopApi
from tests.storage_stamps import assert_ttl_stamped_by_the_wall_clock

MONDAY_8_KYIV = datetime(2015, 11, 23, 6, 0, tzinfo=UTC)  # before the demo shop's calling hours (10:00)
CONTROL, CANCELLED, OLD, NEW, TALKING = (f"+38067141000{n}" for n in range(1, 6))
CANCELLED_ON_THE_PHONE = (
    "Це замовлення вже скасовано, тож ми нічого не підтвердили. Якщо воно вам ще потрібне, "
    "оформіть його знову або зателефонуйте нам. До побачення!"
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    clock = SimClock(MONDAY_8_KYIV, speed=1.0)
    started = wall_now()
    with LocalStack(StackOptions(clock=clock, outbox_dir=Path(tmp_path_factory.mktemp("outbox")))) as local:
        yield local
        assert_ttl_stamped_by_the_wall_clock(local.dynamodb.client("dynamodb"), started)


def answering(*keys: str) -> Callee:
    return Callee(answer="human", ring_seconds=1, script=CallerScript([Press(key) for key in keys]))


def calls_to(stack: LocalStack, phone: str) -> list[Any]:
    return [call for call in stack.standin.calls if call.to == phone]


def post(shop_api: ShopApi, path: str, body: dict[str, Any] | None = None, method: str = "POST") -> dict[str, Any]:
    response = shop_api.session.request(method, f"{shop_api.base_url}{path}", json=body, timeout=15)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@dataclass(frozen=True)
class Morning:
    control: str
    cancelled: str
    moved: str


@pytest.fixture(scope="module")
def morning(stack: LocalStack) -> Morning:
    """Three orders posted at 08:00, waiting for the robot's 10:00; before it dials, the shop
    cancels one and gives another the customer's new phone. Then the morning comes."""
    shop_api, clock = ShopApi(stack.api_url), stack.options.clock
    assert isinstance(clock, SimClock)
    for phone in (CONTROL, CANCELLED, OLD, NEW):
        stack.standin.set_callee(phone, answering("1"))
    control = shop_api.post_order({"order_number": "CH-1", "phone": CONTROL, "total": "100"}).json()["id"]
    cancelled = shop_api.post_order({"order_number": "CH-2", "phone": CANCELLED, "total": "200"}).json()["id"]
    moved = shop_api.post_order({"order_number": "CH-3", "phone": OLD, "total": "300"}).json()["id"]
    assert stack.wait_quiet(timeout=60)
    assert {shop_api.order(o)["status"] for o in (control, cancelled, moved)} == {"queued"}

    post(shop_api, f"/v1/orders/{cancelled}/cancel", {"reason": "cancelled on the site"})
    post(shop_api, f"/v1/orders/{moved}", {"phone": NEW}, method="PATCH")
    assert stack.wait_quiet(timeout=60)
    assert stack.standin.calls == []

    clock.advance(timedelta(hours=2, minutes=1))  # 10:01: the robot's calling hours
    for _ in range(100):  # the minute schedule dials the night's backlog on its next ticks
        if calls_to(stack, CONTROL) and calls_to(stack, NEW):
            break
        clock.advance(timedelta(minutes=1))
        time.sleep(0.1)
    assert stack.wait_quiet(timeout=120)
    return Morning(control, cancelled, moved)


def test_an_order_cancelled_before_the_robot_dials_is_never_called_about(
    stack: LocalStack, shop_api: ShopApi, morning: Morning
) -> None:
    # The morning's other order was called and confirmed: the dialer ran.
    assert [c.status for c in calls_to(stack, CONTROL)] == ["completed"]
    assert shop_api.order(morning.control)["status"] == "confirmed"
    # The cancelled one: no call ever, cancelled by the shop, nothing left to dial.
    assert calls_to(stack, CANCELLED) == []
    order = shop_api.order(morning.cancelled)
    assert (order["status"], order["decided_by"], order["cancel_reason"]) == (
        "cancelled",
        "shop",
        "cancelled on the site",
    )
    assert order["dialing"] is None


def test_an_order_given_a_new_phone_is_called_there_and_not_on_the_old_one(
    stack: LocalStack, shop_api: ShopApi, morning: Morning
) -> None:
    assert calls_to(stack, OLD) == []
    [call] = calls_to(stack, NEW)
    assert "Ви оформили замовлення номер CH-3 на суму 300 гривень." in call.transcript.heard()
    assert call.transcript.heard()[-1] == "Дякуємо! Ваше замовлення підтверджено."
    order = shop_api.order(morning.moved)
    assert (order["status"], order["phone"], order["reached"]) == ("confirmed", NEW, True)


def test_a_customer_pressing_1_after_the_shop_cancelled_mid_call_confirms_nothing(
    stack: LocalStack, shop_api: ShopApi, morning: Morning
) -> None:
    # GIVEN a robot call that speaks in real time (the prompt takes seconds before the key)
    stack.standin.set_callee(TALKING, answering("1"))
    stack.standin.engine.speed = 2.0
    try:
        order_id = shop_api.post_order({"order_number": "CH-5", "phone": TALKING, "total": "500"}).json()["id"]
        deadline = time.monotonic() + 60
        while not shop_api.order(order_id)["reached"]:  # the customer picked up: the robot is talking
            assert time.monotonic() < deadline, "the robot never got through"
            time.sleep(0.1)
        # WHEN the shop cancels while the robot is talking, and the customer then presses 1
        post(shop_api, f"/v1/orders/{order_id}/cancel")
        assert stack.wait_quiet(timeout=120)
    finally:
        stack.standin.engine.speed = 0.0
    # THEN the call finished, the customer heard that the order is already cancelled, nothing confirmed it
    [call] = calls_to(stack, TALKING)
    heard = call.transcript.heard()
    assert "Ви оформили замовлення номер CH-5 на суму 500 гривень." in heard
    assert heard[-1] == CANCELLED_ON_THE_PHONE
    assert "Дякуємо! Ваше замовлення підтверджено." not in heard
    order = shop_api.order(order_id)
    assert (order["status"], order["decided_by"], order["dialing"]["state"]) == ("cancelled", "shop", "done")
    assert call.transcript.application_errors == []
