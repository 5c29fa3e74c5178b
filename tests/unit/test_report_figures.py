"""The daily report's figures and when a shop's report is due (R1, R2)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.report.facts import CallFact, OrderFact
from chalicelib.domain.report.periods import report_due
from chalicelib.domain.report.tally import daily_figures

NOON = datetime(2014, 3, 30, 10, 0, tzinfo=UTC)


def order(order_id: str, status: str, total: str, *, reached: bool = False, currency: str | None = None):
    return OrderFact(
        order_id=order_id,
        status=status,
        total=Decimal(total),
        reached=reached,
        received_at=NOON,
        currency=currency,
    )


def call(sid: str, status: str, answered_by: str | None = None, *, direction: str = "outbound-robot"):
    answered = status == "completed"
    return CallFact(
        call_sid=sid,
        direction=direction,
        status=status,
        answered_by=answered_by,
        answered_at=NOON if answered else None,
        created_at=NOON,
    )


def busy_day_orders() -> list[OrderFact]:
    return [
        order("o1", "confirmed", "100.00", reached=True),
        order("o2", "confirmed", "250.50", reached=True),
        order("o3", "cancelled", "80.00", reached=True),
        order("o4", "unreachable", "60.00"),
        order("o5", "queued", "40.00"),
        order("o6", "received", "10.00"),
        # A duplicate's customer may have been reached about the original: not counted twice.
        order("o7", "duplicate", "100.00", reached=True),
        order("o8", "duplicate", "100.00"),
        order("o9", "fake", "1.00"),
    ]


def busy_day_calls() -> list[CallFact]:
    return [
        call("c1", "completed", "human"),
        call("c2", "completed", None),  # no answering-machine detection: answered means a person
        call("c3", "completed", "machine_end_beep"),
        call("c4", "no-answer"),
        call("c5", "busy"),
        call("c6", "completed", direction="inbound"),
    ]


def test_a_busy_day_counts_every_order_once_in_its_bucket():
    # GIVEN a day's orders and calls, as one-pass generators the way the queries yield them
    orders = (fact for fact in busy_day_orders())
    calls = (fact for fact in busy_day_calls())

    # WHEN
    figures = daily_figures(orders, calls, currency="UAH")

    # THEN
    assert figures.orders_received == 9
    assert figures.duplicates == 2
    assert figures.fakes == 1
    assert figures.unique == 6
    assert figures.reached == 3
    assert figures.confirmed == 2
    assert figures.cancelled == 1
    assert figures.unreachable == 1
    assert figures.still_open == 2
    assert figures.confirmed_total == Decimal("350.50")
    assert figures.average_check == Decimal("175.25")
    assert figures.calls == 6
    assert figures.robot_calls == 5
    assert figures.robot_calls_answered_by_person == 2
    assert figures.has_activity


def test_percentages_state_their_denominators():
    figures = daily_figures(busy_day_orders(), busy_day_calls())

    assert (figures.duplicates_share.count, figures.duplicates_share.whole) == (2, 9)
    assert figures.duplicates_share.of == "orders received"
    assert figures.duplicates_share.percent == Decimal("22.2")
    assert figures.fakes_share.percent == Decimal("11.1")
    assert (figures.reached_share.whole, figures.reached_share.of) == (6, "unique orders")
    assert figures.reached_share.percent == Decimal("50.0")
    assert figures.confirmed_share.percent == Decimal("33.3")
    assert figures.answered_by_person_share.percent == Decimal("40.0")


def test_the_empty_day_has_no_activity_and_no_percentages():
    figures = daily_figures([], [])

    assert not figures.has_activity
    assert figures.orders_received == figures.unique == figures.confirmed == 0
    assert figures.confirmed_total == Decimal(0)
    assert figures.average_check is None
    assert figures.duplicates_share.percent is None
    assert figures.confirmed_share.percent is None


def test_a_day_of_calls_only_is_activity():
    figures = daily_figures([], [call("c1", "no-answer")])

    assert figures.has_activity
    assert figures.robot_calls == 1
    assert figures.robot_calls_answered_by_person == 0


def test_average_check_is_rounded_to_cents():
    orders = [order(f"o{n}", "confirmed", "100.00") for n in range(3)]

    figures = daily_figures(orders, [])

    assert figures.confirmed_total == Decimal("300.00")
    assert figures.average_check == Decimal("100.00")
    assert daily_figures([*orders[:2], order("x", "confirmed", "0.01")], []).average_check == Decimal("66.67")


def test_confirmed_orders_in_another_currency_stay_out_of_the_sum():
    orders = [
        order("o1", "confirmed", "1000.00", currency="UAH"),
        order("o2", "confirmed", "50.00", currency="USD"),
        order("o3", "confirmed", "500.00"),  # no currency recorded: the shop's
    ]

    figures = daily_figures(orders, [], currency="UAH")

    assert figures.confirmed == 3
    assert figures.confirmed_in_other_currency == 1
    assert figures.confirmed_total == Decimal("1500.00")
    assert figures.average_check == Decimal("750.00")


KYIV = "Europe/Kyiv"
NEW_YORK = "America/New_York"


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "zone", "hour", "expected"),
    [
        # Kyiv, 8 o'clock: 05:00 UTC in summer (EEST, +3), 06:00 UTC in winter (EET, +2)
        (utc(2014, 7, 1, 4, 59), KYIV, 8, None),
        (utc(2014, 7, 1, 5, 0), KYIV, 8, date(2014, 6, 30)),
        (utc(2014, 12, 1, 5, 59), KYIV, 8, None),
        (utc(2014, 12, 1, 6, 0), KYIV, 8, date(2014, 11, 30)),
        # Kyiv springs forward 03:00 -> 04:00 on 30 March 2014: a 3 o'clock report goes at 04:00
        (utc(2014, 3, 30, 0, 59), KYIV, 3, None),
        (utc(2014, 3, 30, 1, 0), KYIV, 3, date(2014, 3, 29)),
        # Kyiv falls back 04:00 -> 03:00 on 26 October 2014: 3 o'clock comes twice, same day due
        (utc(2014, 10, 26, 0, 0), KYIV, 3, date(2014, 10, 25)),
        (utc(2014, 10, 26, 1, 0), KYIV, 3, date(2014, 10, 25)),
        # New York springs forward 02:00 -> 03:00 on 9 March 2014
        (utc(2014, 3, 9, 6, 59), NEW_YORK, 2, None),
        (utc(2014, 3, 9, 7, 0), NEW_YORK, 2, date(2014, 3, 8)),
        # New York falls back 02:00 -> 01:00 on 2 November 2014
        (utc(2014, 11, 2, 5, 0), NEW_YORK, 1, date(2014, 11, 1)),
        (utc(2014, 11, 2, 6, 0), NEW_YORK, 1, date(2014, 11, 1)),
        (utc(2014, 11, 2, 5, 59), NEW_YORK, 8, None),
    ],
)
def test_report_due_follows_the_shops_wall_clock_across_dst(now, zone, hour, expected):
    assert report_due(now, zone, hour) == expected


def test_report_due_turns_over_at_the_shops_midnight_not_utcs():
    # 23:59 in Kyiv on the 14th, still the 14th: the 13th is due for a midnight report
    assert report_due(utc(2014, 1, 14, 21, 59), KYIV, 0) == date(2014, 1, 13)
    # 00:00 in Kyiv on the 15th while UTC still reads the 14th
    assert report_due(utc(2014, 1, 14, 22, 0), KYIV, 0) == date(2014, 1, 14)
    assert report_due(utc(2014, 1, 14, 22, 0), KYIV, 8) is None
    # 22:00 in New York on the 14th while UTC reads the 15th: yesterday is the 13th there
    assert report_due(utc(2014, 1, 15, 3, 0), NEW_YORK, 8) == date(2014, 1, 13)
    assert report_due(utc(2014, 1, 15, 3, 0), ZoneInfo(NEW_YORK), 23) is None


def test_report_due_refuses_a_naive_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        report_due(datetime(2014, 1, 15, 8, 0), KYIV, 8)
