"""The benchmarks' pure arithmetic and bookkeeping (no timing is asserted anywhere)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from bench.cold_start import STDLIB, loaded, top_level_packages
from bench.stats import Summary, markdown_table, per_call, percentile, ratio, write_json


def test_percentile_interpolates_between_closest_ranks_like_statistics_inclusive() -> None:
    # GIVEN 1..300 shuffled (a benchmark's sample count)
    values = [float(v) for v in range(300, 0, -1)]
    # THEN p99 lies between the 297th and 298th smallest, as the standard library computes it
    assert percentile(values, 99) == pytest.approx(297.01)
    assert percentile(values, 99) == pytest.approx(statistics.quantiles(values, n=100, method="inclusive")[98])
    assert percentile(values, 50) == statistics.median(values) == 150.5


def test_percentile_ends_and_single_value() -> None:
    assert (percentile([3, 1, 2], 0), percentile([3, 1, 2], 100)) == (1, 3)
    assert percentile([7.5], 99) == 7.5
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_ratio_to_baseline_divides_median_by_median_and_p99_by_p99() -> None:
    baseline = Summary.of([10.0] * 99 + [20.0])
    slower = Summary.of([30.0] * 99 + [100.0])
    assert (baseline.median, slower.median) == (10.0, 30.0)
    assert slower.ratio_to(baseline) == (3.0, ratio(slower.p99, baseline.p99))
    assert slower.ratio_to(baseline)[1] == pytest.approx((30 + 70 * 0.01) / (10 + 10 * 0.01), abs=0.005)
    with pytest.raises(ValueError):
        ratio(1.0, 0.0)


def test_per_call_divides_totals_and_drops_unused_operations() -> None:
    assert per_call({"UpdateItem": 1200, "GetItem": 900, "Query": 0}, 300) == {"GetItem": 3.0, "UpdateItem": 4.0}
    with pytest.raises(ValueError):
        per_call({"GetItem": 1}, 0)


def test_markdown_table_aligns_numbers_right_and_escapes_pipes() -> None:
    table = markdown_table(["Endpoint", "× floor"], [["a|b", 1.0], ["c", 12.345]])
    assert table.splitlines() == ["| Endpoint | × floor |", "|---|---:|", "| a\\|b | 1.00 |", "| c | 12.35 |"]
    with pytest.raises(ValueError):
        markdown_table(["one", "two"], [["only one"]])


def test_write_json_sorts_keys_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = write_json(tmp_path / "results" / "x.json", {"b": 1, "a": {"d": 2, "c": 3}})
    assert path.read_text(encoding="utf-8") == json.dumps({"a": {"c": 3, "d": 2}, "b": 1}, indent=2) + "\n"
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_heavy_module_check_matches_packages_not_prefixes_of_names() -> None:
    modules = ["twilio", "twilio.twiml.voice_response", "jinja2_time", "moto.core"]
    assert not loaded(modules, "twilio.rest")
    assert not loaded(modules, "jinja2")
    assert loaded(modules, "moto")


def test_top_level_packages_counts_added_modules_and_folds_the_standard_library() -> None:
    before = ["sys", "time"]
    after = [*before, "json", "json.decoder", "pynamodb", "pynamodb.models", "pynamodb.attributes", "app"]
    added = [module for module in after if module not in before]
    assert top_level_packages(added) == {STDLIB: 2, "app": 1, "pynamodb": 3}
