"""Shops whose report did not go are noted with the reason and listed by the admin CLI, while
the other shops' reports still go (moto SES rejecting an unverified sender, moto DynamoDB)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters.dynamo.reports import DynamoReportQueries, DynamoReportRuns
from chalicelib.adapters.dynamo.shops import configured_shops
from chalicelib.adapters.email import EmailSendFailed
from chalicelib.domain.email import OutgoingEmail
from chalicelib.services.reports.sending import ReportsFailed, send_due_reports
from chalicelib.wiring import report_once
from cli.admin import main as admin_cli
from tests.integration.test_reports_moto import (
    NINE_IN_KYIV,
    REPORT_DAY,
    a_day_of_records,
    add_shop,
    aws,  # noqa: F401  (the fixture)
    run_schedule,
    sent_messages,
    verify_sender,
)

pytestmark = pytest.mark.integration


def cli_rows(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, list[str]]:
    """The CLI's report-runs table: shop id -> the words of its line."""
    assert admin_cli(["report-runs", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["shop", "period", "day", "status", "at"]
    return {line.split()[0]: line.split() for line in lines[1:]}


def test_skipped_shops_are_recorded_with_why_and_the_cli_lists_every_shops_last_run(aws, capsys):  # noqa: F811
    # GIVEN a shop that is fine, one with an unverified sender, one with no recipients, and one not due yet
    verify_sender("reports@shop.example")
    add_shop("good-shop", "Good Shop")
    add_shop("bad-sender", "Bad Sender", sender="nobody@unverified.example")
    add_shop("no-one", "No One", recipients=())
    add_shop("late", "Late", hour=11)
    for shop_id in ("good-shop", "bad-sender", "no-one"):
        a_day_of_records(shop_id)

    # WHEN the 09:00 schedule fires
    sent = run_schedule(NINE_IN_KYIV)

    # THEN the good shop's report went, and the CLI says what happened to each shop and why
    assert [report.shop_id for report in sent] == ["good-shop"]
    assert len(sent_messages()) == 1
    rows = cli_rows(capsys)
    assert set(rows) == {"good-shop", "bad-sender", "no-one", "late"}
    assert rows["good-shop"][1:4] == ["day", REPORT_DAY.isoformat(), "sent"]
    assert rows["good-shop"][6:9] == ["to", "1", "recipient(s),"]
    assert rows["bad-sender"][1:4] == ["day", REPORT_DAY.isoformat(), "skipped"]
    assert "nobody@unverified.example" in " ".join(rows["bad-sender"]) and "Verify" in rows["bad-sender"]
    assert rows["no-one"][3] == "skipped" and " ".join(rows["no-one"]).endswith("no report recipients configured")
    assert rows["late"][1:4] == ["-", "-", "never"]

    # WHEN the sender is verified and the next hour's run sends that report
    verify_sender("nobody@unverified.example")
    assert [report.shop_id for report in run_schedule(NINE_IN_KYIV + timedelta(hours=1))] == ["bad-sender"]

    # THEN the same run's record now says sent; --shop narrows the listing
    only = cli_rows(capsys, "--shop", "bad-sender")
    assert list(only) == ["bad-sender"]
    assert only["bad-sender"][3] == "sent"
    assert only["bad-sender"][4:6] == ["2014-03-30", "07:00"]


def test_a_failure_other_than_the_settings_is_recorded_as_failed_and_raised_for_a_retry(aws, capsys):  # noqa: F811
    # GIVEN SES refusing every attempt (throttled beyond the retries)
    class ThrottledSes:
        def send(self, email: OutgoingEmail) -> str:
            raise EmailSendFailed("SES did not take the message: Throttling (gave up after 3 attempts)")

    add_shop("busy-day", "Busy Day")
    a_day_of_records("busy-day")

    # WHEN the schedule runs
    with pytest.raises(ReportsFailed):
        send_due_reports(
            NINE_IN_KYIV,
            shops=list(configured_shops()),
            sender=ThrottledSes(),
            queries=DynamoReportQueries(),
            once=report_once(),
            runs=DynamoReportRuns(),
        )

    # THEN the run is noted as failed, with the cause
    (run,) = DynamoReportRuns().latest_runs("busy-day")
    assert (run.status, run.first_day) == ("failed", REPORT_DAY)
    assert run.reason == "EmailSendFailed: SES did not take the message: Throttling (gave up after 3 attempts)"
    assert cli_rows(capsys)["busy-day"][3] == "failed"


def test_an_unknown_shop_is_a_clear_cli_error(aws, capsys):  # noqa: F811
    assert admin_cli(["report-runs", "--shop", "nope"]) == 2
    assert "no shop 'nope'" in capsys.readouterr().err
