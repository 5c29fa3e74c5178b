"""The customer's own words decide only what they were asked (O7, O10), through the local stack
and the Twilio stand-in:

- key 3 on the robot's call ("talk to an agent") makes the order agent work at once: route
  ``agent``, the agent queue, the timeline and the shop's CRM; the customer hears what happens
  next, and an agent does call;
- a text "1" or "2 <order number>" decides only the orders the robot or a text asked about; an order that
  waits for a person stays as it is, the customer is told so, and the text is on the timeline.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.schema import DialTaskItem, OrderItem
from chalicelib.services.admin import create_shop
from chalicelib.wiring import repository
from devtools.crm_receiver import CrmReceiver
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, Callee, CallerScript, Press, Silence
from tests.e2e.conftest import ShopApi
from tests.e2e.test_agent_dialer import OLEH, SHOP, legs_to, set_status, tick_until_called

SECRET = "e2e-robot-texts-secret"


@pytest.fixture(scope="module")
def crm(stack: LocalStack) -> Iterator[CrmReceiver]:
    os.environ["CRM_SECRET_ROBOT_TEXTS_CRM"] = SECRET  # the stack restores the environment
    with CrmReceiver(SECRET.encode(), answers=[200]) as receiver:
        shop = repository().get_shop("demo")
        assert shop is not None
        settings = shop.model_dump(mode="json") | {"crm": {"url": receiver.url, "secret_name": "robot-texts-crm"}}
        create_shop(settings, store=repository(), now=stack.options.clock.now())
        yield receiver


def timeline(shop_api: ShopApi, phone: str) -> list[dict[str, Any]]:
    """As the shop's back office reads it (its key): an agent's token reads only the customers
    of the agent's own calls, and these customers still wait for one."""
    response = shop_api.session.post(f"{shop_api.base_url}/v1/customers/timeline", json={"phone": phone}, timeout=15)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def crm_events(crm: CrmReceiver, order_id: str) -> list[dict[str, Any]]:
    return [r.json() for r in crm.delivered() if r.json()["data"].get("order_id") == order_id]


# ---- item 1: key 3 on the robot's call ------------------------------------------------------------
def test_key_3_on_the_robots_call_hands_the_order_to_an_agent_who_calls_back(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock, crm: CrmReceiver
) -> None:
    # GIVEN an ordinary order for the robot, and no agent free yet
    customer = "+380671260001"
    set_status(shop_api, "oleh", "offline")
    set_status(shop_api, "anna", "offline")
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, script=CallerScript([Press("3")])))
    order_id = shop_api.post_order(
        {"order_number": "R3-1", "phone": customer, "customer_name": "Marta", "total": "640"}, key="r3-1"
    ).json()["id"]

    # WHEN the customer presses 3 on the robot's call
    assert stack.wait_quiet(timeout=60)

    # THEN they hear that an agent will call them back, and the order is agent work at once
    [robot] = legs_to(stack, customer)
    heard = robot.transcript.heard()
    assert heard[-1] == (
        "Ми передали ваше замовлення оператору: він зателефонує вам з цього номера, щойно звільниться. До побачення!"
    )
    assert robot.transcript.application_errors == []
    order = shop_api.order(order_id)
    assert (order["status"], order["route"], order["route_reason"]) == (
        "queued",
        "agent",
        "the customer asked for an agent",
    )
    task = DialTaskItem.get(str(OrderItem.get(*order_keys("demo", order_id)).task_id))
    assert (task.kind, task.state, task.queue_key, task.attempts) == ("agent", "queued", "demo#agent", 0)
    [entry] = [e for e in timeline(shop_api, customer) if e["type"] == "order"]
    assert (entry["route"], entry["route_reason"]) == ("agent", "the customer asked for an agent")
    [call_entry] = [e for e in timeline(shop_api, customer) if e["type"] == "call"]
    assert call_entry["result"] == "agent"
    for _ in range(20):
        if crm_events(crm, order_id):
            break
        time.sleep(0.2)
    [event] = crm_events(crm, order_id)
    assert event["type"] == "order.route_changed"
    assert {k: event["data"][k] for k in ("order_number", "status", "route", "previous_route", "route_reason")} == {
        "order_number": "R3-1",
        "status": "queued",
        "route": "agent",
        "previous_route": "robot",
        "route_reason": "the customer asked for an agent",
    }
    # no robot calls again, however long it waits
    clock.advance(timedelta(minutes=40))
    time.sleep(0.3)
    assert stack.wait_quiet(timeout=30)
    assert len(legs_to(stack, customer)) == 1

    # WHEN Oleh becomes available
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, talk_seconds=20))
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=30))
    set_status(shop_api, "oleh", "available")
    agent_leg = tick_until_called(stack, clock, OLEH)

    # THEN he hears whom he calls about what, and the customer is called from the shop's number
    assert "Вихідний дзвінок для Kvitka Flowers: Marta, замовлення R3-1. Натисніть 1, щоб зателефонувати клієнту." in (
        agent_leg.transcript.heard()
    )
    assert [(leg.from_, leg.status) for leg in legs_to(stack, customer)] == [(SHOP, "completed"), (SHOP, "completed")]
    assert stack.standin.application_errors() == []
    set_status(shop_api, "oleh", "offline")


