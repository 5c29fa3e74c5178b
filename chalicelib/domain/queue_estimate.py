"""The estimated wait announced to a queued caller (I5), from recent handle times."""

from __future__ import annotations

import math
from collections.abc import Sequence

RECENT_HANDLES = 20


def average_handle_seconds(recent: Sequence[float], default_seconds: int) -> float:
    return sum(recent) / len(recent) if recent else float(default_seconds)


def estimated_wait_minutes(position: int, recent: Sequence[float], staffed_agents: int, default_seconds: int) -> int:
    """Whole minutes (at least 1) until a caller at ``position`` (1-based) reaches an agent:
    the callers ahead and this one shared among the staffed agents, each taking an average call."""
    handle = average_handle_seconds(recent, default_seconds)
    rounds = math.ceil(max(position, 1) / max(staffed_agents, 1))
    return max(1, math.ceil(rounds * handle / 60))


def remember(recent: Sequence[float], seconds: float) -> list[float]:
    """The recent handle times after one more call, newest last, at most ``RECENT_HANDLES``."""
    return [*recent, float(seconds)][-RECENT_HANDLES:]
