"""Order intake, dialing and the robot call, on in-memory fakes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import Mock

import pytest

from chalicelib.domain.orders import OrderIn
from chalicelib.domain.robot_call_ref import RobotCallRef
from chalicelib.domain.shop import DedupPolicy, RobotPolicy, ShopSettings
from chalicelib.services import dialer, intake, robot_call
from chalicelib.services.ports import CallNotPlacedError, CallOutcomeUnknownError, CallState
from tests.fakes.links import FakeUrls
from tests.fakes.store import FakeStore
from tests.fakes.twilio import FakeTelephony

NOON = datetime(2015, 11, 22, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv: inside calling hours


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
    order_id = intake.new_order_id(now, "+380671234567")
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
    assert order.day == "2015-11-22"


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


def test_a_repeat_purchase_is_a_real_order_and_joins_the_customers_one_task(
    store: FakeStore, shop: ShopSettings
) -> None:
    first = post(store, shop, order_number="A-1")
    second = post(store, shop, order_number="A-2")
    decide(store, shop, first)
    assert decide(store, shop, second) == "queued"  # variant A: a new order number is not a duplicate
    [task] = store.tasks.values()
    assert task.order_ids == sorted([first, second])
    assert store.orders[("demo", first)].task_id == store.orders[("demo", second)].task_id == task.task_id


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


def test_prepaid_in_stock_orders_are_confirmed_without_a_call(store: FakeStore, shop: ShopSettings) -> None:
    order_id = post(store, shop, prepaid=True)
    assert decide(store, shop, order_id) == "auto-confirmed"
    order = store.orders[("demo", order_id)]
    assert (order.status, order.route, order.decided_at) == ("confirmed", "auto_confirm", NOON)
    assert store.tasks == {}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"needs_call": True}, "the shop asked for a call"),
        ({"in_stock": False}, "an item is out of stock"),
        ({"total": "25000"}, "total at least 20000"),
    ],
)
def test_orders_that_need_a_person_go_to_the_agent_queue_not_the_robot(
    store: FakeStore, shop: ShopSettings, fields: dict[str, Any], reason: str
) -> None:
    telephony = FakeTelephony()
    order_id = post(store, shop, **fields)
    decide(store, shop, order_id)
    order = store.orders[("demo", order_id)]
    assert (order.status, order.route, order.route_reason) == ("queued", "agent", reason)
    assert store.tasks[order.task_id].kind == "agent"  # type: ignore[index]
    assert dialer.dial_due_tasks(shop, store=store, telephony=telephony, urls=FakeUrls(), now=NOON) == []
    assert telephony.placed == []


def test_one_order_needing_a_person_makes_the_whole_customer_task_an_agent_task(
    store: FakeStore, shop: ShopSettings
) -> None:
    decide(store, shop, post(store, shop, order_number="A-1"))
    decide(store, shop, post(store, shop, order_number="A-2", needs_call=True))
    [task] = store.tasks.values()
    assert task.kind == "agent" and len(task.order_ids) == 2


def queued_task(store: FakeStore, shop: ShopSettings, **fields: Any) -> str:
    order_id = post(store, shop, **fields)
    decide(store, shop, order_id)
    task_id = store.orders[("demo", order_id)].task_id
    assert task_id is not None
    return task_id


def test_a_due_task_is_dialled_once_with_signed_webhook_urls(store: FakeStore, shop: ShopSettings) -> None:
    telephony = FakeTelephony()
    task_id = queued_task(store, shop)
    sid = dialer.dial_task(shop, task_id, store=store, telephony=telephony, urls=FakeUrls(), now=NOON)
    again = dialer.dial_task(shop, task_id, store=store, telephony=telephony, urls=FakeUrls(), now=NOON)
    assert sid is not None and again is None
    assert len(telephony.placed) == 1
    placed = telephony.placed[0]
    assert (placed["to"], placed["from_"]) == ("+380671234567", "+380441234567")
    task = store.tasks[task_id]
    attempt = f"attempt=1&lang={task.language}&orders={task.call_order_ids[0]}&shop=demo"
    assert placed["answer_url"].endswith(f"/twilio/voice/robot/{task_id}?{attempt}")
    assert placed["status_url"].endswith(f"/twilio/voice/status?{attempt}&task_id={task_id}")
    assert store.tasks[task_id].state == "dialing"
    assert store.calls[sid].direction == "outbound-robot"
    assert store.orders[("demo", store.tasks[task_id].order_ids[0])].first_dial_at == NOON


def test_outside_calling_hours_the_task_waits_for_the_morning(store: FakeStore, shop: ShopSettings) -> None:
    late = datetime(2015, 11, 22, 21, 0, tzinfo=UTC)  # 23:00 in Kyiv
    telephony = FakeTelephony()
    task_id = queued_task(store, shop)
    assert dialer.dial_task(shop, task_id, store=store, telephony=telephony, urls=FakeUrls(), now=late) is None
    assert telephony.placed == []
    assert store.tasks[task_id].due_at == datetime(2015, 11, 23, 8, 0, tzinfo=UTC)


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


CARRIED = pytest.mark.parametrize("carried", [False, True], ids=["task read", "attempt in the status URL"])


def ended(
    shop: ShopSettings,
    store: FakeStore,
    task_id: str,
    callback: robot_call.StatusCallback,
    now: datetime,
    ref: RobotCallRef | None,
) -> None:
    """A status callback; ``ref``: the attempt its URL carries (#19), None for a call placed before."""
    robot_call.record_call_status(shop, task_id, callback, store=store, now=now, ref=ref)


def attempt_of(store: FakeStore, task_id: str, carried: bool) -> RobotCallRef | None:
    """The attempt as the dialer put it in the status URL (read right after dialing)."""
    return robot_call.ref_of_task(store.tasks[task_id]) if carried else None


@CARRIED
def test_pressing_1_confirms_the_order_and_the_call_ends_the_task(
    store: FakeStore, shop: ShopSettings, carried: bool
) -> None:
    task_id, sid = dialled(store, shop)
    ref = attempt_of(store, task_id, carried)
    order_id = store.tasks[task_id].order_ids[0]
    talk = robot_call.answer_robot_call(task_id, sid, "human", store=store, now=NOON)
    assert talk is not None and [o.order_number for o in talk.orders] == ["A-1"]
    assert robot_call.press_key(task_id, sid, "1", store=store, now=NOON).action == "confirm"
    ended(shop, store, task_id, completed(sid), NOON, ref)
    order = store.orders[("demo", order_id)]
    assert (order.status, order.reached, order.decided_at) == ("confirmed", True, NOON)
    assert (store.tasks[task_id].state, store.tasks[task_id].result) == ("done", "confirmed")
    assert store.calls[sid].duration_seconds == 42


def test_pressing_2_is_read_back_and_1_then_cancels(store: FakeStore, shop: ShopSettings) -> None:
    task_id, sid = dialled(store, shop)
    order_key = ("demo", store.tasks[task_id].order_ids[0])
    robot_call.answer_robot_call(task_id, sid, None, store=store, now=NOON)
    assert robot_call.press_key(task_id, sid, "2", store=store, now=NOON).action == "check_cancel"
    assert store.orders[order_key].status == "queued"
    answered = robot_call.answer_cancel_check(task_id, sid, "1", store=store, now=NOON, ref=None)
    assert answered.action == "cancel"
    assert store.orders[order_key].status == "cancelled"


@pytest.mark.parametrize(("digits", "action"), [("2", "repeat"), ("7", "unknown"), (None, "unknown")])
def test_any_answer_but_1_to_the_cancel_read_back_keeps_the_order(
    store: FakeStore, shop: ShopSettings, digits: str | None, action: str
) -> None:
    task_id, sid = dialled(store, shop)
    robot_call.answer_robot_call(task_id, sid, None, store=store, now=NOON)
    robot_call.press_key(task_id, sid, "2", store=store, now=NOON)
    assert robot_call.answer_cancel_check(task_id, sid, digits, store=store, now=NOON, ref=None).action == action
    assert store.orders[("demo", store.tasks[task_id].order_ids[0])].status == "queued"


@CARRIED
def test_pressing_3_gives_the_orders_and_after_the_call_the_task_to_the_agents(
    store: FakeStore, shop: ShopSettings, carried: bool
) -> None:
    task_id, sid = dialled(store, shop)
    ref = attempt_of(store, task_id, carried)
    order_id = store.tasks[task_id].order_ids[0]
    robot_call.answer_robot_call(task_id, sid, "human", store=store, now=NOON)
    assert store.orders[("demo", order_id)].asked_by == "robot"
    # WHEN the customer presses 3: the order is a person's at once, the call still going on
    assert robot_call.press_key(task_id, sid, "3", store=store, now=NOON).action == "agent"
    order = store.orders[("demo", order_id)]
    assert (order.status, order.route, order.route_reason, order.asked_by, order.decided_at) == (
        "queued",
        "agent",
        "the customer asked for an agent",
        None,
        None,
    )
    assert (store.tasks[task_id].kind, store.tasks[task_id].state) == ("robot", "dialing")
    # THEN the call's end puts the task in the agent queue, due at once, for a new round
    later = NOON + timedelta(seconds=20)
    ended(shop, store, task_id, completed(sid), later, ref)
    task = store.tasks[task_id]
    assert (task.kind, task.state, task.attempts, task.due_at, task.order_ids) == (
        "agent",
        "queued",
        0,
        later,
        [order_id],
    )
    assert [d.task_id for d in store.due_tasks("demo", "agent", later, 10)] == [task_id]
    assert store.due_tasks("demo", "robot", later + timedelta(days=1), 10) == []
    # a repeated final callback changes nothing
    ended(shop, store, task_id, completed(sid), later + timedelta(minutes=1), ref)
    assert (store.tasks[task_id].state, store.tasks[task_id].due_at) == ("queued", later)


def test_pressing_3_after_a_text_decided_the_order_leaves_no_agent_work(store: FakeStore, shop: ShopSettings) -> None:
    task_id, sid = dialled(store, shop)
    order_id = store.tasks[task_id].order_ids[0]
    robot_call.answer_robot_call(task_id, sid, "human", store=store, now=NOON)
    store.transition_order("demo", order_id, {"queued"}, "cancelled", decided_at=NOON)  # a text reply meanwhile
    store.drop_orders_from_task(task_id, [order_id])
    robot_call.press_key(task_id, sid, "3", store=store, now=NOON)
    robot_call.record_call_status(shop, task_id, completed(sid), store=store, now=NOON)
    order = store.orders[("demo", order_id)]
    assert (order.status, order.route) == ("cancelled", "robot")
    assert (store.tasks[task_id].kind, store.tasks[task_id].state) == ("robot", "done")


def test_a_machine_gets_no_conversation_and_the_task_is_retried(store: FakeStore, shop: ShopSettings) -> None:
    task_id, sid = dialled(store, shop)
    assert robot_call.answer_robot_call(task_id, sid, "machine_start", store=store, now=NOON) is None
    robot_call.record_call_status(shop, task_id, completed(sid), store=store, now=NOON)
    task = store.tasks[task_id]
    assert (task.state, task.last_call_result) == ("queued", "machine")
    assert task.due_at == NOON + timedelta(minutes=60)


@CARRIED
def test_unanswered_after_the_last_attempt_the_order_is_unreachable(
    store: FakeStore, shop: ShopSettings, carried: bool
) -> None:
    task_id, sid = dialled(store, shop)
    order_id = store.tasks[task_id].order_ids[0]
    ended(shop, store, task_id, completed(sid, status="no-answer"), NOON, attempt_of(store, task_id, carried))
    assert store.orders[("demo", order_id)].status == "queued"
    later = NOON + timedelta(minutes=31)
    second = dialer.dial_task(shop, task_id, store=store, telephony=FakeTelephony(), urls=FakeUrls(), now=later)
    assert second
    ended(shop, store, task_id, completed(second, status="busy"), later, attempt_of(store, task_id, carried))
    assert store.tasks[task_id].state == "failed"
    assert store.orders[("demo", order_id)].status == "unreachable"


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
    assert robot_call.press_key(task_id, "CA-someone-else", "1", store=store, now=NOON).action == "unknown"
    assert store.orders[("demo", store.tasks[task_id].order_ids[0])].status == "queued"


def test_one_call_covers_every_open_order_of_the_customer(store: FakeStore, shop: ShopSettings) -> None:
    first, second = post(store, shop, order_number="A-1"), post(store, shop, order_number="A-2", total="50")
    decide(store, shop, first)
    decide(store, shop, second)
    [task] = store.tasks.values()
    sid = dialer.dial_task(shop, task.task_id, store=store, telephony=FakeTelephony(), urls=FakeUrls(), now=NOON)
    assert sid
    talk = robot_call.answer_robot_call(task.task_id, sid, "human", store=store, now=NOON)
    assert talk is not None and sorted(o.order_id for o in talk.orders) == sorted([first, second])
    robot_call.press_key(task.task_id, sid, "1", store=store, now=NOON)
    assert {store.orders[("demo", o)].status for o in (first, second)} == {"confirmed"}


def test_an_order_arriving_during_the_call_gets_its_own_call_right_after(store: FakeStore, shop: ShopSettings) -> None:
    task_id, sid = dialled(store, shop)
    late = post(store, shop, order_number="A-2")
    decide(store, shop, late)
    robot_call.answer_robot_call(task_id, sid, "human", store=store, now=NOON)
    robot_call.press_key(task_id, sid, "1", store=store, now=NOON)  # confirms what was read out
    assert store.orders[("demo", late)].status == "queued"
    robot_call.record_call_status(shop, task_id, completed(sid), store=store, now=NOON)
    task = store.tasks[task_id]
    assert (task.state, task.order_ids, task.attempts, task.due_at) == ("queued", [late], 0, NOON)


def test_the_nights_backlog_is_dialled_at_opening_new_orders_first(store: FakeStore) -> None:
    shop = make_shop(robot=RobotPolicy(max_concurrent_calls=1, max_attempts=3))
    store.shops["demo"] = shop
    telephony = FakeTelephony()
    retry = queued_task(store, shop, phone="+380671234501")
    store.tasks[retry].attempts = 2  # waited since yesterday after two tries
    store.tasks[retry].due_at = NOON - timedelta(hours=14)
    fresh = queued_task(store, shop, phone="+380671234502", order_number="A-9")
    store.tasks[fresh].due_at = NOON - timedelta(hours=2)  # came in at night
    placed = dialer.dial_due_tasks(shop, store=store, telephony=telephony, urls=FakeUrls(), now=NOON)
    assert len(placed) == 1
    assert telephony.placed[0]["to"] == "+380671234502"  # the new order, though the retry waited longer


def test_twilio_throttling_leaves_the_task_waiting_without_counting_an_attempt(
    store: FakeStore, shop: ShopSettings
) -> None:
    task_id = queued_task(store, shop)
    throttled = FakeTelephony(fail=CallNotPlacedError("Twilio 429 20429: Too many requests", temporary=True))
    assert dialer.dial_task(shop, task_id, store=store, telephony=throttled, urls=FakeUrls(), now=NOON) is None
    task = store.tasks[task_id]
    assert (task.state, task.attempts, task.due_at) == ("queued", 0, NOON + timedelta(minutes=1))


def test_a_refused_number_is_a_failed_attempt(store: FakeStore, shop: ShopSettings) -> None:
    task_id = queued_task(store, shop)
    refused = FakeTelephony(fail=CallNotPlacedError("Twilio 400 21211: invalid 'To'", temporary=False))
    dialer.dial_task(shop, task_id, store=store, telephony=refused, urls=FakeUrls(), now=NOON)
    assert (store.tasks[task_id].state, store.tasks[task_id].attempts) == ("queued", 1)


def test_a_timed_out_create_is_never_dialled_again_until_reconciled(store: FakeStore, shop: ShopSettings) -> None:
    task_id = queued_task(store, shop)
    unsure = FakeTelephony(fail=CallOutcomeUnknownError("read timed out"))
    assert dialer.dial_task(shop, task_id, store=store, telephony=unsure, urls=FakeUrls(), now=NOON) is None
    assert store.tasks[task_id].state == "dialing"  # the call may be ringing
    again = dialer.dial_due_tasks(shop, store=store, telephony=FakeTelephony(), urls=FakeUrls(), now=NOON)
    assert again == []
    # No webhook ever came: after the stale period the sweep puts the task back, not counted.
    later = NOON + timedelta(minutes=11)
    assert robot_call.reconcile_stuck_calls(shop, store=store, telephony=FakeTelephony(), now=later) == [task_id]
    assert (store.tasks[task_id].state, store.tasks[task_id].attempts) == ("queued", 0)


def test_a_call_whose_final_status_was_lost_is_settled_from_twilio(store: FakeStore, shop: ShopSettings) -> None:
    task_id, sid = dialled(store, shop)
    twilio = FakeTelephony()
    twilio.call_states[sid] = CallState("no-answer", 0, None)
    later = NOON + timedelta(minutes=11)
    assert robot_call.reconcile_stuck_calls(shop, store=store, telephony=twilio, now=later) == [task_id]
    task = store.tasks[task_id]
    assert (task.state, task.last_call_result) == ("queued", "no-answer")
    assert store.calls[sid].status == "no-answer"


def test_key_3_on_a_call_whose_final_status_was_lost_still_reaches_the_agents(
    store: FakeStore, shop: ShopSettings
) -> None:
    task_id, sid = dialled(store, shop)
    robot_call.answer_robot_call(task_id, sid, "human", store=store, now=NOON)
    robot_call.press_key(task_id, sid, "3", store=store, now=NOON)
    twilio = FakeTelephony()
    twilio.call_states[sid] = CallState("completed", 25, "human")
    later = NOON + timedelta(minutes=11)
    assert robot_call.reconcile_stuck_calls(shop, store=store, telephony=twilio, now=later) == [task_id]
    task = store.tasks[task_id]
    assert (task.kind, task.state, task.due_at) == ("agent", "queued", later)


def test_a_call_still_in_progress_is_left_alone_by_the_sweep(store: FakeStore, shop: ShopSettings) -> None:
    task_id, _ = dialled(store, shop)
    later = NOON + timedelta(minutes=11)
    assert robot_call.reconcile_stuck_calls(shop, store=store, telephony=FakeTelephony(), now=later) == []
    assert store.tasks[task_id].state == "dialing"


@pytest.mark.parametrize("why", ["refused", "do-not-call"])
def test_a_last_attempt_ended_without_a_call_while_the_order_write_fails_is_ended_again_by_the_sweep(
    why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orders are written before the task's end: a failed order write leaves the task
    dialing, so the sweep puts it back and the next dial ends it with its order unreachable."""
    shop = make_shop(robot=RobotPolicy(max_concurrent_calls=2, max_attempts=1))
    store = FakeStore([shop])
    task_id = queued_task(store, shop)
    [order_id] = store.tasks[task_id].order_ids
    refused = FakeTelephony(fail=CallNotPlacedError("Twilio 400 21211: invalid 'To'", temporary=False))
    if why == "do-not-call":
        store.add_do_not_call("demo", "+380671234567", "sms", NOON)
    with monkeypatch.context() as outage:
        outage.setattr(store, "transition_order", Mock(side_effect=ConnectionError("DynamoDB unreachable")))
        with pytest.raises(ConnectionError):
            dialer.dial_task(shop, task_id, store=store, telephony=refused, urls=FakeUrls(), now=NOON)
    assert store.tasks[task_id].state == "dialing"  # not finished: the sweep will see it

    later = NOON + timedelta(minutes=11)
    assert robot_call.reconcile_stuck_calls(shop, store=store, telephony=refused, now=later) == [task_id]
    dialer.dial_task(shop, task_id, store=store, telephony=refused, urls=FakeUrls(), now=later)

    task, order = store.tasks[task_id], store.orders[("demo", order_id)]
    assert (task.state, task.result, order.status) == ("failed", "unreachable", "unreachable")
