"""Inbound calls meet their agent in a conference named for the call (#17), through the local
stack and the Twilio stand-in: the caller waits with music, the app rings the agent's own leg,
and that leg outlives the caller, so a phone-only agent keys the outcome (#16 item 8)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import requests

from chalicelib.adapters.dynamo.schema import AgentItem, CallItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import AgentBehaviour, CallerScript, CallLeg, Press, Transcript
from tests.e2e.conftest import ShopApi, fresh_inbound_day

SHOP = "+380441234567"
ANNA = "+380501112233"
OLEH = "client:oleh"


@pytest.fixture(autouse=True)
def agents_offline(stack: LocalStack, clock: SimClock) -> Iterator[None]:
    """Both agents offline, nobody queued, no callback waiting, wrap-up of 0 s."""
    fresh_inbound_day(clock)
    yield


def set_status(shop_api: ShopApi, agent_id: str, status: str) -> None:
    response = shop_api.session.put(
        f"{shop_api.base_url}/v1/agents/{agent_id}/status", json={"status": status}, timeout=15
    )
    assert response.status_code == 200, response.text


def agent_legs(stack: LocalStack, to: str, caller_sid: str) -> list[CallLeg]:
    """The app's own legs to an agent for this caller (their webhooks carry the caller's call)."""
    return [
        leg
        for leg in stack.standin.calls
        if leg.to == to
        and leg.direction == "outbound-api"
        and any(caller_sid in w.data["url"] for w in leg.transcript.webhooks())
    ]


def test_the_caller_waits_with_music_in_the_calls_conference_and_talks_to_the_agent_there(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN Oleh (softphone) available
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=40))
    set_status(shop_api, "oleh", "available")
    # WHEN a caller picks English and, after the agent hangs up, rates the call 1
    transcript = stack.standin.place_inbound_call("+380671260001", SHOP, CallerScript([Press("3"), Press("1")]))
    assert stack.wait_quiet(timeout=30)
    # THEN the caller was put in a conference named for the call, heard the music until Oleh was in,
    # and after he left the survey
    heard = transcript.heard()
    assert "Please hold, we are connecting you to an agent." in heard
    assert "Thank you for your answer. Goodbye!" in heard
    assert [e.data["targets"] for e in transcript.of_kind("dial") if "targets" in e.data] == [
        [f"Conference:{transcript.call_sid}"]
    ]
    assert transcript.application_errors == [] and stack.standin.application_errors() == []
    # AND Oleh's leg is the app's own (placed through the API), whispered, then in the same room
    [leg] = agent_legs(stack, OLEH, transcript.call_sid)
    assert leg.parent_call_sid is None
    assert "Дзвінок до Kvitka Flowers. Натисніть 1, щоб прийняти." in leg.transcript.heard()
    joined = [e.data["conference"] for e in leg.transcript.of_kind("conference") if e.data.get("event") == "join"]
    assert joined == [transcript.call_sid]
    [room] = [c for c in stack.standin.engine.conferences.all() if c.friendly_name == transcript.call_sid]
    assert (room.status, room.call_sid_ending) == ("completed", leg.sid)
    # AND the record: Oleh's call, answered, surveyed, recorded (the conference's recording)
    record = CallItem.get(transcript.call_sid)
    assert (record.agent_id, record.result, record.survey, record.agent_call_sid) == ("oleh", "agent", "1", leg.sid)
    assert record.recording_sid and record.recording_sid.startswith("RE")
    assert dynamo_store().get_agent("demo", "oleh").status == "wrap-up"  # type: ignore[union-attr]


def test_a_phone_only_agent_keys_the_outcome_after_the_caller_hangs_up(stack: LocalStack, shop_api: ShopApi) -> None:
    # GIVEN Anna (a phone, no softphone) available; she would talk for 10 minutes, then keys 3
    stack.standin.register_agent(
        ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=600, after_call=CallerScript([Press("3")]))
    )
    set_status(shop_api, "anna", "available")
    # WHEN a Ukrainian caller hangs up two minutes into the call
    transcript = stack.standin.place_inbound_call(
        "+380671260002", SHOP, CallerScript([Press("1")], hangup_after_seconds=120)
    )
    assert stack.wait_quiet(timeout=30)
    # THEN Anna's leg went on after the caller left: the outcome menu, her key, what was saved
    [leg] = agent_legs(stack, ANNA, transcript.call_sid)
    heard = leg.transcript.heard()
    assert any(text.startswith("Введіть результат дзвінка. Підтверджено: 1.") for text in heard)
    assert heard[-1] == "Збережено: відповіли на питання. До побачення."
    assert leg.transcript.application_errors == [] and stack.standin.application_errors() == []
    # AND the outcome is stored on the caller's call, by Anna; she is in wrap-up
    [outcome] = dynamo_store().outcomes_of(transcript.call_sid)
    assert (outcome.agent_id, outcome.outcome) == ("anna", "question_answered")
    record = CallItem.get(transcript.call_sid)
    assert (record.agent_id, record.result) == ("anna", "agent")
    assert dynamo_store().get_agent("demo", "anna").status == "wrap-up"  # type: ignore[union-attr]


def test_a_softphone_agent_gets_no_keypad_menu_after_the_caller_hangs_up(stack: LocalStack, shop_api: ShopApi) -> None:
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=600))
    set_status(shop_api, "oleh", "available")
    transcript = stack.standin.place_inbound_call(
        "+380671260003", SHOP, CallerScript([Press("1")], hangup_after_seconds=120)
    )
    assert stack.wait_quiet(timeout=30)
    [leg] = agent_legs(stack, OLEH, transcript.call_sid)
    assert not any(text.startswith("Введіть результат") for text in leg.transcript.heard())
    assert leg.status == "completed"
    assert dynamo_store().outcomes_of(transcript.call_sid) == []


def test_an_agent_who_declines_the_whisper_is_missed_and_the_caller_goes_back_to_the_queue(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN Anna, idlest, who declines (presses 9), and Oleh who accepts
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, accept_digits="9"))
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=20))
    set_status(shop_api, "oleh", "available")
    set_status(shop_api, "anna", "available")
    AgentItem("demo", "anna").update(
        actions=[AgentItem.status_since.set(AgentItem.get("demo", "oleh").status_since - timedelta(hours=1))]
    )
    # WHEN a caller (Ukrainian) is put through
    transcript = stack.standin.place_inbound_call("+380671260004", SHOP, CallerScript([Press("1"), Press("2")]))
    assert stack.wait_quiet(timeout=30)
    # THEN the caller heard that the agent could not answer, and then talked to Oleh
    assert "Оператор не відповів. Залишайтеся на лінії, ми шукаємо іншого." in transcript.heard()
    assert transcript.application_errors == [] and stack.standin.application_errors() == []
    record = CallItem.get(transcript.call_sid)
    assert (record.agent_id, record.result, record.survey) == ("oleh", "agent", "2")
    anna = dynamo_store().get_agent("demo", "anna")
    assert anna is not None and (anna.status, anna.missed_calls) == ("away", 1)
    # AND the caller was in one room the whole time: redirected out of it to the queue, then back in
    rooms = [c for c in stack.standin.engine.conferences.all() if c.friendly_name == transcript.call_sid]
    assert len(rooms) == 2 and all(room.status == "completed" for room in rooms)


OLEH_TOKEN = "demo-agent-oleh-0001"  # config/demo.toml
ANNA_TOKEN = "demo-agent-anna-0001"


def _until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _desk(stack: LocalStack, path: str, token: str) -> requests.Response:
    return requests.post(f"{stack.api_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=15)


def test_the_agent_holds_the_caller_with_music_and_takes_them_back_from_the_desk(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN Oleh talking to an English caller in the call's conference (he stays until he hangs up)
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=None))
    set_status(shop_api, "oleh", "available")
    heard: dict[str, Transcript] = {}
    caller = threading.Thread(
        target=lambda: heard.setdefault(
            "t", stack.standin.place_inbound_call("+380671260005", SHOP, CallerScript([Press("3")]))
        )
    )
    caller.start()
    _until(lambda: any(c.status == "in-progress" for c in stack.standin.engine.conferences.all()))
    [room] = [c for c in stack.standin.engine.conferences.all() if c.status == "in-progress"]
    caller_sid = room.friendly_name
    # WHEN another agent, or the shop's key, tries to hold it: refused
    in_room = room.participant(caller_sid)
    assert in_room is not None
    assert _desk(stack, "/v1/agent/call/hold", ANNA_TOKEN).status_code in (404, 409)  # not her call
    assert in_room.hold is False
    assert _desk(stack, "/v1/agent/call/hold", "demo-shop-key-0001").status_code == 401
    # WHEN Oleh holds the caller
    held = _desk(stack, "/v1/agent/call/hold", OLEH_TOKEN)
    assert held.status_code == 200, held.text
    assert held.json() == {"call_sid": caller_sid, "on_hold": True}
    # THEN the caller hears the shop's hold music (the conference asks the app for it)
    caller_leg = stack.standin.call(caller_sid)
    _until(lambda: caller_leg.transcript.webhooks("conference-hold"))
    assert CallItem.get(caller_sid).on_hold is True
    # WHEN he takes them back, and later hangs up
    back = _desk(stack, "/v1/agent/call/unhold", OLEH_TOKEN)
    assert (back.status_code, back.json()) == (200, {"call_sid": caller_sid, "on_hold": False})
    assert in_room.hold is False
    [leg] = agent_legs(stack, OLEH, caller_sid)
    stack.standin.engine.update_call(leg, status="completed", url=None, method="POST", twiml=None)
    caller.join(timeout=60)
    assert not caller.is_alive()
    assert stack.wait_quiet(timeout=30)
    # THEN the caller got the survey after Oleh left; the record shows them off hold, talked to Oleh
    record = CallItem.get(caller_sid)
    assert (record.agent_id, record.result, record.on_hold) == ("oleh", "agent", False)
    assert heard["t"].application_errors == [] and stack.standin.application_errors() == []
    # AND holding an ended call is refused in words
    late = _desk(stack, "/v1/agent/call/hold", OLEH_TOKEN)
    assert (late.status_code, late.json()["error"]) == (409, "call_ended")


def _talking_with_oleh(stack: LocalStack, shop_api: ShopApi, phone: str) -> tuple[threading.Thread, str, CallLeg]:
    """A caller (English) in conversation with Oleh in the call's conference; both stay until
    something ends it. Returns the caller's thread, the call's SID and Oleh's leg."""
    stack.standin.register_agent(OLEH, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=None))
    set_status(shop_api, "oleh", "available")
    before = {c.sid for c in stack.standin.engine.conferences.all()}
    thread = threading.Thread(
        target=lambda: stack.standin.place_inbound_call(phone, SHOP, CallerScript([Press("3")])), daemon=True
    )
    thread.start()

    def room() -> list[str]:
        fresh = [c for c in stack.standin.engine.conferences.all() if c.sid not in before]
        return [c.friendly_name for c in fresh if c.status == "in-progress"]

    _until(room)
    caller_sid = room()[0]
    [oleh_leg] = agent_legs(stack, OLEH, caller_sid)
    return thread, caller_sid, oleh_leg


