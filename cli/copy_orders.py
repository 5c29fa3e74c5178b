"""``copy-orders --from-table <old orders table>`` (#19): after upgrading to the orders table keyed
by lane (``callcenter-order_lanes``), copy the old table's orders into it under their new keys.

An operator's command, not a function's: it Scans the OLD table only (no Lambda is granted that
table or a Scan of it), a page at a time. Safe to repeat (an order already in the new table is
left as it is: the app may have changed it since) and resumable (``--start-after`` takes the
key each page prints)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.schema import OrderItem


@dataclass(frozen=True)
class Page:
    copied: int
    already_there: int
    last_key: dict[str, Any] | None  # where the next page starts; None after the last one


def add_parser(commands: Any) -> None:
    copy = commands.add_parser(
        "copy-orders",
        help="once after upgrading: copy an old orders table's items into the lane-keyed table (a Scan of the old one)",
    )
    copy.add_argument("--from-table", required=True, help="the old table's full name, e.g. callcenter-orders")
    copy.add_argument("--start-after", type=json.loads, help="resume: the last_key a previous run printed (JSON)")
    copy.add_argument("--page-size", type=int, default=100)


def run(args: argparse.Namespace) -> int:
    if args.from_table == OrderItem.Meta.table_name:
        print("error: --from-table is the new table itself", file=sys.stderr)
        return 2
    copied = already = 0
    for page in copy_pages(args.from_table, start_after=args.start_after, page_size=args.page_size):
        copied, already = copied + page.copied, already + page.already_there
        print(json.dumps({"copied": page.copied, "already_there": page.already_there, "last_key": page.last_key}))
    print(f"{copied} order(s) copied, {already} already in {OrderItem.Meta.table_name}")
    return 0


def copy_pages(from_table: str, *, start_after: dict[str, Any] | None = None, page_size: int = 100) -> Iterator[Page]:
    client = OrderItem._get_connection().connection.client  # PynamoDB's own botocore client
    scan: dict[str, Any] = {"TableName": from_table, "Limit": page_size, "ConsistentRead": True}
    if start_after:
        scan["ExclusiveStartKey"] = start_after
    while True:
        answer = client.scan(**scan)
        copied = sum(_copy(client, raw) for raw in answer.get("Items", []))
        last_key = answer.get("LastEvaluatedKey")
        yield Page(copied, len(answer.get("Items", [])) - copied, last_key)
        if not last_key:
            return
        scan["ExclusiveStartKey"] = last_key


def _copy(client: Any, raw: dict[str, Any]) -> bool:
    """The item as it was, with its new partition key; False when the new table has it already."""
    key, _ = order_keys(raw["shop_id"]["S"], raw["order_id"]["S"])
    try:
        client.put_item(
            TableName=OrderItem.Meta.table_name,
            Item={**raw, "order_key": {"S": key}},
            ConditionExpression="attribute_not_exists(order_id)",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True
