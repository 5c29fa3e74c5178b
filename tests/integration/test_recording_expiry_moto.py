"""Recordings past the shop's retention (#18) on moto: when DynamoDB's TTL removes a recorded
call's record, the calls stream's consumer deletes the recording at Twilio; a delete by the app
(an erasure, a test) leaves Twilio alone; a Twilio failure retries that record only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.dynamo.schema import CallItem
from chalicelib.clock import FixedClock
from tests.integration.conftest import StreamReader

pytestmark = pytest.mark.integration
TTL_SERVICE = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


class Recordings:
    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.down = False

    def delete_recording(self, recording_sid: str) -> bool:
        if self.down:
            raise ConnectionError("Twilio unreachable")
        self.deleted.append(recording_sid)
        return True


@pytest.fixture
def twilio(monkeypatch: pytest.MonkeyPatch) -> Recordings:
    fake = Recordings()
    monkeypatch.setattr(wiring, "twilio_recordings", lambda: fake)
    return fake


def removals(client: Client, clock: FixedClock) -> list[dict[str, Any]]:
    """Two recorded calls written and removed; the stream's REMOVE records, the first shaped as
    DynamoDB's TTL sends it (moto runs no TTL: the record is the same but for ``userIdentity``)."""
    calls = StreamReader(CallItem.Meta.table_name)
    for sid, recording in (("CA-expired", "RE-expired"), ("CA-deleted", "RE-deleted")):
        CallItem(
            call_sid=sid,
            shop_id="demo",
            direction="inbound",
            customer_phone="+380501112233",
            shop_number="+380441234567",
            status="completed",
            created_at=clock.now() - timedelta(days=400),
            recording_sid=recording,
            shop_day="demo#2014-10-19",
        ).save()
    client.lambda_.invoke("call_stream", calls.next_event())
    for sid in ("CA-expired", "CA-deleted"):
        CallItem(sid).delete()
    records: list[dict[str, Any]] = calls.next_event()["Records"]
    assert [r["eventName"] for r in records] == ["REMOVE", "REMOVE"]
    records[0]["userIdentity"] = TTL_SERVICE
    return records


def test_a_call_the_retention_removed_has_its_recording_deleted_at_twilio(
    client: Client, clock: FixedClock, twilio: Recordings
) -> None:
    records = removals(client, clock)
    result = client.lambda_.invoke("call_stream", {"Records": records}).payload
    assert result == {"batchItemFailures": []}
    assert twilio.deleted == ["RE-expired"]  # the app's own delete keeps its recording


def test_a_twilio_failure_retries_that_record_only_and_a_later_try_deletes_it(
    client: Client, clock: FixedClock, twilio: Recordings
) -> None:
    records = removals(client, clock)
    twilio.down = True
    failed = client.lambda_.invoke("call_stream", {"Records": records}).payload
    assert failed == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    twilio.down = False
    assert client.lambda_.invoke("call_stream", {"Records": records[:1]}).payload == {"batchItemFailures": []}
    assert twilio.deleted == ["RE-expired"]
