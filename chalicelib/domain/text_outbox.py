"""The text outbox (#18): every text the app sends is first an outbox record, then a try.

A record's id is derived from what the text is for (the order's confirmation request, an
alert to one manager...), so a retried handler or a redelivered stream record finds the
record it wrote before and never makes a second text. A try that Twilio could not take
(5xx, 429, a timeout, a refused connection) leaves the record pending with backoff for a day;
then it is parked for an operator, who may replay it. A refusal no retry fixes (an invalid
number, 4xx) is recorded as failed with Twilio's reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(minutes=15)
GIVE_UP_AFTER = timedelta(days=1)

STATES = ("pending", "sent", "failed", "parked")


@dataclass(frozen=True)
class OutgoingText:
    text_id: str
    shop_id: str
    to: str
    from_: str
    body: str
    kind: str  # customer (logged on the customer's timeline) | alert (to a manager)
    purpose: str
    created_at: datetime
    order_ids: list[str] = field(default_factory=list)
    state: str = "pending"
    attempts: int = 0
    retrying_since: datetime | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    message_sid: str | None = None
    last_error: str | None = None
    uncertain: bool = False  # the last try timed out after the request went: Twilio may have it
    parked_at: datetime | None = None


def text_id(shop_id: str, key: str) -> str:
    """The record's id for the text ``key`` names in this shop: the same key, the same id
    (hashed: keys may hold phone numbers, ids appear in logs)."""
    return "txt-" + hashlib.sha256(f"{shop_id}\x1f{key}".encode()).hexdigest()[:40]


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: 1, 2, 4, 8 minutes, then every 15."""
    return min(FIRST_RETRY * (2 ** min(max(0, attempts - 1), 10)), LONGEST_RETRY)


def next_attempt_at(attempts: int, retrying_since: datetime, now: datetime) -> datetime | None:
    """When to try again after a failure, or None: after a day of failures the text is parked."""
    at = now + retry_delay(attempts)
    return at if at <= retrying_since + GIVE_UP_AFTER else None


def due(text: OutgoingText, now: datetime) -> bool:
    return text.state == "pending" and (text.next_attempt_at is None or text.next_attempt_at <= now)
