"""Every KPI of R2-R4 computed on a hand-built day whose answers are known."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.report.facts import AgentStatusFact, CallFact, OrderFact
from chalicelib.domain.report.periods import ReportPeriod, digests_due
from chalicelib.domain.report.tally import SecondsHistogram, daily_figures
from chalicelib.domain.shop import AlertPolicy, ReportPolicy, ShopSettings
from chalicelib.services.reports.render import _agent_row

KYIV = "Europe/Kyiv"
DAY = date(2014, 3, 29)
START, END = ReportPeriod.day(DAY).bounds(KYIV)  # 22:00 UTC on the 28th .. 22:00 UTC on the 29th
T = datetime(2014, 3, 29, 8, 0, tzinfo=UTC)  # 10:00 in Kyiv


def order(order_id: str, status: str, *, dial_after: int | None, total: str = "100.00") -> OrderFact:
    return OrderFact(
        order_id,
        status,
        Decimal(total),
        status in ("confirmed", "cancelled"),
        T,
        first_dial_at=None if dial_after is None else T + timedelta(seconds=dial_after),
    )


def robot(sid: str, answered_by: str | None, status: str = "completed") -> CallFact:
    return CallFact(sid, "outbound-robot", status, answered_by, T if status == "completed" else None, T)


def inbound(sid: str, at_hour_utc: int, **fields: object) -> CallFact:
    created = datetime(2014, 3, 29, at_hour_utc, 5, tzinfo=UTC)
    return CallFact(sid, "inbound", "completed", None, created, created, **fields)  # type: ignore[arg-type]


def test_order_to_first_dial_median_and_95th_percentile_use_nearest_rank():
    # GIVEN 20 unique orders dialed 1..20 seconds after arrival, one never dialed, one duplicate dialed late
    orders = [order(f"o{n}", "confirmed", dial_after=n) for n in range(1, 21)]
    orders += [order("never", "queued", dial_after=None), order("dup", "duplicate", dial_after=9999)]

    outbound = daily_figures(orders, []).outbound

    assert outbound is not None
    assert outbound.orders_dialed == 20
    assert outbound.first_dial_median_seconds == 10  # rank ceil(0.5 * 20) = 10
    assert outbound.first_dial_p95_seconds == 19  # rank ceil(0.95 * 20) = 19


def test_attempts_per_contact_and_the_drop_rate_formula():
    calls = [robot("r1", "human"), robot("r2", None), robot("r3", "machine_start"), robot("r4", None, "no-answer")]
    calls += [robot("r5", None, "busy")]

    outbound = daily_figures([], calls).outbound

    assert outbound is not None
    assert (outbound.dial_attempts, outbound.contacts) == (5, 2)
    assert outbound.attempts_per_contact == Decimal("2.5")
    # No agent dialing: no live answers, nothing dropped, a 0 with its formula
    assert (outbound.drop_rate.count, outbound.drop_rate.whole, outbound.drop_rate.of) == (0, 0, "live answers")


def test_drop_rate_counts_dropped_live_answers_of_agent_dialing():
    live = [CallFact(f"a{n}", "outbound-agent", "completed", "human", T, T) for n in range(19)]
    live.append(CallFact("drop", "outbound-agent", "completed", "human", T, T, result="dropped"))
    live.append(CallFact("vm", "outbound-agent", "completed", "machine_start", T, T, result="dropped"))

    outbound = daily_figures([], live).outbound

    assert outbound is not None
    assert outbound.drop_rate.percent == Decimal("5.0")  # 1 dropped of 20 live answers; machines don't count


def the_inbound_day() -> list[CallFact]:
    q = datetime(2014, 3, 29, 8, 5, tzinfo=UTC)
    return [
        # answered within the service level, answered late, lost, abandoned with a callback, self-service
        inbound("i1", 8, queued_at=q, wait_seconds=10, agent_id="anna", survey="1"),
        inbound("i2", 8, queued_at=q, wait_seconds=45, agent_id="oleh", survey="3"),
        inbound("i3", 9, queued_at=q, wait_seconds=80, abandoned=True),
        inbound("i4", 9, queued_at=q, wait_seconds=25, abandoned=True, callback_task_id="cb1"),
        inbound("i5", 9),
        inbound("i6", 19, after_hours=True, callback_task_id="cb2"),  # 22:05 Kyiv
        inbound("i7", 8, queued_at=q, wait_seconds=20, agent_id="anna", survey="1"),
    ]


def test_inbound_kpis():
    figures = daily_figures([], the_inbound_day(), zone=KYIV, callbacks_completed=1)
    i = figures.inbound

    assert i is not None
    assert (i.calls, i.answered, i.lost) == (7, 3, 1)
    assert i.lost_share.percent == Decimal("14.3")
    assert (i.callbacks_asked, i.callbacks_completed) == (2, 1)
    assert (i.queued, i.answered_within_service_level) == (5, 2)  # 10 s and exactly 20 s count
    assert i.service_level.percent == Decimal("40.0")
    assert i.average_wait_seconds == 36  # (10 + 45 + 80 + 25 + 20) / 5
    assert i.longest_wait_seconds == 80
    assert i.after_hours == 1
    assert i.survey == (("1", 2), ("3", 1))


def test_calls_by_hour_are_the_shops_local_hours():
    i = daily_figures([], the_inbound_day(), zone=KYIV).inbound

    assert i is not None
    by_hour = {h.hour: (h.answered, h.lost, h.other) for h in i.by_hour if h.answered or h.lost or h.other}
    # 08:05 UTC on the 29th is 10:05 in Kyiv (EET, +2; summer time starts the next night)
    assert by_hour == {10: (3, 0, 0), 11: (0, 1, 2), 21: (0, 0, 1)}
    assert len(i.by_hour) == 24


def test_agents_calls_talk_time_status_time_and_missed_offers():
    # GIVEN anna logs in at 10:00 Kyiv, takes two calls, wraps up, misses an offer, logs off at 18:00
    q = T
    calls = [
        CallFact(
            "c1",
            "inbound",
            "completed",
            None,
            q,
            q,
            queued_at=q,
            wait_seconds=30,
            agent_id="anna",
            ended_at=q + timedelta(seconds=30 + 240),
        ),
        CallFact("c2", "inbound", "completed", None, q, q, agent_id="anna", duration_seconds=120),
    ]
    hour = timedelta(hours=1)
    statuses = [
        AgentStatusFact("anna", "available", T, "offline"),
        AgentStatusFact("anna", "busy", T + hour),
        AgentStatusFact("anna", "wrap-up", T + hour + timedelta(minutes=6)),
        AgentStatusFact("anna", "available", T + hour + timedelta(minutes=8)),
        AgentStatusFact("anna", "away", T + 2 * hour, "available", source="system"),
        AgentStatusFact("anna", "available", T + 2 * hour + timedelta(minutes=2)),
        AgentStatusFact("anna", "offline", T + 8 * hour),
    ]

    figures = daily_figures([], calls, zone=KYIV, statuses=statuses, start=START, end=END)

    (anna,) = figures.agents
    assert anna.calls == 2
    assert anna.talk_seconds == 240 + 120  # from the agent's answer to the end; else the duration
    assert anna.seconds_in("busy") == 360
    assert anna.seconds_in("wrap-up") == 120
    assert anna.seconds_in("away") == 120
    assert anna.seconds_in("available") == 8 * 3600 - 360 - 120 - 120
    assert anna.seconds_in("offline") == 24 * 3600 - 8 * 3600  # before 10:00 and after 18:00
    assert anna.average_handle_seconds == (360 + 120) // 2
    assert anna.missed_offers == 1
    assert anna.occupancy.percent == Decimal("1.7")  # (360 + 120) / 28,800 s logged in


def test_wrap_up_counts_only_its_set_length_the_rest_of_a_stored_wrap_up_is_available():
    # GIVEN a shop whose wrap-up lasts 60 s, and anna who takes a 5-minute call at 10:00, then is
    # left in wrap-up (nothing else happened) until she logs off at 10:45, and a call at 11:00
    # that is still in wrap-up when the day ends
    call = CallFact("c1", "inbound", "completed", None, T, T, agent_id="anna", duration_seconds=300)
    late = CallFact("c2", "inbound", "completed", None, T, T, agent_id="anna", duration_seconds=60)
    minute = timedelta(minutes=1)
    statuses = [
        AgentStatusFact("anna", "available", T - minute, "offline"),
        AgentStatusFact("anna", "busy", T),
        AgentStatusFact("anna", "wrap-up", T + 5 * minute),
        AgentStatusFact("anna", "offline", T + 45 * minute),
        AgentStatusFact("anna", "busy", T + 60 * minute, "available"),
        AgentStatusFact("anna", "wrap-up", T + 61 * minute),
    ]

    figures = daily_figures([], [call, late], zone=KYIV, statuses=statuses, start=START, end=END, wrap_up_seconds=60)

    # THEN each wrap-up counts 60 s; the agent was available for the rest, as routing treats her
    (anna,) = figures.agents
    assert anna.seconds_in("wrap-up") == 60 + 60
    assert anna.seconds_in("busy") == 300 + 60
    assert anna.average_handle_seconds == (300 + 60 + 60 + 60) // 2
    stored_wrap_up = (40 * minute).seconds + (END - T - 61 * minute).total_seconds()
    assert anna.seconds_in("available") == 60 + stored_wrap_up - 120
    # AND without the shop's setting (a caller that does not know it) the stored statuses count
    unclipped = daily_figures([], [call], zone=KYIV, statuses=statuses, start=START, end=END)
    assert unclipped.agents[0].seconds_in("wrap-up") == stored_wrap_up


def test_histogram_is_bounded_by_distinct_seconds_not_by_values():
    histogram = SecondsHistogram()
    for n in range(100_000):
        histogram.add(n % 60)

    assert histogram.count == 100_000
    assert len(histogram._counts) == 60
    assert histogram.quantile(0.5) == 29
    assert histogram.largest == 59
    assert SecondsHistogram().quantile(0.5) is None


@pytest.mark.parametrize(
    ("now", "weekly_on", "monthly", "expected"),
    [
        # Monday 31 March 2014, 08:00 Kyiv (05:00 UTC): last week's digest, Monday to Sunday
        (datetime(2014, 3, 31, 5, 0, tzinfo=UTC), 0, False, [("week", date(2014, 3, 24), date(2014, 3, 30))]),
        (datetime(2014, 3, 31, 4, 59, tzinfo=UTC), 0, False, []),
        (datetime(2014, 3, 31, 5, 0, tzinfo=UTC), None, False, []),
        (datetime(2014, 4, 1, 5, 0, tzinfo=UTC), 0, True, [("month", date(2014, 3, 1), date(2014, 3, 31))]),
        (datetime(2014, 3, 1, 6, 0, tzinfo=UTC), None, True, [("month", date(2014, 2, 1), date(2014, 2, 28))]),
    ],
)
def test_digests_are_due_on_the_shops_weekday_and_the_first(now, weekly_on, monthly, expected):
    due = digests_due(now, KYIV, 8, weekly_on=weekly_on, monthly=monthly)

    assert [(p.kind, p.first, p.last) for p in due] == expected


def test_a_period_spans_local_days_and_labels_itself():
    week = ReportPeriod("week", date(2014, 3, 24), date(2014, 3, 30))

    assert len(list(week.days())) == 7
    start, end = week.bounds(KYIV)
    assert (start, end) == (datetime(2014, 3, 23, 22, tzinfo=UTC), datetime(2014, 3, 30, 21, tzinfo=UTC))
    assert week.title == "Weekly digest"
    assert week.key == {"period": "week", "first": "2014-03-24"}
    assert ReportPeriod.day(DAY).key == {"day": "2014-03-29"}  # the daily key never changed


def test_report_and_alert_policies_have_safe_defaults():
    shop = ShopSettings(shop_id="acme", name="Acme")

    assert shop.report == ReportPolicy()
    assert (shop.report.daily, shop.report.weekly_on, shop.report.monthly) == (True, None, False)
    assert shop.alerts == AlertPolicy()
    assert shop.alerts.order_total_above is None
    assert shop.alerts.max_drop_rate_percent == Decimal("3")
    restored = ShopSettings.model_validate_json(shop.model_dump_json())
    assert restored == shop


def test_a_transferred_call_counts_for_both_agents_and_the_transfer_for_the_first() -> None:
    # GIVEN a call Oleh took and transferred to Anna, who finished it (#17)
    calls = [
        CallFact(
            "c1",
            "inbound",
            "completed",
            None,
            T,
            T,
            agent_id="anna",
            duration_seconds=300,
            handled_by=("oleh", "anna"),
            transfers=1,
        ),
        CallFact("c2", "inbound", "completed", None, T, T, agent_id="oleh", duration_seconds=60),
    ]
    figures = daily_figures([], calls, zone=KYIV, start=START, end=END)
    anna, oleh = figures.agents
    # THEN each handled it; Oleh transferred one; the talk is Anna's (who had the caller last)
    assert (anna.agent_id, anna.calls, anna.transferred, anna.talk_seconds) == ("anna", 1, 0, 300)
    assert (oleh.agent_id, oleh.calls, oleh.transferred, oleh.talk_seconds) == ("oleh", 2, 1, 60)
    # AND the report's agent row says so
    assert "transferred 1" in _agent_row(oleh).note
    assert "transferred" not in _agent_row(anna).note


def test_a_call_handed_to_an_outside_number_counts_as_the_agents_transfer() -> None:
    # GIVEN a call Oleh took and transferred cold to the shop's warehouse line (#17)
    calls = [
        CallFact(
            "c1",
            "inbound",
            "completed",
            None,
            T,
            T,
            agent_id="oleh",
            duration_seconds=120,
            handled_by=("oleh",),
            transfers=1,
            transferred_to_number="+380441230000",
        )
    ]
    [oleh] = daily_figures([], calls, zone=KYIV, start=START, end=END).agents
    # THEN the call is Oleh's, and so is the transfer; the report's agent row says so
    assert (oleh.agent_id, oleh.calls, oleh.transferred) == ("oleh", 1, 1)
    assert "transferred 1" in _agent_row(oleh).note
