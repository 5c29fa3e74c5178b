"""The process-wide clock: tests and the local stack swap it and must be able to tell whether
the app is back on the wall clock (the integration fixtures pin a far-from-now clock only then;
a stack that put back a new SystemClock once left later tests on the real time of day)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.clock import FixedClock, current_clock, runs_on_wall_clock, use_clock, use_wall_clock


@pytest.fixture(autouse=True)
def restored() -> Iterator[None]:
    before = current_clock()
    yield
    use_clock(before)


def test_a_fixed_clock_is_not_the_wall_clock() -> None:
    use_clock(FixedClock(datetime(2015, 11, 23, 10, 0, tzinfo=UTC)))
    assert not runs_on_wall_clock()


def test_any_system_clock_put_back_counts_as_the_wall_clock() -> None:
    use_wall_clock()
    system_clock = type(current_clock())  # as devtools' stack built its own
    use_clock(FixedClock(datetime(2015, 11, 23, 10, 0, tzinfo=UTC)))
    use_clock(system_clock())
    assert runs_on_wall_clock()


def test_use_wall_clock_puts_the_wall_clock_back() -> None:
    use_clock(FixedClock(datetime(2015, 11, 23, 10, 0, tzinfo=UTC)))
    use_wall_clock()
    assert runs_on_wall_clock()
