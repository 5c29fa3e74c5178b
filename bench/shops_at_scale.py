"""Many shops in one deployment (#19): what the minute schedules cost as the idle shops grow,
and how soon an order is dialed at the busiest and at the last shop.

One local stack (DynamoDB Local, the app over HTTP, the stream poller, the Twilio stand-in;
the schedules fired here, not by the stack). The shops grow to each size in turn (10, 100,
1,000, 10,000 by default: copies of the demo shop, written 25 to a BatchWriteItem); 10 of them
are busy the whole time: 20 callbacks waiting for an agent (all offline, so no call), a caller
waiting in the queue today, live thresholds set (queue wait, drop rate). At each size both
schedules (``dial_due``, ``live_alerts``) fire ``--minutes`` times; each firing's DynamoDB
requests are counted with a botocore event hook (``bench.ddb_counter``) and its CPU time
measured on its own thread. Figures are counts and ratios: requests a minute, the extra
requests a minute per idle shop between sizes (target under 0.1), CPU per firing.

At the largest size, orders are posted alternately to the busiest shop (the demo shop) and to
the last shop created, with both schedules firing every minute meanwhile; first dial is from
the order POST's answer to the Calls-create request at the stand-in (p95 target under 5 s).
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, TextIO

from bench.ddb_counter import DynamoDBRequestCounter
from bench.first_dial import WAIT_LIMIT_S, DialWatch
from bench.local_stack import customer_phone, local_stack, order_body
from bench.stats import markdown_table, median, percentile

SIZES = (10, 100, 1_000, 10_000)
BUSY = 10
TARGET_IDLE_REQUESTS_PER_MINUTE = 0.1
TARGET_FIRST_DIAL_P95_S = 5.0
LAST_SHOP_KEY = "scale-last-shop-key-0001"


def _clone(demo: Any, shop_id: str, *, busy: bool) -> Any:
    update: dict[str, Any] = {"shop_id": shop_id, "name": f"Shop {shop_id}"}
    if busy:
        limits = {"max_queue_wait_seconds": 3600, "max_drop_rate_percent": Decimal(50)}
        update["alerts"] = demo.alerts.model_copy(update=limits)
    return demo.model_copy(update=update)


def _add_shops(shops: Sequence[Any], now: Any) -> None:
    from chalicelib.adapters.dynamo.schema import ShopItem

    with ShopItem.batch_write() as batch:  # 25 shops a request
        for shop in shops:
            batch.save(ShopItem(shop.shop_id, settings=json.loads(shop.model_dump_json()), created_at=now))


def _make_busy(shop: Any, now: Any) -> None:
    """20 callbacks due (no agent is free, so they stay) and one caller waiting today."""
    from chalicelib.adapters.dynamo.items import day_key
    from chalicelib.adapters.dynamo.schema import CallItem
    from chalicelib.wiring import repository

    store = repository()
    for n in range(20):
        store.insert_callback_task(f"{shop.shop_id}-cb-{n}", shop.shop_id, customer_phone(9000 + n), "uk", now, now)
    CallItem(
        f"CA-{shop.shop_id}-waiting",
        shop_id=shop.shop_id,
        direction="inbound",
        customer_phone=customer_phone(9999),
        shop_number=shop.caller_id or "",
        status="in-progress",
        created_at=now - timedelta(seconds=40),
        queued_at=now - timedelta(seconds=30),
        shop_day=day_key(shop.shop_id, now.astimezone(shop.zone).date().isoformat()),
    ).save()


class Schedules:
    """Fires the two minute schedules in this thread, counting each firing's requests and CPU."""

    def __init__(self, counter: DynamoDBRequestCounter) -> None:
        self.counter = counter
        self.lock = threading.Lock()

    def fire(self) -> dict[str, dict[str, float]]:
        from chalicelib.events import dialing, reports

        figures: dict[str, dict[str, float]] = {}
        with self.lock:
            for name, schedule in (("dial_due", dialing.dial_due), ("live_alerts", reports.live_alerts)):
                cpu = time.thread_time()
                with self.counter.measure() as tally:
                    run = schedule(None)
                figures[name] = {
                    "requests": sum(tally[0].calls.values()),
                    "cpu_ms": round((time.thread_time() - cpu) * 1000, 1),
                    "shops_visited": len(run.visited),
                    "shops_failed": len(run.failed),
                }
        return figures


def _per_minute(firings: list[dict[str, dict[str, float]]], name: str, key: str) -> float:
    return round(sum(f[name][key] for f in firings) / len(firings), 2)


