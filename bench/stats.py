"""The pure part of the benchmarks: percentiles, ratios, Markdown tables and result files.

Every figure a benchmark publishes is a ratio against a baseline measured in the same
process and run, or a count: absolute times drift from one shared machine to the next.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolating linearly between the closest ranks.

    The same definition as numpy's default and ``statistics.quantiles(method="inclusive")``:
    the 0th is the minimum, the 100th the maximum, the 50th the median.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


@dataclass(frozen=True)
class Summary:
    """Median and p99 of one series of samples (any unit, as long as series compared share it)."""

    count: int
    median: float
    p99: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(count=len(values), median=median(values), p99=percentile(values, 99))

    def ratio_to(self, baseline: Summary) -> tuple[float, float]:
        """(median ratio, p99 ratio): how many times the baseline's median and p99 this is."""
        return ratio(self.median, baseline.median), ratio(self.p99, baseline.p99)


def ratio(value: float, baseline: float, digits: int = 2) -> float:
    if baseline <= 0:
        raise ValueError(f"baseline must be positive, got {baseline}")
    return round(value / baseline, digits)


def per_call(totals: dict[str, int], calls: int) -> dict[str, float]:
    """Counts summed over ``calls`` calls, as a count per call (sorted by name, 2 decimals)."""
    if calls <= 0:
        raise ValueError("per_call needs at least one call")
    return {name: round(total / calls, 2) for name, total in sorted(totals.items()) if total}


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned, text left-aligned."""
    if any(len(row) != len(headers) for row in rows):
        raise ValueError("every row needs one cell per header")
    numeric = [all(isinstance(row[i], int | float) for row in rows) and bool(rows) for i in range(len(headers))]
    cells = [[_cell(value) for value in row] for row in rows]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---:" if is_number else "---" for is_number in numeric) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value).replace("|", "\\|")


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` with sorted keys and a final newline, atomically (``*.tmp`` then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path
