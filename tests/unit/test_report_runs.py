"""What the admin CLI shows of the report runs: per shop, the newest run of each report kind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

from chalicelib.domain.report.runs import ReportRun
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.reports.runs import format_report_runs, last_report_runs

MORNING = datetime(2015, 11, 25, 6, 0, tzinfo=UTC)


class FakeRuns:
    def __init__(self, *runs: ReportRun) -> None:
        self.runs = list(runs)

    def record(self, run: ReportRun) -> None:
        self.runs.append(run)

    def latest_runs(self, shop_id: str, limit: int = 10) -> Iterator[ReportRun]:
        mine = [run for run in self.runs if run.shop_id == shop_id]
        yield from sorted(mine, key=lambda run: (run.first_day, run.period), reverse=True)[:limit]


def shop(shop_id: str) -> ShopSettings:
    return ShopSettings(shop_id=shop_id, name=shop_id.title())


def test_each_shop_shows_its_newest_daily_run_and_digest_and_a_shop_never_run_says_so():
    runs = FakeRuns(
        ReportRun("acme", "day", date(2015, 11, 23), "sent", MORNING.replace(day=24), message_id="m1", recipients=2),
        ReportRun("acme", "day", date(2015, 11, 24), "skipped", MORNING, reason="no report recipients configured"),
        ReportRun("acme", "week", date(2015, 11, 16), "failed", MORNING, reason="EmailSendFailed: throttled"),
    )

    rows = last_report_runs([shop("new-shop"), shop("acme")], runs)

    assert [(shop_id, run and (run.period, run.first_day, run.status)) for shop_id, run in rows] == [
        ("acme", ("day", date(2015, 11, 24), "skipped")),
        ("acme", ("week", date(2015, 11, 16), "failed")),
        ("new-shop", None),
    ]
    table = format_report_runs(rows).splitlines()
    assert table[0].split() == ["shop", "period", "day", "status", "at", "(UTC)", "detail"]
    assert table[1].split() == [
        "acme", "day", "2015-11-24", "skipped", "2015-11-25", "06:00", "no", "report", "recipients", "configured"
    ]  # fmt: skip
    assert table[2].endswith("EmailSendFailed: throttled")
    assert table[3].split()[:4] == ["new-shop", "-", "-", "never"]


def test_a_sent_run_names_its_recipients_and_the_ses_message():
    sent = ReportRun("acme", "day", date(2015, 11, 24), "sent", MORNING, message_id="0100-abc", recipients=2)

    (line,) = format_report_runs([("acme", sent)]).splitlines()[1:]

    assert line.endswith("to 2 recipient(s), SES message 0100-abc")
