"""Agent-first calls and callbacks meet in a conference named for the call (#17), through the
local stack and the Twilio stand-in: the agent accepts and waits in the room while the app
rings the customer into it, so the desk holds and transfers these calls as it does inbound."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, Callee, CallerScript, CallLeg, Press, Silence
from tests.e2e.conftest import ShopApi, fresh_inbound_day
from tests.e2e.test_agent_dialer import ANNA, OLEH, SHOP, legs_to, set_status, tick_until_called
from tests.e2e.test_conference_calls import ANNA_TOKEN, OLEH_TOKEN, _in_room, _post, _until, agent_legs


@pytest.fixture(autouse=True)
def agents_offline(stack: LocalStack, clock: SimClock) -> Iterator[None]:
    fresh_inbound_day(clock)
    yield


def joined_rooms(leg: CallLeg) -> list[str]:
    """The conferences the leg joined, in order."""
    return [e.data["conference"] for e in leg.transcript.of_kind("conference") if e.data.get("event") == "join"]


def order_needing_a_call(shop_api: ShopApi, phone: str, number: str) -> str:
    created = shop_api.post_order(
        {"order_number": number, "phone": phone, "customer_name": "Olena", "total": "900", "needs_call": True},
        key=f"agent-first-conference-{number}",
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_an_agent_first_call_puts_the_agent_and_the_customer_in_one_room_named_for_the_call(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN an order that needs a call, and Oleh (softphone) available
    customer = "+380671270001"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=3, talk_seconds=25))
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=60))
    order_needing_a_call(shop_api, customer, "CF-1")
    assert stack.wait_quiet(timeout=60)
    # WHEN Oleh becomes available and takes the call
    set_status(shop_api, "oleh", "available")
    agent_leg = tick_until_called(stack, clock, OLEH)
    # THEN both legs joined the same room, named for the call (Oleh's leg), the customer from the shop's number
    [customer_leg] = legs_to(stack, customer)
    assert customer_leg.from_ == SHOP and customer_leg.direction == "outbound-api"
    assert joined_rooms(agent_leg) == [agent_leg.sid] and joined_rooms(customer_leg) == [agent_leg.sid]
    [room] = [c for c in stack.standin.engine.conferences.all() if c.friendly_name == agent_leg.sid]
    assert (room.status, room.call_sid_ending) == ("completed", customer_leg.sid)  # the customer hung up
    assert stack.standin.application_errors() == []
    # AND the call is talked, Oleh wraps up
    record = CallItem.get(agent_leg.sid)
    assert (record.result, record.agent_call_sid, record.customer_call_sid) == (
        "agent-talked",
        agent_leg.sid,
        customer_leg.sid,
    )
    assert dynamo_store().get_agent("demo", "oleh").status == "wrap-up"  # type: ignore[union-attr]


def test_a_callback_puts_the_agent_and_the_caller_in_one_room_named_for_the_call(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN a caller who asked for a callback while nobody was available
    caller = "+380671270002"
    transcript = stack.standin.place_inbound_call(caller, SHOP, CallerScript([Press("1"), Silence(), Press("1")]))
    assert stack.wait_quiet(timeout=30)
    task_id = CallItem.get(transcript.call_sid).callback_task_id
    stack.standin.set_callee(caller, Callee(answer="human", ring_seconds=2, talk_seconds=20))
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=60))
    # WHEN Anna becomes available
    set_status(shop_api, "anna", "available")
    agent_leg = tick_until_called(stack, clock, ANNA)
    # THEN she and the caller, called back, met in one room named for the call
    [callback] = [leg for leg in legs_to(stack, caller) if leg.from_ == SHOP]
    assert joined_rooms(agent_leg) == [agent_leg.sid] and joined_rooms(callback) == [agent_leg.sid]
    assert stack.standin.application_errors() == []
    task = DialTaskItem.get(task_id)
    assert (task.kind, task.state, task.result) == ("callback", "done", "agent-talked")


def _agent_first_call_with_oleh(stack: LocalStack, shop_api: ShopApi, clock: SimClock, customer: str) -> CallLeg:
    """Oleh (softphone) talking to an order's customer in the call's room; both stay until
    something ends it. Returns Oleh's leg (the room's name)."""
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, talk_seconds=None))
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=None))
    order_needing_a_call(shop_api, customer, customer[-4:])
    assert stack.wait_quiet(timeout=60)
    set_status(shop_api, "oleh", "available")
    for _ in range(30):
        live = [leg for leg in legs_to(stack, OLEH) if leg.status != "completed"]  # not an earlier test's
        if live and len(_in_room(stack, live[-1].sid)) == 2:
            return live[-1]
        clock.advance(timedelta(minutes=1))
        time.sleep(0.3)
    raise AssertionError("Oleh and the customer never met in the call's room")


def test_the_desk_holds_an_agent_first_call_and_transfers_it_warm(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN Oleh talking to a customer on an agent-first call, and Anna (a phone) then available
    customer = "+380671270003"
    oleh_leg = _agent_first_call_with_oleh(stack, shop_api, clock, customer)
    room = oleh_leg.sid
    [customer_leg] = legs_to(stack, customer)
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=None))
    set_status(shop_api, "anna", "available")
    # WHEN Oleh holds the customer: the customer hears the shop's hold music; then takes them back
    held = _post(stack, "/v1/agent/call/hold", OLEH_TOKEN)
    assert (held.status_code, held.json()) == (200, {"call_sid": room, "on_hold": True})
    _until(lambda: customer_leg.transcript.webhooks("conference-hold"))
    assert _in_room(stack, room)[customer_leg.sid] is True
    back = _post(stack, "/v1/agent/call/unhold", OLEH_TOKEN)
    assert (back.status_code, back.json()) == (200, {"call_sid": room, "on_hold": False})
    assert _in_room(stack, room) == {customer_leg.sid: False, oleh_leg.sid: False}
    # WHEN Oleh transfers warm to Anna
    started = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_agent": "anna", "mode": "warm"})
    assert started.status_code == 200, started.text
    assert started.json() == {"call_sid": room, "transfer_to": "anna", "mode": "warm", "state": "ringing"}
    # THEN Anna is whispered and joins while the customer waits on hold
    _until(lambda: len(_in_room(stack, room)) == 3)
    assert _in_room(stack, room)[customer_leg.sid] is True
    [anna_leg] = agent_legs(stack, ANNA, room)
    assert "Дзвінок до Kvitka Flowers щодо замовлення 0003. Натисніть 1, щоб прийняти." in anna_leg.transcript.heard()
    # WHEN Oleh completes it: he is out, the customer talks to Anna
    done = _post(stack, "/v1/agent/call/transfer/complete", OLEH_TOKEN)
    assert (done.status_code, done.json()) == (200, {"call_sid": room, "agent_id": "anna", "state": "completed"})
    _until(lambda: oleh_leg.status == "completed")
    assert _in_room(stack, room) == {customer_leg.sid: False, anna_leg.sid: False}
    record = CallItem.get(room)
    assert (record.agent_id, record.transfers, record.handled_by, record.on_hold) == (
        "anna",
        1,
        ["oleh", "anna"],
        False,
    )
    _until(lambda: dynamo_store().get_agent("demo", "oleh").status == "wrap-up")  # type: ignore[union-attr]
    # the desk is Anna's now: Oleh can no longer hold the call
    assert _post(stack, "/v1/agent/call/hold", OLEH_TOKEN).status_code in (404, 409)
    anna_holds = _post(stack, "/v1/agent/call/hold", ANNA_TOKEN)
    assert anna_holds.status_code == 200, anna_holds.text
    assert _post(stack, "/v1/agent/call/unhold", ANNA_TOKEN).status_code == 200
    # WHEN Anna hangs up: the room ends, the customer's call with it; Anna wraps up
    stack.standin.engine.update_call(anna_leg, status="completed", url=None, method="POST", twiml=None)
    assert stack.wait_quiet(timeout=60)
    assert customer_leg.status == "completed"
    assert dynamo_store().get_agent("demo", "anna").status == "wrap-up"  # type: ignore[union-attr]
    assert stack.standin.application_errors() == []


def test_an_agent_first_call_transferred_cold_to_nobody_apologises_to_the_customer_and_calls_back(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN Oleh talking to a customer on an agent-first call, and Anna available, whose phone
    # is not answered
    customer = "+380671270004"
    oleh_leg = _agent_first_call_with_oleh(stack, shop_api, clock, customer)
    room = oleh_leg.sid
    [customer_leg] = legs_to(stack, customer)
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=False))
    set_status(shop_api, "anna", "available")
    # WHEN Oleh transfers the customer cold to Anna: he leaves at once, her phone rings out
    started = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_agent": "anna", "mode": "cold"})
    assert started.status_code == 200, started.text
    _until(lambda: oleh_leg.status == "completed")
    # THEN the customer is not left on hold nor hung up on in silence: they hear the apology and
    # that an agent will call back, and their call ends
    assert stack.wait_quiet(timeout=60)
    _until(lambda: customer_leg.status == "completed")
    assert (
        "Вибачте, зараз ніхто не зміг прийняти ваш дзвінок. Оператор вам передзвонить, ваше місце в черзі"
        " збережено. До побачення." in customer_leg.transcript.heard()
    )
    # AND a callback task waits for them; Anna, who missed the call, is away; no application error
    record = CallItem.get(room)
    assert record.callback_task_id and record.result == "agent-talked"
    task = DialTaskItem.get(record.callback_task_id)
    assert (task.kind, task.state, task.phone) == ("callback", "waiting", customer)
    assert dynamo_store().get_agent("demo", "anna").status == "away"  # type: ignore[union-attr]
    assert stack.standin.application_errors() == []
