"""A stream batch's lanes (#19 ingest): records sharing a key (an order, a customer) are handled
one after the other in stream order, separate lanes at the same time, and only failed records
are reported back."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

import pytest

from chalicelib.events.batch import lane_groups, process_stream
from chalicelib.events.orders import order_lanes
from devtools.stream_poller import LambdaContext


def stream_record(sequence: int, order_id: str, phone: str, *, old_phone: str | None = None) -> dict[str, Any]:
    dynamodb: dict[str, Any] = {
        "SequenceNumber": str(sequence),
        "Keys": {"order_key": {"S": "demo#0"}, "order_id": {"S": order_id}},
        "NewImage": {"order_id": {"S": order_id}, "phone": {"S": phone}},
    }
    if old_phone:
        dynamodb["OldImage"] = {"order_id": {"S": order_id}, "phone": {"S": old_phone}}
    return {"eventID": f"ev{sequence}", "eventName": "MODIFY" if old_phone else "INSERT", "dynamodb": dynamodb}


def orders_of(groups: list[list[dict[str, Any]]]) -> list[list[str]]:
    return [[r["dynamodb"]["Keys"]["order_id"]["S"] for r in group] for group in groups]


def test_an_orders_records_and_a_customers_orders_share_a_lane_in_stream_order() -> None:
    batch = [
        stream_record(1, "o1", "+380671110001"),
        stream_record(2, "o2", "+380671110002"),
        stream_record(3, "o3", "+380671110001"),  # o1's customer again
        stream_record(4, "o4", "+380671110004"),
        stream_record(5, "o2", "+380671110005", old_phone="+380671110002"),  # o2 moved to a new phone...
        stream_record(6, "o5", "+380671110005"),  # ... which this order has
    ]
    assert orders_of(lane_groups(batch, order_lanes)) == [["o1", "o3"], ["o2", "o2", "o5"], ["o4"]]


def test_separate_lanes_are_handled_at_the_same_time() -> None:
    # Each customer's record waits for the other's to start: one after the other, both would fail.
    started = threading.Barrier(2, timeout=10)
    batch = {"Records": [stream_record(1, "o1", "+380671110001"), stream_record(2, "o2", "+380671110002")]}

    def handler(record: Any) -> None:
        started.wait()

    assert process_stream(batch, LambdaContext("order_stream"), handler, lanes=order_lanes) == {"batchItemFailures": []}


def test_a_failed_record_is_reported_alone_and_a_batch_failing_whole_fails_the_invocation() -> None:
    handled: list[str] = []
    batch = {"Records": [stream_record(1, "o1", "+380671110001"), stream_record(2, "o2", "+380671110002")]}

    def handler(record: Any) -> None:
        order_id = record.dynamodb.keys["order_id"]
        handled.append(order_id)
        if order_id == "o2":
            raise LookupError("the order is not there yet")

    answer = process_stream(batch, LambdaContext("order_stream"), handler, lanes=order_lanes)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert sorted(handled) == ["o1", "o2"]

    def failing(record: Any) -> None:
        raise LookupError("nothing there")

    with pytest.raises(RuntimeError, match="all 2 records"):
        process_stream(batch, LambdaContext("order_stream"), failing, lanes=order_lanes)


def test_lanes_run_under_the_invocations_context_variables() -> None:
    # What the invocation set for itself (the access probe's function name, say) holds in every lane.
    invocation: contextvars.ContextVar[str] = contextvars.ContextVar("invocation", default="none")
    seen: list[str] = []
    batch = {"Records": [stream_record(1, "o1", "+380671110001"), stream_record(2, "o2", "+380671110002")]}

    def handler(record: Any) -> None:
        seen.append(invocation.get())

    token = invocation.set("order_stream")
    try:
        process_stream(batch, LambdaContext("order_stream"), handler, lanes=order_lanes)
    finally:
        invocation.reset(token)
    assert seen == ["order_stream", "order_stream"]
