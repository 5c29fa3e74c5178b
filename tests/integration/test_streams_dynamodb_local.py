"""The orders stream handler on AWS's own engine (DynamoDB Local): fed the real stream records,
redelivered, and raced by two deciders seeing the same customer at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest

from chalicelib.adapters.dynamo.orders import shop_orders
from chalicelib.adapters.dynamo.schema import DialTaskItem
from chalicelib.clock import FixedClock, use_clock, use_wall_clock
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.shop import DedupPolicy
from chalicelib.services import intake
from chalicelib.wiring import repository
from devtools.dynamodb_local import DynamoDBLocal
from devtools.stream_poller import LambdaContext, to_lambda_record
from tests.integration.conftest import dynamodb_local_tables

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-central-1"
NOON = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def local_tables() -> Iterator[DynamoDBLocal]:
    with dynamodb_local_tables(demo_config_at=NOON) as engine:
        use_clock(FixedClock(NOON))
        try:
            yield engine
        finally:
            use_wall_clock()


class LocalStream:
    """Reads the table's stream, opening iterators at read time: DynamoDB Local trims an
    iterator opened on a shard before it had records."""

    def __init__(self, engine: DynamoDBLocal, table: str) -> None:
        self.arn = engine.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
        self.streams = engine.client("dynamodbstreams")
        self.read_up_to: dict[str, str] = {}  # shard -> last sequence number read

    def next_event(self, order_ids: list[str]) -> dict[str, Any]:
        """The stream's next records about these orders, as Lambda would deliver them."""
        records = []
        for shard in self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            position: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
            if shard_id in self.read_up_to:
                position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self.read_up_to[shard_id]}
            iterator = self.streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard_id, **position)
            page = self.streams.get_records(ShardIterator=iterator["ShardIterator"])
            if page["Records"]:
                self.read_up_to[shard_id] = page["Records"][-1]["dynamodb"]["SequenceNumber"]
            records += [
                to_lambda_record(r, region=REGION, stream_arn=self.arn)
                for r in page["Records"]
                if r["dynamodb"]["Keys"]["order_id"]["S"] in order_ids
            ]
        return {"Records": records}


def accept(body: dict[str, Any], received_at: datetime = NOON) -> str:
    shop = repository().get_shop("demo")
    assert shop is not None
    order_in = OrderIn.model_validate(body)
    order_id = intake.new_order_id(received_at, intake.stored_phone(shop, order_in))
    intake.accept_order(shop, order_in, store=repository(), now=received_at, order_id=order_id)
    return order_id


def test_the_orders_stream_handler_decides_real_stream_records(local_tables: DynamoDBLocal) -> None:
    import app

    stream = LocalStream(local_tables, "callcenter-order_lanes")
    first = accept({"order_number": "L-1", "phone": "0671230001", "total": "10"})
    duplicate = accept({"order_number": "L-1", "phone": "+380671230001", "total": "10"})
    fake = accept({"order_number": "L-2", "phone": "000", "total": "10"})
    event = stream.next_event([first, duplicate, fake])
    assert [r["eventName"] for r in event["Records"]] == ["INSERT"] * 3
    assert isinstance(event["Records"][0]["dynamodb"]["ApproximateCreationDateTime"], float)

    context = LambdaContext("order_stream", region=REGION, account_id="123456789012")
    assert app.order_stream(event, context) == {"batchItemFailures": []}
    assert app.order_stream(event, context) == {"batchItemFailures": []}  # redelivered
    statuses = {o.order_id: (o.status, o.duplicate_of) for o in shop_orders("demo")}
    assert statuses[first] == ("queued", None)
    assert statuses[duplicate] == ("duplicate", first)
    assert statuses[fake][0] == "fake"
    assert [t.order_ids for t in DialTaskItem.scan() if first in (t.order_ids or ())] == [{first}]
    # the handler's own writes (status changes) are stream records too: MODIFY, ignored by dedup
    follow_up = stream.next_event([first, duplicate, fake])
    assert {r["eventName"] for r in follow_up["Records"]} == {"MODIFY"}
    assert app.order_stream(follow_up, context) == {"batchItemFailures": []}


@pytest.mark.parametrize("variant", ["A", "B"])
def test_two_deciders_racing_on_one_customer_leave_one_task(
    local_tables: DynamoDBLocal, variant: Literal["A", "B"]
) -> None:
    shop = repository().get_shop("demo")
    assert shop is not None
    shop = shop.model_copy(update={"dedup": DedupPolicy(variant=variant, window_minutes=60)})
    phone = f"06799900{10 + ord(variant)}"
    orders = [
        accept({"order_number": "R-1", "phone": phone, "total": "5"}, NOON + timedelta(seconds=i)) for i in range(2)
    ]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(order_id: str) -> None:
        start.wait()  # both shards' Lambdas see their record at the same moment
        outcomes.append(intake.decide_new_order(shop, order_id, store=repository(), tasks=repository(), now=NOON))

    threads = [threading.Thread(target=decide, args=(order_id,)) for order_id in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["duplicate", "queued"]
    tasks = [t for t in DialTaskItem.scan() if set(t.order_ids or ()) & set(orders)]
    assert len(tasks) == 1
