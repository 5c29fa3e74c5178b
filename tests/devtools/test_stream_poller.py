"""The stream poller against DynamoDB Local: what a stream handler sees, as under Lambda."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devtools.stream_poller import StreamConsumer, first_failed_index, to_lambda_record
from tests.devtools.conftest import POLLER_REGION

pytestmark = pytest.mark.integration

REGION = POLLER_REGION
DRAIN_TIMEOUT = 30.0


class Recorder:
    """A stream handler that records every batch and lets each test decide what to answer."""

    def __init__(self, answer: Callable[[dict[str, Any], int], Any] | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.contexts: list[Any] = []
        self.answer = answer
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.batches.append(event["Records"])
            self.contexts.append(context)
            delivery = len(self.batches)
        json.dumps(event)  # Lambda events are JSON: anything else would break the real handler
        return self.answer(event, delivery) if self.answer else None

    def keys(self, batch: list[dict[str, Any]]) -> list[str]:
        return [record["dynamodb"]["Keys"]["pk"]["S"] for record in batch]

    def deliveries_of(self, key: str) -> int:
        return sum(self.keys(batch).count(key) for batch in self.batches)


def failures_for(keys: set[str], event: dict[str, Any]) -> dict[str, Any]:
    return {
        "batchItemFailures": [
            {"itemIdentifier": record["dynamodb"]["SequenceNumber"]}
            for record in event["Records"]
            if record["dynamodb"]["Keys"]["pk"]["S"] in keys
        ]
    }


def put(dynamodb: Any, table: str, key: str, **attributes: str) -> None:
    item = {"pk": {"S": key}, **{name: {"S": value} for name, value in attributes.items()}}
    dynamodb.put_item(TableName=table, Item=item)


def read_failure_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_delivers_lambda_shaped_records_in_order(dynamodb, stream_table, run_poller):
    # GIVEN a table whose item goes through insert, update and delete, and another item
    table, stream_arn = stream_table()
    put(dynamodb, table, "order-1", status="new")
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": "order-1"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "confirmed"}},
    )
    put(dynamodb, table, "order-2", status="new")
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "order-1"}})
    handler = Recorder()

    # WHEN the poller runs until the stream is quiet
    poller = run_poller(StreamConsumer("orders-stream", stream_arn, handler, function_name="on-orders"))
    assert poller.drain(DRAIN_TIMEOUT)

    # THEN the handler got the four changes in order, shaped as Lambda's DynamoDB event
    records = [record for batch in handler.batches for record in batch]
    assert [(handler.keys([r])[0], r["eventName"]) for r in records] == [
        ("order-1", "INSERT"),
        ("order-1", "MODIFY"),
        ("order-2", "INSERT"),
        ("order-1", "REMOVE"),
    ]
    sequence_numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence_numbers == sorted(sequence_numbers)
    for record in records:
        assert set(record) == {
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb",
            "eventSourceARN",
        }
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == REGION
        assert record["eventSourceARN"] == stream_arn
        created = record["dynamodb"]["ApproximateCreationDateTime"]
        assert isinstance(created, int | float) and not isinstance(created, bool)
        assert datetime.fromtimestamp(created, UTC).year >= 2024
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["SizeBytes"], int)
    modify = records[1]["dynamodb"]
    assert modify["OldImage"]["status"] == {"S": "new"}
    assert modify["NewImage"]["status"] == {"S": "confirmed"}
    remove = records[3]["dynamodb"]
    assert "NewImage" not in remove and remove["OldImage"]["status"] == {"S": "confirmed"}
    assert remove["Keys"] == {"pk": {"S": "order-1"}}
    # ... with a Lambda-like context
    context = handler.contexts[0]
    assert context.function_name == "on-orders"
    assert context.invoked_function_arn.endswith(":function:on-orders")
    assert context.memory_limit_in_mb > 0
    assert context.get_remaining_time_in_millis() > 0
    assert len({c.aws_request_id for c in handler.contexts}) == len(handler.contexts)
    assert poller.stats() == {"batches": len(handler.batches), "records": 4, "retries": 0, "failures": 0}


def test_reported_item_failure_is_retried_from_that_record_only(dynamodb, stream_table, run_poller):
    # GIVEN five items already in the stream, and a handler that fails "k3" the first time
    table, stream_arn = stream_table()
    for index in range(5):
        put(dynamodb, table, f"k{index}")

    def answer(event: dict[str, Any], delivery: int) -> Any:
        return failures_for({"k3"}, event) if delivery == 1 else {"batchItemFailures": []}

    handler = Recorder(answer)

    # WHEN the poller delivers them
    poller = run_poller(StreamConsumer("c", stream_arn, handler, batch_size=10))
    assert poller.drain(DRAIN_TIMEOUT)

    # THEN the first batch held all five, and the retry starts at k3: k0-k2 are not redelivered
    assert handler.keys(handler.batches[0]) == ["k0", "k1", "k2", "k3", "k4"]
    assert handler.keys(handler.batches[1]) == ["k3", "k4"]
    assert len(handler.batches) == 2
    assert poller.stats() == {"batches": 2, "records": 5, "retries": 1, "failures": 0}


def test_lowest_reported_failure_wins(dynamodb, stream_table, run_poller):
    # GIVEN a handler that reports k4 and k2 (out of order) the first time
    table, stream_arn = stream_table()
    for index in range(5):
        put(dynamodb, table, f"k{index}")
    handler = Recorder(lambda event, delivery: failures_for({"k4", "k2"}, event) if delivery == 1 else None)

    poller = run_poller(StreamConsumer("c", stream_arn, handler, batch_size=10))
    assert poller.drain(DRAIN_TIMEOUT)

    # THEN everything from k2 on is delivered again
    assert handler.keys(handler.batches[1]) == ["k2", "k3", "k4"]


def test_raised_exception_retries_the_whole_batch(dynamodb, stream_table, run_poller):
    # GIVEN a handler that raises the first time it is called
    table, stream_arn = stream_table()
    for index in range(3):
        put(dynamodb, table, f"k{index}")

    def answer(event: dict[str, Any], delivery: int) -> Any:
        if delivery == 1:
            raise RuntimeError("database timeout")
        return None

    handler = Recorder(answer)

    # WHEN the poller delivers
    poller = run_poller(StreamConsumer("c", stream_arn, handler, batch_size=10))
    assert poller.drain(DRAIN_TIMEOUT)

    # THEN the same records come again, and the poller carries on afterwards
    first, second = handler.batches[0], handler.batches[1]
    assert [r["dynamodb"]["SequenceNumber"] for r in second] == [r["dynamodb"]["SequenceNumber"] for r in first]
    assert poller.stats()["retries"] == 1
    put(dynamodb, table, "after")
    assert poller.drain(DRAIN_TIMEOUT)
    assert handler.keys(handler.batches[-1]) == ["after"]


def test_poison_record_ends_in_failure_log_and_later_records_get_through(dynamodb, stream_table, run_poller, tmp_path):
    # GIVEN a record the handler always reports as failed, among good ones
    table, stream_arn = stream_table()
    for key in ("good-0", "poison", "good-1"):
        put(dynamodb, table, key)
    handler = Recorder(lambda event, delivery: failures_for({"poison"}, event))

    # WHEN the poller runs with three attempts
    poller = run_poller(StreamConsumer("c", stream_arn, handler, batch_size=10, max_attempts=3))
    assert poller.drain(DRAIN_TIMEOUT)
    put(dynamodb, table, "good-2")
    assert poller.drain(DRAIN_TIMEOUT)

    # THEN the poison record was delivered three times, then its batch (Lambda drops the
    # batch from the failed record on) went to the failure log, and later writes still flow
    assert handler.deliveries_of("poison") == 3
    assert handler.deliveries_of("good-0") == 1
    assert handler.keys(handler.batches[-1]) == ["good-2"]
    [entry] = read_failure_log(tmp_path / "stream-failures.jsonl")
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in entry["records"]] == ["poison", "good-1"]
    assert entry["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert entry["requestContext"]["approximateInvokeCount"] == 3
    assert entry["DDBStreamBatchInfo"]["streamArn"] == stream_arn
    assert entry["DDBStreamBatchInfo"]["batchSize"] == 2
    assert entry["error"]["errorType"] == "BatchItemFailure"
    assert poller.stats()["failures"] == 2


def test_with_bisection_only_the_poison_record_is_given_up(dynamodb, stream_table, run_poller, tmp_path):
    # GIVEN a handler that raises whenever the poison record is in its batch
    table, stream_arn = stream_table()
    for key in ("good-0", "good-1", "poison", "good-2", "good-3"):
        put(dynamodb, table, key)

    def answer(event: dict[str, Any], delivery: int) -> Any:
        if "poison" in [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]:
            raise ValueError("cannot parse order")
        return None

    handler = Recorder(answer)

    # WHEN the mapping bisects failing batches, as the deployed one does
    consumer = StreamConsumer("c", stream_arn, handler, batch_size=10, max_attempts=2, bisect_on_error=True)
    poller = run_poller(consumer)
    assert poller.drain(DRAIN_TIMEOUT)

    # THEN only the poison record is in the failure log, with the handler's error,
    # and every good record was handled in a batch that succeeded
    [entry] = read_failure_log(tmp_path / "stream-failures.jsonl")
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in entry["records"]] == ["poison"]
    assert entry["error"]["errorType"] == "ValueError"
    assert entry["error"]["errorMessage"] == "cannot parse order"
    handled = {key for batch in handler.batches if "poison" not in handler.keys(batch) for key in handler.keys(batch)}
    assert handled == {"good-0", "good-1", "good-2", "good-3"}
    assert handler.keys(handler.batches[-1]) == ["good-2", "good-3"]
    assert [handler.keys(b) for b in handler.batches if handler.keys(b) == ["poison"]] == [["poison"]] * 2
    assert poller.stats()["failures"] == 1


def test_drain_waits_for_records_that_handlers_write(dynamodb, stream_table, run_poller):
    # GIVEN two tables whose handlers write to each other: a ping-pong of six writes
    table_a, stream_a = stream_table()
    table_b, stream_b = stream_table()
    seen: list[str] = []
    seen_lock = threading.Lock()

    def bounce(target: str) -> Callable[[dict[str, Any], Any], None]:
        def handler(event: dict[str, Any], context: Any) -> None:
            for record in event["Records"]:
                if record["eventName"] != "INSERT":
                    continue
                key = record["dynamodb"]["Keys"]["pk"]["S"]
                with seen_lock:
                    seen.append(key)
                hop = int(key.split("-")[1])
                time.sleep(0.05)  # a handler that takes a moment, as real ones do
                if hop < 5:
                    put(dynamodb, target, f"hop-{hop + 1}")

        return handler

    poller = run_poller(
        StreamConsumer("a", stream_a, bounce(table_b)),
        StreamConsumer("b", stream_b, bounce(table_a)),
    )

    # WHEN one item is written and we drain
    put(dynamodb, table_a, "hop-0")
    assert poller.drain(DRAIN_TIMEOUT)

    # THEN every hop, including those written by handlers, was handled before drain returned
    with seen_lock:
        assert seen == [f"hop-{n}" for n in range(6)]


def test_item_failure_naming_an_unknown_record_fails_the_whole_batch():
    batch = [{"dynamodb": {"SequenceNumber": "100"}}, {"dynamodb": {"SequenceNumber": "200"}}]
    assert first_failed_index(None, batch) == (None, None)
    assert first_failed_index({"batchItemFailures": []}, batch) == (None, None)
    assert first_failed_index({"batchItemFailures": [{"itemIdentifier": "200"}]}, batch)[0] == 1
    assert first_failed_index({"batchItemFailures": [{"itemIdentifier": "999"}]}, batch)[0] == 0
    assert first_failed_index({"batchItemFailures": [{"itemIdentifier": ""}]}, batch)[0] == 0


def test_lambda_record_encodes_binary_and_time_as_json():
    raw: dict[str, Any] = {
        "eventID": "e1",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "ddblocal",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2015, 11, 22, 8, 0, tzinfo=UTC),
            "Keys": {"pk": {"S": "a"}},
            "NewImage": {"pk": {"S": "a"}, "blob": {"B": b"\x00\xff"}, "nested": {"M": {"bs": {"BS": [b"x"]}}}},
            "SequenceNumber": "1",
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    record = to_lambda_record(raw, region="eu-west-1", stream_arn="arn:stream")
    assert record["dynamodb"]["ApproximateCreationDateTime"] == datetime(2015, 11, 22, 8, 0, tzinfo=UTC).timestamp()
    assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AP8="}
    assert record["dynamodb"]["NewImage"]["nested"] == {"M": {"bs": {"BS": ["eA=="]}}}
    assert record["awsRegion"] == "eu-west-1"
    assert raw["dynamodb"]["NewImage"]["blob"] == {"B": b"\x00\xff"}  # the buffered record is untouched
