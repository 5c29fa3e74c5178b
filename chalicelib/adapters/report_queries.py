"""Reading a shop's day for the daily report: Queries on the ``by_shop_day`` indexes, never Scans.

Records become domain facts one page at a time (generators), so a busy day streams through
``daily_figures`` instead of sitting in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from pydantic import ValidationError

from chalicelib.adapters.models import CallRecord, OrderRecord, ShopRecord
from chalicelib.domain.report import CallFact, OrderFact
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger

# Only what the report reads: less to transfer per page (the read cost is by item size either way).
_ORDER_ATTRIBUTES = ["order_id", "status", "total", "currency", "reached", "received_at"]
_CALL_ATTRIBUTES = ["call_sid", "direction", "status", "answered_by", "answered_at", "created_at"]


def shop_day_key(shop_id: str, day: date) -> str:
    """The ``by_shop_day`` hash key: the shop and its local calendar date."""
    return f"{shop_id}#{day.isoformat()}"


def order_fact(record: OrderRecord) -> OrderFact:
    return OrderFact(
        order_id=record.order_id,
        status=record.status,
        total=Decimal(record.total),
        reached=bool(record.reached),
        received_at=record.received_at,
        currency=record.currency,
    )


def call_fact(record: CallRecord) -> CallFact:
    return CallFact(
        call_sid=record.call_sid,
        direction=record.direction,
        status=record.status,
        answered_by=record.answered_by,
        answered_at=record.answered_at,
        created_at=record.created_at,
    )


class DynamoReportQueries:
    """The report's read port backed by DynamoDB (cloud, DynamoDB Local or moto)."""

    def orders_of_day(self, shop_id: str, day: date) -> Iterator[OrderFact]:
        for record in OrderRecord.by_shop_day.query(shop_day_key(shop_id, day), attributes_to_get=_ORDER_ATTRIBUTES):
            yield order_fact(record)

    def calls_of_day(self, shop_id: str, day: date) -> Iterator[CallFact]:
        for record in CallRecord.by_shop_day.query(shop_day_key(shop_id, day), attributes_to_get=_CALL_ATTRIBUTES):
            yield call_fact(record)


def configured_shops() -> Iterator[ShopSettings]:
    """Every shop's settings. The shops table is small config, so a Scan is fine here.

    A shop whose stored settings no longer validate is logged and left out, so it cannot
    stop the other shops' reports.
    """
    for record in ShopRecord.scan():
        try:
            yield ShopSettings.model_validate(record.settings)
        except ValidationError as error:
            logger.error(
                "Shop settings invalid: shop left out of the daily reports",
                extra={
                    "shop_id": record.shop_id,
                    "problems": [
                        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
                        for problem in error.errors(include_url=False)
                    ],
                },
            )
