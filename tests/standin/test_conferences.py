"""Conferences: <Dial><Conference>, the wait music, conference events, and the Conferences and
Participants REST resources through the real twilio SDK."""

from __future__ import annotations

import time

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from devtools.twilio_standin import AgentBehaviour, Callee, CallerScript, HangUp, Press, TwilioStandIn
from tests.standin.conftest import (
    AGENT_PHONE,
    CUSTOMER,
    SHOP_NUMBER,
    BackgroundCall,
    WebhookApp,
    assert_all_signed,
    twiml,
)

EVENTS = 'statusCallback="/conf-events" statusCallbackEvent="start end join leave mute hold modify"'
SECOND_AGENT = "+380502223344"


def _routes(shop: WebhookApp, *, caller_ends: bool = True) -> None:
    shop.route(
        "/voice",
        twiml(
            '<Say>Please hold</Say><Dial action="/caller-done"><Conference startConferenceOnEnter="false" '
            f'endConferenceOnExit="{str(caller_ends).lower()}" waitUrl="/conf-wait" beep="false" {EVENTS}>'
            "call-1</Conference></Dial>"
        ),
    )
    shop.route("/conf-wait", twiml("<Play>http://music.example/wait.mp3</Play>"))
    shop.route("/conf-events", "", content_type="text/plain")
    shop.route("/caller-done", twiml("<Say>Thank you for calling</Say>"))
    shop.route(
        "/agent",
        twiml('<Gather numDigits="1" action="/agent-accept"><Say>A caller for the shop</Say></Gather><Hangup/>'),
    )
    shop.route(
        "/agent-accept",
        twiml(
            '<Dial action="/agent-done"><Conference startConferenceOnEnter="true" endConferenceOnExit="true" '
            'beep="false">call-1</Conference></Dial>'
        ),
    )
    shop.route(
        "/agent-done",
        twiml('<Gather numDigits="1" action="/outcome"><Say>Key the outcome</Say></Gather>'),
    )
    shop.route("/outcome", twiml("<Say>Saved</Say>"))
    shop.route("/hold-music", twiml("<Play>http://music.example/hold.mp3</Play>"))


def _events(shop: WebhookApp) -> list[tuple[str, str]]:
    return [(r.params["StatusCallbackEvent"], r.params.get("CallSid", "")) for r in shop.to("/conf-events")]


