"""What the owner receives, on moto: charts as CID images the HTML shows, the CSV call log, the
text part, inbound and agent figures from stored records, digests once per period."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from chalicelib.adapters.dynamo.schema import AgentStatusItem, CallItem, DialTaskItem, ShopItem
from chalicelib.config import reload_settings
from chalicelib.domain.shop import ReportPolicy, ShopSettings
from chalicelib.domain.signed_links import LinkCheck, verify
from tests.integration.test_reports_moto import (
    DAY_START_UTC,
    NINE_IN_KYIV,
    REPORT_DAY,
    a_day_of_records,
    add_shop,
    aws,  # noqa: F401  (the fixture)
    parsed,
    run_schedule,
    sent_messages,
    text_of,
    verify_sender,
)

pytestmark = pytest.mark.integration
LINK_SECRET = "report-test-recording-link-key-00000"
RECORDING_SID = "RE" + "0123456789abcdef" * 2


def add_inbound(shop_id: str, call_sid: str, *, wait: int, agent_id: str | None = None, **fields: Any) -> None:
    created = DAY_START_UTC + timedelta(hours=12)  # 12:00 Kyiv
    CallItem(
        call_sid=call_sid,
        shop_id=shop_id,
        direction="inbound",
        customer_phone="+380501112233",
        shop_number="+380441234567",
        status="completed",
        created_at=created,
        answered_at=created,
        ended_at=created + timedelta(seconds=wait + 200),
        queued_at=created,
        wait_seconds=wait,
        agent_id=agent_id,
        duration_seconds=wait + 200,
        shop_day=f"{shop_id}#{REPORT_DAY.isoformat()}",
        **fields,
    ).save()


def add_status(shop_id: str, agent_id: str, status: str, hours: float, previous: str | None = None) -> None:
    AgentStatusItem(
        agent_key=f"{shop_id}#{agent_id}",
        changed_at=DAY_START_UTC + timedelta(hours=hours),
        shop_id=shop_id,
        agent_id=agent_id,
        status=status,
        previous_status=previous,
        shop_day=f"{shop_id}#{REPORT_DAY.isoformat()}",
    ).save()


def attachments(message: EmailMessage) -> dict[str, EmailMessage]:
    return {part.get_filename() or "": part for part in message.iter_attachments()}


def test_the_report_shows_charts_attaches_the_call_log_and_has_a_text_part(aws, monkeypatch):  # noqa: F811
    # GIVEN a day of orders and robot calls, inbound calls answered, lost and with a callback, an agent's day
    monkeypatch.setenv("RECORDING_LINK_SECRET", LINK_SECRET)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://calls.example/api")
    monkeypatch.setenv("RECORDING_LINK_DAYS", "5")
    reload_settings()
    verify_sender("reports@shop.example")
    add_shop("acme", "Acme")
    a_day_of_records("acme")
    recording_url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{RECORDING_SID}"
    add_inbound(
        "acme",
        "in-1",
        wait=12,
        agent_id="anna",
        survey="1",
        recording_sid=RECORDING_SID,
        recording_url=recording_url,
    )
    add_inbound("acme", "in-2", wait=70, abandoned=True)
    add_inbound("acme", "in-3", wait=30, abandoned=True, callback_task_id="tsk_cb1")
    DialTaskItem(
        task_id="tsk_cb1",
        shop_id="acme",
        phone="+380501112233",
        order_ids=[],
        language="uk",
        state="done",
        result="agent",
        created_at=DAY_START_UTC,
    ).save()
    add_status("acme", "anna", "available", 9, previous="offline")
    add_status("acme", "anna", "busy", 12)
    add_status("acme", "anna", "available", 13)
    add_status("acme", "anna", "offline", 17)

    # WHEN the schedule fires
    run_schedule(NINE_IN_KYIV)

    # THEN one email: text + HTML with CID images, and the CSV attached
    (raw,) = sent_messages()
    message = parsed(raw)
    assert message.get_content_type() == "multipart/mixed"
    html_part = message.get_body(("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    images = {part["Content-ID"].strip("<>"): part for part in message.walk() if part.get_content_type() == "image/png"}
    assert set(images) == {"calls-by-hour", "orders-funnel", "agent-occupancy"}
    for content_id, part in images.items():
        assert f'src="cid:{content_id}"' in html
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        picture = Image.open(io.BytesIO(payload))
        picture.load()  # decodes every line
        assert picture.format == "PNG" and picture.mode == "RGB" and picture.width == 600
        assert len(picture.getcolors(maxcolors=picture.width * picture.height) or []) > 3  # not blank
    assert "<script" not in html.lower()

    text = text_of(message)
    assert "Orders received 7" in text  # the old rows are still there
    assert "Inbound calls 3" in text
    assert "Answered by an agent 1 33.3% of 3 inbound calls" in text
    assert "Lost (hung up, no callback) 1 33.3% of 3 inbound calls" in text
    assert "Callbacks asked 1" in text
    assert "Callbacks completed 1 of 1 asked" in text
    assert "Service level (agent within 20 s) 33.3% 1 of 3 calls queued for an agent" in text
    assert "Longest wait 1 min 10 s" in text
    assert "Survey: solved the first time 1 100.0% of 1 survey answers" in text
    assert "Agent anna 1 calls talk 3 min 20 s" in text
    assert "busy 1 h 00 min" in text
    assert "Drop rate 0.0% dropped live answers ÷ live answers (0 ÷ 0): no agent dialing yet" in text
    assert "Attached: calls-and-orders-2014-03-29.csv" in text
    assert "Its recording links work for 5 days from this email." in text

    (log,) = attachments(message).values()
    assert log.get_filename() == "calls-and-orders-2014-03-29.csv"
    rows = list(csv.DictReader(io.StringIO(str(log.get_content()))))
    kinds = [row["kind"] for row in rows]
    assert (kinds.count("order"), kinds.count("call")) == (7, 6)  # the day's orders; 3 robot + 3 inbound calls
    assert all("+380671234567" not in row["number"] for row in rows)
    # the recorded call carries an expiring signed link to this deployment, never Twilio's URL
    [recorded] = [row for row in rows if row["recording"]]
    link = urlsplit(recorded["recording"])
    assert (link.scheme, link.netloc, link.path) == ("https", "calls.example", "/api/v1/recordings/in-1")
    query = {name: values[0] for name, values in parse_qs(link.query).items()}
    assert int(query["expires"]) == int((NINE_IN_KYIV + timedelta(days=5)).timestamp())
    check = verify(
        "/v1/recordings/in-1", query["expires"], query["signature"], secret=LINK_SECRET.encode(), now=NINE_IN_KYIV
    )
    assert check is LinkCheck.VALID
    assert all("twilio" not in value.lower() and RECORDING_SID not in value for row in rows for value in row.values())


def test_an_agent_left_in_wrap_up_counts_only_the_shops_wrap_up_the_rest_is_available(aws):  # noqa: F811
    # GIVEN a shop with the default 30 s wrap-up, and oleh who takes one call at 12:00 (200 s of
    # talk) and is never touched again until he logs off at 17:00: his stored status stays wrap-up
    verify_sender("reports@shop.example")
    add_shop("acme", "Acme")
    add_inbound("acme", "in-1", wait=0, agent_id="oleh")
    add_status("acme", "oleh", "available", 9, previous="offline")
    add_status("acme", "oleh", "busy", 12)
    add_status("acme", "oleh", "wrap-up", 12 + 200 / 3600)
    add_status("acme", "oleh", "offline", 17)

    # WHEN the report is sent
    run_schedule(NINE_IN_KYIV)

    # THEN his wrap-up is the shop's 30 s, the rest of the afternoon available, AHT talk + 30 s
    (raw,) = sent_messages()
    text = text_of(parsed(raw))
    assert "Agent oleh 1 calls talk 3 min 20 s; AHT 3 min 50 s;" in text
    assert "available 7 h 56 min" in text  # 9:00-12:00 and 12:04-17:00 less the 30 s of wrap-up
    assert "wrap-up 30 s" in text
    assert "busy 3 min 20 s" in text


def test_a_weekly_digest_goes_once_beside_the_daily_report(aws):  # noqa: F811
    # GIVEN a shop that asks for a weekly digest on Sundays (30 March 2014 is a Sunday)
    verify_sender("reports@shop.example")
    settings = ShopSettings(
        shop_id="weekly",
        name="Weekly Shop",
        report=ReportPolicy(hour=8, recipients=["owner@shop.example"], sender="reports@shop.example", weekly_on=6),
    )
    ShopItem(shop_id="weekly", settings=settings.model_dump(mode="json"), created_at=DAY_START_UTC).save()
    a_day_of_records("weekly")

    # WHEN the schedule fires twice
    first = run_schedule(NINE_IN_KYIV)
    again = run_schedule(NINE_IN_KYIV + timedelta(minutes=10))

    # THEN the daily report and the digest of Monday 17 to Sunday 23 March went, each once
    assert sorted((r.period, r.day.isoformat()) for r in first) == [("day", "2014-03-29"), ("week", "2014-03-17")]
    assert again == []
    subjects = sorted(str(parsed(m)["Subject"]) for m in sent_messages())
    assert subjects == [
        "Weekly Shop — daily report for 2014-03-29: 2/5 confirmed",
        "Weekly Shop — weekly digest for 2014-03-17 – 2014-03-23: 0/0 confirmed",
    ]
    digest = next(parsed(m) for m in sent_messages() if "weekly" in str(parsed(m)["Subject"]))
    assert "No orders and no calls on 2014-03-17 – 2014-03-23." in text_of(digest)
