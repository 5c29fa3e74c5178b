"""Customer-first (predictive) agent dialing through the local stack and the Twilio stand-in
(O8): a shop whose policy says predictive, two agents, orders that need an agent. People who
answer are bridged to an agent; a machine is hung up on and retried; a person who answers when
no agent is free hears the apology, is counted dropped, and is called again before anyone else;
the day's drops and drop rate are stored and the ``DialerDropRate`` metric published."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.schema import CallItem, DialerDayItem, DialTaskItem, OrderItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from chalicelib.clock import wall_now
from chalicelib.observability import metrics
from chalicelib.wiring import repository
from devtools.simclock import SimClock
from devtools.stack import LocalStack, StackOptions
from devtools.twilio_standin import AgentBehaviour, Callee, CallLeg
from tests.e2e.conftest import MONDAY_NOON_KYIV, ShopApi
from tests.storage_stamps import assert_ttl_stamped_by_the_wall_clock

ANNA = "+380501112233"
OLEH = "client:oleh"
APOLOGY = (
    "Добрий день! Це Kvitka Flowers, щодо вашого замовлення. Вибачте, зараз усі оператори зайняті. "
    "Ми передзвонимо вам за кілька хвилин. До побачення."
)
# Virtual call seconds per real second: long enough rings to change an agent's status meanwhile.
STANDIN_SPEED = 10.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    clock = SimClock(MONDAY_NOON_KYIV, speed=1.0)
    outbox = tmp_path_factory.mktemp("outbox")
    options = StackOptions(clock=clock, outbox_dir=Path(outbox), standin_speed=STANDIN_SPEED)
    started = wall_now()
    with LocalStack(options) as local:
        shop = repository().get_shop("demo")
        assert shop is not None
        predictive = shop.dialing.model_copy(update={"agent_pacing": "predictive"})
        repository().save_shop(shop.model_copy(update={"dialing": predictive}), clock.now())
        yield local
        assert_ttl_stamped_by_the_wall_clock(local.dynamodb.client("dynamodb"), started)


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    """Every metric the app adds (the middleware flushes them as EMF lines to CloudWatch)."""
    seen: list[tuple[str, float]] = []
    add = metrics.add_metric

    def record(name: str, unit: Any, value: float, **kwargs: Any) -> None:
        seen.append((name, value))
        add(name=name, unit=unit, value=value, **kwargs)

    monkeypatch.setattr(metrics, "add_metric", record)
    return seen


def set_status(shop_api: ShopApi, agent_id: str, status: str) -> None:
    response = shop_api.session.put(
        f"{shop_api.base_url}/v1/agents/{agent_id}/status", json={"status": status}, timeout=15
    )
    assert response.status_code == 200, response.text


def legs_to(stack: LocalStack, address: str) -> list[CallLeg]:
    return [leg for leg in stack.standin.calls if leg.to == address]


def order_for(shop_api: ShopApi, phone: str, number: str) -> str:
    body = {"order_number": number, "phone": phone, "customer_name": "Olena", "total": "900", "needs_call": True}
    created = shop_api.post_order(body, key=f"predictive-{number}")
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def talked_in_own_room(leg: CallLeg) -> bool:
    """The customer talked to the agent in the conference named for their call (#17)."""
    events = [(e.data.get("event"), e.data.get("conference")) for e in leg.transcript.of_kind("conference")]
    return ("talking", leg.sid) in events


def task_of(order_id: str) -> DialTaskItem:
    return DialTaskItem.get(str(OrderItem.get(*order_keys("demo", order_id)).task_id), consistent_read=True)


def tick(stack: LocalStack, clock: SimClock, minutes: int = 1) -> None:
    clock.advance(timedelta(minutes=minutes))
    time.sleep(0.3)
    assert stack.wait_quiet(timeout=60)


def wait_for_leg(stack: LocalStack, address: str, count: int = 1) -> CallLeg:
    deadline = time.monotonic() + 30
    while len(legs_to(stack, address)) < count:
        assert time.monotonic() < deadline, f"no call to {address}"
        time.sleep(0.02)
    return legs_to(stack, address)[count - 1]


def agent_status(agent_id: str) -> str:
    agent = dynamo_store().get_agent("demo", agent_id)
    assert agent is not None
    return agent.status


def test_customer_first_dialing_bridges_people_retries_machines_and_drops_honestly(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock, published: list[tuple[str, float]]
) -> None:
    # GIVEN two available agents and three customers: two people and an answering machine
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, talk_seconds=60, ring_seconds=1))
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, talk_seconds=60, ring_seconds=1))
    people, machine = ["+380671250001", "+380671250002"], "+380671250003"
    for phone in people:
        stack.standin.set_callee(phone, Callee(answer="human", ring_seconds=4, talk_seconds=20))
    stack.standin.set_callee(machine, Callee(answer="machine", ring_seconds=4))
    set_status(shop_api, "anna", "available")
    set_status(shop_api, "oleh", "available")
    # WHEN three orders that need an agent come in
    talked = [order_for(shop_api, phone, f"PR-{n}") for n, phone in enumerate(people)]
    machine_order = order_for(shop_api, machine, "PR-M")
    assert stack.wait_quiet(timeout=60)
    tick(stack, clock)  # the agents' wrap-up is over: the machine's customer is called too
    wait_for_leg(stack, machine)
    assert stack.wait_quiet(timeout=60)
    # THEN each person was called first and bridged to an agent, the shop's number showing
    for phone, order_id in zip(people, talked, strict=True):
        [leg] = legs_to(stack, phone)
        assert leg.from_ == "+380441234567" and leg.status == "completed"
        assert talked_in_own_room(leg), f"{phone} never talked to an agent in the call's conference"
        task = task_of(order_id)
        assert (task.kind, task.state, task.result, task.attempts) == ("agent", "done", "agent-talked", 1)
        record = CallItem.get(leg.sid)
        assert (record.direction, record.result) == ("outbound-predictive", "agent-talked")
        assert record.agent_id in ("anna", "oleh")
    assert {CallItem.get(legs_to(stack, p)[0].sid).agent_id for p in people} == {"anna", "oleh"}
    # each agent's own leg (placed by the app) joined one customer's room
    agent_legs = legs_to(stack, ANNA) + legs_to(stack, OLEH)
    joined = {
        e.data["conference"]
        for a in agent_legs
        for e in a.transcript.of_kind("conference")
        if e.data.get("event") == "join"
    }
    assert joined == {legs_to(stack, p)[0].sid for p in people}
    assert all(a.parent_call_sid is None for a in agent_legs)
    # and the machine was hung up on and waits for the shop's machine retry; no agent was rung for it
    [machine_leg] = legs_to(stack, machine)
    assert machine_leg.answered_by == "machine_start" and not talked_in_own_room(machine_leg)
    task = task_of(machine_order)
    assert (task.state, task.attempts, task.last_call_result) == ("queued", 1, "machine")
    assert len(legs_to(stack, ANNA)) + len(legs_to(stack, OLEH)) == 2
    assert stack.standin.application_errors() == []

    # GIVEN only Anna is available, and she goes on a break while the next customer's phone rings
    dropped_phone = "+380671250004"
    stack.standin.set_callee(dropped_phone, Callee(answer="human", ring_seconds=25, talk_seconds=20))
    set_status(shop_api, "oleh", "offline")
    dropped_order = order_for(shop_api, dropped_phone, "PR-D")
    wait_for_leg(stack, dropped_phone)
    set_status(shop_api, "anna", "break")
    assert stack.wait_quiet(timeout=60)
    # THEN the customer heard the apology naming the shop and was hung up on: a dropped call
    [dropped_leg] = legs_to(stack, dropped_phone)
    assert dropped_leg.transcript.heard() == [APOLOGY]
    assert not talked_in_own_room(dropped_leg)
    assert CallItem.get(dropped_leg.sid).result == "dropped"
    day = DialerDayItem.get("demo", "2015-11-23", consistent_read=True)
    assert (int(day.dials), int(day.live_answers), int(day.drops)) == (4, 3, 1)
    # rescheduled, the attempt not counted against the customer
    task = task_of(dropped_order)
    assert (task.state, task.attempts) == ("queued", 0)

    # GIVEN a newer order waiting too, and Anna back
    newer_phone = "+380671250005"
    stack.standin.set_callee(newer_phone, Callee(answer="human", ring_seconds=3, talk_seconds=20))
    stack.standin.set_callee(dropped_phone, Callee(answer="human", ring_seconds=3, talk_seconds=20))
    order_for(shop_api, newer_phone, "PR-N")
    assert stack.wait_quiet(timeout=60)
    assert legs_to(stack, newer_phone) == []  # nobody free
    set_status(shop_api, "anna", "available")
    # WHEN the dropped customer is due again
    tick(stack, clock, minutes=3)
    wait_for_leg(stack, dropped_phone, count=2)
    assert stack.wait_quiet(timeout=60)
    # THEN the dropped customer is called first, and this time talks to Anna
    assert legs_to(stack, newer_phone) == []
    again = legs_to(stack, dropped_phone)[1]
    assert talked_in_own_room(again) and CallItem.get(again.sid).agent_id == "anna"
    assert task_of(dropped_order).result == "agent-talked"
    assert agent_status("anna") == "wrap-up"
    # AND the minute tick publishes the day's stored drop rate: 1 drop of 4 live answers
    day = DialerDayItem.get("demo", "2015-11-23", consistent_read=True)
    assert (int(day.live_answers), int(day.drops)) == (4, 1)
    published.clear()
    tick(stack, clock)
    deadline = time.monotonic() + 30  # the schedule runs on its own thread
    while ("DialerDropRate", 25.0) not in published and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ("DialerDropRate", 25.0) in published
    assert stack.standin.application_errors() == []
