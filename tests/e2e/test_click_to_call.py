"""Click-to-call (I12, issue 17): ``POST /v1/agent/calls`` with the agent's token rings the
agent first, then the customer with the shop's caller ID, under the rules of every dial; a
double click is one call; refusals name the rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from chalicelib.adapters.dynamo.schema import AgentItem, CallItem
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, Callee
from tests.e2e.conftest import ShopApi

SHOP_NUMBER = "+380441234567"  # the demo shop's caller ID
OLEH = "client:oleh"
OLEH_TOKEN = "demo-agent-oleh-0001"  # config/demo.toml


@pytest.fixture(autouse=True)
def oleh_available(stack: LocalStack, shop_api: ShopApi) -> Iterator[None]:
    for agent_id in ("anna", "oleh"):
        AgentItem("demo", agent_id).update(
            actions=[AgentItem.status.set("offline"), AgentItem.reserved_call_sid.remove()]
        )
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=30))
    _status(shop_api, "oleh", "available")
    yield


def _status(shop_api: ShopApi, agent_id: str, status: str) -> None:
    response = shop_api.session.put(
        f"{shop_api.base_url}/v1/agents/{agent_id}/status", json={"status": status}, timeout=15
    )
    assert response.status_code == 200, response.text


def _click(
    stack: LocalStack, body: dict[str, Any], key: str | None = None, token: str = OLEH_TOKEN
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(f"{stack.api_url}/v1/agent/calls", json=body, headers=headers, timeout=30)


def _calls_to(stack: LocalStack, number: str) -> list[str]:
    return [leg.sid for leg in stack.standin.calls if leg.to == number]


def test_an_agent_calls_a_customer_agent_first_and_a_double_click_is_one_call(stack: LocalStack) -> None:
    # GIVEN a customer who answers
    customer = "+380671237001"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, talk_seconds=20))
    offers_before = len(_calls_to(stack, OLEH))

    # WHEN Oleh clicks "Call" twice with one key, the number as a person types it
    first = _click(stack, {"phone": "067 123 70 01"}, key="click-7001")
    second = _click(stack, {"phone": "067 123 70 01"}, key="click-7001")

    # THEN one call: Oleh rang first, then the customer, from the shop's number
    assert first.status_code == second.status_code == 202, first.text
    placed, repeat = first.json(), second.json()
    assert placed["call_sid"] and not placed["repeated"]
    assert (repeat["task_id"], repeat["call_sid"], repeat["repeated"]) == (placed["task_id"], placed["call_sid"], True)
    assert stack.wait_quiet(timeout=60)
    assert len(_calls_to(stack, OLEH)) == offers_before + 1
    [customer_leg] = [leg for leg in stack.standin.calls if leg.to == customer]
    assert customer_leg.from_ == SHOP_NUMBER and customer_leg.parent_call_sid is None  # the app's own leg (#17)
    joined = [
        e.data["conference"] for e in customer_leg.transcript.of_kind("conference") if e.data.get("event") == "join"
    ]
    assert joined == [placed["call_sid"]]  # the room named for the call, where Oleh waited
    record = CallItem.get(placed["call_sid"])
    assert (record.agent_id, record.customer_phone, record.result) == ("oleh", customer, "agent-talked")
    assert record.customer_call_sid == customer_leg.sid


def test_the_same_number_clicked_twice_in_a_minute_without_a_key_is_one_call(stack: LocalStack) -> None:
    customer = "+380671237002"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, talk_seconds=10))

    first, second = _click(stack, {"phone": customer}), _click(stack, {"phone": customer})

    assert first.status_code == second.status_code == 202
    assert first.json()["call_sid"] == second.json()["call_sid"] and second.json()["repeated"]
    assert stack.wait_quiet(timeout=60)
    assert len([leg for leg in stack.standin.calls if leg.to == customer]) == 1


def test_refusals_name_their_rule_and_ring_nobody(stack: LocalStack, shop_api: ShopApi) -> None:
    # GIVEN a customer on the do-not-call list
    blocked = "+380671237003"
    response = shop_api.session.post(f"{shop_api.base_url}/v1/do-not-call", json={"phone": blocked}, timeout=15)
    assert response.status_code in (200, 201, 204), response.text
    offers_before = len(_calls_to(stack, OLEH))

    # WHEN Oleh clicks for them, an unknown order, a number abroad, a number that is no number
    refusals = {
        "do-not-call": _click(stack, {"phone": blocked}),
        "unknown order": _click(stack, {"order_id": "no-such-order"}),
        "abroad": _click(stack, {"phone": "+12125550123"}),
        "not a number": _click(stack, {"phone": "call me"}),
        "both": _click(stack, {"phone": blocked, "order_id": "x"}),
        "shop key": _click(stack, {"phone": "+380671237004"}, token="demo-shop-key-0001"),
    }

    # THEN each is refused in the house form naming why, and nobody was rung
    got = {name: (r.status_code, r.json()["error"]) for name, r in refusals.items()}
    assert got == {
        "do-not-call": (409, "do_not_call"),
        "unknown order": (404, "unknown_order"),
        "abroad": (422, "number_refused"),
        "not a number": (422, "validation_failed"),
        "both": (422, "validation_failed"),
        "shop key": (401, got["shop key"][1]),
    }
    assert "do-not-call" in refusals["do-not-call"].json()["message"]
    assert refusals["unknown order"].json()["fields"] == [
        {"field": "order_id", "message": refusals["unknown order"].json()["message"]}
    ]
    assert len(_calls_to(stack, OLEH)) == offers_before
    assert not [leg for leg in stack.standin.calls if leg.to in (blocked, "+12125550123")]


def test_an_agent_not_available_cannot_place_a_call(stack: LocalStack, shop_api: ShopApi) -> None:
    _status(shop_api, "oleh", "break")

    refused = _click(stack, {"phone": "+380671237005"})

    assert (refused.status_code, refused.json()["error"]) == (409, "agent_not_available")
    assert not [leg for leg in stack.standin.calls if leg.to == "+380671237005"]


def test_outside_calling_hours_the_call_is_refused_with_when_it_may_start(stack: LocalStack, clock: SimClock) -> None:
    # GIVEN 23:00 in Kyiv (the last test of the module: the clock never goes back)
    clock.advance(timedelta(hours=11))

    refused = _click(stack, {"phone": "+380671237006"})

    assert (refused.status_code, refused.json()["error"]) == (409, "outside_calling_hours")
    assert "calls may start at" in refused.json()["message"]
    assert not [leg for leg in stack.standin.calls if leg.to == "+380671237006"]
