"""The runs of the shop's local calendar days a report covers, and when each is due on the
shop's wall clock (the caller passes the time: the domain has no clock of its own)."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

PeriodKind = Literal["day", "week", "month"]


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """A run of the shop's local calendar days the report covers (both ends included)."""

    kind: PeriodKind
    first: date
    last: date

    @classmethod
    def day(cls, day: date) -> ReportPeriod:
        return cls("day", day, day)

    def days(self) -> Iterator[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)

    def bounds(self, zone: str | tzinfo) -> tuple[datetime, datetime]:
        """The period's start and end instants in UTC (a local day may be 23 or 25 hours)."""
        tz = ZoneInfo(zone) if isinstance(zone, str) else zone
        start = datetime.combine(self.first, time(0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        return start, end

    @property
    def label(self) -> str:
        if self.kind == "day":
            return f"{self.first.isoformat()} ({self.first:%A})"
        if self.kind == "month":
            return f"{self.first:%B %Y}"
        return f"{self.first.isoformat()} – {self.last.isoformat()}"

    @property
    def title(self) -> str:
        return {"day": "Daily report", "week": "Weekly digest", "month": "Monthly digest"}[self.kind]

    @property
    def key(self) -> dict[str, str]:
        """What makes the period unique for a shop (the idempotency key, with the shop id)."""
        if self.kind == "day":
            return {"day": self.first.isoformat()}  # the daily report's key since its first release
        return {"period": self.kind, "first": self.first.isoformat()}


def report_due(now_utc: datetime, shop_zone: str | tzinfo, report_hour: int) -> date | None:
    """The local day whose report is due now: yesterday, once the shop's clock reads its report hour.

    The hour is compared on the shop's wall clock, so DST changes move it with the shop: on a
    spring-forward day a skipped hour is caught by the first run after it, and on a fall-back
    day the repeated hour fires twice (sending stays once per day: the caller's job).
    """
    local_now = _local(now_utc, shop_zone)
    if local_now.hour < report_hour:
        return None
    return local_now.date() - timedelta(days=1)


def digests_due(
    now_utc: datetime, shop_zone: str | tzinfo, report_hour: int, *, weekly_on: int | None, monthly: bool
) -> list[ReportPeriod]:
    """The digests due now: last week (Monday to Sunday) on the shop's ``weekly_on`` weekday
    (0 = Monday), last month on the 1st, once the shop's clock reads its report hour."""
    local_now = _local(now_utc, shop_zone)
    if local_now.hour < report_hour:
        return []
    today = local_now.date()
    due: list[ReportPeriod] = []
    if weekly_on is not None and today.weekday() == weekly_on:
        last_sunday = today - timedelta(days=today.weekday() + 1)
        due.append(ReportPeriod("week", last_sunday - timedelta(days=6), last_sunday))
    if monthly and today.day == 1:
        last = today - timedelta(days=1)
        due.append(
            ReportPeriod("month", last.replace(day=1), last.replace(day=calendar.monthrange(last.year, last.month)[1]))
        )
    return due


def _local(now_utc: datetime, shop_zone: str | tzinfo) -> datetime:
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    zone = ZoneInfo(shop_zone) if isinstance(shop_zone, str) else shop_zone
    return now_utc.astimezone(zone)
