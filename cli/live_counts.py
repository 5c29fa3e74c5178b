"""``rebuild-live-counts --shop S [--day YYYY-MM-DD]`` (#19): after upgrading during a day
under way, the shop's live counters of that day (its local today by default) are set to what
the day's orders and calls add up to; safe to repeat."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from typing import Any

from chalicelib.domain.shop import ShopSettings
from chalicelib.domain.values import local_day
from chalicelib.services.live_counting import rebuild_day
from chalicelib.wiring import live_counters, report_queries


def add_parser(commands: Any) -> None:
    rebuild = commands.add_parser(
        "rebuild-live-counts",
        help="set a shop's live counters of a day (default: its today) from the day's orders and calls (Queries)",
    )
    rebuild.add_argument("--shop", required=True)
    rebuild.add_argument("--day", type=date.fromisoformat, help="YYYY-MM-DD, the shop's local day (default: today)")


def run(args: argparse.Namespace, *, shop: ShopSettings | None, now: datetime) -> int:
    if shop is None:
        print(f"error: no shop {args.shop!r}", file=sys.stderr)
        return 2
    day = args.day or date.fromisoformat(local_day(now, shop.timezone))
    counts = rebuild_day(shop.shop_id, day, currency=shop.currency, records=report_queries(), counters=live_counters())
    print(f"{shop.shop_id} {day}: {counts.get('orders', 0)} order(s), {counts.get('calls', 0)} call(s) counted")
    return 0
