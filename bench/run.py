"""Run the benchmarks: ``python -m bench.run [--only NAME ...] [--iterations N] [--warmup N] [--runs N] ...``.

Each benchmark writes ``bench/results/<name>.json`` and prints a Markdown table (stdout) that
can be pasted into the README; progress goes to stderr. The exit status is 1 when a
benchmark's own check fails (a heavy module loaded by ``import app``); a missed target is
reported in the JSON (``target_met``) and the table, not by the exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import cold_start, cost, first_dial, ingest, report_scale, service_time
from bench.stats import write_json

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCHMARKS = ("service_time", "cold_start", "first_dial", "ingest", "report_scale", "cost")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, help="run only this benchmark (repeatable); default: all"
    )
    parser.add_argument("--iterations", type=int, default=300, help="service_time: measured calls per endpoint")
    parser.add_argument("--warmup", type=int, default=50, help="service_time: unmeasured rounds first")
    parser.add_argument("--runs", type=int, default=15, help="cold_start: fresh interpreters per import")
    parser.add_argument("--orders", type=int, default=40, help="first_dial: orders; ingest: 5x this many new orders")
    parser.add_argument("--scale", type=float, default=1.0, help="report_scale: share of 100,000 calls/30,000 orders")
    parser.add_argument("--calls", type=int, default=20, help="cost: inbound calls and robot-confirmed orders each")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON files go")
    args = parser.parse_args(argv)
    if min(args.iterations, args.runs, args.orders, args.calls) < 1 or args.warmup < 0 or not args.scale > 0:
        parser.error("--iterations, --runs, --orders and --calls must be at least 1, --warmup at least 0, --scale > 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
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
    }
    status = 0
    for name in BENCHMARKS:
        if name not in selected:
            continue
        measure, render = plans[name]
        document = measure()
        path = write_json(args.results_dir / f"{name}.json", document)
        print(render(document), end="\n\n", flush=True)
        print(f"{name}: wrote {path}", file=sys.stderr, flush=True)
        if document.get("heavy_modules_absent") is False:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
