"""Sending the due reports (R5): every run considers every shop; a shop's report for a local
day (and its weekly or monthly digest, when the shop asks for them) goes out at most once,
however often the hourly schedule fires or the function is retried, because each send goes
through ``once`` keyed on (shop, period)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.domain.report.periods import ReportPeriod, digests_due, report_due
from chalicelib.domain.report.runs import ReportRun
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger
from chalicelib.services.ports import EmailRejected, EmailSender, ReportOnce, ReportQueries, ReportRunLog
from chalicelib.services.recordings import ReportRecordingLinks
from chalicelib.services.reports.compose import build_report

# What ``once`` is configured with (``wiring.report_once``). Long enough to outlast every run
# that could still pick the day (until the shop's midnight) and a retry storm after it; the
# 1 h default would let the next hour send the report again.
REPORT_IDEMPOTENCY_SECONDS = 3 * 24 * 60 * 60
REPORT_ONCE_KEY_PREFIX = "daily-report"


@dataclass(frozen=True, slots=True)
class SentReport:
    shop_id: str
    day: date  # the period's first day
    message_id: str
    subject: str
    recipients: tuple[str, ...]
    period: str = "day"


class ReportsFailed(Exception):
    """Some shops' reports could not be sent; the others were (``sent``)."""

    def __init__(self, failures: dict[str, BaseException], sent: Sequence[SentReport]) -> None:
        self.failures = failures
        self.sent = list(sent)
        reasons = "; ".join(f"{shop_id}: {error}" for shop_id, error in failures.items())
        super().__init__(f"daily report failed for {len(failures)} shop(s): {reasons}")


def _build_and_send(
    shop: ShopSettings,
    period: ReportPeriod,
    sender: EmailSender,
    queries: ReportQueries,
    recording_links: ReportRecordingLinks | None = None,
) -> dict[str, Any]:
    if recording_links is None:
        email = build_report(shop, period, queries)
    else:
        email = build_report(shop, period, queries, recording_link=recording_links, link_days=recording_links.days)
    message_id = sender.send(email)
    logger.info(
        "Report sent",
        extra={
            "shop_id": shop.shop_id,
            "period": period.kind,
            "first_day": period.first.isoformat(),
            "message_id": message_id,
        },
    )
    # What the idempotency record stores and replays: JSON only.
    return {
        "shop_id": shop.shop_id,
        "day": period.first.isoformat(),
        "period": period.kind,
        "message_id": message_id,
        "subject": email.subject,
        "recipients": list(email.recipients),
        "replayed": False,
    }


def due_periods(now: datetime, shop: ShopSettings) -> list[ReportPeriod]:
    """The shop's daily report (unless turned off) and any weekly or monthly digest due now."""
    policy = shop.report
    periods: list[ReportPeriod] = []
    day = report_due(now, shop.timezone, policy.hour) if policy.daily else None
    if day is not None:
        periods.append(ReportPeriod.day(day))
    periods += digests_due(now, shop.timezone, policy.hour, weekly_on=policy.weekly_on, monthly=policy.monthly)
    return periods


def _skip_reason(shop: ShopSettings) -> str | None:
    if not shop.report.recipients:
        return "no report recipients configured"
    if shop.report.sender is None:
        return "no report sender configured"
    return None


def send_due_reports(
    now: datetime,
    *,
    shops: Iterable[ShopSettings],
    sender: EmailSender,
    queries: ReportQueries,
    once: ReportOnce,
    runs: ReportRunLog | None = None,
    recording_links: ReportRecordingLinks | None = None,
) -> list[SentReport]:
    """Send every due shop's report for its local yesterday, once per (shop, day).

    Returns the reports this run sent (not those sent by an earlier run). A shop without
    recipients or sender, or whose sender SES rejects (not verified), is logged, noted in
    ``runs`` as skipped with the reason, and tried again by the next hourly run (no point in
    retrying at once: its settings must change first). Any other failure does not stop the
    other shops either: failures are logged, noted, and raised together at the end as
    ``ReportsFailed``, so the scheduled function is retried and only the failed shops are
    tried again.

    ``once`` is built by ``wiring.report_once``: a send cut off by the function's timeout holds
    its claim for 15 minutes, then the next run takes it over.
    """
    sent: list[SentReport] = []
    failures: dict[str, BaseException] = {}

    def note(shop: ShopSettings, period: ReportPeriod, status: Any, **details: Any) -> None:
        if runs is None:
            return
        run = ReportRun(shop.shop_id, period.kind, period.first, status, now, **details)
        try:
            runs.record(run)
        except Exception:  # bookkeeping must never cost an owner their report
            logger.exception("Report run not recorded", extra={"shop_id": shop.shop_id, "status": status})

    for shop in shops:
        for period in due_periods(now, shop):
            log_keys = {"shop_id": shop.shop_id, "day": period.first.isoformat(), "period": period.kind}
            reason = _skip_reason(shop)
            if reason is not None:
                logger.warning(f"Report skipped: {reason}", extra=log_keys)
                note(shop, period, "skipped", reason=reason)
                continue
            send = functools.partial(_build_and_send, shop, period, sender, queries, recording_links)
            try:
                result = once({"shop_id": shop.shop_id, **period.key}, send)
            except EmailRejected as error:
                logger.error(f"Report skipped: {error}", extra=log_keys)
                note(shop, period, "skipped", reason=str(error))
                continue
            except Exception as error:
                logger.exception("Report failed", extra=log_keys)
                key = shop.shop_id if period.kind == "day" else f"{shop.shop_id} ({period.kind}ly digest)"
                failures[key] = error
                note(shop, period, "failed", reason=f"{type(error).__name__}: {error}")
                continue
            if result is None:
                logger.info("Report already being sent by another run", extra=log_keys)
                continue
            if result.get("replayed"):
                logger.debug("Report already sent", extra=log_keys)
                continue
            report = SentReport(
                shop_id=shop.shop_id,
                day=period.first,
                message_id=result["message_id"],
                subject=result["subject"],
                recipients=tuple(result["recipients"]),
                period=period.kind,
            )
            sent.append(report)
            note(shop, period, "sent", message_id=report.message_id, recipients=len(report.recipients))
    if failures:
        raise ReportsFailed(failures, sent)
    return sent