def _wait_started(client: Client, name: str = "call-1", timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = client.conferences.list(friendly_name=name, status="in-progress")
        if found:
            return str(found[0].sid)
        time.sleep(0.02)
    raise AssertionError(f"conference {name} never started")


def test_caller_waits_with_music_until_the_agent_joins_and_talks_until_the_agent_leaves(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    # GIVEN a caller put in a conference that only the agent starts
    _routes(shop)
    standin.register_agent(AGENT_PHONE, AgentBehaviour(talk_seconds=45))
    caller = BackgroundCall(standin, CUSTOMER, SHOP_NUMBER)
    shop.wait_for("/conf-wait")

    # WHEN the app calls the agent, who accepts and joins the conference
    agent = client.calls.create(to=AGENT_PHONE, from_=SHOP_NUMBER, url=shop.url("/agent"))
    transcript = caller.transcript()
    assert standin.wait_idle(timeout=10)

    # THEN the caller heard the wait music, then the Dial's action once the agent left
    assert transcript.heard()[:2] == ["Please hold", "[play http://music.example/wait.mp3]"]
    assert transcript.heard()[-1] == "Thank you for calling"
    done = shop.to("/caller-done")[0].params
    assert done["DialCallStatus"] == "completed"
    assert int(done["DialCallDuration"]) > 45  # the wait music and the agent's 45 s of talk
    # AND the agent's leg went on to its own Dial action (the agent ended it: no menu input)
    assert shop.to("/agent-done")[0].params["DialCallDuration"] == "45"
    # AND the conference events came in order, the end saying who ended it and why
    events = _events(shop)
    assert events[:3] == [
        ("participant-join", transcript.call_sid),
        ("participant-join", agent.sid),
        ("conference-start", agent.sid),
    ]
    assert ("participant-leave", agent.sid) in events
    end = [r.params for r in shop.to("/conf-events") if r.params["StatusCallbackEvent"] == "conference-end"]
    assert end[0]["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert end[0]["CallSidEndingConference"] == agent.sid
    (conference,) = client.conferences.list(friendly_name="call-1")
    assert conference.status == "completed"
    assert conference.reason_conference_ended == "participant-with-end-conference-on-exit-left"
    assert_all_signed(shop)


def test_the_agent_leg_outlives_a_caller_who_hangs_up(standin: TwilioStandIn, shop: WebhookApp, client: Client) -> None:
    # GIVEN a caller who hangs up 40 s after answering; the agent would talk 300 s
    _routes(shop)
    standin.register_agent(AGENT_PHONE, AgentBehaviour(talk_seconds=300, after_call=CallerScript([Press("2")])))
    caller = BackgroundCall(standin, CUSTOMER, SHOP_NUMBER, CallerScript(hangup_after_seconds=40))
    shop.wait_for("/conf-wait")
    agent = client.calls.create(to=AGENT_PHONE, from_=SHOP_NUMBER, url=shop.url("/agent"))
    caller.transcript()
    assert standin.wait_idle(timeout=10)

    # THEN the agent's Dial action ran on a live leg: the agent keyed the outcome and heard "Saved"
    assert shop.to("/agent-done")[0].params["DialCallStatus"] == "completed"
    assert shop.to("/outcome")[0].params["Digits"] == "2"
    assert standin.call(agent.sid).transcript.heard()[-2:] == ["Key the outcome", "Saved"]
    # AND the caller, who hung up, got no TwiML after the Dial (its action was only told)
    assert shop.to("/caller-done")[0].params["DialCallStatus"] == "completed"
    end = [r.params for r in shop.to("/conf-events") if r.params["StatusCallbackEvent"] == "conference-end"]
    assert end[0]["CallSidEndingConference"] != agent.sid


def test_hold_mute_and_ending_the_conference_through_the_api(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    # GIVEN a caller and an agent talking (the agent stays until the conference ends)
    _routes(shop)
    standin.register_agent(AGENT_PHONE, AgentBehaviour(talk_seconds=None))
    caller = BackgroundCall(standin, CUSTOMER, SHOP_NUMBER)
    shop.wait_for("/conf-wait")
    client.calls.create(to=AGENT_PHONE, from_=SHOP_NUMBER, url=shop.url("/agent"))
    sid = _wait_started(client)
    caller_sid = shop.to("/voice")[0].params["CallSid"]

    # WHEN the app holds the caller with its music, mutes and unmutes, unholds, then ends the conference
    held = client.conferences(sid).participants(caller_sid).update(hold=True, hold_url=shop.url("/hold-music"))
    assert held.hold is True
    shop.wait_for("/hold-music")
    assert [p.call_sid for p in client.conferences(sid).participants.list(hold=True)] == [caller_sid]
    client.conferences(sid).participants(caller_sid).update(muted=True)
    client.conferences(sid).participants(caller_sid).update(muted=False, hold=False)
    client.conferences(sid).update(status="completed")
    transcript = caller.transcript()
    assert standin.wait_idle(timeout=10)

    # THEN the caller heard the hold music, and after the end the Dial's action
    assert "[play http://music.example/hold.mp3]" in transcript.heard()
    assert transcript.heard()[-1] == "Thank you for calling"
    names = [name for name, call in _events(shop) if call == caller_sid or name.startswith("conference-")]
    for name in ("participant-hold", "participant-mute", "participant-unmute", "participant-unhold"):
        assert name in names
    end = [r.params for r in shop.to("/conf-events") if r.params["StatusCallbackEvent"] == "conference-end"]
    assert end[0]["ReasonConferenceEnded"] == "conference-ended-via-api"
    assert client.conferences(sid).fetch().status == "completed"


def test_participants_create_dials_into_the_conference_by_name_and_delete_removes(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    # GIVEN a caller and an agent in conference call-1
    _routes(shop)
    standin.register_agent(AGENT_PHONE, AgentBehaviour(talk_seconds=None))
    standin.register_agent(SECOND_AGENT, AgentBehaviour(talk_seconds=None))
    caller = BackgroundCall(standin, CUSTOMER, SHOP_NUMBER)
    shop.wait_for("/conf-wait")
    client.calls.create(to=AGENT_PHONE, from_=SHOP_NUMBER, url=shop.url("/agent"))
    sid = _wait_started(client)

    # WHEN the app dials a second agent in by the conference's name, with a label
    shop.route("/second-status", "", content_type="text/plain")
    added = client.conferences("call-1").participants.create(
        from_=SHOP_NUMBER,
        to=SECOND_AGENT,
        label="consult",
        status_callback=shop.url("/second-status"),
        end_conference_on_exit=False,
        early_media=True,
    )
    assert added.status == "queued" and added.conference_sid == sid
    deadline = time.monotonic() + 5
    while len(client.conferences(sid).participants.list()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    fetched = client.conferences(sid).participants("consult").fetch()
    assert fetched.call_sid == added.call_sid and fetched.label == "consult"

    # AND removes the agent by label, then ends the conference
    client.conferences(sid).participants("consult").delete()
    shop.wait_for("/second-status")
    client.conferences(sid).update(status="completed")
    caller.transcript()
    assert standin.wait_idle(timeout=10)

    # THEN the second agent's call ended after leaving (its inline TwiML had nothing after the Dial)
    assert shop.to("/second-status")[0].params["CallStatus"] == "completed"
    leaves = [r.params for r in shop.to("/conf-events") if r.params["StatusCallbackEvent"] == "participant-leave"]
    removed = next(p for p in leaves if p["CallSid"] == added.call_sid)
    assert removed["ReasonParticipantLeft"] == "participant_updated_via_api"
    assert removed["ParticipantLabel"] == "consult"


def test_participant_that_never_answers_ends_with_no_answer(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    _routes(shop)
    standin.set_callee("+380509999999", Callee(answer="no-answer"))
    shop.route("/second-status", "", content_type="text/plain")
    added = client.conferences("room-9").participants.create(
        from_=SHOP_NUMBER, to="+380509999999", status_callback=shop.url("/second-status"), timeout=10
    )
    assert standin.wait_idle(timeout=10)
    assert shop.to("/second-status")[0].params["CallStatus"] == "no-answer"
    assert standin.call(added.call_sid).transcript.of_kind("conference") == []


def test_caller_hanging_up_while_waiting_leaves_the_conference(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    _routes(shop)
    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([HangUp()]))
    assert standin.wait_idle(timeout=10)
    assert transcript.heard() == ["Please hold", "[play http://music.example/wait.mp3]"]
    assert shop.to("/caller-done")[0].params["DialCallStatus"] == "completed"
    events = _events(shop)
    assert [name for name, _ in events] == ["participant-join", "participant-leave", "conference-end"]
    end = shop.to("/conf-events")[-1].params
    assert end["ReasonConferenceEnded"] == "last-participant-left"


def test_bad_requests_are_refused_as_twilio_does(standin: TwilioStandIn, shop: WebhookApp, client: Client) -> None:
    with pytest.raises(TwilioRestException) as missing:
        client.conferences("CF" + "0" * 32).fetch()
    assert missing.value.status == 404
    _routes(shop)
    standin.register_agent(AGENT_PHONE, AgentBehaviour(talk_seconds=None))
    caller = BackgroundCall(standin, CUSTOMER, SHOP_NUMBER)
    shop.wait_for("/conf-wait")
    client.calls.create(to=AGENT_PHONE, from_=SHOP_NUMBER, url=shop.url("/agent"))
    sid = _wait_started(client)
    caller_sid = shop.to("/voice")[0].params["CallSid"]
    with pytest.raises(TwilioRestException) as coaching:
        client.conferences(sid).participants(caller_sid).update(coaching=True)
    assert coaching.value.status == 400
    with pytest.raises(TwilioRestException) as nobody:
        client.conferences(sid).participants("CA" + "1" * 32).update(hold=True)
    assert nobody.value.status == 404
    client.conferences(sid).update(status="completed")
    caller.transcript()
    with pytest.raises(TwilioRestException) as ended:
        client.conferences(sid).participants.create(from_=SHOP_NUMBER, to=AGENT_PHONE)
    assert ended.value.status == 400


def test_an_agent_waiting_in_the_room_talks_when_the_customer_joins_even_if_the_talk_is_over_at_once(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    # GIVEN an agent who starts a silent room (an agent-first call) and keys 3 after the call
    _routes(shop)
    shop.route(
        "/agent-accept",
        twiml(
            '<Dial action="/agent-done"><Conference startConferenceOnEnter="true" endConferenceOnExit="true" '
            'waitUrl="" beep="false">call-1</Conference></Dial>'
        ),
    )
    shop.route(
        "/customer",
        twiml(
            '<Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="true" beep="false">'
            "call-1</Conference></Dial>"
        ),
    )
    standin.register_agent(AGENT_PHONE, AgentBehaviour(talk_seconds=300, after_call=CallerScript([Press("3")])))
    customer_phone = "+380671119988"
    standin.set_callee(customer_phone, Callee(answer="human", ring_seconds=1, talk_seconds=20))
    agent = client.calls.create(to=AGENT_PHONE, from_=SHOP_NUMBER, url=shop.url("/agent"))
    deadline = time.monotonic() + 5
    while not client.conferences.list(friendly_name="call-1"):
        assert time.monotonic() < deadline, "the agent never joined"
        time.sleep(0.02)
    # WHEN the customer joins and hangs up 20 s later (no real time passes at speed 0)
    client.calls.create(to=customer_phone, from_=SHOP_NUMBER, url=shop.url("/customer"))
    assert standin.wait_idle(timeout=10)
    # THEN the agent talked (the after-call script answers the menu, not the whisper's digit)
    rooms = [e.data for e in standin.call(agent.sid).transcript.of_kind("conference")]
    assert {"event": "talking", "conference": "call-1"} in rooms
    assert shop.to("/outcome")[0].params["Digits"] == "3"
