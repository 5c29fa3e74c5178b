"""The daily report end to end on moto: records in DynamoDB, the email captured by SES."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib import wiring
from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.reports import DynamoReportQueries
from chalicelib.adapters.dynamo.schema import CallItem, OrderItem, ShopItem, create_tables, reset_connections
from chalicelib.adapters.email import EmailSendFailed, SesEmailSender
from chalicelib.domain.email import OutgoingEmail
from chalicelib.domain.shop import ReportPolicy, ShopSettings
from chalicelib.services.ports import EmailRejected
from chalicelib.services.reports.sending import SentReport, send_due_reports

pytestmark = pytest.mark.integration

REGION = "eu-central-1"
REPORT_DAY = date(2014, 3, 29)
# 09:00 in Kyiv on 30 March 2014 (summer time began at 03:00 that night): yesterday is due.
NINE_IN_KYIV = datetime(2014, 3, 30, 6, 0, tzinfo=UTC)
DAY_START_UTC = datetime(2014, 3, 28, 22, 0, tzinfo=UTC)  # 00:00 on the 29th in Kyiv (EET, +2)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SES", "SES_REGION"):
        monkeypatch.delenv(name, raising=False)
    reset_connections()
    wiring.forget_clients()
    with mock_aws():
        create_tables(wait=False)  # moto's tables are active at once
        yield
    reset_connections()
    wiring.forget_clients()


class FakeLambdaContext:
    """What the idempotency layer reads of the schedule handler's context."""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def run_schedule(now: datetime) -> list[SentReport]:
    """The hourly schedule handler's call, as app.py makes it."""
    return send_due_reports(
        now,
        shops=wiring.report_shops(),
        sender=wiring.mailer(),
        queries=wiring.report_queries(),
        once=wiring.report_once(),
        runs=wiring.report_runs(),
        recording_links=wiring.report_recording_links(now),
    )


def sent_messages() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def parsed(raw_message: Any) -> EmailMessage:
    message = email.message_from_string(raw_message.raw_data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return " ".join(str(body.get_content()).replace("\u00a0", "_").split())


def verify_sender(address: str) -> None:
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=address)


def add_shop(
    shop_id: str,
    name: str,
    *,
    hour: int = 8,
    recipients: tuple[str, ...] = ("owner@shop.example",),
    sender: str | None = "reports@shop.example",
) -> ShopSettings:
    settings = ShopSettings(
        shop_id=shop_id,
        name=name,
        timezone="Europe/Kyiv",
        currency="UAH",
        report=ReportPolicy(hour=hour, recipients=list(recipients), sender=sender),
    )
    ShopItem(shop_id=shop_id, settings=settings.model_dump(mode="json"), created_at=DAY_START_UTC).save()
    return settings


def add_order(
    shop_id: str, order_id: str, status: str, total: str, *, reached: bool = False, day: date = REPORT_DAY
) -> None:
    received_at = DAY_START_UTC + timedelta(days=(day - REPORT_DAY).days, hours=10)
    OrderItem(
        *order_keys(shop_id, order_id),
        shop_id=shop_id,
        phone="+380671234567",
        payload={"items": []},
        total=total,
        currency="UAH",
        status=status,
        reached=reached,
        received_at=received_at,
        shop_day=f"{shop_id}#{day.isoformat()}",
        shop_phone=f"{shop_id}#+380671234567",
    ).save()


def add_call(shop_id: str, call_sid: str, status: str, answered_by: str | None = None) -> None:
    created_at = DAY_START_UTC + timedelta(hours=11)
    CallItem(
        call_sid=call_sid,
        shop_id=shop_id,
        direction="outbound-robot",
        customer_phone="+380671234567",
        shop_number="+380441234567",
        status=status,
        answered_by=answered_by,
        created_at=created_at,
        answered_at=created_at + timedelta(seconds=8) if status == "completed" else None,
        shop_day=f"{shop_id}#{REPORT_DAY.isoformat()}",
    ).save()


def a_day_of_records(shop_id: str) -> None:
    add_order(shop_id, "o1", "confirmed", "1200.00", reached=True)
    add_order(shop_id, "o2", "confirmed", "800.00", reached=True)
    add_order(shop_id, "o3", "cancelled", "300.00", reached=True)
    add_order(shop_id, "o4", "unreachable", "150.00")
    add_order(shop_id, "o5", "queued", "99.00")
    add_order(shop_id, "o6", "duplicate", "1200.00")
    add_order(shop_id, "o7", "fake", "1.00")
    add_call(shop_id, f"{shop_id}-c1", "completed", "human")
    add_call(shop_id, f"{shop_id}-c2", "completed", "machine_start")
    add_call(shop_id, f"{shop_id}-c3", "no-answer")
    # The day before is not in this report
    add_order(shop_id, "old", "confirmed", "5000.00", reached=True, day=REPORT_DAY - timedelta(days=1))


