"""Inbound calls: the stand-in follows the app's TwiML as Twilio does."""

from __future__ import annotations

import requests

from devtools.twilio_standin import CallerScript, HangUp, Press, Silence, Speak, TwilioStandIn
from tests.standin.conftest import (
    CUSTOMER,
    SHOP_NUMBER,
    ReceivedRequest,
    Reply,
    WebhookApp,
    assert_all_signed,
    twiml,
)

MENU = '<Gather numDigits="1" action="/menu" timeout="4"><Say>Press 1 for orders, 2 for an agent</Say></Gather>'


def test_first_request_is_ringing_inbound_with_twilio_parameters(standin: TwilioStandIn, shop: WebhookApp) -> None:
    # GIVEN a shop greeting
    shop.route("/voice", twiml("<Say>Welcome to the shop</Say>"))

    # WHEN a customer calls
    transcript = standin.place_inbound_call(from_=CUSTOMER, to=SHOP_NUMBER)

    # THEN the app got Twilio's parameters, signed, and the caller heard the greeting
    first = shop.to("/voice")[0]
    assert first.params["CallStatus"] == "ringing"
    assert first.params["Direction"] == "inbound"
    assert first.params["From"] == first.params["Caller"] == CUSTOMER
    assert first.params["To"] == first.params["Called"] == SHOP_NUMBER
    assert first.params["AccountSid"] == standin.account_sid
    assert first.params["ApiVersion"] == "2010-04-01"
    assert first.params["CallSid"] == transcript.call_sid
    assert first.params["FromCountry"] == "UA"
    assert first.params["FromCity"] == ""  # blank parameters are sent (and signed) too
    assert transcript.heard() == ["Welcome to the shop"]
    assert transcript.status == "completed"
    assert transcript.application_errors == []
    assert_all_signed(shop)
    assert not first.signature_valid("another-token")  # the check is real: another token fails


def test_completed_status_callback_reports_virtual_duration(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml('<Pause length="7"/><Hangup/>'))

    transcript = standin.place_inbound_call(from_=CUSTOMER, to=SHOP_NUMBER)

    (status,) = shop.to("/status")
    assert status.params["CallStatus"] == "completed"
    assert status.params["CallDuration"] == "7"
    assert status.params["CallbackSource"] == "call-progress-events"
    assert status.params["CallSid"] == transcript.call_sid
    assert transcript.duration == 7
    assert_all_signed(shop)


def test_gather_posts_digits_to_the_relative_action(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml(MENU))
    shop.route("/menu", twiml("<Say>Your order ships tomorrow</Say>"))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Press("1")]))

    (menu,) = shop.to("/menu")
    assert menu.params["Digits"] == "1"
    assert menu.params["CallStatus"] == "in-progress"
    assert transcript.heard() == ["Press 1 for orders, 2 for an agent", "Your order ships tomorrow"]
    assert_all_signed(shop)


def test_gather_finish_on_key_and_default_action_is_the_document(standin: TwilioStandIn, shop: WebhookApp) -> None:
    # GIVEN a Gather without action: Twilio posts back to the document's own URL
    def voice(request: ReceivedRequest) -> Reply:
        if "Digits" in request.params:
            return Reply(twiml(f"<Say>Order {request.params['Digits']}</Say>"))
        return Reply(twiml("<Gather><Say>Type your order number and press hash</Say></Gather>"))

    shop.route("/voice", voice)

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Press("4711#")]))

    second = shop.to("/voice")[1]
    assert second.params["Digits"] == "4711"
    assert second.params["FinishedOnKey"] == "#"
    assert transcript.heard()[-1] == "Order 4711"


def test_gather_timeout_falls_through_to_the_next_verb(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml(MENU + "<Say>We did not get your choice</Say><Hangup/>"))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Silence()]))

    assert shop.to("/menu") == []
    assert transcript.heard() == ["Press 1 for orders, 2 for an agent", "We did not get your choice"]
    assert [e.data.get("what") for e in transcript.of_kind("input")] == ["silence"]


def test_action_on_empty_result_posts_without_digits(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml('<Gather action="/menu" actionOnEmptyResult="true"><Say>Choose</Say></Gather>'))
    shop.route("/menu", twiml("<Say>Nothing chosen</Say>"))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Silence()]))

    (menu,) = shop.to("/menu")
    assert "Digits" not in menu.params
    assert transcript.heard()[-1] == "Nothing chosen"


