"""The text outbox (#18): the minute sweep sends the texts Twilio could not take before."""

from __future__ import annotations

from typing import Any

from chalicelib import wiring
from chalicelib.clock import current_clock
from chalicelib.observability import metrics
from chalicelib.services import text_outbox


def text_retry(event: Any) -> None:
    counts = text_outbox.sweep_due(line=wiring.text_line(), now=current_clock().now())
    for result, count in counts.items():
        metrics.add_metric(name=f"Texts_{result}", unit="Count", value=count)  # parked ones alarm (infra)
