"""``erase-customer --shop S --phone P`` (#18): erase one customer of a shop and print what went."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from chalicelib.domain.phones import normalise_phone
from chalicelib.domain.shop import ShopSettings
from chalicelib.wiring import customer_erasure


def add_parser(commands: Any) -> None:
    erase = commands.add_parser(
        "erase-customer",
        help="erase a customer (orders' personal fields, calls, texts, timeline, callbacks, recordings at Twilio); "
        "a do-not-call entry stays as a salted hash",
    )
    erase.add_argument("--shop", required=True)
    erase.add_argument("--phone", required=True, help="the customer's number, in any form the shop's region reads")


def run(args: argparse.Namespace, *, shop: ShopSettings | None, now: datetime) -> int:
    if shop is None:
        print(f"error: no shop {args.shop!r}", file=sys.stderr)
        return 2
    phone = normalise_phone(args.phone, shop.default_region)
    if phone.e164 is None:
        print(f"error: --phone: {phone.problem or 'required'}", file=sys.stderr)
        return 2
    erased = customer_erasure()(shop, phone.e164, now)
    if not erased.total():
        print(f"nothing known about this number in {shop.shop_id}: nothing erased")
        return 0
    for kind, count in erased.as_dict().items():
        print(f"{kind:20} {count}")
    print(
        "kept: amounts and statuses for the reports"
        + (", the do-not-call entry as a salted hash" if erased.do_not_call_hashed else "")
    )
    return 0