def test_a_text_after_key_3_is_left_for_the_agent_the_customer_asked_for(stack: LocalStack, shop_api: ShopApi) -> None:
    # GIVEN a customer who pressed 3 on the robot's call
    customer = "+380671260006"
    set_status(shop_api, "oleh", "offline")
    set_status(shop_api, "anna", "offline")
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, script=CallerScript([Press("3")])))
    order_id = shop_api.post_order({"order_number": "R3-3", "phone": customer, "total": "150"}).json()["id"]
    assert stack.wait_quiet(timeout=60)
    # WHEN they text "2" while waiting for the agent
    [reply] = stack.standin.send_inbound_sms(from_=customer, to=SHOP, body="2")
    assert stack.wait_quiet(timeout=30)
    # THEN the order waits for the agent, who reads the text on the timeline
    assert (
        reply.body == "Kvitka Flowers: щодо замовлення R3-3 вам зателефонує оператор; ваше повідомлення передано йому."
    )
    order = shop_api.order(order_id)
    assert (order["status"], order["route"]) == ("queued", "agent")
    assert DialTaskItem.get(str(OrderItem.get(*order_keys("demo", order_id)).task_id)).queue_key == "demo#agent"
    [text] = [e for e in timeline(shop_api, customer) if e["type"] == "sms"]
    assert (text["body"], text["intent"], text["order_ids"], text["left_open"]) == ("2", "cancel", [], [order_id])


