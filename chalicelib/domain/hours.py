"""When a shop answers its phones (I3): time zone, weekly schedule, holidays, or 24/7."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.domain.shop import BusinessHours, Weekday

WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def is_open(hours: BusinessHours, timezone: str, now: datetime) -> bool:
    """Whether ``now`` (aware) falls inside the shop's opening hours in its own time zone."""
    if hours.always_open:
        return True
    from zoneinfo import ZoneInfo  # cold start: tzdata on first use

    local = now.astimezone(ZoneInfo(timezone))
    if local.date() in hours.holidays:
        return False
    intervals = hours.weekly.get(WEEKDAYS[local.weekday()]) or []
    return any(interval.start <= local.time() < interval.end for interval in intervals)
