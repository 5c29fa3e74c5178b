"""A phone-only agent keys in the outcome after an agent-first call (A4), through the local stack
and the Twilio stand-in: the order the call was about is confirmed by her key."""

from __future__ import annotations

from chalicelib.adapters.dynamo.schema import AgentItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, Callee, CallerScript, Press
from tests.e2e.conftest import ShopApi
from tests.e2e.test_agent_dialer import ANNA, legs_to, set_status, tick_until_called


def test_a_phone_only_agent_presses_1_after_the_call_and_the_order_is_confirmed(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN an order that asks for a call; Anna (a phone, no softphone) is the only one available
    customer = "+380671250001"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, talk_seconds=20))
    stack.standin.register_agent(
        ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=60, after_call=CallerScript([Press("1")]))
    )
    for agent_id in ("anna", "oleh"):
        AgentItem("demo", agent_id).update(actions=[AgentItem.status.set("offline")])
    created = shop_api.post_order(
        {"order_number": "KP-1", "phone": customer, "customer_name": "Iryna", "total": "700", "needs_call": True},
        key="keypad-outcome-1",
    )
    assert created.status_code == 201
    assert stack.wait_quiet(timeout=60)
    assert shop_api.order(created.json()["id"])["status"] == "queued"
    # WHEN Anna becomes available, takes the call, and after the customer hangs up presses 1
    set_status(shop_api, "anna", "available")
    agent_leg = tick_until_called(stack, clock, ANNA)
    # THEN she heard the menu and what was saved; the order is confirmed by her outcome
    heard = agent_leg.transcript.heard()
    assert any(text.startswith("Введіть результат дзвінка. Підтверджено: 1.") for text in heard)
    assert heard[-1] == "Збережено: підтверджено. До побачення."
    assert agent_leg.transcript.application_errors == [] and stack.standin.application_errors() == []
    assert [leg.status for leg in legs_to(stack, customer)] == ["completed"]
    order = shop_api.order(created.json()["id"])
    assert order["status"] == "confirmed"
    [outcome] = dynamo_store().outcomes_of(agent_leg.sid)
    assert (outcome.agent_id, outcome.outcome, outcome.orders_moved) == ("anna", "confirmed", [order["id"]])
