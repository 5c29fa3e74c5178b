"""When a customer may be called (O6): the shop's window in the customer's local time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from chalicelib.domain.shop import CallingWindow

LEGAL_START, LEGAL_END = time(8, 0), time(21, 0)


def effective_window(window: CallingWindow) -> tuple[time, time]:
    """The shop's window, narrowed to 08:00-21:00 when the shop is bound by it."""
    if not window.legal_hours_only:
        return window.start, window.end
    return max(window.start, LEGAL_START), min(window.end, LEGAL_END)


def next_calling_time(now: datetime, zone: ZoneInfo, window: CallingWindow) -> datetime:
    """``now`` if it is inside the window in ``zone``, else the window's next opening (UTC).

    Local wall-clock times are converted through zoneinfo so DST days open at the right instant.
    """
    start, end = effective_window(window)
    local_now = now.astimezone(zone)
    if start <= local_now.time() < end:
        return now
    opening_day = local_now.date()
    if local_now.time() >= end:
        opening_day += timedelta(days=1)
    opening = datetime.combine(opening_day, start, tzinfo=zone)
    return opening.astimezone(UTC)