def _in_room(stack: LocalStack, caller_sid: str) -> dict[str, bool]:
    """Who is in the call's conference now (call SID -> on hold)."""
    rooms = [
        c for c in stack.standin.engine.conferences.all() if c.friendly_name == caller_sid and c.status != "completed"
    ]
    return {p.call_sid: p.hold for room in rooms for p in room.live()}


def _hang_up(stack: LocalStack, leg: CallLeg) -> None:
    stack.standin.engine.update_call(leg, status="completed", url=None, method="POST", twiml=None)


def _post(stack: LocalStack, path: str, token: str, body: dict[str, str] | None = None) -> requests.Response:
    return requests.post(
        f"{stack.api_url}{path}", json=body or {}, headers={"Authorization": f"Bearer {token}"}, timeout=15
    )


def test_a_warm_transfer_consults_the_second_agent_while_the_caller_waits_then_hands_over(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN Oleh talking to a caller, and Anna available
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=None))
    thread, caller_sid, oleh_leg = _talking_with_oleh(stack, shop_api, "+380671260010")
    set_status(shop_api, "anna", "available")
    # WHEN Oleh transfers warm to Anna
    started = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_agent": "anna", "mode": "warm"})
    assert started.status_code == 200, started.text
    assert started.json() == {"call_sid": caller_sid, "transfer_to": "anna", "mode": "warm", "state": "ringing"}
    # THEN Anna is rung with the whisper and joins; the caller waits on hold meanwhile
    _until(lambda: len(_in_room(stack, caller_sid)) == 3)
    assert _in_room(stack, caller_sid)[caller_sid] is True
    [anna_leg] = agent_legs(stack, ANNA, caller_sid)
    assert "Дзвінок до Kvitka Flowers. Натисніть 1, щоб прийняти." in anna_leg.transcript.heard()
    # WHEN Oleh completes it
    done = _post(stack, "/v1/agent/call/transfer/complete", OLEH_TOKEN)
    assert (done.status_code, done.json()) == (200, {"call_sid": caller_sid, "agent_id": "anna", "state": "completed"})
    # THEN Oleh is out, the caller is back, talking to Anna
    _until(lambda: oleh_leg.status == "completed")
    assert _in_room(stack, caller_sid) == {caller_sid: False, anna_leg.sid: False}
    record = CallItem.get(caller_sid)
    assert (record.agent_id, record.transfers, record.handled_by, record.on_hold) == (
        "anna",
        1,
        ["oleh", "anna"],
        False,
    )
    timeline = shop_api.session.post(
        f"{shop_api.base_url}/v1/customers/timeline", json={"phone": "+380671260010"}, timeout=15
    ).json()
    [entry] = [e for e in timeline["entries"] if e["type"] == "call"]
    assert (entry["agent_id"], entry["handled_by"]) == ("anna", ["oleh", "anna"])
    assert dynamo_store().get_agent("demo", "oleh").status == "wrap-up"  # type: ignore[union-attr]
    # WHEN Anna hangs up, the caller gets the survey and Anna wraps up
    _hang_up(stack, anna_leg)
    thread.join(timeout=60)
    assert stack.wait_quiet(timeout=30)
    assert stack.standin.call(caller_sid).transcript.webhooks("dial-action")
    assert dynamo_store().get_agent("demo", "anna").status == "wrap-up"  # type: ignore[union-attr]
    assert stack.standin.application_errors() == []


