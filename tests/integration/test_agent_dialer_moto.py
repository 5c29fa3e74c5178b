"""Agent-first dialing on moto: the conditional claim of a task that needs a person (a second
dialer loses), the uncounted return, and the agent leg's signed webhooks from the
whisper to "agent-talked"."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import AgentItem, CallItem, DialTaskItem
from chalicelib.adapters.dynamo.store import DynamoStore
from chalicelib.domain.queue import QueueEntry
from chalicelib.services import agent_dialer
from chalicelib.voice.links import AgentDialLinks
from chalicelib.web import voice_agent_dial
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import PUBLIC_BASE, signed_post

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv


def _callback(store: DynamoStore, task_id: str, arrived: datetime) -> None:
    assert store.insert_callback_task(task_id, "demo", "+380671230001", "uk", arrived, arrived)
    store.add_queue_entry(QueueEntry("demo", "sales", "callback", task_id, "+380671230001", "uk", arrived))


def test_a_second_dialer_cannot_claim_a_claimed_callback_and_a_return_is_uncounted(aws: None) -> None:
    store = DynamoStore()
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
    record = DialTaskItem.get("cb_race", consistent_read=True)
    assert (record.state, record.attempts, record.due_at, record.queue_key) == ("waiting", 0, arrived, "demo#callback")
    assert record.last_call_sid is None
    assert [t.task_id for t in store.due_tasks("demo", "callback", NOW, 10)] == ["cb_race"]
    # a deferred task is not due; a claim before its time fails
    store.defer_person_task("cb_race", NOW + timedelta(hours=1))
    assert store.claim_person_task("cb_race", NOW, with_orders=False) is None


def _path(url: str) -> str:
    assert url.startswith(PUBLIC_BASE)
    return url[len(PUBLIC_BASE) :]


@pytest.fixture
def rest(monkeypatch: pytest.MonkeyPatch) -> FakeTelephony:
    """Twilio's REST API as the agent-first webhooks use it (the customer's leg)."""
    fake = FakeTelephony()
    monkeypatch.setattr(voice_agent_dial, "telephony", lambda: fake)
    return fake


def test_the_agent_hears_the_whisper_accepts_and_meets_the_customer_in_the_calls_conference(
    client: Client, rest: FakeTelephony
) -> None:
    # GIVEN Anna available and a callback waiting
    store = DynamoStore()
    AgentItem("demo", "anna").update(
        actions=[AgentItem.status.set("available"), AgentItem.status_since.set(NOW - timedelta(hours=1))]
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
    # pressing 1 puts Anna in the conference named for the call and rings the customer into it
    accepted = signed_post(client, _path(gather.attrib["action"]), {**leg, "Digits": "1"})
    dial = ET.fromstring(accepted.body).find("./Dial")
    assert dial is not None and dial.findtext("./Conference") == sid
    [customer] = rest.placed
    assert (customer["to"], customer["from_"]) == ("+380671230001", "+380441234567")
    customer_leg = {"CallSid": "CAcustomer", "From": "+380441234567", "To": "+380671230001"}
    joined = ET.fromstring(signed_post(client, _path(customer["answer_url"]), customer_leg).body)
    assert joined.findtext("./Dial/Conference") == sid
    assert (CallItem.get(sid).result, CallItem.get(sid).customer_call_sid) == ("agent-talked", "CAcustomer")
    # the customer hung up: the room ended, and Anna's Dial with it
    done = signed_post(client, _path(dial.attrib["action"]), {**leg, "DialCallStatus": "completed"})
    # Anna has a phone, no softphone: she hears the keypad outcome menu (A4)
    menu = ET.fromstring(done.body).find("./Gather")
    assert menu is not None and "/twilio/voice/agent-dial/outcome?" in menu.attrib["action"]
    assert "Підтверджено: 1." in (menu.findtext("./Say") or "")
    record = DialTaskItem.get("cb_ws", consistent_read=True)
    assert (record.state, record.result) == ("done", "agent-talked")
    assert store.get_agent("demo", "anna").status == "wrap-up"  # type: ignore[union-attr]
    assert [e.ref for e in store.queue_entries("demo", "sales")] == []
    status = signed_post(
        client, _path(request["status_url"]), {**leg, "CallStatus": "completed", "SequenceNumber": "9"}
    )
    assert status.status_code == 204
    assert store.get_agent("demo", "anna").status == "wrap-up"  # type: ignore[union-attr]


def test_a_customer_who_does_not_answer_is_retried_and_the_waiting_agent_hears_so(
    client: Client, rest: FakeTelephony
) -> None:
    store = DynamoStore()
    _, sid, leg, customer = _accepted(client, store, "cb_na", "anna")
    status = signed_post(
        client,
        _path(customer["status_url"]),
        {"CallSid": "CAcustomer", "CallStatus": "no-answer", "SequenceNumber": "3"},
    )
    assert status.status_code == 204
    [(redirected, url)] = rest.redirects  # Anna, alone in the room, is taken out of it
    assert redirected == sid
    told = ET.fromstring(signed_post(client, _path(url), leg).body)
    assert told.findtext("./Say") == "Клієнт не відповів. Ми спробуємо пізніше. До побачення."
    record = DialTaskItem.get("cb_na", consistent_read=True)
    assert (record.state, record.attempts) == ("queued", 1)  # retried per the shop's policy
    signed_post(client, _path(_STATUS[sid]), {**leg, "CallStatus": "completed", "SequenceNumber": "9"})
    assert store.get_agent("demo", "anna").status == "available"  # type: ignore[union-attr]


def test_a_forged_agent_leg_webhook_gets_403_and_changes_nothing(client: Client) -> None:
    response = client.http.post(
        "/twilio/voice/agent-dial/accept?agent=anna&res=AD1&task=cb_x",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "forged"},
        body="CallSid=CA1&Digits=1",
    )
    assert response.status_code == 403


_STATUS: dict[str, str] = {}  # the agent leg's status callback, by its sid


def _accepted(
    client: Client, store: DynamoStore, task_id: str, agent_id: str
) -> tuple[ET.Element, str, dict[str, str], dict[str, Any]]:
    """The agent (the only one available) dials a callback and presses 1: (the accept's
    Dial, the agent leg's sid, its form fields, the customer's leg as placed)."""
    AgentItem("demo", agent_id).update(
        actions=[AgentItem.status.set("available"), AgentItem.status_since.set(NOW - timedelta(hours=1))]
    )
    _callback(store, task_id, NOW - timedelta(minutes=3))
    shop = store.get_shop("demo")
    assert shop is not None
    telephony = FakeTelephony()
    [sid] = agent_dialer.dial_for_free_agents(
        shop, store=store, telephony=telephony, urls=AgentDialLinks(PUBLIC_BASE), now=NOW
    )
    [request] = telephony.placed
    _STATUS[sid] = request["status_url"]
    leg = {"CallSid": sid, "From": "+380441234567", "To": request["to"]}
    answer = ET.fromstring(signed_post(client, _path(request["answer_url"]), {**leg, "CallStatus": "in-progress"}).body)
    accept = answer.find("./Gather")
    assert accept is not None
    dial = ET.fromstring(signed_post(client, _path(accept.attrib["action"]), {**leg, "Digits": "1"}).body).find(
        "./Dial"
    )
    assert dial is not None and dial.attrib["hangupOnStar"] == "true"
    rest = voice_agent_dial.telephony()
    assert isinstance(rest, FakeTelephony)
    return dial, sid, leg, rest.placed[-1]


def _talked(client: Client, store: DynamoStore, task_id: str, agent_id: str) -> tuple[ET.Element, str, dict[str, str]]:
    """The customer answers and talks until they hang up: (the agent's Dial action's answer,
    the agent leg's sid, its form fields)."""
    dial, sid, leg, customer = _accepted(client, store, task_id, agent_id)
    signed_post(client, _path(customer["answer_url"]), {"CallSid": "CAcustomer", "To": customer["to"]})
    done = signed_post(client, _path(dial.attrib["action"]), {**leg, "DialCallStatus": "completed"})
    return ET.fromstring(done.body), sid, leg


def _talked_with_anna(client: Client, store: DynamoStore, task_id: str) -> tuple[str, str, dict[str, str]]:
    """Anna has a phone, no softphone: after the call she hears the outcome menu (its action)."""
    doc, sid, leg = _talked(client, store, task_id, "anna")
    assert leg["To"] == "+380501112233"
    menu = doc.find("./Gather")
    assert menu is not None
    return menu.attrib["action"], sid, leg


def test_a_phone_only_agent_keys_in_the_outcome_and_it_is_saved_like_the_desks(
    client: Client, rest: FakeTelephony
) -> None:
    from chalicelib.adapters.dynamo.store import store as dynamo_store

    store = DynamoStore()
    action, sid, leg = _talked_with_anna(client, store, "cb_key")
    # WHEN Anna presses a key with no outcome, then 4 (needs a manager)
    again = ET.fromstring(signed_post(client, _path(action), {**leg, "Digits": "9"}).body)
    retry = again.find("./Gather")
    assert retry is not None and "attempt=1" in retry.attrib["action"]
    saved = ET.fromstring(signed_post(client, _path(retry.attrib["action"]), {**leg, "Digits": "4"}).body)
    # THEN it is saved on her call as the desk's API would, and she hears which
    assert saved.findtext("./Say") == "Збережено: потрібен менеджер. До побачення."
    assert saved.find("./Hangup") is not None
    [outcome] = dynamo_store().outcomes_of(sid)
    assert (outcome.agent_id, outcome.outcome, outcome.phone) == ("anna", "needs_manager", "+380671230001")


def test_a_phone_only_agent_may_skip_and_silence_ends_the_menu_after_the_tries(
    client: Client, rest: FakeTelephony
) -> None:
    from chalicelib.adapters.dynamo.store import store as dynamo_store

    store = DynamoStore()
    action, sid, leg = _talked_with_anna(client, store, "cb_skip")
    skipped = ET.fromstring(signed_post(client, _path(action), {**leg, "Digits": "0"}).body)
    assert skipped.findtext("./Say", "").startswith("Результат не збережено")
    # no key three times (the demo's menu tries): the menu is read again twice, then goodbye
    for expected_attempt in (1, 2):
        doc = ET.fromstring(signed_post(client, _path(action), leg).body)
        gather = doc.find("./Gather")
        assert gather is not None and f"attempt={expected_attempt}" in gather.attrib["action"]
        action = gather.attrib["action"]
    last = ET.fromstring(signed_post(client, _path(action), leg).body)
    assert last.find("./Gather") is None and last.find("./Hangup") is not None
    assert dynamo_store().outcomes_of(sid) == []


def test_an_agent_with_a_softphone_gets_no_keypad_menu(client: Client, rest: FakeTelephony) -> None:
    # Oleh has a Twilio Client identity: his outcome goes through the desk
    doc, _, leg = _talked(client, DynamoStore(), "cb_soft", "oleh")
    assert leg["To"] == "client:oleh"
    assert doc.find("./Gather") is None and doc.find("./Hangup") is not None
