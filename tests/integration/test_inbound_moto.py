"""Inbound repositories on moto: the atomic agent reservation, the queue in arrival order,
status callbacks that repeat or reorder, forged webhooks, and the agents' status API."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email import message_from_string, policy
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem
from chalicelib.adapters.dynamo.store import DynamoStore
from chalicelib.clock import FixedClock
from chalicelib.domain.queue import QueueEntry
from tests.integration.conftest import API_KEY, signed_post

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)


def test_the_queue_lists_callers_and_callbacks_by_original_arrival(aws: None) -> None:
    store = DynamoStore()
    for minutes, ref, kind in [(5, "CA-late", "caller"), (1, "cb_CA-early", "callback"), (3, "CA-mid", "caller")]:
        store.add_queue_entry(QueueEntry("demo", "sales", kind, ref, "+380671", "uk", NOW + timedelta(minutes=minutes)))
    assert [e.ref for e in store.queue_entries("demo", "sales")] == ["cb_CA-early", "CA-mid", "CA-late"]
    assert store.queue_position("demo", "sales", NOW + timedelta(minutes=3), "CA-mid") == (2, 3)
    assert store.remove_queue_entry("demo", "sales", NOW + timedelta(minutes=3), "CA-mid")
    assert not store.remove_queue_entry("demo", "sales", NOW + timedelta(minutes=3), "CA-mid")


def test_a_repeated_or_late_status_callback_never_moves_the_call_back(client: Client) -> None:
    call = {"CallSid": "CA9", "From": "0671234567", "To": "+380441234567"}
    signed_post(client, "/twilio/voice/incoming", call)
    signed_post(
        client, "/twilio/voice/status", {**call, "CallStatus": "completed", "SequenceNumber": "3", "CallDuration": "42"}
    )
    signed_post(client, "/twilio/voice/status", {**call, "CallStatus": "in-progress", "SequenceNumber": "1"})
    signed_post(
        client, "/twilio/voice/status", {**call, "CallStatus": "completed", "SequenceNumber": "3", "CallDuration": "42"}
    )
    record = CallItem.get("CA9")
    assert (record.status, record.duration_seconds) == ("completed", 42)
    # hung up unserved: exactly one callback task, however often the callback repeats
    tasks = [t for t in DialTaskItem.scan() if t.kind == "callback"]
    assert [t.task_id for t in tasks] == ["cb_CA9"] and record.abandoned is True


def test_a_forged_inbound_webhook_is_403_and_writes_nothing(client: Client) -> None:
    response = signed_post(client, "/twilio/voice/incoming", {"CallSid": "CAF", "To": "+380441234567"}, token="wrong")
    assert response.status_code == 403
    assert CallItem.count("CAF") == 0


def test_an_unknown_number_hears_a_polite_message_and_is_hung_up_on(client: Client) -> None:
    response = signed_post(client, "/twilio/voice/incoming", {"CallSid": "CAU", "To": "+380449999999"})
    root = ET.fromstring(response.body)
    assert root.find("./Say").text == "This number is not in service. Goodbye."  # type: ignore[union-attr]
    assert root[-1].tag == "Hangup"


def test_agents_set_their_status_through_the_api_and_every_change_is_logged(client: Client, clock: FixedClock) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    put = client.http.put("/v1/agents/anna/status", headers=headers, body=json.dumps({"status": "available"}))
    assert put.status_code == 200 and put.json_body["status"] == "available"
    clock.advance(minutes=5)  # the log keeps one change per instant
    assert (
        client.http.put("/v1/agents/anna/status", headers=headers, body=json.dumps({"status": "break"})).status_code
        == 200
    )
    bad = client.http.put("/v1/agents/anna/status", headers=headers, body=json.dumps({"status": "busy"}))
    assert bad.status_code == 422 and bad.json_body["fields"][0]["field"] == "status"
    assert (
        client.http.put("/v1/agents/nobody/status", headers=headers, body=json.dumps({"status": "away"})).status_code
        == 404
    )
    unauthorised = client.http.put("/v1/agents/anna/status", headers={"Content-Type": "application/json"}, body="{}")
    assert unauthorised.status_code == 401
    listed = client.http.get("/v1/agents", headers=headers).json_body["agents"]
    assert {a["agent_id"]: a["status"] for a in listed} == {"anna": "break", "oleh": "offline"}
    assert [s for _, s, _ in DynamoStore().status_log("demo", "anna")] == ["available", "break"]


def test_a_storage_error_mid_call_gives_an_apology_and_a_voicemail(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_post(client, "/twilio/voice/incoming", {"CallSid": "CAE", "From": "0671234567", "To": "+380441234567"})

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(DynamoStore, "get_call", broken)
    response = signed_post(client, "/twilio/voice/inbound/menu?lang=en", {"CallSid": "CAE"})
    assert response.status_code == 200
    root = ET.fromstring(response.body)
    assert "technical problem" in (root.find("./Say").text or "")  # type: ignore[union-attr]
    assert root.find("./Record") is not None


def _voicemails_sent() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["eu-central-1"].sent_messages)  # a fresh mock per test


def test_a_voicemails_callbacks_in_any_order_and_repeated_make_one_task_and_one_email(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the shop's sender verified in SES, and a caller who chose voicemail after hours
    monkeypatch.delenv("SES_REGION", raising=False)
    boto3.client("ses", region_name="eu-central-1").verify_email_identity(EmailAddress="reports@kvitka.example")
    call = {"CallSid": "CAV", "From": "0671234567", "To": "+380441234567"}
    signed_post(client, "/twilio/voice/incoming", call)
    recording = {
        "RecordingSid": "RE" + "a" * 32,
        "RecordingUrl": "https://api.twilio.com/rec/REa",
        "RecordingDuration": "9",
    }
    ready = {**call, **recording, "RecordingStatus": "completed"}
    # WHEN the file-ready callback comes first (the action was lost), twice
    assert signed_post(client, "/twilio/voice/voicemail/ready", ready).status_code == 204
    assert signed_post(client, "/twilio/voice/voicemail/ready", ready).status_code == 204
    # AND the call's final status, then the action after all
    signed_post(client, "/twilio/voice/status", {**call, "CallStatus": "completed", "SequenceNumber": "3"})
    thanks = signed_post(client, "/twilio/voice/voicemail", {**call, **recording, "Digits": "hangup"})
    assert ET.fromstring(thanks.body).find("./Say").text == "Дякуємо! Ваше повідомлення збережено. До побачення."  # type: ignore[union-attr]
    # THEN one voicemail, one callback task (not I7's abandoned one), one email
    record = CallItem.get("CAV")
    assert (record.result, record.voicemail_seconds, record.callback_task_id) == ("voicemail", 9, "cb_CAV")
    assert not record.abandoned
    assert [t.task_id for t in DialTaskItem.scan() if t.kind == "callback"] == ["cb_CAV"]
    [sent] = _voicemails_sent()
    email = message_from_string(sent.raw_data, policy=policy.default)
    assert "+380671234567" in str(email["Subject"])
    body = email.get_body(preferencelist=("plain",))
    assert body is not None and "/v1/recordings/CAV?expires=" in str(body.get_content())


def test_an_absent_recording_or_a_transcription_without_text_sends_nothing(client: Client) -> None:
    call = {"CallSid": "CAW", "From": "0671234567", "To": "+380441234567"}
    signed_post(client, "/twilio/voice/incoming", call)
    absent = {**call, "RecordingSid": "RE" + "b" * 32, "RecordingStatus": "absent", "RecordingDuration": "0"}
    assert signed_post(client, "/twilio/voice/voicemail/ready", absent).status_code == 204
    failed = {**call, "TranscriptionStatus": "failed", "TranscriptionText": ""}
    assert signed_post(client, "/twilio/voice/voicemail/transcription", failed).status_code == 204
    record = CallItem.get("CAW")
    assert record.result is None and record.callback_task_id is None and record.transcription is None
    assert _voicemails_sent() == []
