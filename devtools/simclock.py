"""A simulated clock for the local stack: real time scaled by a speed factor, and jumps forward.

``SimClock(start, speed=500)`` lets a shop's day play out in a few minutes; ``advance(...)``
skips straight to the next interesting instant. It satisfies ``chalicelib.clock.Clock``.
The clock never moves backward, so "due" decisions taken against it stay taken.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        _check_speed(speed)
        self._virtual_anchor = _as_utc(start)
        self._real_anchor = time.monotonic()
        self._speed = float(speed)
        # A condition rather than a plain lock so sleepers wake up when the clock jumps.
        self._changed = threading.Condition(threading.Lock())

    @property
    def speed(self) -> float:
        with self._changed:
            return self._speed

    def now(self) -> datetime:
        with self._changed:
            return self._now_locked()

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward by ``delta`` (which must not be negative); returns the new instant."""
        if delta < timedelta(0):
            raise ValueError(f"SimClock cannot go backward (advance by {delta})")
        with self._changed:
            return self._jump_locked(self._now_locked() + delta)

    def advance_to(self, instant: datetime) -> datetime:
        """Jump forward to ``instant``; an instant already passed leaves the clock where it is."""
        target = _as_utc(instant)
        with self._changed:
            current = self._now_locked()
            return self._jump_locked(target) if target > current else current

    def set_speed(self, speed: float) -> None:
        """Change how many virtual seconds pass per real second from now on (0 pauses the clock)."""
        _check_speed(speed)
        with self._changed:
            self._virtual_anchor = self._now_locked()
            self._real_anchor = time.monotonic()
            self._speed = float(speed)
            self._changed.notify_all()

    def sleep(self, virtual_seconds: float) -> None:
        """Block until the clock has moved ``virtual_seconds`` ahead, by running or by jumping."""
        with self._changed:
            wake_at = self._now_locked() + timedelta(seconds=max(virtual_seconds, 0.0))
            while True:
                remaining = (wake_at - self._now_locked()).total_seconds()
                if remaining <= 0:
                    return
                # Paused: wait for a jump or a speed change to wake us.
                real_wait = remaining / self._speed if self._speed > 0 else None
                self._changed.wait(real_wait)

    def _now_locked(self) -> datetime:
        elapsed_real = time.monotonic() - self._real_anchor
        return self._virtual_anchor + timedelta(seconds=elapsed_real * self._speed)

    def _jump_locked(self, target: datetime) -> datetime:
        self._virtual_anchor = target
        self._real_anchor = time.monotonic()
        self._changed.notify_all()
        return target

    def __repr__(self) -> str:
        return f"SimClock(now={self.now().isoformat()}, speed={self.speed:g})"


def _as_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"SimClock needs a timezone-aware datetime, got naive {instant!r}")
    return instant.astimezone(UTC)


def _check_speed(speed: float) -> None:
    if not speed >= 0:  # also rejects NaN
        raise ValueError(f"SimClock speed must be zero or positive, got {speed!r}")
