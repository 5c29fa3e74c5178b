"""Queues and Dial: callers wait, agents take them out, whispers, bridges and their results."""

from __future__ import annotations

from twilio.rest import Client

from devtools.twilio_standin import AgentBehaviour, Callee, CallerScript, HangUp, Press, TwilioStandIn
from tests.standin.conftest import (
    AGENT_PHONE,
    CUSTOMER,
    SHOP_NUMBER,
    BackgroundCall,
    ReceivedRequest,
    Reply,
    WebhookApp,
    assert_all_signed,
    twiml,
)


def _queue_routes(shop: WebhookApp) -> None:
    shop.route(
        "/voice", twiml('<Say>Connecting you</Say><Enqueue waitUrl="/wait" action="/after-queue">support</Enqueue>')
    )

    def wait(request: ReceivedRequest) -> Reply:
        return Reply(twiml(f'<Say>You are number {request.params["QueuePosition"]}</Say><Pause length="10"/>'))

    shop.route("/wait", wait)
    shop.route("/after-queue", twiml("<Say>Thank you for calling</Say>"))


def test_agent_dequeues_the_waiting_caller_and_they_talk(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    # GIVEN a caller waiting in the support queue
    _queue_routes(shop)
    shop.route("/agent", twiml('<Dial action="/agent-done"><Queue url="/queue-whisper">support</Queue></Dial>'))
    shop.route("/queue-whisper", twiml("<Say>You are now connected to Anna</Say>"))
    shop.route("/agent-done", twiml("<Say>Call finished</Say>"))
    standin.register_agent(AGENT_PHONE, AgentBehaviour(talk_seconds=45))
    caller = BackgroundCall(standin, CUSTOMER, SHOP_NUMBER)
    first_wait = shop.wait_for("/wait")[0]

    # WHEN the app calls an agent whose TwiML dials the queue
    agent_call = client.calls.create(to=AGENT_PHONE, from_=SHOP_NUMBER, url=shop.url("/agent"))
    transcript = caller.transcript()
    assert standin.wait_idle(timeout=10)

    # THEN the caller heard the queue, the whisper, and after the conversation the Enqueue action's TwiML
    assert first_wait.params["QueuePosition"] == "1"
    assert first_wait.params["CurrentQueueSize"] == "1"
    assert transcript.heard()[:2] == ["Connecting you", "You are number 1"]
    assert transcript.heard()[-2:] == ["You are now connected to Anna", "Thank you for calling"]
    after = shop.to("/after-queue")[0].params
    assert after["QueueResult"] == "bridged"
    assert int(after["QueueTime"]) >= 0
    whisper = shop.to("/queue-whisper")[0].params
    assert whisper["DequeingCallSid"] == agent_call.sid
    assert whisper["CallSid"] == transcript.call_sid
    # AND the agent's Dial reports the conversation with the caller
    done = shop.to("/agent-done")[0].params
    assert done["DialCallStatus"] == "completed"
    assert done["DialCallSid"] == transcript.call_sid
    assert done["DialCallDuration"] == "45"
    (bridge,) = [e for e in transcript.of_kind("bridge") if "seconds" in e.data]
    assert bridge.data["seconds"] == 45
    assert_all_signed(shop)


def test_leave_in_wait_twiml_continues_after_enqueue(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml('<Enqueue waitUrl="/wait">support</Enqueue><Say>Please call again tomorrow</Say>'))
    shop.route("/wait", twiml("<Say>We are closing</Say><Leave/>"))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    assert transcript.heard() == ["We are closing", "Please call again tomorrow"]
    assert transcript.of_kind("leave")


def test_pressing_one_in_the_queue_leaves_it_for_a_callback(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml('<Enqueue waitUrl="/wait" action="/after-queue">support</Enqueue>'))
    shop.route("/wait", twiml('<Gather numDigits="1" action="/choice"><Say>Press 1 for a callback</Say></Gather>'))
    shop.route("/choice", twiml("<Say>We will call you back</Say><Leave/>"))
    shop.route("/after-queue", twiml("<Say>Goodbye</Say>"))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Press("1")]))

    assert shop.to("/choice")[0].params["Digits"] == "1"
    assert shop.to("/after-queue")[0].params["QueueResult"] == "leave"
    assert transcript.heard() == ["Press 1 for a callback", "We will call you back", "Goodbye"]


