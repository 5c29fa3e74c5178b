"""Calls per second per Twilio account (O8): every call placement takes the next free slot.

Twilio places at most ``calls_per_second`` outbound calls per account (1 by default) and
queues the rest itself, so a burst would ring customers late and make the pacing's "calls in
flight" ages wrong. Instead each placement reserves a slot on a shared timeline (a generic
cell rate algorithm: one stored number, the next free instant), waits for it, then places the
call. A slot further away than ``max_wait_seconds`` is refused: the caller leaves the task for
the next trigger instead of holding a Lambda.
"""

from __future__ import annotations

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
