"""The stream consumers' share of the live figures (#19): each order or call record's change
is added to its shop's day counters once, so ``GET /v1/live`` and the live alerts read a few
items instead of the day's records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from chalicelib.domain.live_counts import CountEntry, FactChange, call_counts, change, day_counts, order_counts
from chalicelib.domain.report.facts import CallFact, OrderFact
from chalicelib.services.ports import DayQueries, LiveCounters


def count_order_change(
    record_id: str, record: FactChange[OrderFact] | None, *, currency: str | None, counters: LiveCounters
) -> bool:
    """Add what the order's change changes in its day's counters; False for a record counted before."""
    entry = order_count_entry(record_id, record, currency=currency)
    return entry is None or counters.add_counts(entry.record_id, entry.shop_id, entry.day, entry.counts)


def order_count_entry(
    record_id: str, record: FactChange[OrderFact] | None, *, currency: str | None
) -> CountEntry | None:
    """What the order's change adds to its day's counters (None: nothing of a day), to be
    added with its batch's others (``LiveCounters.add_counts_together``)."""
    if record is None:
        return None
    delta = change(order_counts(record.old, currency), order_counts(record.new, currency))
    return CountEntry(record_id, record.shop_id, record.day, delta)


def count_call_change(record_id: str, record: FactChange[CallFact] | None, *, counters: LiveCounters) -> bool:
    """As :func:`count_order_change` for a call; a new call also marks its shop as having calls
    that day (the live alerts look at those shops only)."""
    if record is None:
        return True
    delta = change(call_counts(record.old), call_counts(record.new))
    return counters.add_counts(record_id, record.shop_id, record.day, delta, active=record.old is None)


def rebuild_day(
    shop_id: str, day: date, *, currency: str | None, records: DayQueries, counters: LiveCounters
) -> Mapping[str, int]:
    """The backfill (after upgrading during a day under way): the shop-day's counters set to
    what its records add up to, read by Query on the day's indexes (never a Scan); the same
    again on a repeat. A change whose stream record is still on its way when the records are
    read is counted twice: run it when the streams are quiet, or again."""
    calls = list(records.calls_of_day(shop_id, day))
    counts = day_counts(records.orders_of_day(shop_id, day), calls, currency)
    counters.set_counts(shop_id, day.isoformat(), counts, active=bool(calls))
    return counts
