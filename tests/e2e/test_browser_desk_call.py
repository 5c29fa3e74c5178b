"""An agent's call from the browser (#17) through the local stack and the Twilio stand-in: the
page's Voice SDK places it through the TwiML App (the stand-in's ``place_client_call``), the
agent waits in a conference named for the call while the app rings the customer into it, and
the desk holds and transfers it as every other agent call."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from chalicelib.adapters.dynamo.schema import CallItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LOCAL_TWIML_APP_SID, LocalStack
from devtools.twilio_standin import AgentBehaviour, Callee, CallerScript, CallLeg
from tests.e2e.conftest import ShopApi, fresh_inbound_day
from tests.e2e.test_agent_dialer import ANNA, SHOP, legs_to, set_status
from tests.e2e.test_conference_calls import ANNA_TOKEN, OLEH_TOKEN, _in_room, _post, _until, agent_legs


@pytest.fixture(autouse=True)
def agents_offline(stack: LocalStack, clock: SimClock) -> Iterator[None]:
    fresh_inbound_day(clock)
    yield


def _oleh_calls_from_the_page(stack: LocalStack, customer: str) -> tuple[threading.Thread, CallLeg, CallLeg]:
    """Oleh's page connects a call to ``customer``; (the call's thread, Oleh's leg, the customer's leg)."""
    thread = threading.Thread(
        target=lambda: stack.standin.place_client_call(
            "oleh",
            customer,
            f"{stack.api_url}/twilio/voice/desk-call",
            CallerScript(),
            application_sid=LOCAL_TWIML_APP_SID,
        ),
        daemon=True,
    )
    thread.start()

    def rung() -> list[CallLeg]:  # the app's leg to the customer (the page's leg has To=customer too)
        return [leg for leg in legs_to(stack, customer) if leg.direction == "outbound-api"]

    _until(rung)
    [customer_leg] = rung()
    [oleh_leg] = [leg for leg in legs_to(stack, customer) if leg.from_ == "client:oleh"]
    return thread, oleh_leg, customer_leg


def test_an_agent_calls_a_customer_from_the_browser_holds_and_transfers_the_call_warm(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN Oleh (softphone) available; the customer answers and stays on the line
    customer = "+380671280001"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=3, talk_seconds=None))
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=None))
    set_status(shop_api, "oleh", "available")
    # WHEN Oleh's page calls the customer
    thread, oleh_leg, customer_leg = _oleh_calls_from_the_page(stack, customer)
    room = oleh_leg.sid
    # THEN the customer is rung from the shop's number, and both meet in the room named for the call
    assert (customer_leg.from_, customer_leg.direction) == (SHOP, "outbound-api")
    _until(lambda: _in_room(stack, room) == {customer_leg.sid: False, oleh_leg.sid: False})
    _until(lambda: CallItem.get(room).result == "agent-talked")
    # WHEN Oleh holds the customer from the desk, then takes them back
    held = _post(stack, "/v1/agent/call/hold", OLEH_TOKEN)
    assert (held.status_code, held.json()) == (200, {"call_sid": room, "on_hold": True})
    assert _in_room(stack, room)[customer_leg.sid] is True
    assert _post(stack, "/v1/agent/call/unhold", OLEH_TOKEN).status_code == 200
    # WHEN Anna is available and Oleh transfers the call warm to her, then completes it
    set_status(shop_api, "anna", "available")
    started = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_agent": "anna", "mode": "warm"})
    assert started.status_code == 200, started.text
    _until(lambda: len(_in_room(stack, room)) == 3)
    [anna_leg] = agent_legs(stack, ANNA, room)
    done = _post(stack, "/v1/agent/call/transfer/complete", OLEH_TOKEN)
    assert (done.status_code, done.json()) == (200, {"call_sid": room, "agent_id": "anna", "state": "completed"})
    # THEN Oleh's browser call ends, the customer talks to Anna, Oleh wraps up
    thread.join(timeout=60)
    assert oleh_leg.status == "completed"
    assert _in_room(stack, room) == {customer_leg.sid: False, anna_leg.sid: False}
    _until(lambda: dynamo_store().get_agent("demo", "oleh").status == "wrap-up")  # type: ignore[union-attr]
    assert _post(stack, "/v1/agent/call/hold", ANNA_TOKEN).status_code == 200
    assert _post(stack, "/v1/agent/call/unhold", ANNA_TOKEN).status_code == 200
    # WHEN Anna hangs up: the room ends, the customer's call with it; the record names both agents
    stack.standin.engine.update_call(anna_leg, status="completed", url=None, method="POST", twiml=None)
    assert stack.wait_quiet(timeout=60)
    assert customer_leg.status == "completed"
    record = CallItem.get(room)
    assert (record.status, record.agent_id, record.handled_by, record.transfers) == (
        "completed",
        "anna",
        ["oleh", "anna"],
        1,
    )
    assert record.ended_at is not None
    assert dynamo_store().get_agent("demo", "anna").status == "wrap-up"  # type: ignore[union-attr]
    assert stack.standin.application_errors() == []


def test_a_customer_who_does_not_answer_is_said_to_the_agent_and_the_agent_is_free_again(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    customer = "+380671280002"
    stack.standin.set_callee(customer, Callee(answer="no-answer"))
    set_status(shop_api, "oleh", "available")
    thread, oleh_leg, customer_leg = _oleh_calls_from_the_page(stack, customer)
    thread.join(timeout=120)
    assert customer_leg.status == "no-answer"
    assert "Клієнт не відповів. До побачення." in oleh_leg.transcript.heard()
    assert oleh_leg.status == "completed"
    record = CallItem.get(oleh_leg.sid)
    assert (record.status, record.result) == ("no-answer", "customer-no-answer")
    assert stack.wait_quiet(timeout=60)
    assert dynamo_store().get_agent("demo", "oleh").status == "available"  # type: ignore[union-attr]
    assert not [
        c for c in stack.standin.engine.conferences.all() if c.friendly_name == oleh_leg.sid and c.status != "completed"
    ]
    assert stack.standin.application_errors() == []
