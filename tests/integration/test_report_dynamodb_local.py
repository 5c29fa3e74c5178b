"""The daily report on AWS's own engine (DynamoDB Local) and the SES sink: known days written
through the repository, built with Queries only (no Scan, counted on the wire), the figures
in the email exact; a quiet day's short report; DST days of 25 and 23 hours; and the email
rendered in headless Chromium as a mail client would show it."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from botocore.session import Session

from chalicelib import wiring
from chalicelib.adapters.dynamo.reports import DynamoReportQueries, DynamoReportRuns
from chalicelib.adapters.dynamo.schema import reset_connections
from chalicelib.adapters.dynamo.store import store as dynamo_store
from chalicelib.adapters.email import SesEmailSender
from chalicelib.domain.entities import Call
from chalicelib.domain.orders import OrderIn, local_day
from chalicelib.domain.report.periods import ReportPeriod
from chalicelib.domain.shop import ShopSettings
from chalicelib.services import admin, intake
from chalicelib.services.reports import compose, sending
from chalicelib.wiring import repository
from devtools.ses_sink import OutboxMessage, SesSink
from tests.integration.conftest import dynamodb_local_tables
from tests.mail_browser import assert_shows_its_charts, chromium

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-central-1"
SENDER = "reports@kyiv.example"
KYIV = "Europe/Kyiv"
# 26 October 2014 in Kyiv had 25 hours (04:00 summer time became 03:00 winter time, at 01:00 UTC);
# 30 March 2014 had 23 (03:00 winter time became 04:00 summer time, at 01:00 UTC).
LONG_DAY = date(2014, 10, 26)
SHORT_DAY = date(2014, 3, 30)
QUIET_DAY = date(2014, 11, 4)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SesSink]:
    outbox = tmp_path_factory.mktemp("report-outbox")
    with SesSink(outbox, verified_identities={SENDER}) as sink:
        wiring.forget_clients()
        try:
            with dynamodb_local_tables(extra_env={"AWS_ENDPOINT_URL_SES": sink.base_url}, drop_env=("SES_REGION",)):
                yield sink
        finally:
            wiring.forget_clients()


@contextmanager
def dynamodb_requests() -> Iterator[Counter[tuple[str, str]]]:
    """Every DynamoDB request made meanwhile, as (operation, table), counted by a botocore event
    hook on every client created meanwhile (connections are dropped first, so all are new)."""
    counted: Counter[tuple[str, str]] = Counter()
    create_client = Session.create_client

    def count(event_name: str, params: dict[str, Any], **_: Any) -> None:
        counted[
            (event_name.rsplit(".", 1)[-1], str(params.get("TableName") or ",".join(params.get("RequestItems", {}))))
        ] += 1

    def counting_client(self: Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, service_name, *args, **kwargs)
        if service_name == "dynamodb":
            client.meta.events.register("provide-client-params.dynamodb", count)
        return client

    reset_connections()
    with patch.object(Session, "create_client", counting_client):
        yield counted
    reset_connections()


def add_shop(shop_id: str, name: str) -> ShopSettings:
    shop = admin.create_shop(
        {
            "shop_id": shop_id,
            "name": name,
            "timezone": KYIV,
            "currency": "UAH",
            "languages": ["uk"],
            "report": {"hour": 8, "recipients": [f"owner@{shop_id}.example"], "sender": SENDER},
        },
        store=repository(),
        now=utc(2014, 1, 1),
    )
    admin.add_agent(shop_id, {"agent_id": "anna", "name": "Anna", "phone": "+380501112233"}, store=repository())
    return shop


def add_order(shop: ShopSettings, n: int, at: datetime, total: str, status: str, **fields: Any) -> str:
    """An order as the API takes it (its local day from the shop's clock), then its outcome."""
    order_id = f"{shop.shop_id}-o{n}"
    order_in = OrderIn.model_validate({"order_number": f"N-{n}", "phone": f"+38067123{n:04d}", "total": total})
    intake.accept_order(shop, order_in, store=repository(), now=at, order_id=order_id)
    if status != "received":
        assert repository().transition_order(shop.shop_id, order_id, {"received"}, status, decided_at=at, **fields)
    return order_id


def add_call(shop: ShopSettings, sid: str, direction: str, at: datetime, **fields: Any) -> None:
    repository().upsert_call(
        Call(
            call_sid=f"{shop.shop_id}-{sid}",
            shop_id=shop.shop_id,
            direction=direction,
            customer_phone="+380671110000",
            shop_number="+380441234567",
            created_at=at,
            day=local_day(at, shop.timezone),
        )
    )
    if fields:
        repository().update_call(f"{shop.shop_id}-{sid}", **fields)


def set_status(shop: ShopSettings, status: str, at: datetime) -> None:
    agent = dynamo_store().set_agent_status(shop.shop_id, "anna", status, at, source="api", timezone=shop.timezone)
    assert agent is not None


def the_long_day(shop: ShopSettings) -> None:
    """26 Oct 2014, Kyiv: 00:00 local is 21:00 UTC the day before, 24:00 local is 22:00 UTC."""
    add_order(shop, 1, utc(2014, 10, 25, 20, 59), "9999.00", "confirmed", reached=True)  # 23:59 on the 25th
    add_order(shop, 2, utc(2014, 10, 25, 21, 0), "1000.00", "confirmed", reached=True)  # 00:00
    add_order(shop, 3, utc(2014, 10, 26, 0, 30), "500.00", "confirmed", reached=True)  # 03:30 summer time
    add_order(shop, 4, utc(2014, 10, 26, 1, 30), "200.00", "cancelled", reached=True)  # 03:30 winter time
    add_order(shop, 5, utc(2014, 10, 26, 10, 0), "300.00", "unreachable")
    add_order(shop, 6, utc(2014, 10, 26, 12, 0), "1000.00", "duplicate", duplicate_of=f"{shop.shop_id}-o2")
    add_order(shop, 7, utc(2014, 10, 26, 13, 0), "1.00", "fake", fake_reason="test name")
    add_order(shop, 8, utc(2014, 10, 26, 21, 59), "100.00", "received")  # 23:59, still open
    add_order(shop, 9, utc(2014, 10, 26, 22, 0), "7777.00", "confirmed", reached=True)  # 00:00 on the 27th
    for sid, answered_by, status in (
        ("r1", "human", "completed"),
        ("r2", "machine_start", "completed"),
        ("r3", None, "no-answer"),
    ):
        at = utc(2014, 10, 26, 9, 0)
        add_call(
            shop,
            sid,
            "outbound-robot",
            at,
            status=status,
            answered_by=answered_by,
            answered_at=at + timedelta(seconds=6) if answered_by else None,
            duration_seconds=40 if answered_by else 0,
        )
    # Two callers at 03:30 local (one in each 03:00 hour), answered; one at 14:00 who hung up.
    for sid, at, wait in (("i1", utc(2014, 10, 26, 0, 30), 10), ("i2", utc(2014, 10, 26, 1, 30), 30)):
        add_call(
            shop,
            sid,
            "inbound",
            at,
            status="completed",
            queued_at=at,
            wait_seconds=wait,
            agent_id="anna",
            answered_at=at + timedelta(seconds=wait),
            ended_at=at + timedelta(seconds=wait + 120),
            duration_seconds=wait + 120,
        )
    lost_at = utc(2014, 10, 26, 12, 0)
    add_call(
        shop,
        "i3",
        "inbound",
        lost_at,
        status="completed",
        queued_at=lost_at,
        wait_seconds=60,
        abandoned=True,
        ended_at=lost_at + timedelta(seconds=60),
        duration_seconds=60,
    )
    # Anna works 02:00-04:00 by the wall clock: three real hours that night.
    set_status(shop, "available", utc(2014, 10, 25, 23, 0))
    set_status(shop, "offline", utc(2014, 10, 26, 2, 0))


def report_of(sink: SesSink, shop_id: str, day: date) -> OutboxMessage:
    (found,) = [
        m
        for m in sink.messages()
        if m.destinations == (f"owner@{shop_id}.example",) and day.isoformat() in str(m.message["Subject"])
    ]
    return found


def rows(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).replace("\u00a0", " ").split())


