"""Inbound callers and customer-first calls share the agents (O8, I8), through the local stack
and the Twilio stand-in: an inbound caller who reaches the queue while a customer-first call
rings for the only free agent waits; the customer who answers is bridged to that agent, not
dropped; and the caller gets the agent once the customer's call is over."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chalicelib.adapters.dynamo.schema import CallItem, DialerDayItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from chalicelib.clock import wall_now
from chalicelib.domain.queue import QueueEntry
from chalicelib.wiring import repository
from devtools.simclock import SimClock
from devtools.stack import LocalStack, StackOptions
from devtools.twilio_standin import AgentBehaviour, Callee, CallerScript, CallLeg, Press
from devtools.twilio_standin.transcript import Transcript
from tests.e2e.conftest import MONDAY_NOON_KYIV, ShopApi
from tests.e2e.test_predictive_dialer import talked_in_own_room
from tests.storage_stamps import assert_ttl_stamped_by_the_wall_clock

SHOP = "+380441234567"
ANNA = "+380501112233"
CUSTOMER = "+380671260001"
CALLER = "+380631260001"
# Virtual call seconds per real second: the customer's phone rings long enough (28 s, within the
# 30 s ring timeout) for a caller to pass the language menu and reach the queue meanwhile.
STANDIN_SPEED = 2.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    clock = SimClock(MONDAY_NOON_KYIV, speed=1.0)
    outbox = tmp_path_factory.mktemp("outbox")
    options = StackOptions(clock=clock, outbox_dir=Path(outbox), standin_speed=STANDIN_SPEED)
    started = wall_now()
    with LocalStack(options) as local:
        shop = repository().get_shop("demo")
        assert shop is not None
        predictive = shop.dialing.model_copy(update={"agent_pacing": "predictive"})
        inbound = shop.inbound.model_copy(update={"wrap_up_seconds": 0})
        repository().save_shop(shop.model_copy(update={"dialing": predictive, "inbound": inbound}), clock.now())
        yield local
        assert_ttl_stamped_by_the_wall_clock(local.dynamodb.client("dynamodb"), started)


def _until(condition: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _entry(phone: str) -> QueueEntry | None:
    return next((e for e in dynamo_store().queue_entries("demo", "sales") if e.phone == phone), None)


def _legs_to(stack: LocalStack, address: str) -> list[CallLeg]:
    return [leg for leg in stack.standin.calls if leg.to == address]


def test_a_caller_who_queues_while_a_customer_rings_waits_and_the_customer_is_not_dropped(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN Anna is the only agent available, and a customer whose phone rings 28 s before a person answers
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=20))
    stack.standin.set_callee(CUSTOMER, Callee(answer="human", ring_seconds=28, talk_seconds=20))
    response = shop_api.session.put(
        f"{shop_api.base_url}/v1/agents/anna/status", json={"status": "available"}, timeout=15
    )
    assert response.status_code == 200, response.text
    # WHEN an order that needs an agent comes in: the customer is called first
    body = {"order_number": "BL-1", "phone": CUSTOMER, "customer_name": "Olena", "total": "900", "needs_call": True}
    assert shop_api.post_order(body, key="blending-BL-1").status_code == 201
    _until(lambda: _legs_to(stack, CUSTOMER))
    # AND while the customer's phone rings, a caller picks Ukrainian and reaches the queue
    heard: dict[str, Transcript] = {}

    def call() -> None:
        heard["caller"] = stack.standin.place_inbound_call(CALLER, SHOP, CallerScript([Press("1")]))

    caller = threading.Thread(target=call)
    caller.start()
    _until(lambda: _entry(CALLER) is not None)
    [customer_leg] = _legs_to(stack, CUSTOMER)
    assert customer_leg.answered_by is None, "the customer answered before the caller queued: no race to test"
    # THEN the customer who answers is bridged to Anna: no apology, no drop
    _until(lambda: customer_leg.status == "completed")
    assert talked_in_own_room(customer_leg), "the customer never talked to an agent in the call's conference"
    assert not any("Вибачте" in line for line in customer_leg.transcript.heard())
    record = CallItem.get(customer_leg.sid)
    assert (record.result, record.agent_id) == ("agent-talked", "anna")
    day = DialerDayItem.get("demo", "2015-11-23", consistent_read=True)
    assert (int(day.live_answers), int(day.drops or 0)) == (1, 0)
    # AND Anna's first call was the customer's; the caller got her after that call
    caller.join(timeout=120)
    assert not caller.is_alive()
    anna_legs = _legs_to(stack, ANNA)
    assert len(anna_legs) == 2 and anna_legs[0].parent_call_sid is None  # the app's own leg (#17)
    assert any(customer_leg.sid in hook.data["url"] for hook in anna_legs[0].transcript.webhooks())
    # the caller's agent leg is the app's own, into the caller's conference (#17): its webhooks name the call
    assert any(heard["caller"].call_sid in hook.data["url"] for hook in anna_legs[1].transcript.webhooks())
    assert stack.wait_quiet(timeout=60)
    inbound_record = CallItem.get(heard["caller"].call_sid)
    assert (inbound_record.result, inbound_record.agent_id) == ("agent", "anna")
    assert stack.standin.application_errors() == []
