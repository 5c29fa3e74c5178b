"""Inbound repositories on moto: the atomic agent reservation, the queue in arrival order,
status callbacks that repeat or reorder, forged webhooks, and the agents' status API."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

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
