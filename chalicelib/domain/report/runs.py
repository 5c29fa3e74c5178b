"""What a scheduled run did with a shop's report for a period, for the operator (admin CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from chalicelib.domain.report.periods import PeriodKind

RunStatus = Literal["sent", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class ReportRun:
    """What the last run did with a shop's report for a period, for the operator (admin CLI)."""

    shop_id: str
    period: PeriodKind
    first_day: date
    status: RunStatus  # skipped: nothing to retry until the shop's settings change; failed: retried
    at: datetime
    reason: str | None = None  # why skipped or failed
    message_id: str | None = None
    recipients: int = 0
