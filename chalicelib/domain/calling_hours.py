"""When a customer may be called (O6): the shop's window in the customer's local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.shop import CallingWindow


def next_calling_time(now: datetime, zone: ZoneInfo, window: CallingWindow) -> datetime:
    """``now`` if it is inside the window in ``zone``, else the window's next opening (UTC).

    Local wall-clock times are converted through zoneinfo so DST days open at the right instant.
    """
    local_now = now.astimezone(zone)
    if window.start <= local_now.time() < window.end:
        return now
    opening_day = local_now.date()
    if local_now.time() >= window.end:
        opening_day += timedelta(days=1)
    opening = datetime.combine(opening_day, window.start, tzinfo=zone)
    return opening.astimezone(UTC)
