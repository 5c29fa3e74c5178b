"""The robot's last attempt ends while DynamoDB fails a write (#19, the CI soak): the status
callback gets a 5xx and Twilio never sends it again, yet the customer's order still ends
unreachable once the minute sweep asks Twilio about the call, and the customer is texted once.
The orders are written before the task's end: a task left dialing is swept, a finished one not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from chalice.test import Client
from pynamodb.exceptions import UpdateError

from chalicelib import wiring
from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.schema import DialTaskItem, OrderItem
from chalicelib.clock import FixedClock
from chalicelib.events import dialing
from chalicelib.services.ports import CallState
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import PUBLIC_BASE, StreamReader, post_order, signed_post

pytestmark = pytest.mark.integration

ORDER = {"order_number": "A-7", "phone": "067 123-45-67", "customer_name": "Olena", "total": "500"}
CUSTOMER = "+380671234567"


@pytest.fixture
def telephony(monkeypatch: pytest.MonkeyPatch) -> FakeTelephony:
    fake = FakeTelephony()
    monkeypatch.setattr(wiring, "telephony", lambda: fake)
    return fake


@contextmanager
def updates_failing(item_class: type[Any]) -> Iterator[None]:
    """Every update of that table fails meanwhile, as when DynamoDB is unreachable."""

    def fail(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise UpdateError("DynamoDB unreachable")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(item_class, "update", fail)
        yield


def busy(client: Client, telephony: FakeTelephony, sequence: str = "3") -> Any:
    """Twilio's final status callback of the last call placed: the customer's line was busy."""
    placed = telephony.placed[-1]
    sid = f"CA{len(telephony.placed):032x}"
    form = {"CallSid": sid, "From": placed["from_"], "To": CUSTOMER, "CallStatus": "busy", "SequenceNumber": sequence}
    return signed_post(client, placed["status_url"].removeprefix(PUBLIC_BASE), form)


def drain(client: Client, stream: StreamReader, function: str) -> None:
    event = stream.next_event()
    if event["Records"]:
        assert client.lambda_.invoke(function, event).payload == {"batchItemFailures": []}


def to_last_attempt(
    client: Client, clock: FixedClock, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony
) -> str:
    """The order's task on its third and last call (two busy calls before); the order's id."""
    order_id = post_order(client, ORDER).json_body["id"]
    drain(client, order_stream, "order_stream")
    drain(client, task_stream, "task_stream")
    for _ in range(2):
        assert busy(client, telephony).status_code == 204
        clock.advance(minutes=11)  # the shop retries a busy line after 10 minutes
        dialing.dial_due({})
    assert len(telephony.placed) == 3
    return order_id


@pytest.mark.parametrize("failing", [OrderItem, DialTaskItem], ids=["order-write-fails", "task-write-fails"])
def test_the_last_attempts_order_ends_unreachable_after_a_failed_write_and_one_text(
    client: Client,
    clock: FixedClock,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,
    failing: type[Any],
) -> None:
    order_id = to_last_attempt(client, clock, order_stream, task_stream, telephony)
    task_id = OrderItem.get(*order_keys("demo", order_id)).task_id
    with updates_failing(failing):
        assert busy(client, telephony).status_code >= 500  # Twilio does not send it again
    # The ending was not (fully) written: the task is still on its call, so the sweep sees it.
    assert DialTaskItem.get(task_id, consistent_read=True).state == "dialing"

    telephony.call_states[f"CA{3:032x}"] = CallState("busy", 0, None)  # what Twilio says of the call
    clock.advance(minutes=11)
    dialing.dial_due({})
    drain(client, order_stream, "order_stream")
    assert busy(client, telephony, sequence="4").status_code == 204  # a late copy changes nothing
    dialing.dial_due({})
    drain(client, order_stream, "order_stream")

    order = OrderItem.get(*order_keys("demo", order_id), consistent_read=True)
    task = DialTaskItem.get(task_id, consistent_read=True)
    assert (order.status, task.state, task.result, task.attempts) == ("unreachable", "failed", "unreachable", 3)
    assert [text["to"] for text in telephony.texts] == [CUSTOMER]  # asked to confirm by text, once
    assert "A-7" in telephony.texts[0]["body"]