def run_at(now: datetime, *shops: ShopSettings) -> list[sending.SentReport]:
    return sending.send_due_reports(
        now,
        shops=list(shops),
        sender=SesEmailSender(),
        queries=DynamoReportQueries(),
        once=wiring.report_once(),
        runs=DynamoReportRuns(),
    )


def test_a_25_hour_day_builds_by_query_only_and_the_email_has_its_exact_figures(stack: SesSink, tmp_path: Path) -> None:
    # GIVEN a known day of the shop written through the repository, with records either side of it
    shop = add_shop("long-day", "Long Day")
    the_long_day(shop)

    # WHEN the report is built
    with dynamodb_requests() as requests:
        email = compose.build_report(shop, ReportPeriod.day(LONG_DAY), DynamoReportQueries())

    # THEN only Queries (on the day indexes) were made: not one Scan
    operations = Counter(operation for operation, _ in requests.elements())
    assert operations["Scan"] == 0
    # besides the Queries, one GetItem: the dialer's counters of the day (drops, live answers)
    assert set(operations) == {"Query", "GetItem"} and operations["GetItem"] == 1
    assert {table for _, table in requests} == {
        "callcenter-order_lanes",
        "callcenter-calls",
        "callcenter-agent_status_log",
        "callcenter-dialer_days",
    }
    assert email.inline_images

    # WHEN 09:00 comes in Kyiv the next morning (07:00 UTC in winter time)
    with dynamodb_requests() as requests:
        sent = run_at(utc(2014, 10, 27, 7, 0), shop)
    assert not [request for request in requests if request[0] == "Scan"]

    # THEN one email with exactly that local day's figures
    assert [(r.shop_id, r.day) for r in sent] == [("long-day", LONG_DAY)]
    message = report_of(stack, "long-day", LONG_DAY).message
    assert message["Subject"] == "Long Day — daily report for 2014-10-26: 2/5 confirmed"
    text = rows(message)
    for row in (
        "Orders received 7 every order record of the day",
        "Duplicates 1 14.3% of 7 orders received",
        "Fakes 1 14.3% of 7 orders received",
        "Unique orders 5",
        "Customer reached by phone 3 60.0% of 5 unique orders",
        "Confirmed 2 40.0% of 5 unique orders",
        "Cancelled 1 20.0% of 5 unique orders",
        "Unreachable 1 20.0% of 5 unique orders",
        "Still open 1 20.0% of 5 unique orders",
        "Confirmed orders' total 1 500.00 UAH",
        "Average check (confirmed) 750.00 UAH",
        "Robot calls made 3",
        "Answered by a person 1 33.3% of 3 robot calls",
        "Inbound calls 3",
        "Answered by an agent 2 66.7% of 3 inbound calls",
        "Lost (hung up, no callback) 1 33.3% of 3 inbound calls",
        "Longest wait 1 min 00 s",
        "03:00–04:00 2 / 0 / 0",  # both 03:30s, one of each offset, in the one 03:00 hour
        "14:00–15:00 0 / 1 / 0",
        "available 3 h 00 min",  # 02:00 to 04:00 by the wall clock that night
    ):
        assert row in text, row
    # the CSV holds the day's records and no others
    (log,) = [part for part in message.iter_attachments()]
    listed = list(csv.reader(io.StringIO(log.get_content())))
    assert len(listed) == 1 + 7 + 6  # the header, the day's 7 orders and 6 calls
    assert not {"N-1", "N-9"} & {cell for row in listed for cell in row}


