"""Outbound calls through the real twilio SDK: creation, progress callbacks, far-end behaviours."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.rest.api.v2010.account.call import CallInstance

from devtools.twilio_standin import Callee, CallerScript, Press, TwilioStandIn
from tests.standin.conftest import (
    ACCOUNT_SID,
    CUSTOMER,
    SHOP_NUMBER,
    BackgroundCall,
    WebhookApp,
    assert_all_signed,
    twiml,
)

ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


def _dial_customer(client: Client, app: WebhookApp, **extra: Any) -> CallInstance:
    return client.calls.create(
        to=CUSTOMER,
        from_=SHOP_NUMBER,
        url=app.url("/confirm"),
        status_callback=app.url("/progress"),
        status_callback_event=ALL_EVENTS,
        **extra,
    )


def test_create_returns_queued_call_then_callbacks_arrive_in_order(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    # GIVEN a robot confirmation call and a customer who presses 1
    shop.route("/confirm", twiml('<Gather numDigits="1" action="/confirmed"><Say>Order 42, press 1</Say></Gather>'))
    shop.route("/confirmed", twiml("<Say>Confirmed, thank you</Say>"))
    shop.route("/progress", "", content_type="text/plain")
    standin.set_callee(CUSTOMER, Callee(answer="human", ring_seconds=4, script=CallerScript([Press("1")])))

    # WHEN the app creates the call with the SDK
    call = _dial_customer(client, shop)

    # THEN Twilio's answer is a queued outbound-api call
    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert call.status == "queued"
    assert call.direction == "outbound-api"
    assert standin.wait_idle(timeout=10)

    # AND the progress callbacks came in order with Twilio's statuses
    progress = shop.to("/progress")
    assert [r.params["CallStatus"] for r in progress] == ["initiated", "ringing", "in-progress", "completed"]
    assert [int(r.params["SequenceNumber"]) for r in progress] == [0, 1, 2, 3]
    assert progress[-1].params["CallDuration"] == str(standin.call(call.sid).duration)
    confirm = shop.to("/confirm")[0]
    assert confirm.params["Direction"] == "outbound-api"
    assert confirm.params["CallStatus"] == "in-progress"
    assert shop.to("/confirmed")[0].params["Digits"] == "1"
    assert standin.call(call.sid).transcript.heard() == ["Order 42, press 1", "Confirmed, thank you"]
    assert_all_signed(shop)

    # AND fetching the call shows the end result
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "completed"
    assert fetched.duration == progress[-1].params["CallDuration"]


def test_only_completed_is_sent_when_no_events_are_asked_for(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    shop.route("/confirm", twiml("<Say>Hi</Say>"))
    shop.route("/progress", "", content_type="text/plain")

    client.calls.create(to=CUSTOMER, from_=SHOP_NUMBER, url=shop.url("/confirm"), status_callback=shop.url("/progress"))
    assert standin.wait_idle(timeout=10)

    assert [r.params["CallStatus"] for r in shop.to("/progress")] == ["completed"]


@pytest.mark.parametrize(
    ("callee", "timeout", "final"),
    [
        (Callee(answer="busy"), None, "busy"),
        (Callee(answer="no-answer"), 15, "no-answer"),
        (Callee(answer="human", ring_seconds=40), 20, "no-answer"),
        (Callee(answer="failed"), None, "failed"),
    ],
)
def test_unreached_numbers_end_without_fetching_twiml(
    standin: TwilioStandIn, shop: WebhookApp, client: Client, callee: Callee, timeout: int | None, final: str
) -> None:
    shop.route("/confirm", twiml("<Say>never</Say>"))
    shop.route("/progress", "", content_type="text/plain")
    standin.set_callee(CUSTOMER, callee)

    extra = {"timeout": timeout} if timeout else {}
    call = _dial_customer(client, shop, **extra)
    assert standin.wait_idle(timeout=10)

    assert shop.to("/confirm") == []
    assert shop.to("/progress")[-1].params["CallStatus"] == final
    assert shop.to("/progress")[-1].params["CallDuration"] == "0"
    assert client.calls(call.sid).fetch().status == final
    if final == "no-answer":
        assert standin.call(call.sid).transcript.events[-1].at == timeout


@pytest.mark.parametrize(
    ("mode", "answered_by"), [("Enable", "machine_start"), ("DetectMessageEnd", "machine_end_beep")]
)
def test_machine_detection_tells_the_app_who_answered(
    standin: TwilioStandIn, shop: WebhookApp, client: Client, mode: str, answered_by: str
) -> None:
    shop.route("/confirm", twiml('<Gather numDigits="1"><Say>Press 1</Say></Gather><Say>Please call us back</Say>'))
    standin.set_callee(CUSTOMER, Callee(answer="machine"))

    call = client.calls.create(to=CUSTOMER, from_=SHOP_NUMBER, url=shop.url("/confirm"), machine_detection=mode)
    assert standin.wait_idle(timeout=10)

    confirm = shop.to("/confirm")
    assert confirm[0].params["AnsweredBy"] == answered_by
    assert len(confirm) == 1  # the machine never pressed a key
    assert standin.call(call.sid).answered_by == answered_by


def test_human_is_detected_as_human(standin: TwilioStandIn, shop: WebhookApp, client: Client) -> None:
    shop.route("/confirm", twiml("<Say>Hello</Say>"))

    client.calls.create(to=CUSTOMER, from_=SHOP_NUMBER, url=shop.url("/confirm"), machine_detection="Enable")
    assert standin.wait_idle(timeout=10)

    assert shop.to("/confirm")[0].params["AnsweredBy"] == "human"


def test_async_machine_detection_posts_to_its_own_callback(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    shop.route("/confirm", twiml('<Pause length="10"/>'))
    shop.route("/amd", "", content_type="text/plain")
    standin.set_callee(CUSTOMER, Callee(answer="machine"))

    call = client.calls.create(
        to=CUSTOMER,
        from_=SHOP_NUMBER,
        url=shop.url("/confirm"),
        machine_detection="Enable",
        async_amd="true",
        async_amd_status_callback=shop.url("/amd"),
    )
    assert standin.wait_idle(timeout=10)

    assert "AnsweredBy" not in shop.to("/confirm")[0].params
    (amd,) = shop.to("/amd")
    assert amd.params["AnsweredBy"] == "machine_start"
    assert amd.params["CallSid"] == call.sid
    assert_all_signed(shop)


def test_inline_twiml_runs_without_a_webhook(standin: TwilioStandIn, shop: WebhookApp, client: Client) -> None:
    call = client.calls.create(to=CUSTOMER, from_=SHOP_NUMBER, twiml=twiml("<Say>Your courier is outside</Say>"))
    assert standin.wait_idle(timeout=10)

    assert standin.call(call.sid).transcript.heard() == ["Your courier is outside"]


def test_redirecting_a_live_call_fetches_new_twiml(standin: TwilioStandIn, shop: WebhookApp, client: Client) -> None:
    # GIVEN a caller on hold in a queue nobody serves
    shop.route("/voice", twiml('<Enqueue waitUrl="/wait" action="/left">support</Enqueue>'))
    shop.route("/wait", twiml('<Say>Please hold</Say><Pause length="20"/>'))
    shop.route("/left", twiml("<Say>ignored</Say>"))
    shop.route("/callback-offer", twiml("<Say>We will call you back</Say>"))

    caller = BackgroundCall(standin, CUSTOMER, SHOP_NUMBER)
    waiting = shop.wait_for("/wait")
    call_sid = waiting[0].params["CallSid"]

    # WHEN the app redirects the call through the REST API
    updated = client.calls(call_sid).update(url=shop.url("/callback-offer"), method="POST")
    transcript = caller.transcript()

    # THEN the caller leaves the queue and hears the new TwiML
    assert updated.sid == call_sid
    assert transcript.heard()[-1] == "We will call you back"
    assert shop.to("/left")[0].params["QueueResult"] == "redirected"


def test_hanging_up_a_live_call_through_the_api(standin: TwilioStandIn, shop: WebhookApp, client: Client) -> None:
    # GIVEN a call on hold (hold music runs in real time even at speed 0, so the app can act)
    shop.route("/confirm", twiml('<Enqueue waitUrl="/wait" action="/left">robot</Enqueue>'))
    shop.route("/wait", twiml('<Pause length="5"/>'))
    shop.route("/left", twiml("<Say>ignored</Say>"))
    shop.route("/progress", "", content_type="text/plain")

    call = _dial_customer(client, shop)
    shop.wait_for("/wait")

    # WHEN the app hangs it up
    ended = client.calls(call.sid).update(status="completed")
    assert standin.wait_idle(timeout=10)

    # THEN it ends at once, the queue's action hears "hangup", the last callback says completed
    assert ended.status == "completed"
    assert shop.to("/left")[0].params["QueueResult"] == "hangup"
    assert shop.to("/progress")[-1].params["CallStatus"] == "completed"
    hangup = standin.call(call.sid).transcript.of_kind("hangup")[-1]
    assert hangup.data["reason"] == "ended through the REST API"


@pytest.mark.parametrize(
    ("to", "from_", "url", "code"),
    [
        ("0671112233", SHOP_NUMBER, "http://example.com/x", 21211),
        (CUSTOMER, "+15005550006", "http://example.com/x", 21210),
        (CUSTOMER, SHOP_NUMBER, None, 21205),
        (CUSTOMER, SHOP_NUMBER, "not a url", 21205),
    ],
)
def test_invalid_create_gets_twilio_error_json(
    standin: TwilioStandIn, shop: WebhookApp, client: Client, to: str, from_: str, url: str | None, code: int
) -> None:
    with pytest.raises(TwilioRestException) as raised:
        client.calls.create(to=to, from_=from_, url=url)

    assert raised.value.status == 400
    assert raised.value.code == code
    assert standin.calls == []


def test_wrong_credentials_get_401(standin: TwilioStandIn) -> None:
    from chalicelib.adapters.twilio_rest import make_http_client

    intruder = Client(ACCOUNT_SID, "wrong-token", http_client=make_http_client(standin.base_url))

    with pytest.raises(TwilioRestException) as raised:
        intruder.calls.create(to=CUSTOMER, from_=SHOP_NUMBER, url="http://127.0.0.1:9/voice")

    assert raised.value.status == 401
    assert raised.value.code == 20003
    assert standin.calls == []


def test_unknown_call_is_404(standin: TwilioStandIn, client: Client) -> None:
    with pytest.raises(TwilioRestException) as raised:
        client.calls("CA" + "0" * 32).fetch()

    assert raised.value.status == 404
    assert raised.value.code == 20404


def test_list_filters_calls(standin: TwilioStandIn, shop: WebhookApp, client: Client) -> None:
    shop.route("/confirm", twiml("<Say>Hi</Say>"))
    other = "+380939998877"
    client.calls.create(to=CUSTOMER, from_=SHOP_NUMBER, url=shop.url("/confirm"))
    client.calls.create(to=other, from_=SHOP_NUMBER, url=shop.url("/confirm"))
    assert standin.wait_idle(timeout=10)

    listed = client.calls.list(to=other)

    assert [call.to for call in listed] == [other]
    assert {call.status for call in client.calls.list()} == {"completed"}
