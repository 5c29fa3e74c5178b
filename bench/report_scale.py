"""The daily report at scale: a synthetic day of ``calls`` calls and ``orders`` orders for one
shop, written into a private in-memory DynamoDB Local with BatchWriteItem from several threads
while the items are still being generated, then the report email built (``build_daily_report``
over ``DynamoReportQueries``, as the schedule does).

The items are what the app stores (every attribute its repositories write, so pages hold as
many items as in production: DynamoDB's 1 MB page limit counts whole items, not the projected
attributes). The orders table's stream is switched off while the day is seeded: nothing
consumes it here, the report reads the tables' ``by_shop_day`` indexes, and DynamoDB Local
would otherwise write 30,000 stream records no one reads.

The build runs in a fresh interpreter so its peak memory (``VmHWM``, the resident high-water
mark) is its own: imports, the figures, the call log CSV, the charts and the rendered HTML.
Its time is given as a ratio to the time the same build spent inside its DynamoDB requests
(sending them, DynamoDB Local answering, botocore parsing the pages: everything of
``BaseClient._make_api_call``), measured in the same build, so no second read of the day is
needed. The DynamoDB requests of the build are counted by operation: the target is zero Scans
(every read a Query on the day's index, or a BatchGetItem by key).

``--scale`` multiplies both sizes (a test runs it at 0.0003).
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from bench.stats import markdown_table, ratio

ROOT = Path(__file__).resolve().parent.parent
SHOP_ID = "demo"
DAY = date(2015, 11, 23)
DAY_START_UTC = datetime(2015, 11, 22, 22, 0, tzinfo=UTC)  # 00:00 in Kyiv
FULL_CALLS, FULL_ORDERS = 100_000, 30_000
TARGET_PEAK_MB = 256
WRITER_THREADS = 4  # DynamoDB Local serialises its writes: more threads only queue up there
BATCH = 25  # BatchWriteItem's maximum

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


def cpu_s():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


import botocore.client

in_requests = [0.0]
make_api_call = botocore.client.BaseClient._make_api_call


def timed_api_call(self, operation_name, api_params):
    start = time.perf_counter()
    try:
        return make_api_call(self, operation_name, api_params)
    finally:
        in_requests[0] += time.perf_counter() - start


botocore.client.BaseClient._make_api_call = timed_api_call

from bench.ddb_counter import DynamoDBRequestCounter
counter = DynamoDBRequestCounter().install()
from chalicelib.adapters.dynamo.reports import DynamoReportQueries
from chalicelib.adapters.dynamo.schema import reset_connections
from chalicelib.services.reports.compose import build_daily_report
from chalicelib.wiring import repository
reset_connections()
shop = repository().get_shop(sys.argv[1])
day = date.fromisoformat(sys.argv[2])
baseline_rss = peak_kb()
in_requests[0] = 0.0
rows = [0]


class CountingQueries(DynamoReportQueries):
    # The real port; only counts the records it hands over.
    def orders_of_day(self, shop_id, day):
        for fact in super().orders_of_day(shop_id, day):
            rows[0] += 1
            yield fact

    def calls_of_day(self, shop_id, day):
        for fact in super().calls_of_day(shop_id, day):
            rows[0] += 1
            yield fact


with counter.measure() as tally:
    start, cpu_start = time.perf_counter(), cpu_s()
    email = build_daily_report(shop, day, CountingQueries())
    build_s, build_cpu_s = time.perf_counter() - start, cpu_s() - cpu_start
print(json.dumps({
    "rows": rows[0],
    "build_s": build_s,
    "build_cpu_s": build_cpu_s,
    "in_requests_s": in_requests[0],
    "peak_rss_kb": peak_kb(),
    "rss_before_build_kb": baseline_rss,
    "requests": dict(tally[0].calls),
    "attachments": [len(a.data) for a in email.attachments],
    "html_chars": len(email.html),
}))
"""


