"""The SES stand-in, driven by boto3's own ``ses`` client as the app's email adapter drives it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devtools.ses_sink import SesSink

# A 1x1 PNG, enough for a browser (and this test) to tell it is an image.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
SENDER = "reports@shop.example"


def ses_client(sink: SesSink, *, retries: int = 1) -> Any:
    return boto3.client(
        "ses",
        endpoint_url=sink.base_url,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": retries, "mode": "standard"}),
    )


def body_text(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no {subtype} part"
    content: str = part.get_content()
    return content


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SesSink]:
    with SesSink(tmp_path / "outbox", verified_identities={SENDER}) as running:
        yield running


def daily_report() -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Daily report — Shop Ukraine"
    message["From"] = f"Call center <{SENDER}>"
    message["To"] = "owner@shop.example"
    message.set_content("Calls: 42\nAnswered: 40\n")
    message.add_alternative(
        '<html><body><h1>Calls: 42</h1><img src="cid:calls-by-hour" alt="chart"></body></html>', subtype="html"
    )
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    html_part.add_related(PNG, maintype="image", subtype="png", cid="<calls-by-hour>")
    message.add_attachment(b"time,number\n08:00,+380***67\n", maintype="text", subtype="csv", filename="calls.csv")
    return message


def test_raw_email_lands_as_eml_and_browsable_html(sink: SesSink):
    # GIVEN a report with text, HTML, an inline chart and a CSV attachment
    report = daily_report()

    # WHEN the app sends it through boto3
    response = ses_client(sink).send_raw_email(
        Source=SENDER,
        Destinations=["owner@shop.example", "manager@shop.example"],
        RawMessage={"Data": report.as_bytes()},
    )

    # THEN it is in the outbox under the message id SES answered with
    [sent] = sink.messages()
    assert sent.message_id == response["MessageId"]
    assert sent.eml_path.name.endswith(f"-{response['MessageId']}.eml")
    assert sent.destinations == ("owner@shop.example", "manager@shop.example")
    stored = sent.message
    assert stored["Subject"] == "Daily report — Shop Ukraine"
    assert stored["X-SES-Envelope-To"] == "owner@shop.example, manager@shop.example"
    assert body_text(stored, "plain") == "Calls: 42\nAnswered: 40\n"
    [attachment] = list(stored.iter_attachments())
    assert attachment.get_filename() == "calls.csv"
    assert attachment.get_content() == "time,number\n08:00,+380***67\n"
    # ... and the HTML page shows the chart without the .eml beside it
    page = sent.html_path.read_text(encoding="utf-8")
    assert "<h1>Calls: 42</h1>" in page
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in page
    assert "cid:" not in page


def test_send_email_with_text_and_html(sink: SesSink):
    ses_client(sink).send_email(
        Source=SENDER,
        Destination={"ToAddresses": ["manager@shop.example"], "BccAddresses": ["audit@shop.example"]},
        Message={
            "Subject": {"Data": "Needs a manager: order 1042"},
            "Body": {"Text": {"Data": "Call +380671112233"}, "Html": {"Data": "<p>Call <b>+380671112233</b></p>"}},
        },
    )
    [sent] = sink.messages()
    assert sent.destinations == ("manager@shop.example", "audit@shop.example")
    assert sent.message["To"] == "manager@shop.example"
    assert "Bcc" not in sent.message
    assert body_text(sent.message, "plain").strip() == "Call +380671112233"
    assert "<p>Call <b>+380671112233</b></p>" in sent.html_path.read_text(encoding="utf-8")


def test_text_only_message_is_shown_escaped_in_pre(sink: SesSink):
    ses_client(sink).send_email(
        Source=SENDER,
        Destination={"ToAddresses": ["manager@shop.example"]},
        Message={"Subject": {"Data": "Alert"}, "Body": {"Text": {"Data": "wait > 5 min & <queue> full"}}},
    )
    page = sink.messages()[0].html_path.read_text(encoding="utf-8")
    assert "<pre>wait &gt; 5 min &amp; &lt;queue&gt; full\n</pre>" in page


def test_unverified_sender_is_rejected_like_the_sandbox(sink: SesSink):
    with pytest.raises(ClientError) as raised:
        ses_client(sink).send_email(
            Source="someone@elsewhere.example",
            Destination={"ToAddresses": ["owner@shop.example"]},
            Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hi"}}},
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "MessageRejected"
    assert "Email address is not verified" in error["Message"]
    assert "someone@elsewhere.example" in error["Message"]
    assert sink.messages() == []
    assert list(sink.outbox_dir.iterdir()) == []


def test_verifying_an_identity_lets_it_send(sink: SesSink):
    client = ses_client(sink)
    client.verify_email_identity(EmailAddress="alerts@shop.example")
    assert set(client.list_identities()["Identities"]) == {SENDER, "alerts@shop.example"}
    client.send_email(
        Source="alerts@shop.example",
        Destination={"ToAddresses": ["owner@shop.example"]},
        Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hi"}}},
    )
    assert [m.source for m in sink.messages()] == ["alerts@shop.example"]
    assert client.get_send_quota()["SentLast24Hours"] == 1.0


def test_throttling_surfaces_as_ses_throttling_error(sink: SesSink):
    client = ses_client(sink)
    sink.throttle_next(1)
    raw = {"Data": daily_report().as_bytes()}

    with pytest.raises(ClientError) as raised:
        client.send_raw_email(Source=SENDER, Destinations=["owner@shop.example"], RawMessage=raw)
    assert raised.value.response["Error"]["Code"] == "Throttling"
    assert raised.value.response["Error"]["Message"] == "Maximum sending rate exceeded."
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sink.messages() == []

    client.send_raw_email(Source=SENDER, Destinations=["owner@shop.example"], RawMessage=raw)
    assert len(sink.messages()) == 1


def test_botocore_retry_gets_a_throttled_message_through_once(sink: SesSink):
    sink.throttle_next(1)
    ses_client(sink, retries=3).send_raw_email(
        Source=SENDER, Destinations=["owner@shop.example"], RawMessage={"Data": daily_report().as_bytes()}
    )
    assert len(sink.messages()) == 1


def test_app_finds_the_sink_through_the_standard_variable(sink: SesSink, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", sink.base_url)
    client = boto3.client("ses", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    client.send_email(
        Source=SENDER,
        Destination={"ToAddresses": ["owner@shop.example"]},
        Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hi"}}},
    )
    assert len(sink.messages()) == 1
