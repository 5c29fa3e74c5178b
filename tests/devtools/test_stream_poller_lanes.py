"""The stream poller with ParallelizationFactor (#19): a shard's items spread over lanes that run at
the same time, each item's records in order in its lane, as Lambda does."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from devtools.stream_poller import StreamConsumer, lane_index
from tests.devtools.test_stream_poller import (
    DRAIN_TIMEOUT,
    Recorder,
    failures_for,
    put,
    read_failure_log,
)

pytestmark = pytest.mark.integration

LANES = 10
# Long enough never to run out on a sound poller; a blocked lane shows as False, not as a hang.
BLOCKED_FOR_LONG = 20.0


def key_lane(key: str) -> int:
    return lane_index({"pk": {"S": key}}, LANES)


def keys_in_two_lanes() -> tuple[str, str]:
    other = next(key for key in (f"b{n}" for n in range(100)) if key_lane(key) != key_lane("a"))
    return "a", other


def update(dynamodb: Any, table: str, key: str, status: str) -> None:
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": key}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": status}},
    )


def test_an_items_records_keep_their_order_while_another_item_is_handled_meanwhile(dynamodb, stream_table, run_poller):
    # GIVEN item a's three changes and item b's one, b written after a's first, in different lanes
    table, stream_arn = stream_table()
    a, b = keys_in_two_lanes()
    put(dynamodb, table, a, status="1")
    put(dynamodb, table, b, status="1")
    update(dynamodb, table, a, "2")
    update(dynamodb, table, a, "3")
    # ... and a handler that holds a's first change until b's has been handled
    b_handled = threading.Event()
    a_saw_b_first: list[bool] = []
    in_flight: Counter[str] = Counter()
    most_in_flight: Counter[str] = Counter()
    lock = threading.Lock()

    def answer(event: dict[str, Any], delivery: int) -> None:
        [record] = event["Records"]
        key = record["dynamodb"]["Keys"]["pk"]["S"]
        with lock:
            in_flight[key] += 1
            most_in_flight[key] = max(most_in_flight[key], in_flight[key])
        if key == b:
            b_handled.set()
        elif record["dynamodb"]["NewImage"]["status"]["S"] == "1":
            a_saw_b_first.append(b_handled.wait(BLOCKED_FOR_LONG))  # one lane at a time never gets there
        with lock:
            in_flight[key] -= 1

    handler = Recorder(answer)

    # WHEN the consumer takes up to ten batches of the shard at once, a record each
    poller = run_poller(StreamConsumer("c", stream_arn, handler, batch_size=1, parallelization=LANES))
    assert poller.drain(DRAIN_TIMEOUT + BLOCKED_FOR_LONG)

    # THEN b was handled while a's first change was still with the handler ...
    assert a_saw_b_first == [True]
    # ... and a's changes came one at a time, in the order they were made
    records = [record for batch in handler.batches for record in batch]
    a_statuses = [r["dynamodb"]["NewImage"]["status"]["S"] for r in records if handler.keys([r]) == [a]]
    assert a_statuses == ["1", "2", "3"]
    assert most_in_flight[a] == 1
    assert poller.stats() == {"batches": 4, "records": 4, "retries": 0, "failures": 0}


def test_a_failing_record_is_retried_and_given_up_within_its_lane_only(dynamodb, stream_table, run_poller, tmp_path):
    # GIVEN a poison record in one lane, written before two good records of another lane
    table, stream_arn = stream_table()
    poison, good = keys_in_two_lanes()
    put(dynamodb, table, poison)
    put(dynamodb, table, good, status="1")
    update(dynamodb, table, good, "2")
    handler = Recorder(lambda event, delivery: failures_for({poison}, event))

    # WHEN the consumer runs with lanes and three attempts
    consumer = StreamConsumer("c", stream_arn, handler, batch_size=10, max_attempts=3, parallelization=LANES)
    poller = run_poller(consumer)
    assert poller.drain(DRAIN_TIMEOUT)

    # THEN the poison record was delivered three times, alone; the good item's records once each
    assert handler.deliveries_of(poison) == 3
    assert handler.deliveries_of(good) == 2
    assert all(handler.keys(batch) in ([poison], [good, good]) for batch in handler.batches)
    # ... and only the poison record went to the failure log
    [entry] = read_failure_log(Path(tmp_path) / "stream-failures.jsonl")
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in entry["records"]] == [poison]
    assert entry["requestContext"]["approximateInvokeCount"] == 3
    assert poller.stats() == {"batches": 4, "records": 2, "retries": 2, "failures": 1}


def test_drain_waits_for_every_lane(dynamodb, stream_table, run_poller):
    # GIVEN a slow item in one lane and a quick one in another
    table, stream_arn = stream_table()
    slow, quick = keys_in_two_lanes()
    put(dynamodb, table, slow)
    put(dynamodb, table, quick)
    quick_handled = threading.Event()
    finished: list[str] = []

    def answer(event: dict[str, Any], delivery: int) -> None:
        for record in event["Records"]:
            key = record["dynamodb"]["Keys"]["pk"]["S"]
            if key == slow:
                quick_handled.wait(BLOCKED_FOR_LONG)
                time.sleep(0.2)  # still busy after the other lane is done
            finished.append(key)
            if key == quick:
                quick_handled.set()

    poller = run_poller(StreamConsumer("c", stream_arn, Recorder(answer), parallelization=LANES))

    # WHEN we drain
    assert poller.drain(DRAIN_TIMEOUT + BLOCKED_FOR_LONG)

    # THEN drain returned only once the slow lane had finished too
    assert sorted(finished) == sorted([slow, quick])
    assert finished[-1] == slow
    assert poller.stats()["records"] == 2


def test_an_item_always_lands_in_the_same_lane():
    keys = {"shop_id": {"S": "kvitka#3"}, "order_id": {"S": "o-1"}}
    same_keys_other_order = {"order_id": {"S": "o-1"}, "shop_id": {"S": "kvitka#3"}}
    assert lane_index(keys, LANES) == lane_index(same_keys_other_order, LANES)
    assert {lane_index({"pk": {"S": f"k{n}"}}, LANES) for n in range(200)} == set(range(LANES))
    assert lane_index(keys, 1) == 0


def test_the_local_stack_takes_the_deployed_batches_per_shard():
    from chalicelib.wiring import STREAM_CONSUMERS
    from devtools.stack import stream_consumers

    consumers = stream_consumers({name: print for name in STREAM_CONSUMERS.values()}, lambda table: f"arn:{table}")

    by_name = {consumer.name: consumer for consumer in consumers}
    assert by_name["order_stream"].parallelization == 10  # infra: order_stream_parallelization's default
    assert {c.parallelization for name, c in by_name.items() if name != "order_stream"} == {1}
    assert all(c.bisect_on_error for c in consumers)
    orders_table = {function: table for table, function in STREAM_CONSUMERS.items()}["order_stream"]
    assert by_name["order_stream"].stream_arn == f"arn:{orders_table}"


def test_bisection_isolates_a_poison_record_within_its_lane(dynamodb, stream_table, run_poller, tmp_path):
    # GIVEN a poison record between two good ones of its lane, and a record of another lane
    table, stream_arn = stream_table()
    poison, other = keys_in_two_lanes()
    same_lane = [key for key in (f"c{n}" for n in range(300)) if key_lane(key) == key_lane(poison)][:2]
    for key in (same_lane[0], poison, same_lane[1], other):
        put(dynamodb, table, key)

    def answer(event: dict[str, Any], delivery: int) -> None:
        if poison in [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]:
            raise ValueError("cannot parse order")

    handler = Recorder(answer)

    # WHEN the lanes' consumer bisects failing batches, as the deployed mappings do
    consumer = StreamConsumer(
        "c", stream_arn, handler, batch_size=10, max_attempts=2, bisect_on_error=True, parallelization=LANES
    )
    poller = run_poller(consumer)
    assert poller.drain(DRAIN_TIMEOUT)

    # THEN only the poison record was given up; the other lane's record came once, never with it
    [entry] = read_failure_log(tmp_path / "stream-failures.jsonl")
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in entry["records"]] == [poison]
    assert handler.deliveries_of(other) == 1
    assert [handler.keys(batch) for batch in handler.batches if other in handler.keys(batch)] == [[other]]
    handled = {key for batch in handler.batches if poison not in handler.keys(batch) for key in handler.keys(batch)}
    assert handled == {*same_lane, other}
    assert poller.stats()["failures"] == 1
