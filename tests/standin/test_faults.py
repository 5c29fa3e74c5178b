"""App faults are visible: the caller hears Twilio's sentence and the transcript says why."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from devtools.twilio_standin import APPLICATION_ERROR_SENTENCE, CallerScript, Press, TwilioStandIn
from tests.standin.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    SHOP_NUMBER,
    ReceivedRequest,
    Reply,
    WebhookApp,
    twiml,
)


def test_app_answering_500_is_an_application_error(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml('<Gather numDigits="1" action="/menu"><Say>Menu</Say></Gather>'))
    shop.route("/menu", "Traceback (most recent call last): KeyError", status=500, content_type="text/plain")

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Press("1")]))

    (error,) = transcript.application_errors
    assert error.data["url"] == shop.url("/menu")
    assert error.data["status"] == 500
    assert "KeyError" in error.data["snippet"]
    assert transcript.heard() == ["Menu", APPLICATION_ERROR_SENTENCE]
    assert transcript.status == "completed"
    assert standin.application_errors()[0]["call_sid"] == transcript.call_sid


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        ("<Response><Say>unclosed</Response>", "text/xml", "not XML"),
        ('{"say": "json is not TwiML"}', "application/json", "not XML"),
        ("<Reply><Say>wrong root</Say></Reply>", "text/xml", "not <Response>"),
        ("", "text/xml", "empty document"),
        (twiml("<Say>" + "a" * 70_000 + "</Say>"), "text/xml", "over 64 kB"),
        (twiml('<Gather timeout="soon"><Say>Menu</Say></Gather>'), "text/xml", "not a number"),
        (twiml("<Gather><Dial>+380501112233</Dial></Gather>"), "text/xml", "cannot be nested"),
    ],
)
def test_invalid_twiml_is_an_application_error(
    standin: TwilioStandIn, shop: WebhookApp, body: str, content_type: str, reason: str
) -> None:
    shop.route("/voice", body, content_type=content_type)

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    (error,) = transcript.application_errors
    assert reason in error.data["reason"]
    assert transcript.heard()[-1] == APPLICATION_ERROR_SENTENCE


def test_unknown_verb_is_flagged_and_skipped(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml("<Speak>typo for Say</Speak><Say>Still here</Say>"))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    (error,) = transcript.application_errors
    assert error.data["reason"] == "unknown TwiML verb <Speak>"
    assert transcript.heard() == ["Still here"]


def test_unreachable_app_is_an_application_error(standin: TwilioStandIn) -> None:
    standin.register_number(SHOP_NUMBER, voice_url="http://127.0.0.1:9/voice")  # discard port: nobody listens

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    (error,) = transcript.application_errors
    assert error.data["status"] is None
    assert "no answer" in error.data["reason"]
    assert transcript.heard() == [APPLICATION_ERROR_SENTENCE]


@pytest.fixture
def impatient_standin() -> Iterator[TwilioStandIn]:
    # Twilio waits 15 s; this stand-in waits 0.2 s so the test stays quick.
    stand_in = TwilioStandIn(ACCOUNT_SID, AUTH_TOKEN, webhook_timeout=0.2).start()
    yield stand_in
    stand_in.stop()


def test_slow_app_is_an_application_error(impatient_standin: TwilioStandIn, app: WebhookApp) -> None:
    def slow(_request: ReceivedRequest) -> Reply:
        time.sleep(0.6)
        return Reply(twiml("<Say>too late</Say>"))

    app.route("/voice", slow)
    impatient_standin.register_number(SHOP_NUMBER, voice_url=app.url("/voice"))

    transcript = impatient_standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    (error,) = transcript.application_errors
    assert "timeout" in error.data["reason"]
    assert transcript.heard() == [APPLICATION_ERROR_SENTENCE]


def test_failing_status_callback_is_recorded_but_the_call_goes_on(standin: TwilioStandIn, app: WebhookApp) -> None:
    app.route("/voice", twiml("<Say>Hello</Say>"))
    app.route("/status", "boom", status=502, content_type="text/plain")
    standin.register_number(SHOP_NUMBER, voice_url=app.url("/voice"), status_callback_url=app.url("/status"))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    assert transcript.application_errors == []
    (callback_error,) = transcript.callback_errors
    assert callback_error.data["status"] == 502
    assert transcript.heard() == ["Hello"]
