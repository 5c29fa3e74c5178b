"""Calls per second per Twilio account (O8): every call placement takes the next free slot.

Twilio places at most ``calls_per_second`` outbound calls per account (1 by default) and
queues the rest itself, so a burst would ring customers late and make the pacing's "calls in
flight" ages wrong. Instead each placement reserves a slot on a shared timeline (a generic
cell rate algorithm: one stored number, the next free instant), waits for it, then places the
call. A slot further away than ``max_wait_seconds`` is refused: the caller leaves the task for
the next trigger instead of holding a Lambda.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    at: float  # POSIX seconds the call may be placed at
    next_free_at: float  # what the timeline holds after this reservation

    def wait_seconds(self, now: float) -> float:
        return max(0.0, self.at - now)


def reserve_slot(
    next_free_at: float | None, now: float, calls_per_second: float, max_wait_seconds: float
) -> Slot | None:
    """The slot for one more call given the stored next free instant; None when it is too far."""
    if calls_per_second <= 0:
        raise ValueError("calls_per_second must be positive")
    at = now if next_free_at is None else max(now, next_free_at)
    if at - now > max_wait_seconds:
        return None
    return Slot(at=at, next_free_at=at + 1.0 / calls_per_second)


@dataclass(frozen=True)
class RateBucket:
    """One window of the account's timeline (a second, or ``1 / calls_per_second`` when that is
    longer) and how many calls it takes: a placement takes one with a single atomic counter
    update, so placements never wait on each other beyond the limit itself (#19)."""

    index: int  # the window's number since the epoch: its key
    start: float  # POSIX seconds
    width: float
    capacity: int

    def slot(self, taken: int, now: float, calls_per_second: float) -> Slot:
        """The slot of the ``taken``-th call of this window (1-based), spread across it."""
        at = max(now, self.start + (taken - 1) * self.width / self.capacity)
        return Slot(at=at, next_free_at=at + 1.0 / calls_per_second)


def rate_buckets(now: float, calls_per_second: float, max_wait_seconds: float) -> list[RateBucket]:
    """The windows a call placed at ``now`` may take, soonest first, none starting later than
    ``max_wait_seconds`` from now."""
    if calls_per_second <= 0:
        raise ValueError("calls_per_second must be positive")
    width = 1.0 if calls_per_second >= 1 else 1.0 / calls_per_second
    capacity = max(1, math.floor(calls_per_second * width + 1e-9))
    buckets: list[RateBucket] = []
    index = math.floor(now / width)
    while index * width - now <= max_wait_seconds:
        buckets.append(RateBucket(index, index * width, width, capacity))
        index += 1
    return buckets
