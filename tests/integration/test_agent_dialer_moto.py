"""Agent-first dialing on moto: the conditional claim of a task that needs a person (a second
dialer loses), the uncounted return, and the agent leg's signed webhooks from the
whisper to "agent-talked"."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from chalice.test import Client

from chalicelib.adapters.inbound_repository import InboundRepository, QueueEntry
from chalicelib.adapters.models import AgentRecord, DialTaskRecord
from chalicelib.services import agent_dialer
from chalicelib.web.voice_agent_dial import AgentDialLinks
from tests.fakes import FakeTelephony
from tests.integration.conftest import PUBLIC_BASE, signed_post

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv


def _callback(store: InboundRepository, task_id: str, arrived: datetime) -> None:
    assert store.insert_callback_task(task_id, "demo", "+380671230001", "uk", arrived, arrived)
    store.add_queue_entry(QueueEntry("demo", "sales", "callback", task_id, "+380671230001", "uk", arrived))


def test_a_second_dialer_cannot_claim_a_claimed_callback_and_a_return_is_uncounted(aws: None) -> None:
    store = InboundRepository()
    arrived = NOW - timedelta(minutes=3)
    _callback(store, "cb_race", arrived)
    # moto does not serialise concurrent writers: the race is two dialers one after the other,
    # the second holding the state it read before the first claimed (the condition decides)
    first = store.claim_person_task("cb_race", NOW, with_orders=False)
    second = store.claim_person_task("cb_race", NOW, with_orders=False)
    assert first is not None and (first.state, first.attempts) == ("dialing", 1)
    assert second is None
    assert store.attach_call("cb_race", "CA1")
    assert not store.return_person_task("cb_race", "CA-other", "waiting", arrived)  # not this call's
    assert store.return_person_task("cb_race", "CA1", "waiting", arrived)
    record = DialTaskRecord.get("cb_race", consistent_read=True)
    assert (record.state, record.attempts, record.due_at, record.queue_key) == ("waiting", 0, arrived, "demo#callback")
    assert record.last_call_sid is None
    assert [t.task_id for t in store.due_tasks("demo", "callback", NOW, 10)] == ["cb_race"]
    # a deferred task is not due; a claim before its time fails
    store.defer_person_task("cb_race", NOW + timedelta(hours=1))
    assert store.claim_person_task("cb_race", NOW, with_orders=False) is None


def _path(url: str) -> str:
    assert url.startswith(PUBLIC_BASE)
    return url[len(PUBLIC_BASE) :]


def test_the_agent_hears_the_whisper_accepts_and_the_customer_is_bridged(client: Client) -> None:
    # GIVEN Anna available and a callback waiting
    store = InboundRepository()
    AgentRecord("demo", "anna").update(
        actions=[AgentRecord.status.set("available"), AgentRecord.status_since.set(NOW - timedelta(hours=1))]
    )
    _callback(store, "cb_ws", NOW - timedelta(minutes=3))
    shop = store.get_shop("demo")
    assert shop is not None
    telephony = FakeTelephony()
    links = AgentDialLinks(PUBLIC_BASE)
    # WHEN the dialer runs
    [sid] = agent_dialer.dial_for_free_agents(shop, store=store, telephony=telephony, urls=links, now=NOW)
    [request] = telephony.placed
    assert request["to"] == "+380501112233" and request["from_"] == "+380441234567"
    assert store.get_agent("demo", "anna").status == "busy"  # type: ignore[union-attr]
    leg = {"CallSid": sid, "From": "+380441234567", "To": "+380501112233"}
    # THEN the answer is a whisper that waits for 1
    answer = signed_post(client, _path(request["answer_url"]), {**leg, "CallStatus": "in-progress"})
    assert answer.status_code == 200
    doc = ET.fromstring(answer.body)
    gather = doc.find("./Gather")
    assert gather is not None and "/twilio/voice/agent-dial/accept?" in gather.attrib["action"]
    said = gather.find("./Say")
    assert said is not None and "Kvitka Flowers" in (said.text or "")
    # pressing 1 dials the customer with the shop's caller ID
    accepted = signed_post(client, _path(gather.attrib["action"]), {**leg, "Digits": "1"})
    dial = ET.fromstring(accepted.body).find("./Dial")
    assert dial is not None and dial.attrib["callerId"] == "+380441234567"
    assert dial.findtext("./Number") == "+380671230001"
    # the customer answered and talked
    done = signed_post(
        client,
        _path(dial.attrib["action"]),
        {**leg, "DialCallStatus": "completed", "DialBridged": "true", "DialCallDuration": "95"},
    )
    assert ET.fromstring(done.body).find("./Hangup") is not None
    record = DialTaskRecord.get("cb_ws", consistent_read=True)
    assert (record.state, record.result) == ("done", "agent-talked")
    assert store.get_agent("demo", "anna").status == "wrap-up"  # type: ignore[union-attr]
    assert [e.ref for e in store.queue_entries("demo", "sales")] == []
    status = signed_post(
        client, _path(request["status_url"]), {**leg, "CallStatus": "completed", "SequenceNumber": "9"}
    )
    assert status.status_code == 204
    assert store.get_agent("demo", "anna").status == "wrap-up"  # type: ignore[union-attr]


def test_a_forged_agent_leg_webhook_gets_403_and_changes_nothing(client: Client) -> None:
    response = client.http.post(
        "/twilio/voice/agent-dial/accept?agent=anna&res=AD1&task=cb_x",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "forged"},
        body="CallSid=CA1&Digits=1",
    )
    assert response.status_code == 403