def test_speech_reaches_a_speech_gather_and_is_ignored_by_a_keypad_one(
    standin: TwilioStandIn, shop: WebhookApp
) -> None:
    shop.route(
        "/voice", twiml('<Gather input="dtmf speech" action="/menu" hints="yes, no"><Say>Confirm?</Say></Gather>')
    )
    shop.route("/menu", twiml('<Gather action="/keys"><Say>Now with keys</Say></Gather><Say>No keys</Say>'))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Speak("yes please"), Speak("one")]))

    (menu,) = shop.to("/menu")
    assert menu.params["SpeechResult"] == "yes please"
    assert float(menu.params["Confidence"]) > 0
    assert shop.to("/keys") == []
    assert transcript.heard() == ["Confirm?", "Now with keys", "No keys"]


def test_redirect_with_get_is_signed_over_the_query_string(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml('<Redirect method="GET">/next?lang=uk</Redirect><Say>never heard</Say>'))
    shop.route("/next", twiml("<Say>Redirected</Say><Hangup/><Say>after hangup</Say>"))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    (redirected,) = shop.to("/next")
    assert redirected.method == "GET"
    assert redirected.params["lang"] == "uk"
    assert redirected.params["CallSid"] == transcript.call_sid
    assert transcript.heard() == ["Redirected"]
    assert_all_signed(shop)


def test_say_loop_and_play_are_heard(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route(
        "/voice", twiml('<Say loop="2" voice="Polly.Tatyana" language="ru-RU">Привет</Say><Play>/hold.mp3</Play>')
    )

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    assert transcript.heard() == ["Привет", "Привет", f"[play {shop.url('/hold.mp3')}]"]
    say = transcript.of_kind("say")[0]
    assert (say.data["voice"], say.data["language"]) == ("Polly.Tatyana", "ru-RU")


def test_script_running_out_hangs_up_after_two_silent_gathers(standin: TwilioStandIn, shop: WebhookApp) -> None:
    # GIVEN a menu that repeats forever when nobody answers
    shop.route("/voice", twiml(MENU + "<Redirect>/voice</Redirect>"))

    # WHEN the caller's script is empty
    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    # THEN the caller hangs up after the second silent Gather, and the call ends
    assert len(shop.to("/voice")) == 2
    assert transcript.events[-3].kind == "hangup"
    assert transcript.status == "completed"
    assert [e.data.get("reason") for e in transcript.of_kind("input") if e.data.get("what") == "hangup"] == [
        "script ended: two silent Gathers"
    ]


def test_hangup_step_and_hangup_after_seconds(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml(MENU + '<Say>Please hold on, this is a long message for you</Say><Pause length="60"/>'))

    hung_up = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([HangUp()]))
    impatient = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Silence()], hangup_after_seconds=20))

    assert hung_up.heard() == ["Press 1 for orders, 2 for an agent"]
    assert hung_up.duration is not None and hung_up.duration < 5
    assert impatient.duration == 20  # left in the middle of the long pause
    assert impatient.of_kind("pause")


def test_reject_busy_leaves_the_call_unanswered(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml('<Reject reason="busy"/>'))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    assert transcript.status == "busy"
    assert transcript.duration == 0
    assert shop.to("/status")[0].params["CallStatus"] == "busy"


def test_record_posts_recording_and_serves_audio(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml('<Say>Leave a message</Say><Record action="/voicemail" maxLength="30"/>'))
    shop.route("/voicemail", twiml("<Say>Thank you</Say>"))

    transcript = standin.place_inbound_call(
        CUSTOMER, SHOP_NUMBER, CallerScript([Speak("my parcel never arrived, please call me back"), Press("#")])
    )

    (voicemail,) = shop.to("/voicemail")
    assert voicemail.params["RecordingSid"].startswith("RE")
    assert voicemail.params["Digits"] == "#"
    assert int(voicemail.params["RecordingDuration"]) >= 1
    audio = requests.get(voicemail.params["RecordingUrl"], timeout=5)
    assert audio.status_code == 200
    assert audio.content[:4] == b"RIFF"
    assert transcript.heard()[-1] == "Thank you"


def test_record_with_nothing_said_skips_the_action(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml('<Record action="/voicemail"/><Say>No message recorded</Say>'))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Silence()]))

    assert shop.to("/voicemail") == []
    assert transcript.heard()[-1] == "No message recorded"


def test_sms_verb_records_an_outbound_message(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml("<Say>We will text you</Say><Sms>Your order 42 ships today</Sms>"))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    (message,) = standin.messages
    assert (message.from_, message.to, message.body) == (SHOP_NUMBER, CUSTOMER, "Your order 42 ships today")
    assert message.call_sid == transcript.call_sid
    assert transcript.of_kind("message")[0].data["sid"] == message.sid