def run(
    sizes: Sequence[int] = SIZES, minutes: int = 3, orders: int = 10, progress: TextIO | None = None
) -> dict[str, Any]:
    out = progress or sys.stderr
    counter = DynamoDBRequestCounter().install()
    rows: list[dict[str, Any]] = []
    latencies: dict[str, list[float]] = {"busiest": [], "last": []}
    missed = 0
    try:
        with local_stack() as stack:
            from chalicelib.adapters.dynamo.schema import reset_connections
            from chalicelib.clock import current_clock
            from chalicelib.wiring import repository

            reset_connections()  # clients made from now on are counted
            now = current_clock().now()
            demo = repository().get_shop("demo")
            assert demo is not None
            busy = [
                _clone(demo, "demo", busy=True),
                *(_clone(demo, f"busy-{n:02d}", busy=True) for n in range(BUSY - 1)),
            ]
            for shop in busy:
                repository().save_shop(shop, now)  # forgets the cached demo settings too
            for shop in busy:
                _make_busy(shop, now)
            created, last = len(busy), busy[-1]
            time.sleep(3.0)  # the streams count the waiting calls and pass the callbacks by
            schedules = Schedules(counter)
            schedules.fire()  # unmeasured: the first firing imports and caches what later ones reuse
            for size in sorted(sizes):
                start = time.perf_counter()
                more = [_clone(demo, f"shop-{n:05d}", busy=False) for n in range(created, size)]
                _add_shops(more, current_clock().now())
                created, last = max(created, size), more[-1] if more else last
                loaded = round(time.perf_counter() - start, 1)
                firings = [schedules.fire() for _ in range(minutes)]
                row = {
                    "shops": max(size, len(busy)),
                    "busy_shops": len(busy),
                    "seconds_to_create_shops": loaded,
                    **{
                        f"{name}_{key}_per_minute": _per_minute(firings, name, key)
                        for name in ("dial_due", "live_alerts")
                        for key in ("requests", "cpu_ms", "shops_visited", "shops_failed")
                    },
                }
                rows.append(row)
                print(f"shops_at_scale: {row}", file=out, flush=True)
            repository().save_api_key(last.shop_id, LAST_SHOP_KEY, "scale-last", current_clock().now())
            watch = DialWatch(stack.standin.engine)
            stop = threading.Event()

            def every_minute() -> None:
                while not stop.wait(60.0):
                    schedules.fire()

            ticker = threading.Thread(target=every_minute, name="bench-schedules", daemon=True)
            ticker.start()
            try:
                for index in range(2 * orders):
                    which, key = ("busiest", None) if index % 2 == 0 else ("last", LAST_SHOP_KEY)
                    phone = customer_phone(20_000 + index)
                    _post(stack.api_url, order_body(f"SC-{index}", phone), key)
                    answered = time.monotonic()
                    dialed = watch.wait_for(phone, WAIT_LIMIT_S)
                    if dialed is None:
                        missed += 1
                    else:
                        latencies[which].append(max(0.0, dialed - answered))
            finally:
                stop.set()
                ticker.join(timeout=120)
    finally:
        counter.uninstall()
    return _document(rows, latencies, missed, minutes)


def _post(api_url: str, body: dict[str, Any], key: str | None) -> None:
    import requests

    from bench.local_stack import API_KEY

    response = requests.post(
        f"{api_url}/v1/orders", json=body, headers={"Authorization": f"Bearer {key or API_KEY}"}, timeout=30
    )
    if response.status_code != 201:
        raise RuntimeError(f"POST /v1/orders: {response.status_code} {response.text[:300]}")


def _document(
    rows: list[dict[str, Any]], latencies: dict[str, list[float]], missed: int, minutes: int
) -> dict[str, Any]:
    def requests_of(row: dict[str, Any]) -> float:
        return float(row["dial_due_requests_per_minute"] + row["live_alerts_requests_per_minute"])

    slopes = [
        round((requests_of(b) - requests_of(a)) / (b["shops"] - a["shops"]), 4)
        for a, b in itertools.pairwise(rows)
        if b["shops"] > a["shops"]
    ]
    idle = max(slopes) if slopes else 0.0
    p95 = {which: round(percentile(values, 95), 3) if values else None for which, values in latencies.items()}
    worst = max((value for value in p95.values() if value is not None), default=None)
    smallest, largest = (rows[0], rows[-1]) if rows else ({}, {})
    return {
        "benchmark": "shops_at_scale",
        "what": "DynamoDB requests and CPU a minute of the dial_due and live_alerts schedules as idle shops grow "
        f"({BUSY} busy), and first dial at the busiest and the last shop at the largest size (local stack)",
        "minutes_per_size": minutes,
        "sizes": rows,
        "idle_shop_requests_per_minute": idle,
        "target_idle_shop_requests_per_minute": TARGET_IDLE_REQUESTS_PER_MINUTE,
        "requests_per_minute_largest_to_smallest": round(requests_of(largest) / requests_of(smallest), 2)
        if rows and requests_of(smallest)
        else None,
        "first_dial_p95_s": p95,
        "first_dial_median_s": {w: round(median(v), 3) if v else None for w, v in latencies.items()},
        "first_dial_orders": {w: len(v) for w, v in latencies.items()},
        "first_dial_missed": missed,
        "target_first_dial_p95_s": TARGET_FIRST_DIAL_P95_S,
        "target_met": idle < TARGET_IDLE_REQUESTS_PER_MINUTE
        and worst is not None
        and worst < TARGET_FIRST_DIAL_P95_S
        and missed == 0,
    }


def render(document: dict[str, Any]) -> str:
    rows = [
        [
            row["shops"],
            row["busy_shops"],
            row["dial_due_requests_per_minute"],
            row["live_alerts_requests_per_minute"],
            row["dial_due_cpu_ms_per_minute"],
            row["live_alerts_cpu_ms_per_minute"],
            row["dial_due_shops_visited_per_minute"],
            row["seconds_to_create_shops"],
        ]
        for row in document["sizes"]
    ]
    table = markdown_table(
        [
            "shops",
            "busy",
            "dial_due requests/min",
            "live_alerts requests/min",
            "dial_due CPU ms/min",
            "live_alerts CPU ms/min",
            "shops visited/min",
            "s to create",
        ],
        rows,
    )
    p95 = document["first_dial_p95_s"]
    return (
        table + f"\n\nIdle shop: {document['idle_shop_requests_per_minute']} requests a minute (target under "
        f"{document['target_idle_shop_requests_per_minute']}); first dial p95 at the busiest shop "
        f"{p95['busiest']} s, at the last shop {p95['last']} s (target under {document['target_first_dial_p95_s']} s); "
        f"missed {document['first_dial_missed']}; target met: {document['target_met']}"
    )
