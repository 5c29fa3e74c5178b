"""The clock every time-dependent decision reads.

Domain and service functions take a ``Clock`` argument; handlers pass ``current_clock()``.
In the cloud it is the system clock. The local stack swaps in a simulated clock that runs
faster than real time, so a shop's day can be played in minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is set (tests)."""

    def __init__(self, instant: datetime) -> None:
        self.instant = instant

    def now(self) -> datetime:
        return self.instant

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.instant = self.instant + timedelta(**delta)


_current: Clock = SystemClock()


def current_clock() -> Clock:
    return _current


def use_clock(clock: Clock) -> None:
    """Replace the process-wide clock (local stack and tests only)."""
    global _current
    _current = clock
