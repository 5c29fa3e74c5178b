"""Live figures from running counters (#19): what one order or call record adds to its shop's
day, counted as the stream consumers see each change, so the live figures are a few reads
instead of a re-read of the day.

A record's *contribution* is the counters the report's tally (``report.tally``) would add for
it as it stands; a change adds ``contribution(new) - contribution(old)``, so after the last
change of each record the counters hold exactly what the tally of the day's records holds.
Seconds (first dial, queue waits) are kept as histograms of buckets: whole seconds up to two
minutes, then coarser (see :func:`bucket`), so medians and percentiles are exact below two
minutes and the bucket's start above.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Generic, TypeVar

from chalicelib.domain.report.facts import AGENT_DIAL_DIRECTION, INBOUND_DIRECTION, ROBOT_DIRECTION, CallFact, OrderFact
from chalicelib.domain.report.figures import SERVICE_LEVEL_SECONDS, DailyFigures, InboundFigures, OutboundFigures

FIRST_DIAL = "fd"  # histogram prefixes: "<prefix>_<bucket start>" counts, "<prefix>_n" all
WAIT = "w"
MILLI = Decimal(1000)  # confirmed totals are counted in thousandths (no float ever holds money)
F = TypeVar("F", OrderFact, CallFact)


@dataclass(frozen=True, slots=True)
class FactChange(Generic[F]):
    """One stream record: a record of the shop's ``day`` before and after (None: none)."""

    shop_id: str
    day: str
    old: F | None
    new: F | None


@dataclass(frozen=True, slots=True)
class CountEntry:
    """What one stream record adds to its shop's day, once (``record_id``: the record's own id).
    ``active``: the record is a new call: the shop has calls that day."""

    record_id: str
    shop_id: str
    day: str
    counts: Mapping[str, int]
    active: bool = False


# Bucket widths: (below this many seconds, this wide).
_BUCKETS = ((120, 1), (600, 10), (3 * 3600, 60), (10**9, 600))


def days_somewhere(now: datetime) -> list[date]:
    """Every calendar date that is today somewhere on Earth at ``now`` (UTC-12 to UTC+14)."""
    return sorted({(now + timedelta(hours=hours)).date() for hours in (-12, 0, 14)})


def bucket(seconds: float) -> int:
    """The start of the histogram bucket holding ``seconds`` (rounded to a whole second first)."""
    value = max(0, round(seconds))
    for below, width in _BUCKETS:
        if value < below:
            return value - value % width
    return value  # pragma: no cover - nothing waits 30 years


def order_counts(order: OrderFact | None, currency: str | None) -> Counter[str]:
    """What ``ReportTally.add_order`` adds for this order as it stands; nothing for None, nor
    for an order not decided yet ("received"): every order is decided (duplicate, fake, queued,
    confirmed) a moment after it arrives, so its insert needs no write of its own."""
    counts: Counter[str] = Counter()
    if order is None or order.status == "received":
        return counts
    counts["orders"] += 1
    if order.status in ("duplicate", "fake"):
        counts["duplicates" if order.status == "duplicate" else "fakes"] += 1
        return counts
    if order.reached:
        counts["reached"] += 1
    if order.first_dial_at is not None:
        seconds = (order.first_dial_at - order.received_at).total_seconds()
        counts[f"{FIRST_DIAL}_n"] += 1
        counts[f"{FIRST_DIAL}_{bucket(seconds)}"] += 1
    if order.status == "confirmed":
        counts["confirmed"] += 1
        if currency is None or order.currency in (None, currency):
            counts["confirmed_milli"] += int(order.total * MILLI)
        else:
            counts["other_currency"] += 1
    elif order.status in ("cancelled", "unreachable"):
        counts[order.status] += 1
    return counts


def day_counts(orders: Iterable[OrderFact], calls: Iterable[CallFact], currency: str | None) -> Counter[str]:
    """What the counters of a day hold once every record's last change is counted: the sum of
    each record's contribution (the backfill of a day already under way)."""
    counts: Counter[str] = Counter()
    for order in orders:
        counts.update(order_counts(order, currency))
    for call in calls:
        counts.update(call_counts(call))
    return counts


