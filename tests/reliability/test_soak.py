"""The fault-injection soak at its quick size (``make soak`` runs the large one): orders from
eight senders with repeats and near-duplicates, DynamoDB failing 5% of requests, stream batches
redelivered and a handler crashing mid-batch, Twilio REST failing 10%, status callbacks
replayed in reverse, the report schedule fired twice under SES throttling, and every log line
searched for a full phone number, an API key or the auth token. Every guarantee the harness
checks must hold; the figures are printed (``pytest -s``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.soak import SoakOptions, run_soak

# The stack changes process-wide settings: run in the worker that runs the e2e tests, one at a time.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

QUICK = SoakOptions(orders=1000, customers=20)  # the quick size; 10,000 orders and 300 customers: `make soak`


def test_nothing_is_lost_or_doubled_under_faults(tmp_path: Path) -> None:
    result = run_soak(QUICK, tmp_path / "outbox")

    print("\n".join(result.lines()))
    assert result.problems == []
    figures = result.figures
    assert figures["orders lost"] == 0 and figures["orders doubled"] == 0
    assert figures["tasks stuck"] == 0 and figures["customers dialed more than their attempts"] == 0
    assert figures["report emails"] == 3
    assert figures["log lines / with a full phone number, API key or token"].endswith(" / 0")
