"""Toll fraud through the phone (issue 18): a caller whose caller ID is a premium-rate number
(or any number the shop never calls) gets no callback, neither asked for nor after hanging up
in the queue; they are told this number cannot be called back. Through the local stack and the
Twilio stand-in, as the caller hears it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from chalicelib.adapters.dynamo.schema import AgentItem, CallItem, DialTaskItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import CallerScript, HangUp, Press

SHOP = "+380441234567"
UK_PREMIUM = "+449098765432"


@pytest.fixture(autouse=True)
def agents_busy(stack: LocalStack, clock: SimClock) -> Iterator[None]:
    """Anna on a call, Oleh offline, nobody queued: a caller waits and hears the estimate."""
    store = dynamo_store()
    for entry in store.queue_entries("demo", "sales"):
        store.remove_queue_entry("demo", "sales", entry.queued_at, entry.ref)
    for due in store.due_tasks("demo", "callback", clock.now() + timedelta(days=365), 100):
        DialTaskItem(due.task_id).update(actions=[DialTaskItem.queue_key.remove(), DialTaskItem.state.set("done")])
    AgentItem("demo", "oleh").update(actions=[AgentItem.status.set("offline"), AgentItem.reserved_call_sid.remove()])
    AgentItem("demo", "anna").update(actions=[AgentItem.status.set("busy"), AgentItem.reserved_call_sid.remove()])
    yield
    AgentItem("demo", "anna").update(actions=[AgentItem.status.set("offline")])


def callback_tasks_for(phone: str) -> list[DialTaskItem]:
    return [task for task in DialTaskItem.scan() if task.kind == "callback" and task.phone == phone]


def test_a_premium_rate_caller_who_hangs_up_in_the_queue_gets_no_callback_and_no_call(stack: LocalStack) -> None:
    # WHEN a caller with a UK premium-rate caller ID picks English, waits, and hangs up
    transcript = stack.standin.place_inbound_call(UK_PREMIUM, SHOP, CallerScript([Press("3"), HangUp()]))

    # THEN they were queued like anyone, but never offered a callback
    heard = transcript.heard()
    assert transcript.application_errors == []
    assert any(text.startswith("You are number 1 in line. The estimated wait") for text in heard)
    assert not any("called back" in text or "call you back" in text for text in heard)
    assert stack.wait_quiet(timeout=30)

    # AND hanging up left no callback task, nothing in the queue, and no call to the number
    record = CallItem.get(transcript.call_sid)
    assert record.customer_phone == UK_PREMIUM and record.wait_seconds  # it left the queue by hanging up
    assert record.callback_task_id is None
    assert callback_tasks_for(UK_PREMIUM) == []
    assert [e for e in dynamo_store().queue_entries("demo", "sales") if e.phone == UK_PREMIUM] == []
    assert [leg for leg in stack.standin.calls if leg.to == UK_PREMIUM] == []


def test_a_caller_the_shop_may_call_back_still_gets_the_callback_after_hanging_up(stack: LocalStack) -> None:
    transcript = stack.standin.place_inbound_call("+380671230077", SHOP, CallerScript([Press("3"), HangUp()]))
    assert transcript.application_errors == []
    assert stack.wait_quiet(timeout=30)
    record = CallItem.get(transcript.call_sid)
    assert record.callback_task_id is not None
    assert [task.task_id for task in callback_tasks_for("+380671230077")] == [record.callback_task_id]


def test_after_hours_a_premium_rate_caller_is_told_this_number_cannot_be_called_back(
    stack: LocalStack, clock: SimClock
) -> None:
    store = dynamo_store()
    shop = store.get_shop("demo")
    assert shop is not None
    closed = shop.business_hours.model_copy(update={"always_open": False, "weekly": {}})
    store.save_shop(shop.model_copy(update={"business_hours": closed}), clock.now())
    try:
        transcript = stack.standin.place_inbound_call(UK_PREMIUM, SHOP, CallerScript([Press("3"), Press("1")]))
    finally:
        current = store.get_shop("demo")
        assert current is not None
        store.save_shop(current.model_copy(update={"business_hours": shop.business_hours}), clock.now())
    heard = transcript.heard()
    assert transcript.application_errors == []
    assert heard[-1] == (
        "We are closed right now, and we cannot call this number back. "
        "Please call again during our opening hours. Goodbye."
    )
    assert stack.wait_quiet(timeout=30)
    assert CallItem.get(transcript.call_sid).callback_task_id is None
    assert callback_tasks_for(UK_PREMIUM) == []
