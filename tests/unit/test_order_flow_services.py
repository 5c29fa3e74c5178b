"""Order intake, dialing and the robot call, on in-memory fakes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.domain.orders import OrderIn
from chalicelib.domain.shop import DedupPolicy, RobotPolicy, ShopSettings
from chalicelib.services import dialer, intake, robot_call
from tests.fakes import FakeStore, FakeTelephony, FakeUrls

NOON = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv: inside calling hours


def make_shop(**overrides: object) -> ShopSettings:
    settings = {
        "shop_id": "demo",
        "name": "Kvitka",
        "caller_id": "+380441234567",
        "robot": RobotPolicy(max_concurrent_calls=2, max_attempts=2),
    }
    settings.update(overrides)
    return ShopSettings.model_validate(settings)


def post(store: FakeStore, shop: ShopSettings, now: datetime = NOON, **fields: Any) -> str:
    body = {"phone": "067 123-45-67", "total": "100", "order_number": "A-1", "customer_name": "Olena"} | fields
    order_id = intake.new_order_id(now)
    intake.accept_order(shop, OrderIn.model_validate(body), store=store, now=now, order_id=order_id)
    return order_id


def decide(store: FakeStore, shop: ShopSettings, order_id: str) -> str:
    return intake.decide_new_order(shop, order_id, store=store, tasks=store, now=NOON)


@pytest.fixture
def shop() -> ShopSettings:
    return make_shop()


@pytest.fixture
def store(shop: ShopSettings) -> FakeStore:
    return FakeStore([shop])


def test_an_accepted_order_is_stored_with_its_phone_in_e164(store: FakeStore, shop: ShopSettings) -> None:
    order_id = post(store, shop, total="1250.50")
    order = store.get_order("demo", order_id)
    assert order is not None
    assert (order.phone, order.status, order.total, order.currency) == (
        "+380671234567",
        "received",
        Decimal("1250.50"),
        "UAH",
    )
    assert order.day == "2026-11-22"


def test_a_new_order_gets_one_dial_task_even_when_redelivered(store: FakeStore, shop: ShopSettings) -> None:
    order_id = post(store, shop)
    assert decide(store, shop, order_id) == "queued"
    assert decide(store, shop, order_id) == "already-decided"
    assert len(store.tasks) == 1
    task = next(iter(store.tasks.values()))
    assert task.order_ids == [order_id]
    assert task.phone == "+380671234567"
    assert store.get_order("demo", order_id).status == "queued"  # type: ignore[union-attr]


def test_variant_a_same_phone_and_number_is_a_duplicate_of_the_first(store: FakeStore, shop: ShopSettings) -> None:
    first = post(store, shop)
    second = post(store, shop, phone="+380 (67) 1234567")
    decide(store, shop, first)
    assert decide(store, shop, second) == "duplicate"
    assert store.get_order("demo", second).duplicate_of == first  # type: ignore[union-attr]
    assert len(store.tasks) == 1


def test_variant_a_new_order_number_from_same_phone_is_a_real_repeat_purchase(
    store: FakeStore, shop: ShopSettings
) -> None:
    decide(store, shop, post(store, shop, order_number="A-1"))
    assert decide(store, shop, post(store, shop, order_number="A-2")) == "queued"
    assert len(store.tasks) == 2


def test_variant_b_blocks_within_the_window_and_passes_after_it() -> None:
    shop = make_shop(dedup=DedupPolicy(variant="B", window_minutes=60))
    store = FakeStore([shop])
    first = post(store, shop, order_number=None)
    assert decide(store, shop, first) == "queued"
    within = post(store, shop, now=NOON + timedelta(minutes=30), order_number=None)
    assert decide(store, shop, within) == "duplicate"
    after = post(store, shop, now=NOON + timedelta(minutes=61), order_number=None)
    assert decide(store, shop, after) == "queued"


def test_fakes_are_flagged_and_never_called(store: FakeStore, shop: ShopSettings) -> None:
    bad_phone = post(store, shop, phone="12")
    test_name = post(store, shop, customer_name="test test", order_number="A-9")
    assert decide(store, shop, bad_phone) == "fake"
    assert decide(store, shop, test_name) == "fake"
    assert store.get_order("demo", bad_phone).fake_reason == "phone: not a valid number"  # type: ignore[union-attr]
    assert store.tasks == {}


def queued_task(store: FakeStore, shop: ShopSettings, **fields: Any) -> str:
    order_id = post(store, shop, **fields)
    decide(store, shop, order_id)
    return intake.task_id_for(order_id)


def test_a_due_task_is_dialled_once_with_signed_webhook_urls(store: FakeStore, shop: ShopSettings) -> None:
    telephony = FakeTelephony()
    task_id = queued_task(store, shop)
    sid = dialer.dial_task(shop, task_id, store=store, telephony=telephony, urls=FakeUrls(), now=NOON)
    again = dialer.dial_task(shop, task_id, store=store, telephony=telephony, urls=FakeUrls(), now=NOON)
    assert sid is not None and again is None
    assert len(telephony.placed) == 1
    placed = telephony.placed[0]
    assert (placed["to"], placed["from_"]) == ("+380671234567", "+380441234567")
    assert placed["answer_url"].endswith(f"/twilio/voice/robot/{task_id}")
    assert placed["status_url"].endswith(f"/twilio/voice/status?task_id={task_id}")
    assert store.tasks[task_id].state == "dialing"
    assert store.calls[sid].direction == "outbound-robot"
    assert store.orders[("demo", store.tasks[task_id].order_ids[0])].first_dial_at == NOON


def test_outside_calling_hours_the_task_waits_for_the_morning(store: FakeStore, shop: ShopSettings) -> None:
    late = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)  # 23:00 in Kyiv
    telephony = FakeTelephony()
    task_id = queued_task(store, shop)
    assert dialer.dial_task(shop, task_id, store=store, telephony=telephony, urls=FakeUrls(), now=late) is None
    assert telephony.placed == []
    assert store.tasks[task_id].due_at == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_no_more_calls_than_the_shops_lines(store: FakeStore, shop: ShopSettings) -> None:
    telephony = FakeTelephony()
    for number in ("A-1", "A-2", "A-3"):
        queued_task(store, shop, order_number=number, phone=f"+38067123450{number[-1]}")
    placed = dialer.dial_due_tasks(shop, store=store, telephony=telephony, urls=FakeUrls(), now=NOON)
    assert len(placed) == 2 == shop.robot.max_concurrent_calls
    assert sum(t.state == "queued" for t in store.tasks.values()) == 1


def test_a_failed_call_create_requeues_the_task(store: FakeStore, shop: ShopSettings) -> None:
    task_id = queued_task(store, shop)
    assert (
        dialer.dial_task(shop, task_id, store=store, telephony=FakeTelephony(fail=True), urls=FakeUrls(), now=NOON)
        is None
    )
    task = store.tasks[task_id]
    assert (task.state, task.attempts, task.due_at) == ("queued", 1, NOON + timedelta(minutes=30))


def dialled(store: FakeStore, shop: ShopSettings) -> tuple[str, str]:
    task_id = queued_task(store, shop)
    sid = dialer.dial_task(shop, task_id, store=store, telephony=FakeTelephony(), urls=FakeUrls(), now=NOON)
    assert sid
    return task_id, sid


def completed(sid: str, sequence: int = 3, status: str = "completed") -> robot_call.StatusCallback:
    return robot_call.StatusCallback(sid, status, sequence, 42, None, "+380671234567", "+380441234567")


def test_pressing_1_confirms_the_order_and_the_call_ends_the_task(store: FakeStore, shop: ShopSettings) -> None:
    task_id, sid = dialled(store, shop)
    talk = robot_call.answer_robot_call(shop, task_id, sid, "human", store=store, now=NOON)
    assert talk is not None and [o.order_number for o in talk.orders] == ["A-1"]
    assert robot_call.press_key(shop, task_id, sid, "1", store=store, now=NOON) == "confirm"
    robot_call.record_call_status(shop, task_id, completed(sid), store=store, now=NOON)
    order = store.orders[("demo", store.tasks[task_id].order_ids[0])]
    assert (order.status, order.reached, order.decided_at) == ("confirmed", True, NOON)
    assert (store.tasks[task_id].state, store.tasks[task_id].result) == ("done", "confirmed")
    assert store.calls[sid].duration_seconds == 42


def test_pressing_2_cancels(store: FakeStore, shop: ShopSettings) -> None:
    task_id, sid = dialled(store, shop)
    robot_call.answer_robot_call(shop, task_id, sid, None, store=store, now=NOON)
    robot_call.press_key(shop, task_id, sid, "2", store=store, now=NOON)
    assert store.orders[("demo", store.tasks[task_id].order_ids[0])].status == "cancelled"


def test_a_machine_gets_no_conversation_and_the_task_is_retried(store: FakeStore, shop: ShopSettings) -> None:
    task_id, sid = dialled(store, shop)
    assert robot_call.answer_robot_call(shop, task_id, sid, "machine_start", store=store, now=NOON) is None
    robot_call.record_call_status(shop, task_id, completed(sid), store=store, now=NOON)
    task = store.tasks[task_id]
    assert (task.state, task.last_call_result) == ("queued", "machine")
    assert task.due_at == NOON + timedelta(minutes=60)


def test_unanswered_after_the_last_attempt_the_order_is_unreachable(store: FakeStore, shop: ShopSettings) -> None:
    task_id, sid = dialled(store, shop)
    robot_call.record_call_status(shop, task_id, completed(sid, status="no-answer"), store=store, now=NOON)
    later = NOON + timedelta(minutes=31)
    second = dialer.dial_task(shop, task_id, store=store, telephony=FakeTelephony(), urls=FakeUrls(), now=later)
    assert second
    robot_call.record_call_status(shop, task_id, completed(second, status="busy"), store=store, now=later)
    assert store.tasks[task_id].state == "failed"
    assert store.orders[("demo", store.tasks[task_id].order_ids[0])].status == "unreachable"


def test_repeated_and_late_status_callbacks_change_nothing(store: FakeStore, shop: ShopSettings) -> None:
    task_id, sid = dialled(store, shop)
    robot_call.record_call_status(shop, task_id, completed(sid, status="no-answer"), store=store, now=NOON)
    state_after_first = (store.tasks[task_id].state, store.tasks[task_id].due_at, store.tasks[task_id].attempts)
    robot_call.record_call_status(shop, task_id, completed(sid, status="no-answer"), store=store, now=NOON)
    robot_call.record_call_status(shop, task_id, completed(sid, sequence=1, status="ringing"), store=store, now=NOON)
    assert (store.tasks[task_id].state, store.tasks[task_id].due_at, store.tasks[task_id].attempts) == state_after_first
    assert store.calls[sid].status == "no-answer"  # the late 'ringing' never overwrote the end


def test_a_keypress_on_a_call_that_is_not_the_tasks_current_call_is_ignored(
    store: FakeStore, shop: ShopSettings
) -> None:
    task_id, _ = dialled(store, shop)
    assert robot_call.press_key(shop, task_id, "CA-someone-else", "1", store=store, now=NOON) == "unknown"
    assert store.orders[("demo", store.tasks[task_id].order_ids[0])].status == "queued"
