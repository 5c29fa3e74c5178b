"""Numbers in Twilio's form parameters (SequenceNumber, CallDuration, QueueTime, ...), read
defensively: a webhook must never fail on a blank or garbage value."""

from __future__ import annotations

MAX_DIGITS = 18  # far below DynamoDB's 38-digit numbers, far above any real count


def twilio_count(text: str | None) -> int | None:
    """A non-negative whole number Twilio sent, or None for anything else (blank, '¹', '1e9')."""
    text = (text or "").strip()
    if text.isdecimal() and text.isascii() and len(text) <= MAX_DIGITS:
        return int(text)
    return None
