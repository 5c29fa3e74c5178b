"""Every benchmark of ``bench.run`` runs end to end on a tiny configuration and writes
well-formed JSON with its figures and their targets (its timings are never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import run

pytestmark = pytest.mark.e2e

TINY = ["--iterations", "2", "--warmup", "0", "--runs", "1", "--orders", "2", "--scale", "0.0003", "--calls", "1"]
TINY += ["--shops", "10,50", "--scale-minutes", "1", "--scale-orders", "1"]
TINY += ["--bridges", "1"]
# Each benchmark's figures and the target beside each (the keys the README table is built from).
EXPECTED_KEYS = {
    "service_time": {"endpoints", "request_counting", "target_p99_vs_floor"},
    "cold_start": {"cold_import_ratio", "target_cold_import_ratio", "heavy_modules_absent"},
    "first_dial": {"first_dial_median_s", "first_dial_p95_s", "target_first_dial_p95_s", "target_met"},
    "ingest": {
        "writes_per_unique_order",
        "target_writes_per_unique_order",
        "writes_per_duplicate_beyond_the_order",
        "target_writes_per_duplicate_beyond_the_order",
        "target_orders_per_s",
        "orders_per_s_target_met",
        "target_met",
    },
    "report_scale": {"peak_mb", "target_peak_mb", "scan_requests", "target_scan_requests", "query_requests"},
    "cost": {
        "cost_per_1000_calls_usd",
        "target_cost_per_1000_calls_usd",
        "cost_per_1000_confirmed_orders_usd",
        "twilio_per_1000_calls_usd",
        "twilio_per_1000_confirmed_orders_usd",
        "amazon_connect_service_per_1000_calls_usd",
        "amazon_connect_telephony_per_1000_calls_usd",
        "price_sources",
    },
    "shops_at_scale": {
        "sizes",
        "idle_shop_requests_per_minute",
        "target_idle_shop_requests_per_minute",
        "first_dial_p95_s",
        "target_first_dial_p95_s",
        "target_met",
    },
    "bridge": {
        "bridge_median_s",
        "bridge_p95_s",
        "baseline_raw_redirect_p95_s",
        "next_hold_round_mean_s",
        "hold_music_seconds",
        "target_bridge_p95_s",
        "target_met",
    },
}


def test_every_benchmark_runs_tiny_and_writes_its_figures_with_their_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set(EXPECTED_KEYS) == set(run.BENCHMARKS)
    status = run.main([*TINY, "--results-dir", str(tmp_path)])
    tables = capsys.readouterr().out
    assert status == 0  # no heavy module loaded by `import app`
    for name, keys in EXPECTED_KEYS.items():
        document = json.loads((tmp_path / f"{name}.json").read_text())
        assert document["benchmark"] == name
        assert keys <= set(document), f"{name} lacks {keys - set(document)}"
        assert "|---" in tables  # each printed its Markdown table
    # cold_start: each function of the package as synth builds it, its modules all bytecode-cached
    cold = json.loads((tmp_path / "cold_start.json").read_text())
    assert set(cold["functions"]) == {"app", "chalicelib.twilio_webhooks"}
    for entry in cold["functions"].values():
        assert {"cpu_vs_baseline", "cpu_vs_baseline_tracing_off", "xray_share_of_import"} <= set(entry)
        assert entry["heavy_modules_loaded"] == [] and entry["package_files_without_bytecode"] == []
    assert "pydantic" in cold["functions"]["chalicelib.twilio_webhooks"]["heavy_modules_checked"]
    assert cold["baseline_package_files_without_bytecode"] == []
    assert {"app_without_bytecode_vs_baseline", "target_met"} <= set(cold)
    ingest = json.loads((tmp_path / "ingest.json").read_text())
    assert ingest["unique"]["orders"] == ingest["duplicate"]["orders"] == 10
    report = json.loads((tmp_path / "report_scale.json").read_text())
    assert report["calls"] == 30 and report["orders"] == 9 and report["rows_read"] == 39
    cost = json.loads((tmp_path / "cost.json").read_text())
    assert cost["usage_inbound_calls"]["api_gateway_requests"] > 0
    assert cost["usage_confirmed_orders"]["lambda_invocations_by_function"].keys() >= {"order_stream", "task_stream"}
    # Twilio's telephony comes from the stand-in's legs, apart from the AWS figures: the caller's
    # leg of the one inbound call, the robot's one call to the customer who confirmed.
    assert cost["telephony_inbound_calls"]["call_legs_by_direction"]["inbound"]["legs"] == 1
    assert cost["telephony_confirmed_orders"]["call_legs_by_direction"]["outbound-api"]["answered"] == 1
    assert cost["twilio_per_1000_confirmed_orders_usd"]["outbound_minutes"] > 0
    assert "twilio" not in cost["cost_per_1000_calls_by_service_usd"]
    scale = json.loads((tmp_path / "shops_at_scale.json").read_text())
    assert [size["shops"] for size in scale["sizes"]] == [10, 50]
    assert all(size["busy_shops"] == 10 and size["dial_due_shops_visited_per_minute"] == 10 for size in scale["sizes"])
    assert scale["first_dial_orders"] == {"busiest": 1, "last": 1} and scale["first_dial_missed"] == 0
    bridge = json.loads((tmp_path / "bridge.json").read_text())  # with minutes of hold music playing
    assert bridge["bridges"] == 1 and bridge["callers_not_bridged_within_30_s"] == 0
    assert bridge["hold_music_seconds"] >= 120 and bridge["target_bridge_p95_s"] == 1.0
    # The whole run's time, each part's and the 15-minute target beside it.
    timing = json.loads((tmp_path / "run.json").read_text())
    assert set(timing["seconds_by_part"]) == set(run.BENCHMARKS)
    assert timing["target_total_seconds"] == 15 * 60
    assert {"total_seconds", "total_cpu_seconds", "target_met"} <= set(timing)
    assert "Whole run:" in tables
