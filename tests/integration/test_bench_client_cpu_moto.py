"""bench.client_cpu answers every request in-process and reports each pair's CPU before and now
(#19); the figures are machine-dependent, so only their presence and shape are checked."""

from __future__ import annotations

import pytest

from bench import client_cpu

pytestmark = pytest.mark.integration


def test_client_cpu_measures_each_pair_without_a_database(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.setenv(name, "restored-after")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    figures = client_cpu.measure(requests=3, rounds=1)
    assert set(figures) == {"user agent (GetItem)", "update_call", "apply_call_status"}
    for row in figures.values():
        assert row["before_us"] > 0 and row["now_us"] > 0
        assert row["now_over_before"] == pytest.approx(row["now_us"] / row["before_us"])
