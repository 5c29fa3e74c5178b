"""Customer-first (predictive) dialing (O8) with fakes: the snapshot built from stored state,
how many customers are called, what a person, a machine or a drop does to the task, the agent
and the day's counters; the calls-per-second limit; the sweeps of lost callbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.call_rate import reserve_slot
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.pacing import decide
from chalicelib.domain.predictive import (
    CONNECTING,
    DROPPED,
    MACHINE,
    RINGING,
    TALKED,
    DayCounts,
    DialLine,
    build_snapshot,
    dial_order,
    dropped_task_ids,
)
from chalicelib.domain.priority import DueTask
from chalicelib.domain.routing import Agent
from chalicelib.domain.shop import ShopSettings
from chalicelib.services import agent_dialer, intake, predictive_dialer, predictive_legs
from chalicelib.services.conference_calls import AgentLegUrls
from chalicelib.services.paced_telephony import CallRateLimitedError, PacedTelephony
from chalicelib.services.ports import CallState, OutboundCall
from tests.fakes.dialing import FakePredictiveStore
from tests.fakes.links import FakePredictiveUrls
from tests.fakes.twilio import FakeTelephony

NOON = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv: inside calling hours
DAY = "2015-11-23"


@pytest.fixture
def shop() -> ShopSettings:
    return ShopSettings.model_validate(
        {
            "shop_id": "demo",
            "name": "Kvitka",
            "caller_id": "+380441234567",
            "robot": {"max_attempts": 3},
            "dialing": {"agent_pacing": "predictive"},
        }
    )


@pytest.fixture
def store(shop: ShopSettings) -> FakePredictiveStore:
    return FakePredictiveStore([shop])


@pytest.fixture
def telephony() -> FakeTelephony:
    return FakeTelephony()


def agent(agent_id: str, *, status: str = "available", since: datetime | None = None, phone: str = "") -> Agent:
    return Agent(
        shop_id="demo",
        agent_id=agent_id,
        name=agent_id.title(),
        phone=phone or None,
        client_identity=None if phone else agent_id,
        groups=["sales"],
        languages=["uk"],
        status=status,
        status_since=since or NOON - timedelta(hours=1),
    )


def agent_tasks(store: FakePredictiveStore, shop: ShopSettings, count: int, first: int = 0) -> list[str]:
    task_ids = []
    for n in range(first, first + count):
        body = {"phone": f"067 123-45-{n:02d}", "total": "100", "order_number": f"A-{n}", "needs_call": True}
        order_id = intake.new_order_id(NOON + timedelta(seconds=n), "+380671234567")
        intake.accept_order(shop, OrderIn.model_validate(body), store=store, now=NOON, order_id=order_id)
        intake.decide_new_order(shop, order_id, store=store, tasks=store, now=NOON)
        order = store.get_order("demo", order_id)
        assert order is not None and order.task_id is not None
        task_ids.append(order.task_id)
    return task_ids


def pace(shop: ShopSettings, store: FakePredictiveStore, telephony: Any, now: datetime = NOON) -> Any:
    return predictive_dialer.pace(shop, store=store, telephony=telephony, urls=FakePredictiveUrls(), now=now)


def line_of(store: FakePredictiveStore, task_id: str) -> DialLine:
    [line] = [line for line in store.recent_lines("demo", 300) if line.task_id == task_id][:1]
    return line


def place_one(shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony) -> tuple[str, str, str]:
    """An agent task whose customer is being called: (task id, line key, CallSid)."""
    [task_id] = agent_tasks(store, shop, 1)
    sid = predictive_dialer.place_customer_call(
        shop, task_id, store=store, telephony=telephony, urls=FakePredictiveUrls(), now=NOON
    )
    assert sid is not None
    return task_id, line_of(store, task_id).line_key, sid


def verdict(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony, task_id: str, key: str, sid: str, by: str
) -> str:
    form = {"CallSid": sid, "AnsweredBy": by, "MachineDetectionDuration": "2300"}
    return predictive_dialer.machine_verdict(
        shop, task_id, key, form, store=store, telephony=telephony, urls=FakePredictiveUrls(), now=NOON
    )


# ---- the calls-per-second limit ------------------------------------------------------------
def test_call_slots_are_one_interval_apart_and_refused_beyond_the_wait_allowed() -> None:
    first = reserve_slot(None, 100.0, 1.0, 5.0)
    assert first is not None and (first.at, first.next_free_at) == (100.0, 101.0)
    second = reserve_slot(first.next_free_at, 100.2, 1.0, 5.0)
    assert second is not None and second.at == 101.0 and second.wait_seconds(100.2) == pytest.approx(0.8)
    assert reserve_slot(106.0, 100.0, 1.0, 5.0) is None  # six seconds away: too far
    later = reserve_slot(101.0, 250.0, 2.0, 5.0)  # an idle timeline does not bank credit
    assert later is not None and (later.at, later.next_free_at) == (250.0, 250.5)


class MemorySlots:
    def __init__(self) -> None:
        self.next_free_at: float | None = None

    def reserve_call_slot(self, account_sid: str, now: float, calls_per_second: float, max_wait: float) -> Any:
        slot = reserve_slot(self.next_free_at, now, calls_per_second, max_wait)
        if slot is not None:
            self.next_free_at = slot.next_free_at
        return slot


class SteppingClock:
    def __init__(self, instant: datetime) -> None:
        self.instant = instant
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.instant

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.instant += timedelta(seconds=seconds)


def test_every_placement_waits_for_its_slot_and_gives_up_when_it_is_too_far() -> None:
    # GIVEN one call per second and a burst of seven calls at one instant
    inner, clock = FakeTelephony(), SteppingClock(NOON)
    paced = PacedTelephony(
        inner, slots=MemorySlots(), account_sid="AC1", calls_per_second=1.0, clock=clock, sleep=clock.sleep
    )
    request: dict[str, Any] = {
        "from_": "+1",
        "answer_url": "a",
        "status_url": "s",
        "ring_timeout_seconds": 30,
        "detect_machine": True,
    }
    # WHEN they are placed one after another
    for n in range(3):
        paced.place_call(OutboundCall(to=f"+38067000000{n}", **request))
    # THEN each waited for the second after the previous one
    assert len(inner.placed) == 3 and clock.slept == [1.0, 1.0]
    assert clock.instant == NOON + timedelta(seconds=2)
    # and a caller that finds the timeline booked beyond the wait allowed gets an error, no call
    stuck = PacedTelephony(
        inner, slots=MemorySlots(), account_sid="AC1", calls_per_second=0.1, clock=clock, sleep=lambda s: None
    )
    stuck.place_call(OutboundCall(to="+380670000009", **request))
    with pytest.raises(CallRateLimitedError):
        stuck.place_call(OutboundCall(to="+380670000010", **request))
    assert len(inner.placed) == 4


# ---- the snapshot --------------------------------------------------------------------------
def test_the_snapshot_counts_ready_and_busy_agents_and_only_ringing_lines_in_flight(shop: ShopSettings) -> None:
    agents = [
        agent("anna"),
        agent("oleh", status="busy", since=NOON - timedelta(seconds=40)),
        agent("ira", status="wrap-up", since=NOON - timedelta(seconds=5)),
        agent("max", status="break"),
    ]
    lines = [
        DialLine("t1", NOON - timedelta(seconds=12), RINGING),
        DialLine("t2", NOON - timedelta(seconds=20), CONNECTING),
        DialLine("t3", NOON - timedelta(minutes=30), RINGING),  # lost callbacks: not in flight
    ]
    snapshot = build_snapshot(
        shop, agents=agents, lines=lines, today=DayCounts(10, 5, 0), groups_with_callers=set(), now=NOON
    )
    assert snapshot.agents_ready == 1
    assert snapshot.agents_busy[0] == 40.0 and snapshot.agents_busy[1] > 5.0  # wrap-up: after a whole talk
    assert snapshot.calls_in_flight == [12.0]
    assert (snapshot.live_answers_today, snapshot.drops_today, snapshot.mode) == (5, 0, "predictive")
    # agents whose group has live callers waiting serve them first
    waiting = build_snapshot(
        shop, agents=agents, lines=lines, today=DayCounts(), groups_with_callers={"sales"}, now=NOON
    )
    assert (waiting.agents_ready, list(waiting.agents_busy)) == (0, [])


def test_dropped_customers_are_dialed_before_every_other_task() -> None:
    due = [
        DueTask("new", 0, NOON - timedelta(minutes=5)),
        DueTask("dropped", 1, NOON),
        DueTask("retry", 2, NOON - timedelta(hours=1)),
    ]
    lines = [  # newest first: "again" was dropped, then dialed again
        DialLine("again", NOON - timedelta(minutes=1), RINGING),
        DialLine("dropped", NOON - timedelta(minutes=3), DROPPED),
        DialLine("again", NOON - timedelta(minutes=6), DROPPED),
    ]
    assert dropped_task_ids(lines) == {"dropped"}
    assert [t.task_id for t in dial_order(due, 1, dropped_task_ids(lines))] == ["dropped", "new", "retry"]


# ---- pacing --------------------------------------------------------------------------------
def test_at_the_start_of_a_day_pacing_falls_back_to_progressive_one_call_per_ready_agent(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony
) -> None:
    # GIVEN two ready agents, six due agent tasks and no live answer yet today
    store.add_agent(agent("anna"))
    store.add_agent(agent("oleh"))
    agent_tasks(store, shop, 6)
    # WHEN the dialer paces
    run = pace(shop, store, telephony)
    # THEN one more drop would exceed 3% of today's live answers: progressive, two calls
    assert run.decision.mode_used == "progressive" and "fallback" in run.decision.reason
    assert len(run.placed) == 2 and len(telephony.placed) == 2
    assert all(call["detect_machine"] and call["async_amd_url"] for call in telephony.placed)
    assert store.days[("demo", DAY)]["dials"] == 2
    # and the next pacing counts those two calls in flight: nothing more for now
    assert pace(shop, store, telephony).placed == []


def test_with_a_drop_budget_pacing_calls_more_customers_than_ready_agents(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony
) -> None:
    # GIVEN a day with 300 live answers and one drop, four ready agents, six busy ones, twenty due tasks
    store.days[("demo", DAY)] = {"dials": 900, "live_answers": 300, "drops": 1}
    for n in range(4):
        store.add_agent(agent(f"ready{n}"))
    for n in range(6):
        store.add_agent(agent(f"busy{n}", status="busy", since=NOON - timedelta(minutes=3)))
    agent_tasks(store, shop, 20)
    # WHEN the dialer paces
    run = pace(shop, store, telephony)
    # THEN it predicts: more calls than ready agents, as many as decide() says
    assert run.decision.mode_used == "predictive"
    assert len(run.placed) == run.decision.calls_to_place > 4


def test_a_progressive_shop_is_left_to_the_agent_first_dialer(store: FakePredictiveStore) -> None:
    progressive = ShopSettings.model_validate({"shop_id": "demo", "name": "K", "caller_id": "+380441234567"})
    run = pace(progressive, store, FakeTelephony())
    assert run.decision is None and run.placed == []


AGENT_LEG = AgentLegUrls(
    "https://calls.example.test/twilio/voice/predictive/agent-answer",
    "https://calls.example.test/twilio/voice/predictive/agent-status",
)


def connect(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony, task_id: str, key: str, sid: str
) -> predictive_legs.Connect:
    return predictive_legs.connect(shop, task_id, key, sid, store=store, telephony=telephony, leg=AGENT_LEG, now=NOON)


# ---- a person, a drop, a machine -----------------------------------------------------------
def test_a_person_who_answers_is_bridged_to_a_reserved_agent_and_the_task_ends_talked(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent("anna", phone="+380501112233"))
    task_id, key, sid = place_one(shop, store, telephony)
    assert predictive_dialer.customer_answered(shop, key, sid, store=store, now=NOON)
    # WHEN Twilio says a person answered
    assert verdict(shop, store, telephony, task_id, key, sid, "human") == CONNECTING
    # THEN Anna is reserved for this call and the call is redirected to dial her
    assert store.get_agent("demo", "anna").reserved_call_sid == sid  # type: ignore[union-attr]
    assert all(order.reached for order in store.orders.values())  # the report's "reached by phone"
    assert telephony.redirects == [(sid, FakePredictiveUrls().connect(task_id, key))]
    # the customer waits in the call's conference while the app rings Anna's own leg into it
    placed = len(telephony.placed)
    assert connect(shop, store, telephony, task_id, key, sid).action == "join"
    agent_leg = telephony.placed[-1]
    assert (agent_leg["to"], agent_leg["answer_url"]) == ("+380501112233", AGENT_LEG.answer_url)
    # the step reached again (the verdict's redirect and the answer's own) rings her once
    assert connect(shop, store, telephony, task_id, key, sid).action == "join"
    assert len(telephony.placed) == placed + 1
    # and a repeated verdict changes nothing
    assert verdict(shop, store, telephony, task_id, key, sid, "human") == CONNECTING
    assert store.days[("demo", DAY)] == {"dials": 1, "live_answers": 1}
    # WHEN Anna answers and joins the room, and they talk for 95 s
    assert predictive_legs.agent_answered(shop, key, sid, "CAanna", store=store)
    call = store.get_call(sid)
    assert call is not None and (call.agent_call_sid, call.result) == ("CAanna", "agent-talked")
    form = {"CallSid": sid, "DialCallStatus": "completed", "DialCallDuration": "95"}
    assert predictive_legs.bridge_ended(shop, task_id, key, form, store=store, control=telephony, now=NOON)
    # THEN the task is done, the agent in wrap-up, and the handle time feeds the statistics
    task = store.get_task(task_id)
    assert task is not None and (task.state, task.result) == ("done", "agent-talked")
    assert store.get_agent("demo", "anna").status == "wrap-up"  # type: ignore[union-attr]
    assert line_of(store, task_id).phase == TALKED and line_of(store, task_id).handle_seconds == 95 + 30


def test_a_person_with_no_agent_free_hears_the_apology_is_counted_dropped_and_is_called_first_again(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent("anna", status="busy", since=NOON - timedelta(seconds=30)))
    task_id, key, sid = place_one(shop, store, telephony)
    # WHEN a person answers and nobody can take them
    assert verdict(shop, store, telephony, task_id, key, sid, "human") == DROPPED
    # THEN the call goes to the apology; the day counts a live answer and a drop
    assert connect(shop, store, telephony, task_id, key, sid).action == "apology"
    assert store.days[("demo", DAY)] == {"dials": 1, "live_answers": 1, "drops": 1}
    assert store.get_call(sid).result == "dropped"  # type: ignore[union-attr]
    # one live call per customer: the task stays dialing until the call has ended
    assert store.get_task(task_id).state == "dialing"  # type: ignore[union-attr]
    predictive_dialer.call_status(
        shop, task_id, key, {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": "3"}, store=store, now=NOON
    )
    task = store.get_task(task_id)
    assert task is not None and (task.state, task.attempts) == ("queued", 0)  # the drop is not the customer's attempt
    assert task.due_at == NOON + predictive_dialer.DROP_REDIAL_DELAY
    # AND when it is due again, it goes before a newer task
    later = NOON + timedelta(minutes=3)
    [newer] = agent_tasks(store, shop, 1, first=50)
    store.tasks[newer].due_at = NOON - timedelta(minutes=10)
    store.agent_list[("demo", "anna")].status = "available"
    run = pace(shop, store, telephony, now=later)
    assert len(run.placed) == 1 and telephony.placed[-1]["answer_url"].endswith(f"task={task_id}")


def test_a_machine_is_hung_up_on_and_retried_by_the_shops_machine_delay(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent("anna"))
    task_id, key, sid = place_one(shop, store, telephony)
    assert verdict(shop, store, telephony, task_id, key, sid, "machine_start") == MACHINE
    assert telephony.ended == [sid] and store.get_agent("demo", "anna").status == "available"  # type: ignore[union-attr]
    form = {"CallSid": sid, "CallStatus": "completed", "AnsweredBy": "machine_start", "SequenceNumber": "4"}
    predictive_dialer.call_status(shop, task_id, key, form, store=store, now=NOON)
    task = store.get_task(task_id)
    assert task is not None and (task.state, task.attempts, task.last_call_result) == ("queued", 1, "machine")
    assert task.due_at == NOON + timedelta(minutes=shop.robot.retry_minutes["machine"])
    assert store.days[("demo", DAY)].get("live_answers", 0) == 0


def test_no_answer_is_retried_and_the_last_attempt_makes_the_orders_unreachable(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony
) -> None:
    task_id, key, sid = place_one(shop, store, telephony)
    store.tasks[task_id].attempts = shop.robot.max_attempts
    form = {"CallSid": sid, "CallStatus": "no-answer", "SequenceNumber": "2"}
    predictive_dialer.call_status(shop, task_id, key, form, store=store, now=NOON)
    task = store.get_task(task_id)
    assert task is not None and task.state == "failed"
    assert {o.status for o in store.orders.values()} == {"unreachable"}


def test_an_agent_who_does_not_answer_is_marked_away_and_the_customer_counted_dropped(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony
) -> None:
    store.add_agent(agent("anna", phone="+380501112233"))
    task_id, key, sid = place_one(shop, store, telephony)
    verdict(shop, store, telephony, task_id, key, sid, "human")
    assert connect(shop, store, telephony, task_id, key, sid).action == "join"
    apology = FakePredictiveUrls().connect(task_id, key)
    assert predictive_legs.agent_leg_ended(
        shop, task_id, key, sid, "no-answer", store=store, control=telephony, apology_url=apology, now=NOON
    )
    assert telephony.redirects[-1] == (sid, apology)  # the waiting customer hears the shop's apology
    assert connect(shop, store, telephony, task_id, key, sid).action == "apology"
    anna = store.get_agent("demo", "anna")
    assert anna is not None and (anna.status, anna.missed_calls) == ("away", 1)
    assert store.days[("demo", DAY)]["drops"] == 1 and line_of(store, task_id).phase == DROPPED


# ---- lost callbacks ------------------------------------------------------------------------
def test_the_sweep_settles_a_line_whose_final_status_never_came(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony
) -> None:
    task_id, _, sid = place_one(shop, store, telephony)
    telephony.call_states[sid] = CallState("busy", 0, None)
    later = NOON + timedelta(minutes=10)
    assert predictive_dialer.sweep_lines(shop, store=store, telephony=telephony, now=later) == [task_id]
    task = store.get_task(task_id)
    assert task is not None and (task.state, task.last_call_result) == ("queued", "busy")
    assert predictive_dialer.sweep_lines(shop, store=store, telephony=telephony, now=later) == []


def test_the_agent_first_sweep_frees_an_agent_whose_legs_final_status_was_lost(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony
) -> None:
    # GIVEN a progressive shop whose agent was called for a task, and the leg's end never reported
    progressive = shop.model_copy(update={"dialing": shop.dialing.model_copy(update={"agent_pacing": "progressive"})})
    store.add_agent(agent("oleh"))
    [task_id] = agent_tasks(store, progressive, 1)
    [sid] = agent_dialer.dial_for_free_agents(
        progressive, store=store, telephony=telephony, urls=_AgentUrls(), now=NOON
    )
    assert store.get_agent("demo", "oleh").status == "busy"  # type: ignore[union-attr]
    telephony.call_states[sid] = CallState("no-answer", 0, None)
    # WHEN the minute tick sweeps after the stale time
    later = NOON + timedelta(minutes=11)
    settled = agent_dialer.reconcile_stuck_agent_calls(progressive, store=store, telephony=telephony, now=later)
    # THEN Oleh is marked away (a missed offer), and the task is back, uncounted
    assert settled == [task_id]
    assert store.get_agent("demo", "oleh").status == "away"  # type: ignore[union-attr]
    task = store.get_task(task_id)
    assert task is not None and (task.state, task.attempts) == ("queued", 0)
    # and a call still in progress (a long conversation) is left alone
    assert agent_dialer.reconcile_stuck_agent_calls(progressive, store=store, telephony=telephony, now=later) == []


class _AgentUrls:
    def agent_answer(self, task_id: str, agent_id: str, reservation: str) -> str:
        return f"https://x.test/a?task={task_id}"

    def agent_status(self, task_id: str, agent_id: str, reservation: str) -> str:
        return f"https://x.test/s?task={task_id}"


def test_decide_from_a_built_snapshot_is_the_simulators_function(shop: ShopSettings) -> None:
    snapshot = build_snapshot(
        shop, agents=[agent("anna")], lines=[], today=DayCounts(), groups_with_callers=set(), now=NOON
    )
    assert predictive_dialer.decide is decide and decide(snapshot).calls_to_place == 1


def test_the_reports_drop_rate_counts_the_dialers_stored_live_answers_and_drops() -> None:
    from chalicelib.domain.report.tally import ReportTally

    tally = ReportTally(currency="UAH")
    tally.add_dialer_day(live_answers=120, drops=2)
    tally.add_dialer_day(live_answers=80, drops=1)  # a second day of a weekly digest
    outbound = tally.figures().outbound
    assert outbound is not None and (outbound.drop_rate.count, outbound.drop_rate.whole) == (3, 200)


def test_the_sweep_gives_a_dropped_customer_back_when_the_calls_end_was_never_reported(
    shop: ShopSettings, store: FakePredictiveStore, telephony: FakeTelephony
) -> None:
    task_id, key, sid = place_one(shop, store, telephony)
    assert verdict(shop, store, telephony, task_id, key, sid, "human") == DROPPED  # no agent at all
    telephony.call_states[sid] = CallState("completed", 12, "human")
    later = NOON + timedelta(minutes=6)
    assert predictive_dialer.sweep_lines(shop, store=store, telephony=telephony, now=later) == [task_id]
    task = store.get_task(task_id)
    assert task is not None and (task.state, task.attempts) == ("queued", 0)
    # a settled line is not asked about again
    assert predictive_dialer.sweep_lines(shop, store=store, telephony=telephony, now=later) == []
