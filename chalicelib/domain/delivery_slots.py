"""Which delivery slots a caller is offered (I4). Pure: the clock is an argument, so the
same instant always gives the same slots (the IVR relies on that to map a digit back to the
slot that was read out).

Windows are local wall-clock times of the shop. On a daylight-saving day a window keeps its
wall-clock times: a start inside the spring-forward gap begins when the clock resumes (02:30
in a zone that jumps 02:00 -> 03:00 is read as 03:30), an ambiguous time in the autumn's
repeated hour is its first occurrence, and a window that collapses to nothing is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from chalicelib.domain.shop import DeliverySlotPolicy, Weekday

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class DeliverySlot:
    # In UTC: Python compares and subtracts two datetimes of one zone by their wall clocks,
    # which is wrong across a DST change; shown in the shop's zone only when spoken or stored.
    start: datetime
    end: datetime

    def as_record(self, zone: ZoneInfo) -> dict[str, str]:
        return {"start": self.start.astimezone(zone).isoformat(), "end": self.end.astimezone(zone).isoformat()}


def wall_clock(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) a local date and time stand for (see the module's note on DST)."""
    # fold=0: the first of two repeated times; a time in a gap is read with the offset before
    # it, which lands the same distance past the gap.
    return datetime.combine(day, at).replace(tzinfo=zone).astimezone(UTC)


def offered_slots(policy: DeliverySlotPolicy, zone: ZoneInfo, now: datetime) -> list[DeliverySlot]:
    """The slots to read out at ``now``, earliest first, at most ``policy.max_offered``."""
    earliest = now.astimezone(UTC) + timedelta(minutes=policy.lead_minutes)
    today = now.astimezone(zone).date()
    closed = set(policy.closed_on)
    slots: list[DeliverySlot] = []
    for offset in range(policy.days_offered):
        day = today + timedelta(days=offset)
        if day in closed:
            continue
        for window in policy.weekly.get(cast("Weekday", WEEKDAYS[day.weekday()]), []):
            start, end = wall_clock(day, window.start, zone), wall_clock(day, window.end, zone)
            if end > start and start >= earliest:
                slots.append(DeliverySlot(start, end))
    slots.sort(key=lambda slot: slot.start)
    return slots[: policy.max_offered]


def day_word(slot: DeliverySlot, now: datetime, zone: ZoneInfo) -> str:
    """``today``, ``tomorrow`` or the weekday (``mon``..``sun``): the catalog says it aloud."""
    days = (slot.start.astimezone(zone).date() - now.astimezone(zone).date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return WEEKDAYS[slot.start.astimezone(zone).weekday()]