def test_the_due_report_carries_the_days_figures_and_goes_once(aws):
    # GIVEN a shop with a day of orders and calls, and another shop's records the same day
    verify_sender("reports@shop.example")
    add_shop("acme", "Acme & Sons", recipients=("owner@acme.example", "boss@acme.example"))
    a_day_of_records("acme")
    add_order("other-shop", "x1", "confirmed", "777.00", reached=True)

    # WHEN the hourly schedule fires at 09:00 Kyiv time
    sent = run_schedule(NINE_IN_KYIV)

    # THEN the owner gets one email with that day's figures
    assert [(report.shop_id, report.day) for report in sent] == [("acme", REPORT_DAY)]
    messages = sent_messages()
    assert len(messages) == 1
    assert messages[0].source == "reports@shop.example"
    assert set(messages[0].destinations) == {"owner@acme.example", "boss@acme.example"}
    message = parsed(messages[0])
    assert message["Subject"] == "Acme & Sons — daily report for 2014-03-29: 2/5 confirmed"
    assert message["To"] == "owner@acme.example, boss@acme.example"
    text = text_of(message)
    assert "Orders received 7" in text
    assert "Duplicates 1 14.3% of 7 orders received" in text
    assert "Fakes 1 14.3% of 7 orders received" in text
    assert "Customer reached by phone 3 60.0% of 5 unique orders" in text
    assert "Confirmed 2 40.0% of 5 unique orders" in text
    assert "Still open 1 20.0% of 5 unique orders" in text
    assert "Confirmed orders' total 2_000.00_UAH" in text
    assert "Average check (confirmed) 1_000.00_UAH" in text
    assert "Robot calls made 3" in text
    assert "Answered by a person 1 33.3% of 3 robot calls" in text
    html = message.get_body(("html",))
    assert html is not None
    assert "Acme &amp; Sons" in str(html.get_content())

    # WHEN the schedule fires again in the same hour, and the next hour comes
    again = run_schedule(NINE_IN_KYIV)
    next_hour = run_schedule(NINE_IN_KYIV + timedelta(hours=1))

    # THEN nothing more is sent
    assert again == []
    assert next_hour == []
    assert len(sent_messages()) == 1


def test_an_unverified_sender_is_skipped_and_the_other_shop_still_gets_its_report(aws):
    # GIVEN two due shops, one whose sender SES has not verified
    verify_sender("reports@shop.example")
    add_shop("good-shop", "Good Shop")
    add_shop("bad-shop", "Bad Shop", sender="nobody@unverified.example")
    a_day_of_records("good-shop")
    a_day_of_records("bad-shop")

    # WHEN the schedule fires
    sent = run_schedule(NINE_IN_KYIV)

    # THEN the good shop's report went out; the other is skipped (a retry in a minute cannot help)
    assert [report.shop_id for report in sent] == ["good-shop"]
    assert [parsed(m)["Subject"] for m in sent_messages()] == ["Good Shop — daily report for 2014-03-29: 2/5 confirmed"]

    # WHEN the sender is verified and the next hour's run comes
    verify_sender("nobody@unverified.example")
    next_hour = run_schedule(NINE_IN_KYIV + timedelta(hours=1))

    # THEN only the skipped shop's report goes now
    assert [report.shop_id for report in next_hour] == ["bad-shop"]
    assert [parsed(m)["Subject"] for m in sent_messages()] == [
        "Good Shop — daily report for 2014-03-29: 2/5 confirmed",
        "Bad Shop — daily report for 2014-03-29: 2/5 confirmed",
    ]


def test_a_shop_whose_report_hour_has_not_come_gets_nothing_yet(aws):
    # GIVEN a shop that wants its report at 10:00 Kyiv time
    verify_sender("reports@shop.example")
    add_shop("late-riser", "Late Riser", hour=10)
    a_day_of_records("late-riser")

    # WHEN the schedule fires at 09:00, then at 10:00
    at_nine = run_schedule(NINE_IN_KYIV)
    nothing_yet = sent_messages()
    at_ten = run_schedule(NINE_IN_KYIV + timedelta(hours=1))

    # THEN nothing goes at 09:00, and the report goes at 10:00
    assert at_nine == []
    assert nothing_yet == []
    assert [report.shop_id for report in at_ten] == ["late-riser"]
    assert len(sent_messages()) == 1


