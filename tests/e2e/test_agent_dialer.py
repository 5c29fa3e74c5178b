"""Agent-first dialing through the local stack and the Twilio stand-in (O8, I6): an order that
needs a call, and a caller's callback, are dialed once an agent is available: the agent hears
the whisper and accepts, then the customer is bridged, and the task ends "agent-talked"."""

from __future__ import annotations

import time
from datetime import timedelta

from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, Callee, CallerScript, CallLeg, Press, Silence
from tests.e2e.conftest import ShopApi

SHOP = "+380441234567"
ANNA = "+380501112233"
OLEH = "client:oleh"


def set_status(shop_api: ShopApi, agent_id: str, status: str) -> None:
    response = shop_api.session.put(
        f"{shop_api.base_url}/v1/agents/{agent_id}/status", json={"status": status}, timeout=15
    )
    assert response.status_code == 200, response.text


def legs_to(stack: LocalStack, address: str) -> list[CallLeg]:
    return [leg for leg in stack.standin.calls if leg.to == address]


def tick_until_called(stack: LocalStack, clock: SimClock, address: str) -> CallLeg:
    """Move the clock a minute at a time: the dial_due schedule gives the agent the task."""
    for _ in range(30):
        if legs_to(stack, address):
            break
        clock.advance(timedelta(minutes=1))
        time.sleep(0.2)
    assert stack.wait_quiet(timeout=60)
    [leg] = legs_to(stack, address)
    return leg


def test_an_order_that_needs_a_call_is_dialed_agent_first_once_an_agent_is_available(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN an order that asks for a call, and nobody available yet
    customer = "+380671240001"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=3, talk_seconds=25))
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=60))
    created = shop_api.post_order(
        {
            "order_number": "AG-1",
            "phone": "067 124 00 01",
            "customer_name": "Olena",
            "total": "900",
            "needs_call": True,
        },
        key="agent-dial-1",
    )
    assert created.status_code == 201
    assert stack.wait_quiet(timeout=60)
    order_id = created.json()["id"]
    assert legs_to(stack, customer) == []  # no robot call: the task waits for a person
    # WHEN Oleh becomes available
    set_status(shop_api, "oleh", "available")
    agent_leg = tick_until_called(stack, clock, OLEH)
    # THEN Oleh heard the whisper and accepted; the customer was dialed from the shop's number
    assert agent_leg.from_ == SHOP
    heard = agent_leg.transcript.heard()
    assert (
        "Вихідний дзвінок для Kvitka Flowers: Olena, замовлення AG-1. Натисніть 1, щоб зателефонувати клієнту." in heard
    )
    [customer_leg] = legs_to(stack, customer)
    assert customer_leg.from_ == SHOP and customer_leg.status == "completed"
    assert agent_leg.transcript.application_errors == [] and stack.standin.application_errors() == []
    order = shop_api.order(order_id)
    task = DialTaskItem.get(_task_of(order_id))
    assert (task.kind, task.state, task.result, task.attempts) == ("agent", "done", "agent-talked", 1)
    assert order["status"] == "queued"  # decided by the agent's outcome, not by the dialer
    record = CallItem.get(agent_leg.sid)
    assert (record.direction, record.agent_id, record.result) == ("outbound-agent", "oleh", "agent-talked")
    assert dynamo_store().get_agent("demo", "oleh").status == "wrap-up"  # type: ignore[union-attr]
    # one call per customer: later ticks dial nothing more
    clock.advance(timedelta(minutes=2))
    time.sleep(0.3)
    assert stack.wait_quiet(timeout=30)
    assert len(legs_to(stack, customer)) == 1 and len(legs_to(stack, OLEH)) == 1


def _task_of(order_id: str) -> str:
    from chalicelib.adapters.dynamo.schema import OrderItem

    return str(OrderItem.get(*order_keys("demo", order_id)).task_id)


def test_a_callers_callback_is_served_by_the_next_available_agent(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN a caller who pressed 1 for a callback while nobody was available
    caller = "+380671240002"
    set_status(shop_api, "oleh", "offline")
    transcript = stack.standin.place_inbound_call(caller, SHOP, CallerScript([Press("1"), Silence(), Press("1")]))
    assert transcript.application_errors == []
    assert stack.wait_quiet(timeout=30)
    task_id = CallItem.get(transcript.call_sid).callback_task_id
    assert DialTaskItem.get(task_id).state == "waiting"
    stack.standin.set_callee(caller, Callee(answer="human", ring_seconds=2, talk_seconds=20))
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=60))
    # WHEN Anna becomes available
    set_status(shop_api, "anna", "available")
    agent_leg = tick_until_called(stack, clock, ANNA)
    # THEN she heard it is a callback, accepted, and the caller was called back and talked
    assert (
        "Зворотний дзвінок для Kvitka Flowers: клієнт просив передзвонити. Натисніть 1, щоб зателефонувати йому."
        in agent_leg.transcript.heard()
    )
    callbacks = [leg for leg in legs_to(stack, caller) if leg.from_ == SHOP]
    assert [leg.status for leg in callbacks] == ["completed"]
    assert stack.standin.application_errors() == []
    task = DialTaskItem.get(task_id)
    assert (task.kind, task.state, task.result) == ("callback", "done", "agent-talked")
    assert [e.ref for e in dynamo_store().queue_entries("demo", "sales")] == []