def test_a_text_after_the_robot_read_the_order_out_decides_it_and_no_call_follows(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN a customer who hears the robot, stays silent, and cancels by text before the retry
    customer = "+380671260002"
    stack.standin.set_callee(
        customer, Callee(answer="human", ring_seconds=2, script=CallerScript([Silence(), Silence()]))
    )
    order_id = shop_api.post_order({"order_number": "R3-2", "phone": customer, "total": "210"}).json()["id"]
    assert stack.wait_quiet(timeout=60)
    [reply] = stack.standin.send_inbound_sms(from_=customer, to=SHOP, body="2 R3-2")
    assert reply.body == "Kvitka Flowers: замовлення R3-2 скасовано."
    assert stack.wait_quiet(timeout=30)

    # THEN no call and no agent work follow: the order is cancelled and its task is done
    clock.advance(timedelta(minutes=40))
    time.sleep(0.3)
    assert stack.wait_quiet(timeout=30)
    assert len(legs_to(stack, customer)) == 1
    order = shop_api.order(order_id)
    assert (order["status"], order["route"]) == ("cancelled", "robot")
    assert DialTaskItem.get(str(OrderItem.get(*order_keys("demo", order_id)).task_id)).state == "done"


# ---- item 2: text replies ---------------------------------------------------------------------
def test_an_unprompted_1_does_not_confirm_an_order_that_waits_for_a_person(
    stack: LocalStack, shop_api: ShopApi, crm: CrmReceiver
) -> None:
    # GIVEN a 25,000 UAH order with an item out of stock: it waits for an agent's call
    customer = "+380671260003"
    set_status(shop_api, "oleh", "offline")
    set_status(shop_api, "anna", "offline")
    order_id = shop_api.post_order(
        {"order_number": "BIG-1", "phone": customer, "total": "25000", "in_stock": False}, key="big-1"
    ).json()["id"]
    assert stack.wait_quiet(timeout=60)
    assert shop_api.order(order_id)["route"] == "agent"

    # WHEN the customer texts "1" without being asked, and later "2"
    [yes] = stack.standin.send_inbound_sms(from_=customer, to=SHOP, body="1")
    [no] = stack.standin.send_inbound_sms(from_=customer, to=SHOP, body="2")
    assert stack.wait_quiet(timeout=30)

    # THEN the order is unchanged, still waits for the agent, and the customer is told so
    expected = "Kvitka Flowers: щодо замовлення BIG-1 вам зателефонує оператор; ваше повідомлення передано йому."
    assert yes.body == no.body == expected
    order = shop_api.order(order_id)
    assert (order["status"], order["route"], order["decided_at"]) == ("queued", "agent", None)
    task = DialTaskItem.get(str(OrderItem.get(*order_keys("demo", order_id)).task_id))
    assert (task.kind, task.state) == ("agent", "queued")
    # the texts are on the timeline for the agent, marked as left to them
    texts = [e for e in timeline(shop_api, customer) if e["type"] == "sms"]
    assert [(t["body"], t["intent"], t["order_ids"], t["left_open"]) for t in texts] == [
        ("2", "cancel", [], [order_id]),
        ("1", "confirm", [], [order_id]),
    ]
    assert crm_events(crm, order_id) == []


def test_a_1_confirms_the_order_the_robot_asked_about_but_not_the_one_waiting_for_a_person(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN a robot order the customer heard read out (and did not answer), and an order of
    # theirs that needs a call
    customer = "+380671260004"
    stack.standin.set_callee(
        customer, Callee(answer="human", ring_seconds=2, script=CallerScript([Silence(), Silence()]))
    )
    asked = shop_api.post_order({"order_number": "ASK-1", "phone": customer, "total": "300"}).json()["id"]
    assert stack.wait_quiet(timeout=60)
    [robot] = legs_to(stack, customer)
    assert "Ви оформили замовлення номер ASK-1 на суму 300 гривень." in robot.transcript.heard()
    waiting = shop_api.post_order(
        {"order_number": "ASK-2", "phone": customer, "total": "400", "needs_call": True}
    ).json()["id"]
    assert stack.wait_quiet(timeout=60)

    # WHEN they text "1"
    replies = stack.standin.send_inbound_sms(from_=customer, to=SHOP, body="1")
    assert stack.wait_quiet(timeout=30)

    # THEN the robot's order is confirmed, the other still waits for its agent, and they read both
    assert [reply.body for reply in replies] == [
        "Kvitka Flowers: замовлення ASK-1 підтверджено. Дякуємо!",
        "Kvitka Flowers: щодо замовлення ASK-2 вам зателефонує оператор; ваше повідомлення передано йому.",
    ]
    assert shop_api.order(asked)["status"] == "confirmed"
    assert (shop_api.order(waiting)["status"], shop_api.order(waiting)["route"]) == ("queued", "agent")
    [text] = [e for e in timeline(shop_api, customer) if e["type"] == "sms" and e["body"] == "1"]
    assert (text["order_ids"], text["left_open"]) == ([asked], [waiting])


def test_an_unprompted_yes_before_anyone_heard_the_robot_decides_nothing(stack: LocalStack, shop_api: ShopApi) -> None:
    # GIVEN a robot order whose first call nobody answered
    customer = "+380671260005"
    stack.standin.set_callee(customer, Callee(answer="no-answer", ring_seconds=2))
    order_id = shop_api.post_order({"order_number": "EARLY-1", "phone": customer, "total": "90"}).json()["id"]
    assert stack.wait_quiet(timeout=60)
    [call] = legs_to(stack, customer)  # not answered: nobody heard the robot
    assert call.status == "no-answer"

    # WHEN the customer texts "yes"
    [reply] = stack.standin.send_inbound_sms(from_=customer, to=SHOP, body="yes")

    # THEN the order still waits for its call, and the reply says so
    assert reply.body == "Kvitka Flowers: щодо замовлення EARLY-1 ми вам зателефонуємо; ваше повідомлення збережено."
    assert shop_api.order(order_id)["status"] == "queued"
