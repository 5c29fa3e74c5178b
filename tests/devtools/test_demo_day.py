"""The demo's ``--day``: a working day of the demo shop given as an ISO date; without it, the last
working day up to today (weekends and the shop's holidays skipped, as its phones are closed then)."""

from __future__ import annotations

import argparse
from datetime import date

import pytest

from devtools.demo import demo_shop_holidays, last_working_day, working_day_arg


def test_a_given_weekday_is_the_day_played_and_a_weekend_a_holiday_or_a_non_date_is_refused() -> None:
    assert working_day_arg("2015-11-24") == date(2015, 11, 24)  # a Tuesday
    with pytest.raises(argparse.ArgumentTypeError, match="Saturday 2015-11-28 is not a weekday"):
        working_day_arg("2015-11-28")
    with pytest.raises(argparse.ArgumentTypeError, match="not a date"):
        working_day_arg("24.11.2015")
    holiday = min(demo_shop_holidays())
    with pytest.raises(argparse.ArgumentTypeError, match="one of the shop's holidays"):
        working_day_arg(holiday.isoformat())


def test_the_demo_shop_holidays_come_from_its_config() -> None:
    assert date(2026, 12, 25) in demo_shop_holidays()


def test_without_a_day_weekends_and_holidays_fall_back_to_the_last_working_day() -> None:
    assert last_working_day(date(2015, 11, 29), frozenset()) == date(2015, 11, 27)  # Sunday -> Friday
    assert last_working_day(date(2015, 11, 24), frozenset()) == date(2015, 11, 24)
    # Friday 2015-12-25 a holiday: the Saturday after it falls back past the holiday to Thursday.
    christmas = frozenset({date(2015, 12, 25)})
    assert last_working_day(date(2015, 12, 26), christmas) == date(2015, 12, 24)
    assert last_working_day(date(2015, 12, 25), christmas) == date(2015, 12, 24)
