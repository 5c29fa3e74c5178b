"""Numbers in Twilio's form parameters (SequenceNumber, CallDuration, Confidence, ...), read
defensively: a webhook must never fail on a blank or garbage value."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
MAX_DIGITS = 18  # far below DynamoDB's 38-digit numbers, far above any real count


def twilio_count(text: str | None) -> int | None:
    """A non-negative whole number Twilio sent, or None for anything else (blank, '¹', '1e9')."""
    text = (text or "").strip()
    if text.isdecimal() and text.isascii() and len(text) <= MAX_DIGITS:
        return int(text)
    return None


def twilio_fraction(text: str | None) -> float | None:
    """A score from 0.0 to 1.0 Twilio sent (a speech result's ``Confidence``: "0.9575713"),
    or None for anything else (blank, "NaN", "1e3", "-0.2", "١")."""
    text = (text or "").strip()
    if not text.isascii() or len(text) > MAX_DIGITS + 2 or not re.fullmatch(r"[01]?\.?[0-9]*", text):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 <= value <= 1.0 else None


@dataclass(frozen=True)
class StatusCallback:
    """What a call's status callback says: the status, the callback's place in Twilio's order
    (repeated or reordered callbacks never move a record back) and the fields to store."""

    status: str
    sequence: int
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status in FINAL_CALL_STATUSES


def status_callback(form: dict[str, str], known_status: str, now: datetime) -> StatusCallback:
    status = form.get("CallStatus", known_status)
    fields: dict[str, Any] = {"status": status}
    duration = twilio_count(form.get("CallDuration"))
    if duration is not None:
        fields["duration_seconds"] = duration
    if status in FINAL_CALL_STATUSES:
        fields["ended_at"] = now
    return StatusCallback(status, twilio_count(form.get("SequenceNumber")) or 0, fields)