def test_transfers_to_an_unavailable_or_unknown_agent_are_refused_in_words(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    thread, caller_sid, oleh_leg = _talking_with_oleh(stack, shop_api, "+380671260011")
    offline = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_agent": "anna", "mode": "warm"})
    assert (offline.status_code, offline.json()) == (
        409,
        {"error": "agent_unavailable", "message": "Anna is offline: only an available agent can take the call"},
    )
    unknown = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_agent": "ivan"})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_agent")
    outside = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_number": "+380671112233"})
    assert (outside.status_code, outside.json()["fields"][0]["field"]) == (422, "to_number")
    nobody = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_group": "sales"})
    assert (nobody.status_code, nobody.json()["error"]) == (409, "agent_unavailable")
    nothing = _post(stack, "/v1/agent/call/transfer/complete", OLEH_TOKEN)
    assert (nothing.status_code, nothing.json()["error"]) == (409, "no_transfer")
    # the caller was never put on hold, and the call is still Oleh's
    assert _in_room(stack, caller_sid)[caller_sid] is False
    _hang_up(stack, oleh_leg)
    thread.join(timeout=60)
    assert stack.wait_quiet(timeout=30)
    record = CallItem.get(caller_sid)
    assert (record.agent_id, record.transfers, record.transfer_to) == ("oleh", None, None)