def test_several_calls_at_once_keep_their_own_transcripts(standin: TwilioStandIn, shop: WebhookApp) -> None:
    from concurrent.futures import ThreadPoolExecutor

    shop.route("/voice", twiml(MENU))

    def menu(request: ReceivedRequest) -> Reply:
        return Reply(twiml(f"<Say>You chose {request.params['Digits']}</Say>"))

    shop.route("/menu", menu)

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [
            pool.submit(standin.place_inbound_call, CUSTOMER, SHOP_NUMBER, CallerScript([Press(str(n))]))
            for n in range(1, 7)
        ]
        transcripts = [future.result(timeout=20) for future in futures]

    assert [t.heard()[-1] for t in transcripts] == [f"You chose {n}" for n in range(1, 7)]
    assert len({t.call_sid for t in transcripts}) == 6
    assert standin.wait_idle(timeout=5)


RECORD_WITH_CALLBACKS = (
    '<Say>Leave a message</Say><Record action="/voicemail" maxLength="120" recordingStatusCallback="/ready"'
    ' transcribe="true" transcribeCallback="/text"/>'
)


def test_record_tells_of_the_file_after_the_action_then_of_its_transcription(
    standin: TwilioStandIn, shop: WebhookApp
) -> None:
    # GIVEN a <Record> with a recording status callback and a transcription
    shop.route("/voice", twiml(RECORD_WITH_CALLBACKS))
    shop.route("/voicemail", twiml("<Say>Thank you</Say>"))
    shop.route("/ready", "", status=204)
    shop.route("/text", "", status=204)

    # WHEN the caller speaks and presses #
    transcript = standin.place_inbound_call(
        CUSTOMER, SHOP_NUMBER, CallerScript([Speak("my parcel never arrived, please call me back"), Press("#")])
    )

    # THEN Twilio's order: the action, the file ready, the text; all signed, about one recording
    assert [r.path for r in shop.requests if r.path in ("/voicemail", "/ready", "/text")] == [
        "/voicemail",
        "/ready",
        "/text",
    ]
    (action,) = shop.to("/voicemail")
    (ready,) = shop.to("/ready")
    (text,) = shop.to("/text")
    sid = action.params["RecordingSid"]
    assert (ready.params["RecordingSid"], text.params["RecordingSid"]) == (sid, sid)
    assert ready.params["RecordingStatus"] == "completed"
    assert ready.params["RecordingDuration"] == action.params["RecordingDuration"]
    assert ready.params["RecordingUrl"] == action.params["RecordingUrl"] == text.params["RecordingUrl"]
    assert text.params["TranscriptionStatus"] == "completed"
    assert text.params["TranscriptionText"] == "my parcel never arrived, please call me back"
    assert text.params["TranscriptionSid"].startswith("TR") and text.params["CallSid"] == transcript.call_sid
    assert text.params["From"] == CUSTOMER
    assert_all_signed(shop)
    assert transcript.heard()[-1] == "Thank you"


def test_a_transcribe_callback_alone_asks_for_a_transcription_and_a_long_message_fails_it(
    standin: TwilioStandIn, shop: WebhookApp
) -> None:
    shop.route("/voice", twiml('<Record action="/voicemail" transcribeCallback="/text"/>'))
    shop.route("/voicemail", twiml("<Hangup/>"))
    shop.route("/text", "", status=204)

    standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Speak("word " * 400), HangUp()]))

    (action,) = shop.to("/voicemail")
    assert action.params["Digits"] == "hangup" and int(action.params["RecordingDuration"]) > 120
    (text,) = shop.wait_for("/text")
    assert (text.params["TranscriptionStatus"], text.params["TranscriptionText"]) == ("failed", "")


def test_record_without_a_recording_status_callback_or_transcription_posts_neither(
    standin: TwilioStandIn, shop: WebhookApp
) -> None:
    shop.route("/voice", twiml('<Record action="/voicemail"/>'))
    shop.route("/voicemail", twiml("<Hangup/>"))

    standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Speak("call me back please"), Press("#")]))

    assert [r.path for r in shop.requests if r.path != "/status"] == ["/voice", "/voicemail"]


def test_a_browser_call_asks_the_twiml_apps_voice_url_as_a_voice_sdk_call(
    standin: TwilioStandIn, shop: WebhookApp
) -> None:
    # GIVEN a TwiML App whose Voice URL says a word
    shop.route("/desk-call", twiml("<Say>Calling</Say>"))
    app_sid = "AP" + "0" * 31 + "7"
    # WHEN the agent's page connects a call to a number (device.connect({params: {To}}))
    transcript = standin.place_client_call("oleh", CUSTOMER, shop.url("/desk-call"), application_sid=app_sid)
    # THEN the Voice URL got Twilio's parameters of a Client call: inbound, from the identity
    [first] = shop.to("/desk-call")
    assert (first.params["Direction"], first.params["From"], first.params["To"]) == ("inbound", "client:oleh", CUSTOMER)
    assert first.params["ApplicationSid"] == app_sid
    assert first.params["CallStatus"] == "ringing"
    assert transcript.heard() == ["Calling"]
    assert_all_signed(shop)