def test_caller_hanging_up_on_hold_reaches_the_enqueue_action(standin: TwilioStandIn, shop: WebhookApp) -> None:
    _queue_routes(shop)

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([HangUp()]))

    after = shop.to("/after-queue")[0].params
    assert after["QueueResult"] == "hangup"
    assert after["QueueTime"] == "11"  # one round of wait music: a 1.1 s Say and the 10 s pause
    assert "Thank you for calling" not in transcript.heard()
    assert shop.to("/status")[0].params["CallStatus"] == "completed"


def test_patience_runs_out_in_the_queue(standin: TwilioStandIn, shop: WebhookApp) -> None:
    _queue_routes(shop)

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript(hangup_after_seconds=35))

    assert shop.to("/after-queue")[0].params["QueueResult"] == "hangup"
    assert transcript.duration == 35
    assert len(shop.to("/wait")) == 4  # about 11 s a round: the fourth round is cut short


def test_dial_to_a_queue_that_never_existed_fails(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml('<Dial action="/done"><Queue>nobody</Queue></Dial>'))
    shop.route("/done", twiml("<Say>No one</Say>"))

    standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    assert shop.to("/done")[0].params["DialCallStatus"] == "failed"


WHISPER = '<Gather numDigits="1" action="/accept"><Say>Call for Good Shop, order 42, press 1</Say></Gather><Hangup/>'


def _dial_agent_routes(shop: WebhookApp, noun: str) -> None:
    shop.route(
        "/voice", twiml(f'<Say>Connecting you to an agent</Say><Dial action="/dial-done" timeout="20">{noun}</Dial>')
    )
    shop.route("/whisper", twiml(WHISPER))

    def accept(request: ReceivedRequest) -> Reply:
        return Reply(twiml("" if request.params.get("Digits") == "1" else "<Hangup/>"))

    shop.route("/accept", accept)
    shop.route("/dial-done", twiml("<Say>Thanks for talking to us</Say>"))


def test_dial_number_with_whisper_accepted_bridges_for_talk_seconds(standin: TwilioStandIn, shop: WebhookApp) -> None:
    _dial_agent_routes(shop, f'<Number url="/whisper">{AGENT_PHONE}</Number>')
    standin.register_agent(AGENT_PHONE, AgentBehaviour(accept_digits="1", talk_seconds=30, ring_seconds=3))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    done = shop.to("/dial-done")[0].params
    assert done["DialCallStatus"] == "completed"
    assert done["DialCallDuration"] == "30"
    agent_leg = standin.call(done["DialCallSid"])
    assert agent_leg.direction == "outbound-dial"
    assert agent_leg.parent_call_sid == transcript.call_sid
    assert agent_leg.to == AGENT_PHONE
    assert agent_leg.from_ == CUSTOMER  # Twilio shows the caller's number by default
    assert agent_leg.transcript.heard() == ["Call for Good Shop, order 42, press 1"]
    assert agent_leg.status == "completed"
    assert shop.to("/accept")[0].params["Digits"] == "1"
    assert shop.to("/whisper")[0].params["Direction"] == "outbound-dial"
    assert transcript.heard() == ["Connecting you to an agent", "Thanks for talking to us"]
    assert transcript.duration is not None and transcript.duration >= 33  # 3 s ringing + whisper + 30 s talk
    assert_all_signed(shop)