def test_a_shop_without_recipients_is_skipped_and_a_quiet_shop_gets_the_short_report(aws):
    # GIVEN a shop with no report recipients and a shop with no orders or calls that day
    verify_sender("reports@shop.example")
    add_shop("no-one-to-tell", "No One To Tell", recipients=())
    a_day_of_records("no-one-to-tell")
    add_shop("quiet", "Quiet Shop")

    # WHEN
    sent = run_schedule(NINE_IN_KYIV)

    # THEN only the quiet shop gets an email, saying there was nothing that day
    assert [report.shop_id for report in sent] == ["quiet"]
    messages = sent_messages()
    assert len(messages) == 1
    message = parsed(messages[0])
    assert message["Subject"] == "Quiet Shop — daily report for 2014-03-29: 0/0 confirmed"
    assert "No orders and no calls on 2014-03-29 (Saturday)." in text_of(message)


def test_queries_read_only_the_shops_day(aws):
    a_day_of_records("acme")
    add_order("other-shop", "x1", "confirmed", "777.00")

    queries = DynamoReportQueries()
    orders = queries.orders_of_day("acme", REPORT_DAY)
    calls = queries.calls_of_day("acme", REPORT_DAY)

    assert iter(orders) is orders  # a generator: pages stream through, nothing is collected
    assert sorted(fact.order_id for fact in orders) == ["o1", "o2", "o3", "o4", "o5", "o6", "o7"]
    assert sorted(fact.call_sid for fact in calls) == ["acme-c1", "acme-c2", "acme-c3"]
    assert list(queries.orders_of_day("acme", REPORT_DAY + timedelta(days=1))) == []


# ------------------------------------------------------------------ the SES adapter's retries

OUTGOING = OutgoingEmail(
    sender="reports@shop.example",
    recipients=("owner@shop.example",),
    subject="Report",
    text="text",
    html="<p>html</p>",
)


def stubbed_ses() -> tuple[Any, Stubber]:
    # botocore's own retries off, so the stub's queue meets only the sender's retry loop
    client = boto3.client(
        "ses",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    return client, Stubber(client)


def test_ses_throttling_is_retried_with_growing_delays():
    client, stub = stubbed_ses()
    stub.add_client_error("send_raw_email", service_error_code="Throttling", http_status_code=400)
    stub.add_client_error("send_raw_email", service_error_code="ServiceUnavailable", http_status_code=503)
    stub.add_response("send_raw_email", {"MessageId": "ses-message-1"})
    delays: list[float] = []

    with stub:
        message_id = SesEmailSender(client=client, sleep=delays.append).send(OUTGOING)

    assert message_id == "ses-message-1"
    assert delays == [2.0, 4.0]
    stub.assert_no_pending_responses()


def test_ses_retries_are_bounded():
    client, stub = stubbed_ses()
    for _ in range(3):
        stub.add_client_error("send_raw_email", service_error_code="Throttling", http_status_code=400)
    delays: list[float] = []

    with stub, pytest.raises(EmailSendFailed, match="gave up after 3 attempts"):
        SesEmailSender(client=client, sleep=delays.append).send(OUTGOING)

    assert delays == [2.0, 4.0]


def test_ses_rejection_is_a_clear_error_and_not_retried():
    client, stub = stubbed_ses()
    stub.add_client_error(
        "send_raw_email",
        service_error_code="MessageRejected",
        service_message="Email address is not verified.",
        http_status_code=400,
    )
    delays: list[float] = []

    with stub, pytest.raises(EmailRejected, match=r"reports@shop\.example.*Verify the sender"):
        SesEmailSender(client=client, sleep=delays.append).send(OUTGOING)

    assert delays == []


def test_the_hourly_schedule_handler_sends_the_due_report_in_a_fresh_lambda(aws, monkeypatch):
    # GIVEN a Lambda container that has served no HTTP request (Chalice sets app.lambda_context
    # only for those), and a shop whose report is due at 09:00
    import app as application
    from chalicelib.clock import FixedClock, use_clock, use_wall_clock
    from devtools.scheduler import scheduled_event

    monkeypatch.delattr(application.app, "lambda_context", raising=False)
    verify_sender("reports@shop.example")
    add_shop("acme", "Acme & Sons", recipients=("owner@acme.example",))
    a_day_of_records("acme")
    use_clock(FixedClock(NINE_IN_KYIV))
    try:
        # WHEN EventBridge invokes the handler as it does in the cloud
        application.daily_reports(scheduled_event("daily_reports", NINE_IN_KYIV), FakeLambdaContext())
    finally:
        use_wall_clock()
    # THEN the owner has the day's report
    messages = sent_messages()
    assert len(messages) == 1
    assert parsed(messages[0])["Subject"].startswith("Acme & Sons — daily report for 2014-03-29")
