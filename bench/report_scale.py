"""The daily report at scale: a synthetic day of ``calls`` calls and ``orders`` orders for one
shop, written into a private DynamoDB Local with BatchWriteItem from several threads, then the
report email built (``build_daily_report`` over ``DynamoReportQueries``, as the schedule does).

The build runs in a fresh interpreter so its peak memory (``VmHWM``, the resident high-water
mark) is its own: imports,
the figures, the call log CSV, the charts and the rendered HTML. In the same interpreter and
against the same data, a baseline reads the same Query pages and does nothing with them; the
time figure is the build's time over that plain read. The DynamoDB requests of the build are
counted by operation: the target is zero Scans (every read a Query on the day's index, or a
BatchGetItem by key).

``--scale`` multiplies both sizes (a test runs it at 0.001).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from bench.stats import markdown_table, ratio

ROOT = Path(__file__).resolve().parent.parent
SHOP_ID = "demo"
DAY = date(2026, 11, 23)
DAY_START_UTC = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)  # 00:00 in Kyiv
FULL_CALLS, FULL_ORDERS = 100_000, 30_000
TARGET_PEAK_MB = 256
WRITER_THREADS = 8

_CHILD = """
import json, resource, sys, time
from datetime import date


def peak_kb():
    # VmHWM: this process's own high-water mark (Linux keeps ru_maxrss across exec, so a child
    # of a large parent would report the parent's size).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


from bench.ddb_counter import DynamoDBRequestCounter
counter = DynamoDBRequestCounter().install()
from chalicelib.adapters.models import CallRecord, OrderRecord, reset_connections
from chalicelib.adapters.report_queries import DynamoReportQueries, shop_day_key
from chalicelib.services.reports import build_daily_report
from chalicelib.wiring import repository
reset_connections()
shop = repository().get_shop(sys.argv[1])
day = date.fromisoformat(sys.argv[2])
baseline_rss = peak_kb()
start = time.perf_counter()
rows = sum(1 for _ in OrderRecord.by_shop_day.query(shop_day_key(shop.shop_id, day)))
rows += sum(1 for _ in CallRecord.by_shop_day.query(shop_day_key(shop.shop_id, day)))
plain_read_s = time.perf_counter() - start
with counter.measure() as tally:
    start = time.perf_counter()
    email = build_daily_report(shop, day, DynamoReportQueries())
    build_s = time.perf_counter() - start
