"""Order and call items as the report's facts (the reports' reads and the live counters' streams)."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.adapters.dynamo.items import count, from_item, int_or_none
from chalicelib.adapters.dynamo.schema import CallItem, OrderItem
from chalicelib.domain.report.facts import CallFact, OrderFact


def order_fact(item: OrderItem) -> OrderFact:
    return from_item(OrderFact, item, total=Decimal(item.total), reached=bool(item.reached), phone=item.phone or "")


def call_fact(item: CallItem) -> CallFact:
    return from_item(
        CallFact,
        item,
        customer_phone=item.customer_phone or "",
        duration_seconds=count(item.duration_seconds),
        wait_seconds=int_or_none(item.wait_seconds),
        handled_by=tuple(item.handled_by or ()),
        transfers=count(item.transfers),
    )
