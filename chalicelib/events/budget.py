"""A schedule's time: what its Lambda has left (the context Chalice hands the event), or, when
run without one (tests, a command), a minute from the first call."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

FALLBACK_SECONDS = 60.0


def seconds_left(event: Any) -> Callable[[], float]:
    context = getattr(event, "context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        return lambda: float(remaining()) / 1000.0
    deadline = time.monotonic() + FALLBACK_SECONDS
    return lambda: deadline - time.monotonic()


def random_start() -> int:
    """Where a walk over shops begins: anywhere, so no shop is always the last one reached."""
    return random.randrange(1 << 30)  # noqa: S311 - an order of visits, not a secret
