"""Inbound callers, callbacks and customer-first calls share the agents (O8, I6, I8): a
customer whose phone is ringing keeps an agent free, so an inbound caller who arrives meanwhile,
or a callback the agent-first dialer would start, waits a few seconds instead of taking the
agent the answered customer then needs (a drop)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.entities import Call, DialTask, Order
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.predictive import CONNECTING, MACHINE, STALE_LINE, DialLine
from chalicelib.domain.queue import QueueEntry
from chalicelib.domain.routing import Agent, free_beyond_customer_lines
from chalicelib.domain.shop import ShopSettings
from chalicelib.services import agent_dialer, inbound, intake, predictive_dialer, predictive_legs
from chalicelib.services.conference_calls import AgentLegUrls
from tests.fakes.dialing import FakePredictiveStore
from tests.fakes.links import FakeAgentDialUrls, FakePredictiveUrls
from tests.fakes.twilio import FakeTelephony

NOON = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv
DAY = "2015-11-23"


class FakeBlendingStore(FakePredictiveStore):
    """The predictive fake plus what a queue's hold round reads (position, wait estimate)."""

    def __init__(self, shops: list[ShopSettings]) -> None:
        super().__init__(shops)
        self.announced: dict[str, int] = {}

    def queue_position(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> tuple[int, int]:
        entries = self.queue_entries(shop_id, group)
        refs = [e.ref for e in entries]
        return (refs.index(ref) + 1 if ref in refs else 0), len(entries)

    def announced_position(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> int | None:
        return self.announced.get(ref)

    def note_announced_position(self, shop_id: str, group: str, queued_at: datetime, ref: str, position: int) -> None:
        self.announced[ref] = position

    def recent_handle_seconds(self, shop_id: str, group: str) -> list[float]:
        return []

    def remember_handle_seconds(self, shop_id: str, group: str, seconds: float) -> None:
        pass

    # not reached by a hold round
    def active_orders(self, shop_id: str, phone: str) -> list[Order]:
        raise NotImplementedError

    def choose_delivery_slot(self, shop_id: str, order_id: str, slot: dict[str, str]) -> Order | None:
        raise NotImplementedError

    def insert_callback_task(
        self, task_id: str, shop_id: str, phone: str, language: str, arrived_at: datetime, now: datetime
    ) -> bool:
        raise NotImplementedError


def shop_with(pacing: str) -> ShopSettings:
    return ShopSettings.model_validate(
        {"shop_id": "demo", "name": "Kvitka", "caller_id": "+380441234567", "dialing": {"agent_pacing": pacing}}
    )


def agent(agent_id: str, status: str = "available") -> Agent:
    return Agent(
        shop_id="demo",
        agent_id=agent_id,
        name=agent_id.title(),
        client_identity=agent_id,
        groups=["main"],
        languages=["uk"],
        status=status,
        status_since=NOON - timedelta(hours=1),
    )


def queued_caller(store: FakeBlendingStore, shop: ShopSettings, sid: str, at: datetime) -> inbound.CallContext:
    call = Call(sid, "demo", "inbound", "+380631234567", "+380441234567", at, DAY, language="uk", group="main")
    store.upsert_call(call)
    ctx = inbound.CallContext(shop, call)
    inbound.enter_queue(ctx, store=store, now=at)
    return inbound.CallContext(shop, store.get_call(sid))  # type: ignore[arg-type]


def ringing_customer(store: FakeBlendingStore, shop: ShopSettings, telephony: FakeTelephony) -> tuple[str, str, str]:
    """One agent task dialed customer-first: (task id, line key, CallSid)."""
    body = {"phone": "067 123-45-01", "total": "100", "order_number": "A-1", "needs_call": True}
    order_id = intake.new_order_id(NOON, "+380671234567")
    intake.accept_order(shop, OrderIn.model_validate(body), store=store, now=NOON, order_id=order_id)
    intake.decide_new_order(shop, order_id, store=store, tasks=store, now=NOON)
    run = predictive_dialer.pace(shop, store=store, telephony=telephony, urls=FakePredictiveUrls(), now=NOON)
    [sid] = run.placed
    [line] = store.recent_lines("demo", 10)
    return line.task_id, line.line_key, sid


def talked(
    shop: ShopSettings, store: FakeBlendingStore, telephony: FakeTelephony, task: str, key: str, sid: str
) -> None:
    """The reserved agent is rung into the customer's conference, joins, and they talk a minute
    (ending 75 s after noon)."""
    leg = AgentLegUrls("https://calls.example.test/agent-answer", "https://calls.example.test/agent-status")
    at = NOON + timedelta(seconds=13)
    step = predictive_legs.connect(shop, task, key, sid, store=store, telephony=telephony, leg=leg, now=at)
    assert step.action == "join"
    assert predictive_legs.agent_answered(shop, key, sid, "CAagent", store=store)
    form = {"CallSid": sid, "DialCallStatus": "completed", "DialCallDuration": "60"}
    end = NOON + timedelta(seconds=75)
    assert predictive_legs.bridge_ended(shop, task, key, form, store=store, control=telephony, now=end)


def human(shop: ShopSettings, store: FakeBlendingStore, task: str, key: str, sid: str, at: datetime) -> str:
    form = {"CallSid": sid, "AnsweredBy": "human", "MachineDetectionDuration": "2300"}
    return predictive_dialer.machine_verdict(
        shop, task, key, form, store=store, telephony=FakeTelephony(), urls=FakePredictiveUrls(), now=at
    )


def test_free_beyond_customer_lines_leaves_one_free_agent_per_customer_call_in_flight() -> None:
    agents = [agent("anna"), agent("oleh"), agent("ira", "busy")]
    assert free_beyond_customer_lines(agents, NOON, 30, 0) == 2
    assert free_beyond_customer_lines(agents, NOON, 30, 1) == 1
    assert free_beyond_customer_lines(agents, NOON, 30, 3) == 0


def test_a_caller_arriving_while_a_customer_rings_waits_and_the_customer_is_bridged_not_dropped() -> None:
    # GIVEN a customer-first shop with one free agent, Anna, and a customer's phone ringing for her
    shop = shop_with("predictive")
    store, telephony = FakeBlendingStore([shop]), FakeTelephony()
    store.add_agent(agent("anna"))
    task_id, key, sid = ringing_customer(store, shop, telephony)
    # WHEN an inbound caller reaches the queue before the customer answers
    caller = queued_caller(store, shop, "CAinbound1", NOON + timedelta(seconds=5))
    held = inbound.hold_round(caller, 10, store=store, now=NOON + timedelta(seconds=6))
    # THEN the caller stays on hold and Anna stays free for the ringing customer
    assert not held.leave
    assert store.get_agent("demo", "anna").status == "available"  # type: ignore[union-attr]
    # WHEN the customer answers
    assert human(shop, store, task_id, key, sid, NOON + timedelta(seconds=12)) == CONNECTING
    # THEN Anna takes the customer: no drop today
    assert store.get_agent("demo", "anna").reserved_call_sid == sid  # type: ignore[union-attr]
    assert store.days[("demo", DAY)] == {"dials": 1, "live_answers": 1}
    # AND once Anna's call and wrap-up are over, the waiting caller gets her
    talked(shop, store, telephony, task_id, key, sid)
    later = NOON + timedelta(seconds=75 + shop.inbound.wrap_up_seconds)
    assert inbound.hold_round(caller, 90, store=store, now=later).leave
    assert store.get_agent("demo", "anna").reserved_call_sid == "CAinbound1"  # type: ignore[union-attr]


def test_a_customer_call_that_reaches_a_machine_gives_the_agent_back_to_the_queue() -> None:
    shop = shop_with("predictive")
    store, telephony = FakeBlendingStore([shop]), FakeTelephony()
    store.add_agent(agent("anna"))
    task_id, key, sid = ringing_customer(store, shop, telephony)
    caller = queued_caller(store, shop, "CAinbound1", NOON + timedelta(seconds=5))
    assert not inbound.hold_round(caller, 10, store=store, now=NOON + timedelta(seconds=6)).leave
    # WHEN a machine answers the customer's call
    form = {"CallSid": sid, "AnsweredBy": "machine_start", "MachineDetectionDuration": "3100"}
    phase = predictive_dialer.machine_verdict(
        shop, task_id, key, form, store=store, telephony=telephony, urls=FakePredictiveUrls(), now=NOON
    )
    assert phase == MACHINE
    # THEN the next hold round gives Anna to the caller
    assert inbound.hold_round(caller, 20, store=store, now=NOON + timedelta(seconds=16)).leave
    assert store.get_agent("demo", "anna").reserved_call_sid == "CAinbound1"  # type: ignore[union-attr]


def test_a_line_whose_callbacks_were_lost_stops_holding_an_agent_once_stale() -> None:
    shop = shop_with("predictive")
    store = FakeBlendingStore([shop])
    store.add_agent(agent("anna"))
    store.lines[("demo", "k")] = DialLine("tsk_lost", NOON - STALE_LINE - timedelta(seconds=1), "ringing", line_key="k")
    caller = queued_caller(store, shop, "CAinbound1", NOON)
    assert inbound.hold_round(caller, 10, store=store, now=NOON).leave


@pytest.mark.parametrize("pacing", ["progressive"])
def test_a_shop_dialing_agent_first_routes_callers_as_before(pacing: str) -> None:
    # lines are only the customer-first dialer's: an agent-first shop has none to keep agents for
    shop = shop_with(pacing)
    store = FakeBlendingStore([shop])
    store.add_agent(agent("anna"))
    store.lines[("demo", "k")] = DialLine("tsk_x", NOON, "ringing", line_key="k")
    caller = queued_caller(store, shop, "CAinbound1", NOON)
    assert inbound.hold_round(caller, 10, store=store, now=NOON).leave


def test_a_due_callback_waits_while_a_customer_rings_for_the_only_free_agent() -> None:
    # GIVEN a customer-first shop with one free agent and a customer's phone ringing for her
    shop = shop_with("predictive")
    store, telephony = FakeBlendingStore([shop]), FakeTelephony()
    store.add_agent(agent("anna"))
    task_id, key, sid = ringing_customer(store, shop, telephony)
    # AND a caller's callback that is due
    store.insert_task(
        DialTask("cb_1", "demo", "+380671230001", [], "uk", NOON, kind="callback", state="waiting", due_at=NOON)
    )
    store.add_queue_entry(QueueEntry("demo", "main", "callback", "cb_1", "+380671230001", "uk", NOON))

    def callbacks(at: datetime) -> list[str]:
        urls = FakeAgentDialUrls()
        return agent_dialer.dial_for_free_agents(shop, store=store, telephony=telephony, urls=urls, now=at)

    # WHEN the minute tick lets free agents call the due callbacks
    # THEN Anna is not called for the callback while the customer's phone rings
    assert callbacks(NOON + timedelta(seconds=6)) == []
    assert store.get_agent("demo", "anna").status == "available"  # type: ignore[union-attr]
    # AND the customer who answers gets her: no drop
    assert human(shop, store, task_id, key, sid, NOON + timedelta(seconds=12)) == CONNECTING
    assert store.days[("demo", DAY)] == {"dials": 1, "live_answers": 1}
    # AND after that call the callback is dialed through her
    talked(shop, store, telephony, task_id, key, sid)
    [leg] = callbacks(NOON + timedelta(seconds=75 + shop.inbound.wrap_up_seconds))
    assert telephony.placed[-1]["to"] == "client:anna"
    assert store.get_agent("demo", "anna").reserved_call_sid is not None  # type: ignore[union-attr]
    assert store.get_task("cb_1").last_call_sid == leg  # type: ignore[union-attr]
    assert store.get_task("cb_1").state == "dialing"  # type: ignore[union-attr]
