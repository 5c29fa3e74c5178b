"""The clocks: business time, which every decision reads, and the wall clock, which only storage
and leases read.

Business time: domain and service functions take a ``Clock`` argument; handlers, schedules and
the CLI pass ``current_clock()``. In the cloud it is the system clock. The local stack swaps in a
simulated clock that runs faster than real time, so a shop's day can be played in minutes, and
tests fix it years away from the real date, so any wall-clock read in business code shows at once.

The wall clock (``wall_now``, ``storage_expiry``): DynamoDB deletes an item when its TTL
attribute is past by DynamoDB's own clock, and a Lambda run ends by real seconds. Those stamps are
made from the wall clock and kept apart from the business expiry the code compares
(``expires_at``); code never relies on a TTL deletion, which may come up to days late.

This module is the only one in the shipped code that may read the wall clock; ruff's banned-api
rule (TID251, pyproject.toml) refuses ``datetime.now``, ``time.time`` and ``SystemClock``
elsewhere, bar the few places listed there with their reasons.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FixedClock:
    """A clock that stays where it is set (tests)."""

    def __init__(self, instant: datetime) -> None:
        self.instant = instant

    def now(self) -> datetime:
        return self.instant

    def advance(self, **delta: float) -> None:
        self.instant = self.instant + timedelta(**delta)


_WALL = SystemClock()
_current: Clock = _WALL


def current_clock() -> Clock:
    return _current


def use_clock(clock: Clock) -> None:
    """Replace the process-wide clock (local stack and tests only)."""
    global _current
    _current = clock


def use_wall_clock() -> None:
    """Back to the system clock (after a test or simulation swapped in its own)."""
    use_clock(_WALL)


def runs_on_wall_clock() -> bool:
    """Whether no test or simulation has swapped in a clock of its own (any system clock counts:
    a tool that put back a new ``SystemClock`` is on the wall clock too)."""
    return type(_current) is SystemClock


def wall_now() -> datetime:
    """The real instant, for leases and stamps that DynamoDB or Lambda compare with their own
    clocks; never for a business decision."""
    return _WALL.now()


def storage_expiry(kept_for: timedelta) -> datetime:
    """The TTL stamp for an item DynamoDB may delete after ``kept_for`` of real time (DynamoDB
    compares TTL attributes with its own clock, not with the business clock)."""
    return wall_now() + kept_for
