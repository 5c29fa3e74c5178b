"""The shop's CRM push (A6) through the local stack: an agent-dialed call answered by a simulated
agent, the agent's outcome posted over HTTP, the order confirmed, and the shop's CRM (a small
receiver on loopback that fails the first request) getting each event signed, once accepted,
after the retry schedule tries it again. The outbox stream and the ``crm_retry`` schedule run
as the local stack's poller and scheduler deliver them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from chalicelib.adapters.dynamo.schema import CrmEventItem
from chalicelib.clock import wall_now
from chalicelib.domain.crm import verify_signature
from chalicelib.services.admin import create_shop
from chalicelib.wiring import repository
from devtools.crm_receiver import CrmReceiver
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, Callee
from tests.e2e.conftest import ShopApi
from tests.e2e.test_agent_dialer import ANNA, OLEH, SHOP, legs_to, set_status, tick_until_called

SECRET = "e2e-crm-secret"

# The demo agents' desk tokens (config/demo.toml, local only).
AGENT_TOKENS = {"anna": "demo-agent-anna-0001", "oleh": "demo-agent-oleh-0001"}


@pytest.fixture
def crm(stack: LocalStack, clock: SimClock) -> Iterator[CrmReceiver]:
    # The secret as a deployment passes it (CRM_SECRET_<NAME>); the stack restores the
    # environment when it stops.
    os.environ["CRM_SECRET_KVITKA_CRM"] = SECRET
    with CrmReceiver(SECRET.encode(), answers=[503, 200]) as receiver:  # a real clock, as a CRM has
        shop = repository().get_shop("demo")
        assert shop is not None
        settings = shop.model_dump(mode="json") | {"crm": {"url": receiver.url, "secret_name": "kvitka-crm"}}
        create_shop(settings, store=repository(), now=clock.now())
        yield receiver


def test_an_agents_outcome_reaches_the_crm_signed_after_a_failed_first_try(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock, crm: CrmReceiver
) -> None:
    # GIVEN an order that needs a call, answered by Oleh and the customer
    customer = "+380671250001"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, talk_seconds=20))
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=30))
    created = shop_api.post_order(
        {
            "order_number": "CRM-1",
            "phone": "067 125 00 01",
            "customer_name": "Iryna",
            "total": "700",
            "needs_call": True,
        },
        key="crm-e2e-1",
    )
    assert created.status_code == 201
    order_id = created.json()["id"]
    set_status(shop_api, "oleh", "available")
    agent_leg = tick_until_called(stack, clock, OLEH)
    assert [leg.status for leg in legs_to(stack, customer)] == ["completed"]

    # WHEN Oleh records "confirmed"
    saved = shop_api.session.post(
        f"{shop_api.base_url}/v1/calls/{agent_leg.sid}/outcome",
        json={"agent_id": "oleh", "outcome": "confirmed", "comment": "deliver after 18:00"},
        headers={"Authorization": f"Bearer {AGENT_TOKENS['oleh']}"},  # the agent's own desk token
        timeout=15,
    )
    assert saved.status_code == 201, saved.text
    assert stack.wait_quiet(timeout=60)

    # THEN the order is confirmed, and the CRM's first answer (503) left an event to retry
    assert shop_api.order(order_id)["status"] == "confirmed"
    assert [r.answered for r in crm.received][:1] == [503]
    events = {record.kind: record for record in CrmEventItem.scan()}
    assert set(events) == {"call.outcome", "order.status_changed"}

    # WHEN the retry schedule comes round (a minute or two on the stack's clock)
    for _ in range(10):
        if len(crm.delivered()) == 2:
            break
        clock.advance(timedelta(minutes=1))
        time.sleep(0.3)
        stack.wait_quiet(timeout=30)

    # THEN the CRM accepted each event once, correctly signed, with the same body it was
    # first offered, and the outbox says delivered
    delivered = {r.event_id: r for r in crm.delivered()}
    assert set(delivered) == {event.event_id for event in events.values()}
    assert all(r.signature_ok for r in crm.received)
    first_try = crm.received[0]
    assert delivered[first_try.event_id].body == first_try.body
    outcome = delivered[events["call.outcome"].event_id].json()
    assert outcome["data"] | {"saved_at": None} == {
        "call_sid": agent_leg.sid,
        "agent_id": "oleh",
        "handled_by": ["oleh"],
        "outcome": "confirmed",
        "comment": "deliver after 18:00",
        "callback_at": None,
        "phone": customer,
        "orders": [{"id": order_id, "order_number": "CRM-1"}],
        "saved_at": None,
        "corrects": None,
    }
    change = delivered[events["order.status_changed"].event_id].json()
    assert (change["data"]["order_number"], change["data"]["status"], change["data"]["previous_status"]) == (
        "CRM-1",
        "confirmed",
        "queued",
    )
    for received in delivered.values():
        verify_signature(received.signature, received.body, SECRET.encode(), wall_now())
    assert {CrmEventItem.get(e.event_id).state for e in events.values()} == {"delivered"}
    assert stack.standin.application_errors() == []
    assert agent_leg.from_ == SHOP


def test_needs_a_manager_saved_twice_is_one_email_and_one_crm_event(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock, crm: CrmReceiver
) -> None:
    # GIVEN a call Anna took for an order that needs a call (Oleh away), the CRM answering 200
    crm.answer_with(200)
    before = len(crm.received)
    set_status(shop_api, "oleh", "offline")
    customer = "+380671250002"
    stack.standin.set_callee(customer, Callee(answer="human", ring_seconds=2, talk_seconds=20))
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=30))
    created = shop_api.post_order(
        {
            "order_number": "CRM-2",
            "phone": "067 125 00 02",
            "customer_name": "Taras",
            "total": "450",
            "needs_call": True,
        },
        key="crm-e2e-2",
    )
    assert created.status_code == 201
    set_status(shop_api, "anna", "available")
    agent_leg = tick_until_called(stack, clock, ANNA)

    # WHEN she asks for a manager, and her browser sends it twice
    body = {"agent_id": "anna", "outcome": "needs_manager", "comment": "wants to change the bouquet"}
    url = f"{shop_api.base_url}/v1/calls/{agent_leg.sid}/outcome"
    desk = {"Authorization": f"Bearer {AGENT_TOKENS['anna']}"}
    answers = [shop_api.session.post(url, json=body, headers=desk, timeout=15) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 200]
    assert stack.wait_quiet(timeout=60)

    # THEN the managers have one email in the outbox, and the CRM one event
    emails = [m for m in stack.ses.messages() if "потребує менеджера" in str(m.message["Subject"])]
    assert len(emails) == 1
    assert emails[0].destinations == ("owner@kvitka.example",)
    text = emails[0].message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    for expected in ("CRM-2", "Taras", customer, "wants to change the bouquet"):
        assert expected in text
    new = crm.received[before:]
    assert [(r.json()["type"], r.json()["data"]["outcome"], r.answered) for r in new] == [
        ("call.outcome", "needs_manager", 200)
    ]
    assert new[0].signature_ok
