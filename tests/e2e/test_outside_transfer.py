"""Cold transfers to an outside number the shop allows (#17), through the local stack and the
Twilio stand-in: the number is dialled into the call's conference with the shop's caller ID,
the agent leaves at once, and nobody is left on hold when the number does not answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.adapters.dynamo.schema import CallItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, CallLeg
from tests.e2e.conftest import ShopApi, fresh_inbound_day
from tests.e2e.test_conference_calls import OLEH_TOKEN, _hang_up, _in_room, _post, _talking_with_oleh, _until

WORKSHOP = "+380442345678"  # config/demo.toml: desk.transfer_numbers
SHOP_CALLER_ID = "+380441234567"


@pytest.fixture(autouse=True)
def agents_offline(stack: LocalStack, clock: SimClock) -> Iterator[None]:
    fresh_inbound_day(clock)
    yield


def _legs_to(stack: LocalStack, number: str) -> list[CallLeg]:
    return [leg for leg in stack.standin.calls if leg.to == number and leg.direction == "outbound-api"]


def test_a_cold_transfer_to_the_shops_outside_number_dials_it_in_and_the_agent_leaves(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN Oleh talking to a caller, and the shop's workshop line, where someone answers and
    # stays on the line until hung up (the stand-in's scripted person without a talk bound)
    stack.standin.register_agent(WORKSHOP, AgentBehaviour(answers=True, accept_digits=None, talk_seconds=None))
    before = len(_legs_to(stack, WORKSHOP))
    thread, caller_sid, oleh_leg = _talking_with_oleh(stack, shop_api, "+380671260020")
    # WHEN Oleh transfers the caller to the workshop
    started = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_number": "044 234 5678"})
    assert started.status_code == 200, started.text
    assert started.json() == {"call_sid": caller_sid, "transfer_to": WORKSHOP, "mode": "cold", "state": "ringing"}
    # THEN Oleh is out at once; the workshop is rung from the shop's caller ID and joins the caller
    _until(lambda: oleh_leg.status == "completed")
    [workshop] = _legs_to(stack, WORKSHOP)[before:]
    assert workshop.from_ == SHOP_CALLER_ID
    _until(lambda: _in_room(stack, caller_sid) == {caller_sid: False, workshop.sid: False})
    assert stack.standin.call(caller_sid).transcript.webhooks("conference-hold")  # music while it rang
    _until(lambda: CallItem.get(caller_sid).transferred_to_number == WORKSHOP)
    record = CallItem.get(caller_sid)
    assert (record.agent_id, record.transfers, record.transfer_number, record.on_hold) == ("oleh", 1, None, False)
    assert dynamo_store().get_agent("demo", "oleh").status == "wrap-up"  # type: ignore[union-attr]
    # AND the customer's timeline shows the transfer
    timeline = shop_api.session.post(
        f"{shop_api.base_url}/v1/customers/timeline", json={"phone": "+380671260020"}, timeout=15
    ).json()
    [entry] = [e for e in timeline["entries"] if e["type"] == "call"]
    assert (entry["handled_by"], entry["transferred_to_number"]) == (["oleh"], WORKSHOP)
    # WHEN the workshop hangs up, the caller's call ends too (nobody left alone in the room)
    _hang_up(stack, workshop)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert stack.wait_quiet(timeout=30)
    assert stack.standin.application_errors() == []


def test_an_outside_number_that_does_not_answer_sends_the_caller_back_to_the_queue(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN Oleh talking to a caller, and a workshop line that rings out
    stack.standin.register_agent(WORKSHOP, AgentBehaviour(answers=False))
    thread, caller_sid, oleh_leg = _talking_with_oleh(stack, shop_api, "+380671260021")
    # WHEN Oleh transfers the caller there
    started = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_number": WORKSHOP})
    assert started.status_code == 200, started.text
    _until(lambda: oleh_leg.status == "completed")  # cold: Oleh left at once
    # THEN once it rang out the caller is off hold and back in the queue, told so
    caller = stack.standin.call(caller_sid)
    _until(lambda: any(text.startswith("The agent could not answer.") for text in caller.transcript.heard()))
    record = CallItem.get(caller_sid)
    assert (record.transfer_number, record.transferred_to_number, record.transfers) == (None, None, None)
    _hang_up(stack, caller)
    thread.join(timeout=60)
    assert stack.wait_quiet(timeout=30)
    assert stack.standin.application_errors() == []


def test_numbers_the_shop_does_not_list_are_refused_naming_to_number(stack: LocalStack, shop_api: ShopApi) -> None:
    thread, caller_sid, oleh_leg = _talking_with_oleh(stack, shop_api, "+380671260022")
    for body in (
        {"to_number": "+380671112233"},  # a number, but not the shop's
        {"to_number": "+448712345678"},  # premium rate, abroad
        {"to_number": WORKSHOP, "mode": "warm"},  # outside transfers are cold
    ):
        refused = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["fields"][0]["field"] == ("mode" if "mode" in body else "to_number")
    # the caller was never put on hold, nothing was dialled, and the call is still Oleh's
    assert _in_room(stack, caller_sid) == {caller_sid: False, oleh_leg.sid: False}
    _hang_up(stack, oleh_leg)
    thread.join(timeout=60)
    assert stack.wait_quiet(timeout=30)
    record = CallItem.get(caller_sid)
    assert (record.agent_id, record.transfers, record.transfer_number) == ("oleh", None, None)