def test_a_23_hour_day_counts_what_happened_between_its_local_midnights(stack: SesSink) -> None:
    # GIVEN 30 Mar 2014, Kyiv: 00:00 local is 22:00 UTC the day before, 24:00 local is 21:00 UTC
    shop = add_shop("short-day", "Short Day")
    add_order(shop, 1, utc(2014, 3, 29, 21, 59), "100.00", "confirmed", reached=True)  # 23:59 on the 29th
    add_order(shop, 2, utc(2014, 3, 29, 22, 0), "200.00", "confirmed", reached=True)  # 00:00
    add_order(shop, 3, utc(2014, 3, 30, 20, 59), "300.00", "cancelled", reached=True)  # 23:59
    add_order(shop, 4, utc(2014, 3, 30, 21, 0), "400.00", "confirmed", reached=True)  # 00:00 on the 31st
    # Anna works 02:30-04:30 by the wall clock: one real hour that night.
    set_status(shop, "available", utc(2014, 3, 30, 0, 30))
    set_status(shop, "offline", utc(2014, 3, 30, 1, 30))

    # WHEN 09:00 comes in Kyiv on the 31st (06:00 UTC in summer time)
    sent = run_at(utc(2014, 3, 31, 6, 0), shop)

    # THEN the report holds the two orders of that local day, and Anna's one hour
    assert [(r.shop_id, r.day) for r in sent] == [("short-day", SHORT_DAY)]
    message = report_of(stack, "short-day", SHORT_DAY).message
    assert message["Subject"] == "Short Day — daily report for 2014-03-30: 1/2 confirmed"
    text = rows(message)
    assert "Orders received 2 " in text
    assert "Confirmed orders' total 200.00 UAH" in text
    assert "available 1 h 00 min" in text


