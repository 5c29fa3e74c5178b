"""Agent-first progressive dialing (O8, I6) with fakes: who is dialed, when, and what the
outcome does to the task and the agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import Mock

import pytest

from chalicelib.domain.entities import DialTask
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.queue import QueueEntry
from chalicelib.domain.routing import Agent
from chalicelib.domain.shop import RobotPolicy, ShopSettings
from chalicelib.services import agent_dial_legs, agent_dialer, intake
from tests.fakes.dialing import FakeAgentDialStore
from tests.fakes.links import FakeAgentDialUrls
from tests.fakes.twilio import FakeTelephony

NOON = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv: inside calling hours
NIGHT = datetime(2015, 11, 23, 21, 0, tzinfo=UTC)  # 23:00 in Kyiv: outside


@pytest.fixture
def shop() -> ShopSettings:
    return ShopSettings.model_validate(
        {
            "shop_id": "demo",
            "name": "Kvitka",
            "caller_id": "+380441234567",
            "robot": RobotPolicy(max_concurrent_calls=2, max_attempts=3),
        }
    )


@pytest.fixture
def store(shop: ShopSettings) -> FakeAgentDialStore:
    return FakeAgentDialStore([shop])


@pytest.fixture
def telephony() -> FakeTelephony:
    return FakeTelephony()


def agent(agent_id: str = "oleh", *, status: str = "available", since: datetime | None = None) -> Agent:
    return Agent(
        shop_id="demo",
        agent_id=agent_id,
        name=agent_id.title(),
        client_identity=agent_id,
        groups=["sales"],
        languages=["uk"],
        status=status,
        status_since=since or NOON - timedelta(hours=1),
    )


def agent_task(store: FakeAgentDialStore, shop: ShopSettings, phone: str = "067 123-45-67", number: str = "A-1") -> str:
    body = {"phone": phone, "total": "100", "order_number": number, "customer_name": "Olena", "needs_call": True}
    order_id = intake.new_order_id(NOON, "+380671234567")
    intake.accept_order(shop, OrderIn.model_validate(body), store=store, now=NOON, order_id=order_id)
    intake.decide_new_order(shop, order_id, store=store, tasks=store, now=NOON)
    order = store.get_order("demo", order_id)
    assert order is not None and order.task_id is not None
    task = store.get_task(order.task_id)
    assert task is not None and (task.kind, task.state) == ("agent", "queued")
    return task.task_id


def callback(store: FakeAgentDialStore, task_id: str, phone: str, arrived: datetime) -> str:
    store.insert_task(
        DialTask(
            task_id=task_id,
            shop_id="demo",
            phone=phone,
            order_ids=[],
            language="uk",
            created_at=arrived,
            kind="callback",
            state="waiting",
            due_at=arrived,
        )
    )
    store.add_queue_entry(QueueEntry("demo", "sales", "callback", task_id, phone, "uk", arrived))
    return task_id


def run(shop: ShopSettings, store: FakeAgentDialStore, telephony: FakeTelephony, now: datetime = NOON) -> list[str]:
    return agent_dialer.dial_for_free_agents(shop, store=store, telephony=telephony, urls=FakeAgentDialUrls(), now=now)


def test_a_free_agent_is_called_first_for_a_due_agent_task_and_reserved_once(
    shop: ShopSettings, store: FakeAgentDialStore, telephony: FakeTelephony
) -> None:
    # GIVEN one free agent and two customers needing a person
    store.add_agent(agent())
    first = agent_task(store, shop)
    second = agent_task(store, shop, phone="067 765-43-21", number="A-2")
    # WHEN the dialer runs twice
    placed = run(shop, store, telephony) + run(shop, store, telephony)
    # THEN only one call, to the agent (not the customer), without machine detection
    assert len(placed) == 1 and len(telephony.placed) == 1
    [request] = telephony.placed
    assert (request["to"], request["from_"], request["detect_machine"]) == ("client:oleh", "+380441234567", False)
    assert "agent-dial/answer" in request["answer_url"] and "agent=oleh" in request["answer_url"]
    assert [status for _, status, _ in store.agent_log] == ["busy"]
    dialing = store.get_task(first)
    assert dialing is not None and (dialing.state, dialing.attempts, dialing.last_call_sid) == ("dialing", 1, placed[0])
    waiting = store.get_task(second)
    assert waiting is not None and waiting.state == "queued"
    call = store.get_call(placed[0])
    assert call is not None and (call.direction, call.agent_id, call.customer_phone) == (
        "outbound-agent",
        "oleh",
        "+380671234567",
    )


def test_with_no_free_agent_nothing_is_dialed(
    shop: ShopSettings, store: FakeAgentDialStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent(status="break"))
    task_id = agent_task(store, shop)
    callback(store, "cb_1", "+380671230001", NOON - timedelta(minutes=5))
    assert run(shop, store, telephony) == []
    assert telephony.placed == []
    assert store.get_task(task_id).state == "queued"  # type: ignore[union-attr]
    assert store.get_task("cb_1").state == "waiting"  # type: ignore[union-attr]


def test_the_earlier_callback_is_served_first_and_before_agent_tasks(
    shop: ShopSettings, store: FakeAgentDialStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent())
    agent_task(store, shop)
    callback(store, "cb_late", "+380671230002", NOON - timedelta(minutes=2))
    callback(store, "cb_early", "+380671230001", NOON - timedelta(minutes=9))
    [sid] = run(shop, store, telephony)
    early = store.get_task("cb_early")
    assert early is not None and (early.state, early.last_call_sid) == ("dialing", sid)
    assert store.get_task("cb_late").state == "waiting"  # type: ignore[union-attr]
    # the served callback left the group's queue; the later one keeps its place
    assert [e.ref for e in store.queue_entries("demo", "sales")] == ["cb_late"]


def test_a_caller_waiting_live_since_earlier_keeps_the_agent(
    shop: ShopSettings, store: FakeAgentDialStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent())
    agent_task(store, shop)
    store.add_queue_entry(
        QueueEntry("demo", "sales", "caller", "CAlive", "+380671230009", "uk", NOON - timedelta(minutes=10))
    )
    callback(store, "cb_1", "+380671230001", NOON - timedelta(minutes=5))
    assert run(shop, store, telephony) == []
    assert store.list_agents("demo")[0].status == "available"


def test_outside_the_calling_window_the_tasks_wait_and_no_agent_is_reserved(
    shop: ShopSettings, store: FakeAgentDialStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent(since=NIGHT - timedelta(hours=1)))
    task_id = agent_task(store, shop)
    callback(store, "cb_1", "+380671230001", NOON)
    assert run(shop, store, telephony, now=NIGHT) == []
    assert telephony.placed == [] and store.agent_log == []
    task = store.get_task(task_id)
    assert task is not None and task.state == "queued"
    assert task.due_at == datetime(2015, 11, 24, 8, 0, tzinfo=UTC)  # 10:00 in Kyiv
    assert store.get_task("cb_1").due_at == NOON  # type: ignore[union-attr]  # keeps its arrival


def _status(call_sid: str, status: str, sequence: int = 5) -> dict[str, str]:
    return {"CallSid": call_sid, "CallStatus": status, "SequenceNumber": str(sequence)}


def _reservation(telephony: FakeTelephony) -> str:
    url = telephony.placed[-1]["status_url"]
    return str(url.split("res=")[1].split("&")[0])


def test_an_agent_who_does_not_answer_is_marked_away_and_the_task_goes_back_uncounted(
    shop: ShopSettings, store: FakeAgentDialStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent())
    arrived = NOON - timedelta(minutes=4)
    callback(store, "cb_1", "+380671230001", arrived)
    [sid] = run(shop, store, telephony)
    # WHEN the agent's leg rings out
    later = NOON + timedelta(seconds=25)
    agent_dialer.agent_leg_status(
        shop, "cb_1", "oleh", _reservation(telephony), _status(sid, "no-answer"), store=store, now=later
    )
    # THEN the agent is away with a missed call, the callback waits again in its original place
    oleh = store.list_agents("demo")[0]
    assert (oleh.status, oleh.missed_calls, oleh.reserved_call_sid) == ("away", 1, None)
    task = store.get_task("cb_1")
    assert task is not None and (task.state, task.attempts, task.due_at) == ("waiting", 0, arrived)
    assert [(e.ref, e.queued_at) for e in store.queue_entries("demo", "sales")] == [("cb_1", arrived)]
    assert store.get_call(sid).result == "agent-missed"  # type: ignore[union-attr]


def test_an_agent_task_goes_back_uncounted_when_the_agent_declines_the_whisper(
    shop: ShopSettings, store: FakeAgentDialStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent())
    task_id = agent_task(store, shop)
    [sid] = run(shop, store, telephony)
    told = agent_dialer.whisper(shop, task_id, sid, store=store)
    assert told is not None and (told.kind, told.customer_name, told.order_numbers) == ("agent", "Olena", "A-1")
    # the agent hangs up instead of pressing 1: the leg completes without acceptance
    agent_dialer.agent_leg_status(
        shop, task_id, "oleh", _reservation(telephony), _status(sid, "completed"), store=store, now=NOON
    )
    task = store.get_task(task_id)
    assert task is not None and (task.state, task.attempts) == ("queued", 0)
    assert store.list_agents("demo")[0].status == "away"


CUSTOMER_URLS = agent_dial_legs.CustomerLegUrls(
    "https://calls.example.test/twilio/voice/agent-dial/customer-answer",
    "https://calls.example.test/twilio/voice/agent-dial/customer-status",
)
MISSED_URL = "https://calls.example.test/twilio/voice/agent-dial/customer-missed"


def test_the_customer_answers_into_the_agents_room_the_task_ends_agent_talked_and_the_agent_wraps_up(
    shop: ShopSettings, store: FakeAgentDialStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent())
    task_id = agent_task(store, shop)
    [sid] = run(shop, store, telephony)
    reservation = _reservation(telephony)
    # the agent presses 1: the app rings the customer with the shop's caller ID
    accepted = agent_dialer_legs_accept(shop, store, telephony, task_id, sid)
    assert accepted == "ringing"
    customer = telephony.placed[-1]
    assert (customer["to"], customer["from_"], customer["answer_url"]) == (
        "+380671234567",
        "+380441234567",
        CUSTOMER_URLS.answer_url,
    )
    assert agent_dial_legs.customer_answered(task_id, sid, "CAcustomer", store=store, now=NOON)
    call = store.get_call(sid)
    assert call is not None and (call.result, call.agent_call_sid, call.customer_call_sid) == (
        "agent-talked",
        sid,
        "CAcustomer",
    )
    talked = agent_dial_legs.agent_left_room(
        shop, "oleh", reservation, sid, store=store, control=telephony, now=NOON + timedelta(minutes=3)
    )
    assert talked
    task = store.get_task(task_id)
    assert task is not None and (task.state, task.result, task.contacted) == ("done", "agent-talked", True)
    # the orders are not decided by the dialer: they wait for the agent's outcome
    [order] = list(store.orders.values())
    assert order.status == "queued"
    oleh = store.list_agents("demo")[0]
    assert (oleh.status, oleh.reserved_call_sid) == ("wrap-up", None)
    # the leg's final status afterwards changes nothing
    agent_dialer.agent_leg_status(shop, task_id, "oleh", reservation, _status(sid, "completed"), store=store, now=NOON)
    assert store.get_task(task_id).state == "done"  # type: ignore[union-attr]
    assert store.list_agents("demo")[0].status == "wrap-up"


def agent_dialer_legs_accept(
    shop: ShopSettings, store: FakeAgentDialStore, telephony: FakeTelephony, task_id: str, sid: str
) -> agent_dial_legs.Accepted:
    return agent_dial_legs.agent_accepted(
        shop, task_id, sid, store=store, telephony=telephony, urls=CUSTOMER_URLS, now=NOON
    )


def test_a_customer_who_does_not_answer_is_retried_per_the_shop_policy_and_the_agent_told(
    shop: ShopSettings, store: FakeAgentDialStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent())
    task_id = agent_task(store, shop)
    [sid] = run(shop, store, telephony)
    reservation = _reservation(telephony)
    assert agent_dialer_legs_accept(shop, store, telephony, task_id, sid) == "ringing"
    assert agent_dial_legs.customer_leg_ended(
        shop, task_id, sid, "no-answer", store=store, control=telephony, missed_url=MISSED_URL, now=NOON
    )
    assert telephony.redirects == [(sid, MISSED_URL)]  # the agent, waiting in the room, hears so
    task = store.get_task(task_id)
    expected = NOON + timedelta(minutes=shop.robot.retry_minutes["no-answer"])
    assert task is not None and (task.state, task.attempts, task.due_at) == ("queued", 1, expected)
    agent_dialer.agent_leg_status(shop, task_id, "oleh", reservation, _status(sid, "completed"), store=store, now=NOON)
    assert store.list_agents("demo")[0].status == "available"


def test_twilio_refusing_the_agent_call_frees_the_agent_and_the_task(
    shop: ShopSettings, store: FakeAgentDialStore
) -> None:
    store.add_agent(agent())
    task_id = agent_task(store, shop)
    failing: Any = FakeTelephony(fail=True)
    assert run(shop, store, failing) == []
    task = store.get_task(task_id)
    assert task is not None and (task.state, task.attempts) == ("queued", 0)
    assert store.list_agents("demo")[0].status == "available"


def test_the_last_unanswered_attempt_whose_order_write_fails_leaves_the_task_to_be_called_again(
    store: FakeAgentDialStore, telephony: FakeTelephony, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orders are written before the task's end: a failed order write (the webhook's 5xx,
    never sent again) leaves the task dialing; the agent's leg ending puts it back, and the
    next unanswered call ends it with its order unreachable."""
    shop = ShopSettings.model_validate(
        {"shop_id": "demo", "name": "Kvitka", "caller_id": "+380441234567", "robot": RobotPolicy(max_attempts=1)}
    )
    store.add_agent(agent())
    task_id = agent_task(store, shop)
    [order_id] = store.get_task(task_id).order_ids  # type: ignore[union-attr]
    [sid] = run(shop, store, telephony)
    reservation = _reservation(telephony)
    agent_dialer_legs_accept(shop, store, telephony, task_id, sid)
    with monkeypatch.context() as outage:
        outage.setattr(store, "transition_order", Mock(side_effect=ConnectionError("DynamoDB unreachable")))
        with pytest.raises(ConnectionError):
            agent_dial_legs.customer_leg_ended(
                shop, task_id, sid, "no-answer", store=store, control=telephony, missed_url=MISSED_URL, now=NOON
            )
    agent_dialer.agent_leg_status(shop, task_id, "oleh", reservation, _status(sid, "completed"), store=store, now=NOON)
    assert store.get_task(task_id).state == "queued"  # type: ignore[union-attr]

    [again] = run(shop, store, telephony)
    agent_dialer_legs_accept(shop, store, telephony, task_id, again)
    agent_dial_legs.customer_leg_ended(
        shop, task_id, again, "no-answer", store=store, control=telephony, missed_url=MISSED_URL, now=NOON
    )
    task, order = store.get_task(task_id), store.get_order("demo", order_id)
    assert task is not None and order is not None
    assert (task.state, task.result, order.status) == ("failed", "unreachable", "unreachable")