def _calls(count: int, rng: random.Random) -> Iterator[Any]:
    """Calls as the app stores them: inbound (language menu, queue, agent) and robot calls
    (with their task), with the customer timeline key."""
    from chalicelib.adapters.dynamo.schema import CallItem

    span = 24 * 3600
    for index in range(count):
        created = DAY_START_UTC + timedelta(seconds=rng.uniform(0, span - 600))
        inbound = rng.random() < 0.6
        answered = rng.random() < 0.8
        duration = int(rng.lognormvariate(4.5, 0.8)) if answered else 0
        phone = f"+38067{rng.randrange(10**7):07d}"
        yield CallItem(
            f"CA{index:032x}",
            shop_id=SHOP_ID,
            direction="inbound" if inbound else "outbound-robot",
            customer_phone=phone,
            shop_number="+380441234567",
            task_id=None if inbound else f"task_{index:024x}",
            status="completed" if answered else rng.choice(["no-answer", "busy"]),
            answered_by=("human" if rng.random() < 0.9 else "machine_start") if answered else None,
            result=rng.choice(["agent", "voicemail", "self-service", "confirmed", "cancelled"]) if answered else None,
            duration_seconds=duration,
            created_at=created,
            answered_at=created + timedelta(seconds=rng.uniform(2, 20)) if answered else None,
            ended_at=created + timedelta(seconds=duration + 25),
            last_sequence=rng.randrange(2, 6),
            shop_day=f"{SHOP_ID}#{DAY.isoformat()}",
            language=rng.choice(["uk", "ru", "en"]) if inbound else None,
            group="sales" if inbound else None,
            queued_at=created + timedelta(seconds=15) if inbound and answered else None,
            wait_seconds=int(rng.uniform(0, 120)) if inbound and answered else None,
            agent_id=rng.choice(["anna", "oleh"]) if inbound and answered else None,
            survey=rng.choice(["1", "2", "3"]) if inbound and answered and rng.random() < 0.3 else None,
            recording_sid=f"RE{index:032x}" if answered else None,
            shop_phone=f"{SHOP_ID}#{phone}",
        )


def _orders(count: int, rng: random.Random) -> Iterator[Any]:
    """Orders as the app stores them once decided: routed, with their dial task."""
    from chalicelib.adapters.dynamo.orders import order_keys
    from chalicelib.adapters.dynamo.schema import OrderItem

    for index in range(count):
        received = DAY_START_UTC + timedelta(seconds=rng.uniform(0, 24 * 3600 - 3600))
        status = rng.choices(["confirmed", "cancelled", "duplicate", "queued", "unreachable"], [60, 10, 8, 15, 7])[0]
        phone = f"+38067{rng.randrange(10**7):07d}"
        yield OrderItem(
            *order_keys(SHOP_ID, f"ord_{index:020x}"),
            shop_id=SHOP_ID,
            order_number=f"S-{index}",
            phone=phone,
            customer_name="Synthetic Customer",
            language="uk",
            payload={"items": [{"sku": "SKU-1", "quantity": 1, "price": "250"}]},
            total=str(Decimal(rng.randrange(100, 5000))),
            currency="UAH",
            status=status,
            duplicate_of=f"ord_{max(index - 1, 0):020x}" if status == "duplicate" else None,
            task_id=f"task_{index:024x}" if status != "duplicate" else None,
            route="robot" if status != "duplicate" else None,
            reached=status in ("confirmed", "cancelled"),
            received_at=received,
            first_dial_at=received + timedelta(seconds=rng.uniform(1, 60)) if status != "duplicate" else None,
            decided_at=received + timedelta(minutes=5) if status in ("confirmed", "cancelled") else None,
            shop_day=f"{SHOP_ID}#{DAY.isoformat()}",
            shop_phone=f"{SHOP_ID}#{phone}",
        )


def _write_all(records: Iterable[Any], endpoint: str, threads: int = WRITER_THREADS) -> int:
    """BatchWriteItem, 25 items a request, from several threads fed while the records are
    still being generated and serialised; each batch is retried until none of it is left.
    Returns the requests made."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint)
    batches: queue.Queue[dict[str, list[dict[str, Any]]] | None] = queue.Queue(maxsize=4 * threads)
    requests = [0] * threads
    errors: list[BaseException] = []

    def writer(slot: int) -> None:
        while (job := batches.get()) is not None:
            if errors:
                continue  # drain the queue so the producer never blocks
            pending: dict[str, Any] = job
            try:
                while pending:
                    requests[slot] += 1
                    pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            except BaseException as error:  # handed to the producer, raised there
                errors.append(error)

    workers = [threading.Thread(target=writer, args=(slot,), daemon=True) for slot in range(threads)]
    for worker in workers:
        worker.start()
    try:
        iterator = iter(records)
        while chunk := list(itertools.islice(iterator, BATCH)):
            job: dict[str, list[dict[str, Any]]] = {}
            for record in chunk:  # a batch may span two tables
                job.setdefault(type(record).Meta.table_name, []).append({"PutRequest": {"Item": record.serialize()}})
            batches.put(job)
            if errors:
                break
    finally:
        for _ in workers:
            batches.put(None)
        for worker in workers:
            worker.join()
    if errors:
        raise errors[0]
    return sum(requests)


def _streams_off(endpoint: str, models: Iterable[Any]) -> None:
    """Nothing reads the streams here: switch them off so the seeding does not write them."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint)
    for model in models:
        description = client.describe_table(TableName=model.Meta.table_name)["Table"]
        if description.get("StreamSpecification", {}).get("StreamEnabled"):
            client.update_table(TableName=model.Meta.table_name, StreamSpecification={"StreamEnabled": False})


