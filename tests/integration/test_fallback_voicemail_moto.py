"""A message left on the numbers' static fallback (#18) reaches the app: the fallback's
``<Record>`` names the app's voicemail-ready webhook as its ``recordingStatusCallback``, and the
app, up again, takes a recording of a call it never stored (it was down) by asking Twilio who
called which number: the call stored, the callback task made, the shop emailed, once."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from email import message_from_string, policy
from urllib.parse import urljoin

import boto3
import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem
from chalicelib.domain.twilio_numbers import VOICE_FALLBACK_PATH
from chalicelib.services.ports import CallState
from chalicelib.web import voice_queue
from infra.voice_fallback import fallback_twiml
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import PUBLIC_BASE, signed_post
from tests.integration.test_inbound_moto import _voicemails_sent

pytestmark = pytest.mark.integration


def test_a_message_left_on_the_static_fallback_becomes_the_apps_voicemail(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the shop's sender verified in SES, and Twilio knowing the call the app never saw
    monkeypatch.delenv("SES_REGION", raising=False)
    boto3.client("ses", region_name="eu-central-1").verify_email_identity(EmailAddress="reports@kvitka.example")
    twilio = FakeTelephony()
    twilio.call_states["CAF"] = CallState("completed", 40, None, "+380671234567", "+380441234567")
    monkeypatch.setattr(voice_queue, "telephony", lambda: twilio)
    # AND the fallback document's recording callback, resolved as Twilio resolves it
    record = ET.fromstring(fallback_twiml(["en"])).find("./Record")
    assert record is not None
    callback = urljoin(PUBLIC_BASE + VOICE_FALLBACK_PATH, record.attrib["recordingStatusCallback"])
    assert callback.startswith(PUBLIC_BASE) and record.attrib["recordingStatusCallbackMethod"] == "POST"
    path = callback.removeprefix(PUBLIC_BASE)
    ready = {
        "CallSid": "CAF",
        "RecordingSid": "RE" + "f" * 32,
        "RecordingUrl": "https://api.twilio.com/rec/REf",
        "RecordingDuration": "12",
        "RecordingStatus": "completed",
    }
    # WHEN Twilio calls it (twice: a retry) with the app up again
    assert signed_post(client, path, ready).status_code == 204
    assert signed_post(client, path, ready).status_code == 204
    # THEN the call is the shop's voicemail, with its callback task and one email
    stored = CallItem.get("CAF")
    assert (stored.shop_id, stored.customer_phone, stored.result) == ("demo", "+380671234567", "voicemail")
    assert (stored.recording_sid, stored.voicemail_seconds, stored.callback_task_id) == ("RE" + "f" * 32, 12, "cb_CAF")
    assert [t.task_id for t in DialTaskItem.scan() if t.kind == "callback"] == ["cb_CAF"]
    [sent] = _voicemails_sent()
    email = message_from_string(sent.raw_data, policy=policy.default)
    assert "+380671234567" in str(email["Subject"])
