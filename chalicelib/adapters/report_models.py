"""The report runs table: per shop and period, what the last scheduled run did with its report
(sent, skipped and why, failed and why), so the admin CLI can show an operator which shops'
owners got nothing and what to fix. One item per (shop, period), overwritten by later runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.adapters.models import _Meta, _table
from chalicelib.domain.report.runs import ReportRun

_REASON_MAX_CHARS = 1000


class ReportRunRecord(Model):
    class Meta(_Meta):
        table_name = _table("report_runs")

    shop_id = UnicodeAttribute(hash_key=True)
    run_key = UnicodeAttribute(range_key=True)  # "<first day>#<period>": newest last
    period = UnicodeAttribute()  # day | week | month
    first_day = UnicodeAttribute()
    status = UnicodeAttribute()  # sent | skipped | failed
    at = UTCDateTimeAttribute()
    reason = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    recipients = NumberAttribute(default=0)


REPORT_MODELS: tuple[type[Model], ...] = (ReportRunRecord,)


def run_key(period: str, first_day: date) -> str:
    return f"{first_day.isoformat()}#{period}"


class DynamoReportRuns:
    """The report runs port backed by DynamoDB: a put per run, a Query per shop to read."""

    def record(self, run: ReportRun) -> None:
        ReportRunRecord(
            shop_id=run.shop_id,
            run_key=run_key(run.period, run.first_day),
            period=run.period,
            first_day=run.first_day.isoformat(),
            status=run.status,
            at=run.at,
            reason=(run.reason or "")[:_REASON_MAX_CHARS] or None,
            message_id=run.message_id,
            recipients=run.recipients,
        ).save()

    def latest_runs(self, shop_id: str, limit: int = 10) -> Iterator[ReportRun]:
        """The shop's runs, newest period first."""
        for record in ReportRunRecord.query(shop_id, scan_index_forward=False, limit=limit):
            yield ReportRun(
                shop_id=record.shop_id,
                period=record.period,  # type: ignore[arg-type]  # written from a PeriodKind
                first_day=date.fromisoformat(record.first_day),
                status=record.status,  # type: ignore[arg-type]  # written from a RunStatus
                at=record.at,
                reason=record.reason,
                message_id=record.message_id,
                recipients=int(record.recipients or 0),
            )
