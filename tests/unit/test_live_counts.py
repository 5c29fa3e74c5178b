"""Live figures from running counters (#19): a simulated day of orders and calls, each record
changing several times as the streams would show it; the counters the changes add up to give
the same live figures as the report's tally of the day's final records."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from chalicelib.domain.live_counts import bucket, call_counts, change, days_somewhere, figures, order_counts
from chalicelib.domain.report.facts import CallFact, OrderFact
from chalicelib.domain.report.tally import daily_figures
from chalicelib.services.live import _percent

START = datetime(2009, 6, 2, 6, 0, tzinfo=UTC)  # far from the real date


def order_versions(rng: random.Random, n: int) -> list[OrderFact]:
    """An order as the stream shows it: received, then dialed, reached, decided (or not)."""
    received = START + timedelta(minutes=rng.randrange(600))
    order = OrderFact(f"o{n}", "received", Decimal(rng.randrange(100, 99999)) / 100, False, received, currency="UAH")
    versions = [order]
    fate = rng.random()
    if fate < 0.1:
        return [*versions, replace(order, status=rng.choice(["duplicate", "fake"]))]
    if fate < 0.15:
        versions.append(replace(order, currency="USD"))
    order = versions[-1]
    order = replace(order, status="queued", first_dial_at=received + timedelta(seconds=rng.randrange(1, 119)))
    versions.append(order)
    if rng.random() < 0.8:
        order = replace(order, reached=True)
        versions.append(order)
        versions.append(replace(order, status=rng.choice(["confirmed", "confirmed", "cancelled"])))
    elif rng.random() < 0.5:
        versions.append(replace(order, status="unreachable"))
    return versions


def call_versions(rng: random.Random, n: int) -> list[CallFact]:
    created = START + timedelta(minutes=rng.randrange(600))
    direction = rng.choice(["inbound", "inbound", "outbound-robot", "outbound-agent", "outbound-predictive"])
    call = CallFact(f"c{n}", direction, "ringing", None, None, created)
    versions = [call]
    if direction == "inbound":
        queued = created + timedelta(seconds=5)
        call = replace(call, status="in-progress", queued_at=queued)
        versions.append(call)
        wait = rng.randrange(0, 100)
        outcome = rng.random()
        if outcome < 0.6:
            call = replace(call, agent_id="anna", wait_seconds=wait, answered_at=queued + timedelta(seconds=wait))
        elif outcome < 0.8:
            call = replace(call, abandoned=True, wait_seconds=wait)
        else:
            call = replace(call, abandoned=True, wait_seconds=wait, callback_task_id=f"cb{n}")
        versions.append(call)
    else:
        answered = rng.random() < 0.7
        if answered:
            call = replace(call, status="in-progress", answered_at=created + timedelta(seconds=9))
            versions.append(call)
            call = replace(call, answered_by=rng.choice(["human", "machine_start", None]))
            versions.append(call)
            if direction == "outbound-agent" and rng.random() < 0.1:
                call = replace(call, result="dropped")
                versions.append(call)
    versions.append(replace(versions[-1], status="completed", duration_seconds=rng.randrange(200)))
    return versions


def live_part(f):
    """The figures the live view shows (live_view's 'today')."""
    out, inbound = f.outbound, f.inbound
    return (
        f.orders_received,
        f.duplicates,
        f.fakes,
        f.unique,
        f.reached,
        f.confirmed,
        f.cancelled,
        f.unreachable,
        f.still_open,
        _percent(f.confirmed_share),
        f.confirmed_total,
        f.average_check,
        f.robot_calls,
        f.robot_calls_answered_by_person,
        out.first_dial_median_seconds,
        out.first_dial_p95_seconds,
        _percent(out.drop_rate),
        inbound.calls,
        inbound.answered,
        inbound.lost,
        _percent(inbound.lost_share),
        _percent(inbound.service_level),
        inbound.average_wait_seconds,
        inbound.longest_wait_seconds,
        inbound.callbacks_asked,
    )


def test_the_counters_of_a_day_of_changes_give_the_tallys_live_figures():
    # GIVEN a day of 400 orders and 300 calls, each record seen by the stream at each change
    rng = random.Random(19)
    orders = [order_versions(rng, n) for n in range(400)]
    calls = [call_versions(rng, n) for n in range(300)]

    # WHEN each change adds its difference to the counters
    counters: Counter[str] = Counter()
    for is_call, old, new in _per_record_in_order(orders, calls):
        delta = (
            change(call_counts(old), call_counts(new))
            if is_call
            else change(order_counts(old, "UAH"), order_counts(new, "UAH"))
        )
        counters.update(delta)

    # THEN the counters' figures are the tally's of the final records
    tallied = daily_figures([v[-1] for v in orders], [v[-1] for v in calls], currency="UAH")
    counted = figures(counters)
    assert live_part(counted) == live_part(tallied)
    assert counted.inbound is not None and counted.inbound.calls > 50  # the day was not empty
    assert counted.orders_received == 400
    assert all(number >= 0 for number in counters.values())


def _per_record_in_order(orders, calls):
    for versions in orders:
        for old, new in zip([None, *versions], versions, strict=False):
            yield False, old, new
    for versions in calls:
        for old, new in zip([None, *versions], versions, strict=False):
            yield True, old, new


def test_seconds_are_exact_for_two_minutes_then_bucketed():
    assert [bucket(s) for s in (0, 0.4, 59, 119)] == [0, 0, 59, 119]
    assert [bucket(s) for s in (120, 129, 599, 600, 659, 3 * 3600 + 5)] == [120, 120, 590, 600, 600, 10800]


def test_the_dates_that_are_today_somewhere():
    noon = datetime(2009, 6, 2, 12, 0, tzinfo=UTC)  # midnight at UTC-12, 2 a.m. next day at UTC+14
    assert [d.isoformat() for d in days_somewhere(noon)] == ["2009-06-02", "2009-06-03"]
    assert [d.isoformat() for d in days_somewhere(noon - timedelta(hours=1))] == [
        "2009-06-01",
        "2009-06-02",
        "2009-06-03",
    ]
