"""Live figures from running counters (#19) on AWS's own engine: a simulated day of orders and
calls written as items (each changing several times), their real stream records handed to the
consumers' counting, the live figures read from the counters equal to the figures the old way
(the report's tally over a re-read of the day), and a redelivered batch that adds nothing."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters.dynamo.items import day_key
from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.reports import DynamoReportQueries
from chalicelib.adapters.dynamo.schema import CallItem, OrderItem
from chalicelib.clock import FixedClock, use_clock, use_wall_clock
from chalicelib.domain.report.facts import CallFact, OrderFact
from chalicelib.domain.report.tally import daily_figures
from chalicelib.domain.shop import ShopSettings
from chalicelib.events import live
from chalicelib.events.batch import process_stream
from chalicelib.services.live import today_figures
from chalicelib.wiring import live_counters, repository
from devtools.dynamodb_local import DynamoDBLocal
from devtools.stream_poller import LambdaContext, to_lambda_record
from tests.integration.conftest import dynamodb_local_tables
from tests.unit.test_live_counts import call_versions, live_part, order_versions

pytestmark = pytest.mark.integration
REGION = "eu-central-1"
DAY_END = datetime(2009, 6, 2, 20, 0, tzinfo=UTC)  # the simulated day's orders and calls start at 06:00 UTC


@pytest.fixture(scope="module")
def engine() -> Iterator[DynamoDBLocal]:
    with dynamodb_local_tables(demo_config_at=DAY_END) as local:
        use_clock(FixedClock(DAY_END))
        try:
            yield local
        finally:
            use_wall_clock()


@dataclass
class Stream:
    engine: DynamoDBLocal
    table: str

    def records(self) -> dict[str, Any]:
        """Every record of the table's stream so far, as Lambda delivers them."""
        arn = self.engine.client("dynamodb").describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        streams, records = self.engine.client("dynamodbstreams"), []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )
            page = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
            while page["Records"]:
                records += [to_lambda_record(r, region=REGION, stream_arn=arn) for r in page["Records"]]
                page = streams.get_records(ShardIterator=page["NextShardIterator"], Limit=1000)
        return {"Records": records}


def save_order(shop: ShopSettings, order: OrderFact) -> None:
    day = order.received_at.astimezone(shop.zone).date().isoformat()
    OrderItem(
        *order_keys(shop.shop_id, order.order_id),
        shop_id=shop.shop_id,
        phone="+380501112233",
        payload={},
        total=str(order.total),
        currency=order.currency or shop.currency,
        status=order.status,
        reached=order.reached,
        received_at=order.received_at,
        first_dial_at=order.first_dial_at,
        shop_day=day_key(shop.shop_id, day),
        shop_phone=f"{shop.shop_id}#+380501112233",
    ).save()


def save_call(shop: ShopSettings, call: CallFact) -> None:
    day = call.created_at.astimezone(shop.zone).date().isoformat()
    fields = {
        name: getattr(call, name)
        for name in ("status", "answered_by", "answered_at", "result", "queued_at", "agent_id", "abandoned")
    }
    CallItem(
        call.call_sid,
        shop_id=shop.shop_id,
        direction=call.direction,
        customer_phone="+380501112233",
        shop_number="+380441234567",
        created_at=call.created_at,
        duration_seconds=call.duration_seconds,
        wait_seconds=call.wait_seconds,
        callback_task_id=call.callback_task_id,
        shop_day=day_key(shop.shop_id, day),
        **{name: value for name, value in fields.items() if value is not None},
    ).save()


def test_the_counters_kept_from_the_streams_give_the_figures_of_a_re_read_day(engine: DynamoDBLocal) -> None:
    # GIVEN a day of the demo shop: 60 orders and 60 calls, each saved at every change
    shop = repository().get_shop("demo")
    assert shop is not None
    rng = random.Random(2009)
    orders = [order_versions(rng, n) for n in range(60)]
    calls = [call_versions(rng, n) for n in range(60)]
    for versions in orders:
        for order in versions:
            save_order(shop, order)
    for call_changes in calls:
        for call in call_changes:
            save_call(shop, call)
    context = LambdaContext("counting", region=REGION)
    order_batch = Stream(engine, OrderItem.Meta.table_name).records()
    call_batch = Stream(engine, CallItem.Meta.table_name).records()

    # WHEN the consumers count the streams' records
    def count_order(record: Any) -> None:
        live.count_order(record, shop)

    assert process_stream(order_batch, context, count_order) == {"batchItemFailures": []}
    assert live.call_stream(call_batch, context) == {"batchItemFailures": []}

    # THEN the live figures from the counters equal the old way's, read from the day's records
    queries = DynamoReportQueries()
    day = DAY_END.astimezone(shop.zone).date()
    old_way = daily_figures(
        queries.orders_of_day(shop.shop_id, day), queries.calls_of_day(shop.shop_id, day), currency=shop.currency
    )
    counted = today_figures(shop, DAY_END, queries)
    assert live_part(counted) == live_part(old_way)
    assert counted.orders_received == 60 and counted.calls == 60

    # AND a redelivered batch (Lambda retries it whole) changes nothing
    assert live.call_stream(call_batch, context) == {"batchItemFailures": []}
    assert process_stream(order_batch, context, count_order) == {"batchItemFailures": []}
    assert live_part(today_figures(shop, DAY_END, queries)) == live_part(old_way)

    # AND the shop is found among the shops with calls today, the only one
    found = live_counters().shops_with_calls([day.isoformat()])
    assert found == [("demo", day.isoformat())]


def test_a_day_under_way_is_backfilled_from_its_records_by_the_admin_command(
    engine: DynamoDBLocal, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.admin import main

    # GIVEN a day of the demo shop's orders and calls, and no counters for it (an upgrade
    # during the day: the records came before the consumers counted)
    shop = repository().get_shop("demo")
    assert shop is not None
    rng = random.Random(2009)
    for versions in [order_versions(rng, n) for n in range(60)]:
        save_order(shop, versions[-1])
    for call_changes in [call_versions(rng, n) for n in range(60)]:
        save_call(shop, call_changes[-1])
    day = DAY_END.astimezone(shop.zone).date()
    live_counters().set_counts("demo", day.isoformat(), {"orders": 7}, active=False)  # wrong, and not active
    queries = DynamoReportQueries()
    old_way = daily_figures(
        queries.orders_of_day(shop.shop_id, day), queries.calls_of_day(shop.shop_id, day), currency=shop.currency
    )
    assert live_part(today_figures(shop, DAY_END, queries)) != live_part(old_way)

    # WHEN the admin rebuilds the shop's counters of today, twice
    assert main(["rebuild-live-counts", "--shop", "demo"]) == 0
    assert main(["rebuild-live-counts", "--shop", "demo", "--day", day.isoformat()]) == 0

    # THEN the live figures are the day's, and the shop is among those with calls today
    assert live_part(today_figures(shop, DAY_END, queries)) == live_part(old_way)
    assert capsys.readouterr().out.splitlines() == [f"demo {day}: 60 order(s), 60 call(s) counted"] * 2
    assert live_counters().shops_with_calls([day.isoformat()]) == [("demo", day.isoformat())]