def test_a_second_agent_who_hangs_up_mid_transfer_leaves_nobody_on_hold(stack: LocalStack, shop_api: ShopApi) -> None:
    # GIVEN Anna, who joins the consultation and hangs up at once
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=5))
    thread, caller_sid, oleh_leg = _talking_with_oleh(stack, shop_api, "+380671260012")
    set_status(shop_api, "anna", "available")
    # WHEN Oleh starts a warm transfer to her (the group's only free agent)
    started = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_group": "sales", "mode": "warm"})
    assert started.status_code == 200, started.text
    [anna_leg] = agent_legs(stack, ANNA, caller_sid)
    _until(lambda: anna_leg.status == "completed")
    # THEN the caller is taken off hold, back with Oleh; Anna is free again; no transfer counted
    _until(lambda: _in_room(stack, caller_sid).get(caller_sid) is False)
    assert set(_in_room(stack, caller_sid)) == {caller_sid, oleh_leg.sid}
    _until(lambda: CallItem.get(caller_sid).transfer_to is None)
    record = CallItem.get(caller_sid)
    assert (record.agent_id, record.on_hold, record.transfers) == ("oleh", False, None)
    assert dynamo_store().get_agent("demo", "anna").status == "available"  # type: ignore[union-attr]
    # AND Oleh hanging up still ends the call (the room is his again)
    _hang_up(stack, oleh_leg)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert stack.wait_quiet(timeout=30)


def test_a_cold_transfer_drops_the_first_agent_at_once_and_the_caller_waits_on_hold_for_the_second(
    stack: LocalStack, shop_api: ShopApi
) -> None:
    # GIVEN Oleh talking to a caller, and Anna available
    stack.standin.register_agent(ANNA, AgentBehaviour(answers=True, accept_digits="1", talk_seconds=None))
    thread, caller_sid, oleh_leg = _talking_with_oleh(stack, shop_api, "+380671260013")
    set_status(shop_api, "anna", "available")
    # WHEN Oleh transfers cold to Anna (mode left out: cold)
    started = _post(stack, "/v1/agent/call/transfer", OLEH_TOKEN, {"to_agent": "anna"})
    assert (started.status_code, started.json()["mode"]) == (200, "cold")
    # THEN Oleh is out at once, and once Anna is in the caller talks to her
    _until(lambda: oleh_leg.status == "completed")
    [anna_leg] = agent_legs(stack, ANNA, caller_sid)
    _until(lambda: _in_room(stack, caller_sid) == {caller_sid: False, anna_leg.sid: False})
    _until(lambda: CallItem.get(caller_sid).agent_id == "anna")
    record = CallItem.get(caller_sid)
    assert (record.transfers, record.handled_by, record.transfer_to) == (1, ["oleh", "anna"], None)
    assert stack.standin.call(caller_sid).transcript.webhooks("conference-hold")  # music while Anna was rung
    _hang_up(stack, anna_leg)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert stack.wait_quiet(timeout=30)
    assert stack.standin.application_errors() == []
