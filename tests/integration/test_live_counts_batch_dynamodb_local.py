"""The orders stream counts a batch's records together (#19 ingest): one transaction for the
records of a shop's day instead of one each, each record still counted once, on AWS's own
engine (DynamoDB Local: its transactions, conditions and cancellation reasons)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.ddb_counter import DynamoDBRequestCounter
from chalicelib.adapters.dynamo.schema import reset_connections
from chalicelib.clock import FixedClock, use_clock, use_wall_clock
from chalicelib.domain.live_counts import CountEntry
from chalicelib.wiring import forget_clients, live_counters
from devtools.dynamodb_local import DynamoDBLocal
from devtools.stream_poller import LambdaContext
from tests.integration.conftest import dynamodb_local_tables
from tests.integration.test_streams_dynamodb_local import LocalStream, accept

pytestmark = pytest.mark.integration
NOON = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv, the demo shop's zone
DAY = "2015-11-23"


@pytest.fixture(scope="module")
def engine() -> Iterator[DynamoDBLocal]:
    with dynamodb_local_tables(demo_config_at=NOON) as local:
        use_clock(FixedClock(NOON))
        try:
            yield local
        finally:
            use_wall_clock()


@pytest.fixture
def counter(engine: DynamoDBLocal) -> Iterator[DynamoDBRequestCounter]:
    with DynamoDBRequestCounter() as installed:
        reset_connections()  # every client is created again, hooked
        forget_clients()
        yield installed


def requests(counter: DynamoDBRequestCounter, run: Any) -> tuple[Any, Counter[str]]:
    with counter.measure() as tally:
        answer = run()
    return answer, tally[0].calls


def entries(first: int, last: int, day: str) -> list[CountEntry]:
    """Records ``first``..``last`` of a day: an order received each, every fifth dialled after 7 s."""
    return [
        CountEntry(f"ev-{day}-{n}", "demo", day, {"orders": 1, **({"fd_7": 1, "fd_n": 1} if n % 5 == 0 else {})})
        for n in range(first, last + 1)
    ]


def test_a_batch_of_records_is_counted_in_one_write_and_each_record_once(
    engine: DynamoDBLocal, counter: DynamoDBRequestCounter
) -> None:
    day = "2015-10-01"
    counters = live_counters()

    # WHEN 40 records of a shop's day are counted together
    counted_before, calls = requests(counter, lambda: counters.add_counts_together(entries(1, 40, day)))

    # THEN in one transaction, and the day holds all of them
    assert counted_before == set()
    assert calls == Counter({"TransactWriteItems": 1})
    assert counters.day_counts("demo", day)[0] == {"orders": 40, "fd_7": 8, "fd_n": 8}

    # AND the batch redelivered adds nothing: every record is known as counted
    again, calls = requests(counter, lambda: counters.add_counts_together(entries(1, 40, day)))
    assert again == {entry.record_id for entry in entries(1, 40, day)}
    assert calls == Counter({"TransactWriteItems": 1})  # refused whole on the markers' conditions

    # AND a batch of which part was counted before (a retry from a failed record on) adds the rest
    part, calls = requests(counter, lambda: counters.add_counts_together(entries(31, 50, day)))
    assert part == {entry.record_id for entry in entries(31, 40, day)}
    assert calls == Counter({"TransactWriteItems": 2})
    assert counters.day_counts("demo", day)[0] == {"orders": 50, "fd_7": 10, "fd_n": 10}


def test_more_records_than_one_transaction_holds_are_counted_in_a_few(
    engine: DynamoDBLocal, counter: DynamoDBRequestCounter
) -> None:
    day = "2015-10-02"
    counters = live_counters()
    _, calls = requests(counter, lambda: counters.add_counts_together(entries(1, 250, day)))
    assert calls == Counter({"TransactWriteItems": 3})  # at most 100 actions each: markers and 3 counters
    assert counters.day_counts("demo", day)[0] == {"orders": 250, "fd_7": 50, "fd_n": 50}


def test_the_orders_stream_counts_its_batch_in_one_write(
    engine: DynamoDBLocal, counter: DynamoDBRequestCounter
) -> None:
    import app

    # GIVEN six new orders of the demo shop, decided from the orders stream (an order counts
    # from its decision: the decisions' records are the ones counted)
    stream = LocalStream(engine, "callcenter-order_lanes")
    before = live_counters().day_counts("demo", DAY)[0].get("orders", 0)
    order_ids = [accept({"order_number": f"B-{n}", "phone": f"067123{n:04d}", "total": "10"}) for n in range(6)]
    context = LambdaContext("order_stream", region="eu-central-1", account_id="123456789012")
    assert app.order_stream(stream.next_event(order_ids), context) == {"batchItemFailures": []}
    decisions = stream.next_event(order_ids)
    assert [r["eventName"] for r in decisions["Records"]] == ["MODIFY"] * 6

    # WHEN the orders stream handles the decisions' records
    answer, calls = requests(counter, lambda: app.order_stream(decisions, context))

    # THEN the live figures count all six orders, in one transaction
    assert answer == {"batchItemFailures": []}
    assert calls["TransactWriteItems"] == 1
    assert live_counters().day_counts("demo", DAY)[0]["orders"] == before + 6

    # AND the batch redelivered counts nothing again
    assert app.order_stream(decisions, context) == {"batchItemFailures": []}
    assert live_counters().day_counts("demo", DAY)[0]["orders"] == before + 6
