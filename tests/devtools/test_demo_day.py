"""The demo's ``--day``: a weekday given as an ISO date; without it, the last weekday up to today."""

from __future__ import annotations

import argparse
from datetime import date

import pytest

from devtools.demo import last_weekday, weekday_arg


def test_a_given_weekday_is_the_day_played_and_a_weekend_or_a_non_date_is_refused() -> None:
    assert weekday_arg("2015-11-24") == date(2015, 11, 24)  # a Tuesday
    with pytest.raises(argparse.ArgumentTypeError, match="Saturday 2015-11-28 is not a weekday"):
        weekday_arg("2015-11-28")
    with pytest.raises(argparse.ArgumentTypeError, match="not a date"):
        weekday_arg("24.11.2015")


def test_without_a_day_a_weekend_falls_back_to_its_friday() -> None:
    assert last_weekday(date(2015, 11, 29)) == date(2015, 11, 27)  # Sunday -> Friday
    assert last_weekday(date(2015, 11, 24)) == date(2015, 11, 24)
