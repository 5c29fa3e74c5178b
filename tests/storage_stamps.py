"""TTL stamps that came from a clock other than the wall clock, on a running DynamoDB Local.

DynamoDB (and DynamoDB Local, which sweeps about every 10 s) deletes an item once its TTL
attribute is past by its own, real clock, so TTL attributes must be stamped from the wall clock
(``chalicelib.clock.storage_expiry``). A stamp made from the business clock, which the tests fix
years in the past, is found here at once. It is not found by waiting for the item to vanish:
DynamoDB ignores TTL values more than five years in the past, and DynamoDB Local does the same,
so such items stay; and a stamp a few days old vanishes only when a sweep happens to come.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def ttl_stamps_before(dynamodb: Any, instant: datetime) -> list[str]:
    """Every item, in every table with TTL on, whose TTL attribute is earlier than ``instant``:
    ``table key=... attribute=<ISO time>`` lines (empty when there is none)."""
    cutoff = instant.timestamp()
    found = []
    for table in dynamodb.list_tables()["TableNames"]:
        ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            continue
        attribute = ttl["AttributeName"]
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
        names = {f"#a{i}": name for i, name in enumerate([*keys, attribute])}
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=table,
            ConsistentRead=True,
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
        )
        for page in pages:
            for item in page["Items"]:
                value = item.get(attribute, {}).get("N")
                if value is not None and float(value) < cutoff:
                    key = ",".join(str(next(iter(item[k].values()))) for k in keys)
                    stamp = datetime.fromtimestamp(float(value), UTC).isoformat()
                    found.append(f"{table} key={key} {attribute}={stamp}")
    return found


def assert_ttl_stamped_by_the_wall_clock(dynamodb: Any, since: datetime) -> None:
    """No TTL attribute earlier than ``since``, the real instant before the first write: every
    stamp made from the wall clock lies at or after its write."""
    stale = ttl_stamps_before(dynamodb, since - timedelta(minutes=1))
    assert stale == [], (
        f"TTL attributes earlier than the real start of the run ({since.isoformat()}): stamped from the "
        "business clock, not chalicelib.clock.storage_expiry? DynamoDB would delete these items at once "
        "(or, stamped over five years back, never):\n  " + "\n  ".join(stale)
    )