print(json.dumps({
    "rows": rows,
    "plain_read_s": plain_read_s,
    "build_s": build_s,
    "peak_rss_kb": peak_kb(),
    "rss_before_build_kb": baseline_rss,
    "requests": dict(tally[0].calls),
    "attachments": [len(a.data) for a in email.attachments],
    "html_chars": len(email.html),
}))
"""


def _calls(count: int, rng: random.Random) -> list[Any]:
    from chalicelib.adapters.models import CallRecord

    records = []
    span = 24 * 3600
    for index in range(count):
        created = DAY_START_UTC + timedelta(seconds=rng.uniform(0, span - 600))
        inbound = rng.random() < 0.6
        answered = rng.random() < 0.8
        duration = int(rng.lognormvariate(4.5, 0.8)) if answered else 0
        record = CallRecord(
            f"CA{index:032x}",
            shop_id=SHOP_ID,
            direction="inbound" if inbound else "outbound-robot",
            customer_phone=f"+38067{rng.randrange(10**7):07d}",
            shop_number="+380441234567",
            status="completed" if answered else rng.choice(["no-answer", "busy"]),
            answered_by=("human" if rng.random() < 0.9 else "machine_start") if answered else None,
            result=rng.choice(["agent", "voicemail", "self-service", "confirmed", "cancelled"]) if answered else None,
            duration_seconds=duration,
            created_at=created,
            answered_at=created + timedelta(seconds=rng.uniform(2, 20)) if answered else None,
            ended_at=created + timedelta(seconds=duration + 25),
            shop_day=f"{SHOP_ID}#{DAY.isoformat()}",
            group="sales" if inbound else None,
            queued_at=created + timedelta(seconds=15) if inbound and answered else None,
            wait_seconds=int(rng.uniform(0, 120)) if inbound and answered else None,
            agent_id=rng.choice(["anna", "oleh"]) if inbound and answered else None,
            recording_sid=f"RE{index:032x}" if answered else None,
        )
        records.append(record)
    return records


def _orders(count: int, rng: random.Random) -> list[Any]:
    from chalicelib.adapters.models import OrderRecord

    records = []
    for index in range(count):
        received = DAY_START_UTC + timedelta(seconds=rng.uniform(0, 24 * 3600 - 3600))
        status = rng.choices(["confirmed", "cancelled", "duplicate", "queued", "unreachable"], [60, 10, 8, 15, 7])[0]
        phone = f"+38067{rng.randrange(10**7):07d}"
        records.append(
            OrderRecord(
                SHOP_ID,
                f"ord_{index:020x}",
                order_number=f"S-{index}",
                phone=phone,
                customer_name="Synthetic Customer",
                payload={"items": [{"sku": "SKU-1", "quantity": 1, "price": "250"}]},
                total=str(Decimal(rng.randrange(100, 5000))),
                currency="UAH",
                status=status,
                reached=status in ("confirmed", "cancelled"),
                received_at=received,
                first_dial_at=received + timedelta(seconds=rng.uniform(1, 60)) if status != "duplicate" else None,
                decided_at=received + timedelta(minutes=5) if status in ("confirmed", "cancelled") else None,
                shop_day=f"{SHOP_ID}#{DAY.isoformat()}",
                shop_phone=f"{SHOP_ID}#{phone}",
            )
        )
    return records


def _write_all(records: list[Any], endpoint: str) -> int:
    """BatchWriteItem, 25 items a request, from several threads; retried until none is left."""
    import boto3

    if not records:
        return 0
    table = type(records[0]).Meta.table_name
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    items = [{"PutRequest": {"Item": record.serialize()}} for record in records]
    batches = [items[i : i + 25] for i in range(0, len(items), 25)]

    def write(batch: list[dict[str, Any]]) -> int:
        requests = 0
        pending = {table: batch}
        while pending:
            requests += 1
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        return requests

    with ThreadPoolExecutor(WRITER_THREADS) as pool:
        return sum(pool.map(write, batches))


def run(scale: float = 1.0, seed: int = 20261123, progress: TextIO | None = None) -> dict[str, Any]:
    from bench.service_time import app_environment
    from devtools.dynamodb_local import DynamoDBLocal

    out = progress or sys.stderr
    calls, orders = max(1, round(FULL_CALLS * scale)), max(1, round(FULL_ORDERS * scale))
    rng = random.Random(seed)
    with DynamoDBLocal() as ddb, app_environment(ddb.env()):
        from chalicelib.adapters.models import create_tables
        from chalicelib.clock import current_clock
        from chalicelib.services.admin import load_config
        from chalicelib.wiring import repository

        create_tables()
        load_config(ROOT / "config" / "demo.toml", store=repository(), now=current_clock().now())
        print(f"report_scale: writing {calls} calls and {orders} orders", file=out, flush=True)
        write_requests = _write_all(_calls(calls, rng), ddb.endpoint_url)
        write_requests += _write_all(_orders(orders, rng), ddb.endpoint_url)
        print("report_scale: building the report in a fresh interpreter", file=out, flush=True)
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, SHOP_ID, DAY.isoformat()],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    if child.returncode != 0:
        raise RuntimeError(f"the report build failed:\n{child.stderr[-3000:]}")
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    requests: dict[str, int] = measured["requests"]
    peak_mb = round(measured["peak_rss_kb"] / 1024, 1)
    return {
        "benchmark": "report_scale",
        "what": "DynamoDB Local: one shop's synthetic day; build_daily_report in a fresh interpreter; "
        "time as a ratio to reading the same Query pages and discarding them, in the same interpreter",
        "scale": scale,
        "calls": calls,
        "orders": orders,
        "rows_read": measured["rows"],
        "batch_write_requests": write_requests,
        "build_vs_plain_read_ratio": ratio(measured["build_s"], measured["plain_read_s"]),
        "peak_mb": peak_mb,
        "rss_before_build_mb": round(measured["rss_before_build_kb"] / 1024, 1),
        "target_peak_mb": TARGET_PEAK_MB,
        "dynamodb_requests_by_operation": dict(sorted(requests.items())),
        "query_requests": requests.get("Query", 0),
        "scan_requests": requests.get("Scan", 0),
        "target_scan_requests": 0,
        "target_met": peak_mb < TARGET_PEAK_MB and requests.get("Scan", 0) == 0,
        "attachment_bytes": measured["attachments"],
        "context_only_s": {"build": round(measured["build_s"], 2), "plain_read": round(measured["plain_read_s"], 2)},
    }


def render(document: dict[str, Any]) -> str:
    table = markdown_table(
        ["calls", "orders", "build × plain read", "peak MB (target)", "Query", "Scan (target)"],
        [
            [
                document["calls"],
                document["orders"],
                document["build_vs_plain_read_ratio"],
                f"{document['peak_mb']:g} (< {document['target_peak_mb']})",
                document["query_requests"],
                f"{document['scan_requests']} ({document['target_scan_requests']})",
            ]
        ],
    )
    context = document["context_only_s"]
    return (
        f"### Daily report at scale\n\n{table}\n\n"
        f"Memory before the build (interpreter and imports): {document['rss_before_build_mb']:g} MB. "
        f"On this machine in this run: build {context['build']} s, plain read {context['plain_read']} s "
        "(context only)."
    )
