"""Which partition key an order lives under (#19): a shop's orders spread over ``ORDER_LANES``
lanes, one customer's orders in one lane, so a shop's orders and its stream spread over the
table's partitions instead of one. Across a shard's concurrent batches Lambda keeps only an item's
records in order; intake's conditional writes make a customer's orders safe to decide at once."""

from __future__ import annotations

import re
import zlib

# 16: one hex digit in the order id; more lanes than a stream shard's ParallelizationFactor
# (at most 10) can use, few enough that Querying every lane of a shop stays cheap.
ORDER_LANES = 16
# "ord_" + milliseconds (11 hex) + lane (1 hex) + 40 random bits (10 hex): see new_order_id.
_LANED_ID = re.compile(r"^ord_[0-9a-f]{11}([0-9a-f])[0-9a-f]{10}$")


def lane_of_phone(phone: str) -> int:
    """The lane of a customer: ``phone`` as stored (E.164 when valid, else as sent). Fixed at
    creation (the id carries it): an order the shop moves to another phone keeps its key."""
    return zlib.crc32(phone.encode()) % ORDER_LANES


def lane_of_id(order_id: str) -> int:
    """The lane an order id names; an id made elsewhere (not ours) hashes to one."""
    laned = _LANED_ID.match(order_id)
    if laned:
        return int(laned.group(1), 16)
    return zlib.crc32(order_id.encode()) % ORDER_LANES


def lane_digit(lane: int) -> str:
    return f"{lane:x}"


def order_key(shop_id: str, order_id: str) -> str:
    """The orders table's partition key: ``<shop_id>#<lane>``."""
    return f"{shop_id}#{lane_of_id(order_id)}"


def shop_of_order_key(key: str) -> str:
    """The shop of a partition key (shop ids hold no '#': ``ShopSettings.shop_id``)."""
    return key.rpartition("#")[0]


def shop_order_keys(shop_id: str) -> list[str]:
    """Every partition key of a shop's orders."""
    return [f"{shop_id}#{lane}" for lane in range(ORDER_LANES)]