def test_agent_not_accepting_the_whisper_is_no_answer(standin: TwilioStandIn, shop: WebhookApp) -> None:
    _dial_agent_routes(shop, f'<Number url="/whisper">{AGENT_PHONE}</Number>')
    standin.register_agent(AGENT_PHONE, AgentBehaviour(accept_digits=None))

    standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    done = shop.to("/dial-done")[0].params
    assert done["DialCallStatus"] == "no-answer"
    assert "DialCallDuration" not in done
    assert standin.call(done["DialCallSid"]).status == "completed"  # answered, then hung up on


def test_agent_not_answering_is_no_answer_after_the_dial_timeout(standin: TwilioStandIn, shop: WebhookApp) -> None:
    _dial_agent_routes(shop, f'<Number url="/whisper">{AGENT_PHONE}</Number>')
    standin.register_agent(AGENT_PHONE, AgentBehaviour(answers=False))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    assert shop.to("/dial-done")[0].params["DialCallStatus"] == "no-answer"
    assert shop.to("/whisper") == []
    dial_ended = next(e for e in transcript.of_kind("dial") if "result" in e.data)
    assert dial_ended.at - transcript.of_kind("dial")[0].at == 20


def test_dial_client_reaches_a_softphone_agent(standin: TwilioStandIn, shop: WebhookApp) -> None:
    _dial_agent_routes(shop, '<Client url="/whisper"><Identity>anna</Identity></Client>')
    shop.route("/agent-status", "", content_type="text/plain")
    standin.register_agent("client:anna", AgentBehaviour(talk_seconds=12))

    standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    done = shop.to("/dial-done")[0].params
    assert done["DialCallStatus"] == "completed"
    assert standin.call(done["DialCallSid"]).to == "client:anna"
    assert done["DialCallDuration"] == "12"


def test_dial_busy_number(standin: TwilioStandIn, shop: WebhookApp) -> None:
    _dial_agent_routes(shop, "+380931234567")
    standin.set_callee("+380931234567", Callee(answer="busy"))

    standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    assert shop.to("/dial-done")[0].params["DialCallStatus"] == "busy"


def test_dial_record_and_child_status_callbacks(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route(
        "/voice",
        twiml(
            '<Dial action="/dial-done" record="record-from-answer">'
            '<Number statusCallback="/child" statusCallbackEvent="initiated ringing answered completed">'
            f"{AGENT_PHONE}</Number></Dial>"
        ),
    )
    shop.route("/dial-done", twiml(""))
    shop.route("/child", "", content_type="text/plain")
    standin.register_agent(AGENT_PHONE, AgentBehaviour(talk_seconds=20))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    done = shop.to("/dial-done")[0].params
    assert done["RecordingDuration"] == "20"
    assert done["RecordingUrl"].startswith(standin.base_url)
    child = shop.to("/child")
    assert [r.params["CallStatus"] for r in child] == ["initiated", "ringing", "in-progress", "completed"]
    assert {r.params["ParentCallSid"] for r in child} == {transcript.call_sid}


def test_endless_hold_music_plays_a_round_per_wait_fetch_at_speed_zero(
    standin: TwilioStandIn, shop: WebhookApp
) -> None:
    shop.route("/voice", twiml('<Enqueue waitUrl="/wait" action="/after-queue">support</Enqueue>'))
    shop.route("/wait", twiml('<Play loop="0">/hold.mp3</Play>'))
    shop.route("/after-queue", twiml(""))
    standin.set_audio_seconds(shop.url("/hold.mp3"), 5)

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript(hangup_after_seconds=12))

    assert transcript.duration == 12
    assert transcript.heard() == [f"[play {shop.url('/hold.mp3')}]"] * 3  # 5 s rounds: the third is cut short
    assert shop.to("/after-queue")[0].params["QueueResult"] == "hangup"


def test_invalid_dial_noun_rings_nobody(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml(f"<Dial><Number>{AGENT_PHONE}</Number><Client></Client></Dial>"))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    (error,) = transcript.application_errors
    assert "<Client> without an address" in error.data["reason"]
    assert [leg.sid for leg in standin.calls] == [transcript.call_sid]
    assert standin.wait_idle(timeout=2)
