"""Run the benchmarks: ``python -m bench.run [--only NAME ...] [--iterations N] [--warmup N] [--runs N] ...``.

Each benchmark writes ``bench/results/<name>.json`` and prints a Markdown table (stdout) that
can be pasted into the README; progress goes to stderr. ``--dialer-grid`` also runs the
predictive dialer grid (``bench.dialer --grid``), as ``make bench`` does. The wall time of
each part and of the whole run goes to ``run.json`` beside them (target: the whole of
``make bench`` under 15 minutes) and the whole run's time is printed last. The exit status is
1 when a benchmark's own check fails (a heavy module loaded by ``import app``); a missed
target is reported in the JSON (``target_met``) and the table, not by the exit status.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import bridge, cold_start, cost, dialer, first_dial, ingest, report_scale, service_time, shops_at_scale
from bench.stats import write_json

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCHMARKS = (
    "service_time",
    "cold_start",
    "first_dial",
    "ingest",
    "report_scale",
    "cost",
    "shops_at_scale",
    "bridge",
)
TARGET_TOTAL_SECONDS = 15 * 60  # issue #8: `make bench` finishes in under 15 minutes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, help="run only this benchmark (repeatable); default: all"
    )
    parser.add_argument("--iterations", type=int, default=200, help="service_time: measured calls per endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="service_time: unmeasured rounds first")
    parser.add_argument("--runs", type=int, default=11, help="cold_start: fresh interpreters per import")
    parser.add_argument("--orders", type=int, default=40, help="first_dial: orders; ingest: 5x this many new orders")
    parser.add_argument("--scale", type=float, default=1.0, help="report_scale: share of 100,000 calls/30,000 orders")
    parser.add_argument("--calls", type=int, default=20, help="cost: inbound calls and robot-confirmed orders each")
    parser.add_argument(
        "--shops", default="10,100,1000,10000", help="shops_at_scale: the sizes, comma-separated (10 busy in each)"
    )
    parser.add_argument("--scale-minutes", type=int, default=3, help="shops_at_scale: schedule firings per size")
    parser.add_argument("--scale-orders", type=int, default=10, help="shops_at_scale: orders at each of the two shops")
    parser.add_argument("--bridges", type=int, default=20, help="bridge: waiting callers bridged (and bare redirects)")
    parser.add_argument("--dialer-grid", action="store_true", help="then the dialer grid (bench.dialer --grid)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON files go")
    args = parser.parse_args(argv)
    if (
        min(args.iterations, args.runs, args.orders, args.calls, args.bridges) < 1
        or args.warmup < 0
        or not args.scale > 0
    ):
        parser.error("--iterations, --runs, --orders and --calls must be at least 1, --warmup at least 0, --scale > 0")
    return args


def _cpu_seconds() -> float:
    """CPU time of this process and of its children waited for so far (DynamoDB Local's JVMs,
    the fresh interpreters, the dialer's worker processes): what the run costs the machine,
    whatever else shares it."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    run_start, run_cpu_start, load_at_start = time.perf_counter(), _cpu_seconds(), os.getloadavg()
    selected = args.only or list(BENCHMARKS)
    plans: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], str]]] = {
        "service_time": (
            lambda: service_time.run(iterations=args.iterations, warmup=args.warmup),
            service_time.render,
        ),
        "cold_start": (lambda: cold_start.run(runs=args.runs), cold_start.render),
        "first_dial": (lambda: first_dial.run(orders=args.orders), first_dial.render),
        "ingest": (lambda: ingest.run(orders=5 * args.orders), ingest.render),
        "report_scale": (lambda: report_scale.run(scale=args.scale), report_scale.render),
        "cost": (lambda: cost.run(calls=args.calls, orders=args.calls), cost.render),
        "shops_at_scale": (
            lambda: shops_at_scale.run(
                sizes=[int(size) for size in args.shops.split(",")],
                minutes=args.scale_minutes,
                orders=args.scale_orders,
            ),
            shops_at_scale.render,
        ),
        "bridge": (lambda: bridge.run(bridges=args.bridges), bridge.render),
    }
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}
    status = 0
    for name in BENCHMARKS:
        if name not in selected:
            continue
        measure, render = plans[name]
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        document = measure()
        seconds[name] = round(time.perf_counter() - start, 1)
        cpu_seconds[name] = round(_cpu_seconds() - cpu_start, 1)
        path = write_json(args.results_dir / f"{name}.json", document)
        print(render(document), end="\n\n", flush=True)
        print(f"{name}: wrote {path} ({_minutes(seconds[name])})", file=sys.stderr, flush=True)
        if document.get("heavy_modules_absent") is False:
            status = 1
    if args.dialer_grid:
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        if dialer.main(["--grid", "--results-dir", str(args.results_dir)]) != 0:
            status = 1
        print(flush=True)
        seconds["dialer_grid"] = round(time.perf_counter() - start, 1)
        cpu_seconds["dialer_grid"] = round(_cpu_seconds() - cpu_start, 1)
    total = round(time.perf_counter() - run_start, 1)
    load_at_end = os.getloadavg()
    write_json(
        args.results_dir / "run.json",
        {
            "benchmark": "run",
            "what": "wall time of each part of this run and of the whole run, on this machine (context: "
            "absolute times drift with the machine's load)",
            "started_at_utc": started_at.isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {_cpu_count()} cores, Python {platform.python_version()}",
            "arguments": [str(arg) for arg in (argv if argv is not None else sys.argv[1:])],
            "seconds_by_part": seconds,
            "total_seconds": total,
            "cpu_seconds_by_part": cpu_seconds,
            "total_cpu_seconds": round(_cpu_seconds() - run_cpu_start, 1),
            "load_average_1_5_15_min": {
                "at_start": [round(value, 2) for value in load_at_start],
                "at_end": [round(value, 2) for value in load_at_end],
            },
            "target_total_seconds": TARGET_TOTAL_SECONDS,
            "target_met": total < TARGET_TOTAL_SECONDS,
        },
    )
    print(
        f"Whole run: {_minutes(total)} (target: `make bench` under {TARGET_TOTAL_SECONDS // 60} min); "
        + ", ".join(f"{name} {value:g} s" for name, value in seconds.items())
        + f"; CPU {_minutes(_cpu_seconds() - run_cpu_start)}; load average {load_at_start[0]:.1f} at the start, "
        f"{load_at_end[0]:.1f} at the end",
        flush=True,
    )
    return status


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