def _timed(seconds: dict[str, float], name: str, work: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    try:
        return work()
    finally:
        seconds[name] = round(time.perf_counter() - start, 1)


def run(scale: float = 1.0, seed: int = 20261123, progress: TextIO | None = None) -> dict[str, Any]:
    from bench.service_time import app_environment
    from devtools.dynamodb_local import DynamoDBLocal

    out = progress or sys.stderr
    calls, orders = max(1, round(FULL_CALLS * scale)), max(1, round(FULL_ORDERS * scale))
    rng = random.Random(seed)
    phases: dict[str, float] = {}
    with DynamoDBLocal() as ddb, app_environment(ddb.env()):
        from chalicelib.adapters.dynamo.schema import CallItem, OrderItem, create_tables
        from chalicelib.clock import current_clock
        from chalicelib.services.admin import load_config
        from chalicelib.wiring import repository

        create_tables()
        load_config(ROOT / "config" / "demo.toml", store=repository(), now=current_clock().now())
        _streams_off(ddb.endpoint_url, [CallItem, OrderItem])
        print(f"report_scale: writing {calls} calls and {orders} orders", file=out, flush=True)
        write_requests = _timed(
            phases,
            "seed",
            lambda: _write_all(itertools.chain(_calls(calls, rng), _orders(orders, rng)), ddb.endpoint_url),
        )
        print(f"report_scale: seeded in {phases['seed']} s; building the report in a fresh interpreter", file=out)
        child = _timed(
            phases,
            "build_process",
            lambda: subprocess.run(
                [sys.executable, "-c", _CHILD, SHOP_ID, DAY.isoformat()],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            ),
        )
    if child.returncode != 0:
        raise RuntimeError(f"the report build failed:\n{child.stderr[-3000:]}")
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    requests: dict[str, int] = measured["requests"]
    peak_mb = round(measured["peak_rss_kb"] / 1024, 1)
    return {
        "benchmark": "report_scale",
        "what": "in-memory DynamoDB Local: one shop's synthetic day; build_daily_report in a fresh interpreter; "
        "time as a ratio to the time the same build spent inside its DynamoDB requests",
        "scale": scale,
        "calls": calls,
        "orders": orders,
        "rows_read": measured["rows"],
        "batch_write_requests": write_requests,
        "build_vs_its_dynamodb_requests_ratio": ratio(measured["build_s"], measured["in_requests_s"]),
        "peak_mb": peak_mb,
        "rss_before_build_mb": round(measured["rss_before_build_kb"] / 1024, 1),
        "target_peak_mb": TARGET_PEAK_MB,
        "dynamodb_requests_by_operation": dict(sorted(requests.items())),
        "query_requests": requests.get("Query", 0),
        "scan_requests": requests.get("Scan", 0),
        "target_scan_requests": 0,
        "target_met": peak_mb < TARGET_PEAK_MB and requests.get("Scan", 0) == 0,
        "attachment_bytes": measured["attachments"],
        "context_only_s": {
            "build": round(measured["build_s"], 2),
            "build_cpu": round(measured["build_cpu_s"], 2),
            "build_in_dynamodb_requests": round(measured["in_requests_s"], 2),
            **phases,
        },
    }


def render(document: dict[str, Any]) -> str:
    table = markdown_table(
        ["calls", "orders", "build × its DynamoDB requests", "peak MB (target)", "Query", "Scan (target)"],
        [
            [
                document["calls"],
                document["orders"],
                document["build_vs_its_dynamodb_requests_ratio"],
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
        f"On this machine in this run (context only): build {context['build']} s, of which "
        f"{context['build_in_dynamodb_requests']} s inside DynamoDB requests; seeding the day {context['seed']} s."
    )
