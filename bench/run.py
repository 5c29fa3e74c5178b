"""Run the benchmarks: ``python -m bench.run [--only NAME ...] [--iterations N] [--warmup N] [--runs N]``.

Each benchmark writes ``bench/results/<name>.json`` and prints a Markdown table (stdout) that
can be pasted into the README; progress goes to stderr. The exit status is 1 when a
benchmark's own check fails (a heavy module loaded by ``import app``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import cold_start, service_time
from bench.stats import write_json

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCHMARKS = ("service_time", "cold_start")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, help="run only this benchmark (repeatable); default: all"
    )
    parser.add_argument("--iterations", type=int, default=300, help="service_time: measured calls per endpoint")
    parser.add_argument("--warmup", type=int, default=50, help="service_time: unmeasured rounds first")
    parser.add_argument("--runs", type=int, default=15, help="cold_start: fresh interpreters per import")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON files go")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.warmup < 0 or args.runs < 1:
        parser.error("--iterations and --runs must be at least 1, --warmup at least 0")
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
