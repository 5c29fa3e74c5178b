"""The predictive dialer's storage on moto (the call-rate race is judged on DynamoDB Local, in
test_races_dynamodb_local.py): conditional line phases (a repeated or late Twilio callback changes nothing twice),
and the day counters; and a forged verdict webhook changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalice.test import Client

from chalicelib.adapters.dynamo.schema import DialLineItem
from chalicelib.adapters.dynamo.store import DynamoStore
from tests.integration.conftest import signed_post

NOON = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)


def test_line_phases_move_once_and_day_counters_add_up(aws: None) -> None:
    store = DynamoStore()
    key = store.add_line("demo", "tsk_1", NOON)
    assert store.move_line("demo", key, {"ringing"}, "connecting", agent_id="anna", reservation="CA1")
    assert not store.move_line("demo", key, {"ringing"}, "dropped")  # a late verdict: nothing changes
    line = store.get_line("demo", key)
    assert line is not None and (line.phase, line.agent_id) == ("connecting", "anna")
    later = store.add_line("demo", "tsk_2", NOON + timedelta(seconds=3))
    assert [line.line_key for line in store.recent_lines("demo", 10)] == [later, key]  # newest first
    assert DialLineItem.get("demo", key).expires is not None
    store.count_day("demo", "2015-11-23", dials=1)
    store.count_day("demo", "2015-11-23", live_answers=1, drops=1)
    counts = store.day_counts("demo", "2015-11-23")
    assert (counts.dials, counts.live_answers, counts.drops, counts.drop_rate_percent) == (1, 1, 1, 100.0)
    assert store.day_counts("demo", "2015-11-24").live_answers == 0


def test_a_forged_machine_detection_verdict_gets_403_and_changes_nothing(client: Client) -> None:
    store = DynamoStore()
    key = store.add_line("demo", "tsk_1", NOON)
    params = {"CallSid": "CA1", "AnsweredBy": "human", "MachineDetectionDuration": "2000"}
    path = f"/twilio/voice/predictive/amd?line={key}&task=tsk_1"
    response = signed_post(client, path, params, token="not-the-auth-token")
    assert response.status_code == 403
    line = store.get_line("demo", key)
    assert line is not None and line.phase == "ringing"


def test_the_lines_inbound_routing_leaves_an_agent_for_are_the_shops_recent_ringing_ones(aws: None) -> None:
    # GIVEN one shop's lines: ringing now, ringing but stale (callbacks lost), answered by a machine
    store = DynamoStore()
    store.add_line("demo", "tsk_ringing", NOON - timedelta(seconds=10))
    store.add_line("demo", "tsk_stale", NOON - timedelta(minutes=6))
    machine = store.add_line("demo", "tsk_machine", NOON - timedelta(seconds=20))
    store.move_line("demo", machine, {"ringing"}, "machine")
    # AND another shop's ringing line
    store.add_line("other", "tsk_other", NOON - timedelta(seconds=5))
    # THEN only the first counts for inbound routing (the same lines the pacing counts in flight)
    assert store.customer_lines_in_flight("demo", NOON) == 1
    assert store.customer_lines_in_flight("demo", NOON + timedelta(minutes=10)) == 0