def call_counts(call: CallFact | None) -> Counter[str]:
    """What ``ReportTally.add_call`` adds (the live view's part of it) for this call as it stands."""
    counts: Counter[str] = Counter()
    if call is None:
        return counts
    counts["calls"] += 1
    if call.direction == ROBOT_DIRECTION:
        counts["robot_calls"] += 1
        counts["robot_person"] += call.answered_by_person
    elif call.direction == AGENT_DIAL_DIRECTION and call.answered_by_person:
        counts["live_answers"] += 1
        counts["dropped"] += call.result == "dropped"
    elif call.direction == INBOUND_DIRECTION:
        counts["inbound"] += 1
        counts["inbound_answered"] += call.reached_agent
        counts["lost"] += (not call.reached_agent) and call.lost
        if call.queued_at is not None:
            counts["queued"] += 1
            wait = call.wait_seconds
            counts["within_sl"] += call.reached_agent and wait is not None and wait <= SERVICE_LEVEL_SECONDS
        if call.wait_seconds is not None:
            counts[f"{WAIT}_n"] += 1
            counts[f"{WAIT}_sum"] += max(0, round(call.wait_seconds))
            counts[f"{WAIT}_{bucket(call.wait_seconds)}"] += 1
        counts["callbacks"] += bool(call.callback_task_id)
    return counts


def change(old: Counter[str], new: Counter[str]) -> dict[str, int]:
    """The counters to add (negative: to take back) for a record that went from ``old`` to ``new``."""
    names = set(old) | set(new)
    return {name: new[name] - old[name] for name in sorted(names) if new[name] != old[name]}


def _histogram(counts: Mapping[str, int], prefix: str) -> list[tuple[int, int]]:
    found = []
    for name, number in counts.items():
        head, _, tail = name.partition("_")
        if head == prefix and tail.isdigit() and number > 0:
            found.append((int(tail), int(number)))
    return sorted(found)


def quantile(counts: Mapping[str, int], prefix: str, q: float) -> int | None:
    """Nearest-rank quantile of a histogram (the tally's rule), as its bucket's start."""
    histogram = _histogram(counts, prefix)
    total = sum(number for _, number in histogram)
    if total == 0:
        return None
    rank, seen = max(1, math.ceil(q * total)), 0
    for value, number in histogram:
        seen += number
        if seen >= rank:
            return value
    return histogram[-1][0]


def figures(counts: Mapping[str, int], *, dialer_answers: int = 0, dialer_drops: int = 0) -> DailyFigures:
    """The day's figures (those the live view shows) from its counters and the predictive
    dialer's own day counters."""
    c: Counter[str] = Counter({name: int(number) for name, number in counts.items()})
    waits = _histogram(c, WAIT)
    return DailyFigures(
        orders_received=c["orders"],
        duplicates=c["duplicates"],
        fakes=c["fakes"],
        reached=c["reached"],
        confirmed=c["confirmed"],
        cancelled=c["cancelled"],
        unreachable=c["unreachable"],
        confirmed_total=Decimal(c["confirmed_milli"]) / MILLI,
        confirmed_in_other_currency=c["other_currency"],
        calls=c["calls"],
        robot_calls=c["robot_calls"],
        robot_calls_answered_by_person=c["robot_person"],
        outbound=OutboundFigures(
            dial_attempts=c["robot_calls"],
            contacts=c["robot_person"],
            orders_dialed=c[f"{FIRST_DIAL}_n"],
            first_dial_median_seconds=quantile(c, FIRST_DIAL, 0.5),
            first_dial_p95_seconds=quantile(c, FIRST_DIAL, 0.95),
            live_answers=c["live_answers"] + dialer_answers,
            dropped_live_answers=c["dropped"] + dialer_drops,
        ),
        inbound=InboundFigures(
            calls=c["inbound"],
            answered=c["inbound_answered"],
            lost=c["lost"],
            queued=c["queued"],
            answered_within_service_level=c["within_sl"],
            waits=c[f"{WAIT}_n"],
            average_wait_seconds=round(c[f"{WAIT}_sum"] / c[f"{WAIT}_n"]) if c[f"{WAIT}_n"] else None,
            longest_wait_seconds=waits[-1][0] if waits else None,
            after_hours=0,
            callbacks_asked=c["callbacks"],
            callbacks_completed=None,
            survey=(),
            by_hour=(),
        ),
    )