def test_a_day_with_no_activity_gets_the_short_no_calls_report_once(stack: SesSink) -> None:
    # GIVEN a shop with nothing on the day
    shop = add_shop("quiet", "Quiet Shop")
    nine_next_day = utc(2014, 11, 5, 7, 0)

    # WHEN the schedule fires, and again
    sent = run_at(nine_next_day, shop)
    again = run_at(nine_next_day + timedelta(minutes=1), shop)

    # THEN one short email: no charts, no attachment, the day named; the run noted as sent
    assert [(r.shop_id, r.day) for r in sent] == [("quiet", QUIET_DAY)]
    assert again == []
    message = report_of(stack, "quiet", QUIET_DAY).message
    assert message["Subject"] == "Quiet Shop — daily report for 2014-11-04: 0/0 confirmed"
    assert "No orders and no calls on 2014-11-04 (Tuesday)." in rows(message)
    assert list(message.iter_attachments()) == []
    assert not [part for part in message.walk() if part.get_content_maintype() == "image"]
    (run,) = DynamoReportRuns().latest_runs("quiet")
    assert (run.status, run.first_day, run.recipients) == ("sent", QUIET_DAY, 1)


def test_the_email_as_a_mail_client_shows_it_renders_its_charts_in_chromium(stack: SesSink, tmp_path: Path) -> None:
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (make test installs Debian's: target .local/.stamp-chromium)")
    # GIVEN the 25-hour day's report as it left through SES (its .eml in the outbox)
    shop = add_shop("rendered", "Rendered Shop")
    the_long_day(shop)
    run_at(utc(2014, 10, 27, 7, 0), shop)
    sent = report_of(stack, "rendered", LONG_DAY)
    message = sent.message
    charts = [str(part["Content-ID"]).strip("<>") for part in message.walk() if part.get_content_maintype() == "image"]
    assert charts == ["calls-by-hour", "orders-funnel", "agent-occupancy"]

    # WHEN Chromium opens it with its cid: images resolved, THEN every chart decodes and shows
    png = assert_shows_its_charts(browser, message, tmp_path / "mail", charts)
    assert png.stat().st_size > 10_000
