"""Ingest on the local stack: orders per second through POST -> orders stream -> dedup and
triage -> the customer's dial task, and the DynamoDB requests each order costs.

Two phases: ``orders`` new orders (each a new customer), then as many duplicates (the same
order number and phone again: variant A dedup). Orders are posted by a few threads at once;
a phase ends when the stream poller has nothing left to deliver. The task stream's records
are consumed without dialing, so the counts stop at the task (dialing is ``first_dial``'s).
Every DynamoDB request of the process in a phase is counted (``bench/ddb_counter.py``): the
API, the stream handlers and their follow-up MODIFY records; stream reads are not (Lambda's
reads of a stream are free and made by the service, not the function).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO

from bench.ddb_counter import DynamoDBRequestCounter
from bench.local_stack import customer_phone, local_stack, order_body, post_order
from bench.stats import markdown_table, ratio

READS = ("GetItem", "BatchGetItem", "Query", "Scan")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
TARGET_WRITES_PER_UNIQUE = 6
TARGET_WRITES_PER_DUPLICATE_BEYOND_ORDER = 1
POSTING_THREADS = 4
TARGET_ORDERS_PER_S = 50.0  # one shop's new orders, first POST to the streams drained (#19)


def _phase(stack: Any, counter: DynamoDBRequestCounter, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    with counter.measure() as tally:
        start = time.monotonic()
        with ThreadPoolExecutor(POSTING_THREADS) as pool:
            list(pool.map(lambda body: post_order(stack.api_url, body), bodies))
        posted = time.monotonic()
        if not stack.wait_quiet(timeout=300):
            raise RuntimeError("the streams did not drain within 300 s")
        done = time.monotonic()
    calls: Counter[str] = tally[0].calls
    n = len(bodies)
    reads = sum(calls[op] for op in READS)
    writes = sum(calls[op] for op in WRITES)
    return {
        "orders": n,
        "orders_per_s": round(n / (done - start), 1),
        "posted_per_s": round(n / (posted - start), 1),
        "reads_per_order": ratio(reads, n),
        "writes_per_order": ratio(writes, n),
        "requests_per_order_by_operation": {op: ratio(count, n) for op, count in sorted(calls.items())},
    }


def run(orders: int = 200, progress: TextIO | None = None) -> dict[str, Any]:
    out = progress or sys.stderr
    counter = DynamoDBRequestCounter()
    with counter, local_stack(dial=False) as stack:
        post_order(stack.api_url, order_body("WARM-0", customer_phone(10**6 - 1)))  # caches, connections
        stack.wait_quiet(timeout=60)
        print(f"ingest: {orders} new orders, then {orders} duplicates", file=out, flush=True)
        bodies = [order_body(f"IN-{i}", customer_phone(i)) for i in range(orders)]
        unique = _phase(stack, counter, bodies)
        duplicate = _phase(stack, counter, bodies)
        # The duplicates must have been recognised as such, or the second phase measured new orders.
        from chalicelib.adapters.dynamo.schema import OrderItem

        statuses = Counter(record.status for record in OrderItem.scan())
    if statuses["duplicate"] != orders:
        raise RuntimeError(f"expected {orders} duplicates, found statuses {dict(statuses)}")
    beyond_order = round(duplicate["writes_per_order"] - 1, 2)  # the order's own PutItem
    return {
        "benchmark": "ingest",
        "what": "local stack: POST /v1/orders (4 threads) -> orders stream -> dedup/triage -> dial task, "
        "until the streams are drained; DynamoDB requests of the whole process per order",
        "unique": unique,
        "duplicate": duplicate,
        "writes_per_unique_order": unique["writes_per_order"],
        "target_writes_per_unique_order": TARGET_WRITES_PER_UNIQUE,
        "writes_per_duplicate_beyond_the_order": beyond_order,
        "target_writes_per_duplicate_beyond_the_order": TARGET_WRITES_PER_DUPLICATE_BEYOND_ORDER,
        "target_orders_per_s": TARGET_ORDERS_PER_S,
        "orders_per_s_target_met": unique["orders_per_s"] >= TARGET_ORDERS_PER_S,
        "target_met": unique["writes_per_order"] <= TARGET_WRITES_PER_UNIQUE
        and beyond_order <= TARGET_WRITES_PER_DUPLICATE_BEYOND_ORDER,
    }


def render(document: dict[str, Any]) -> str:
    rows = []
    for name in ("unique", "duplicate"):
        phase = document[name]
        ops = ", ".join(f"{op} {n:g}" for op, n in phase["requests_per_order_by_operation"].items())
        rows.append(
            [name, phase["orders"], phase["orders_per_s"], phase["reads_per_order"], phase["writes_per_order"], ops]
        )
    table = markdown_table(
        ["orders", "count", "orders/s (to drained)", "reads / order", "writes / order", "by operation"], rows
    )
    return (
        f"### Ingest (local stack)\n\n{table}\n\n"
        f"Writes per new order {document['writes_per_unique_order']:g} (target at most "
        f"{document['target_writes_per_unique_order']}); per duplicate beyond the order itself "
        f"{document['writes_per_duplicate_beyond_the_order']:g} (target at most "
        f"{document['target_writes_per_duplicate_beyond_the_order']}). New orders/s "
        f"{document['unique']['orders_per_s']:g} (posted {document['unique']['posted_per_s']:g}/s; target at least "
        f"{document['target_orders_per_s']:g} a shop)."
    )
