"""A browser agent's leg (``AgentBehaviour(on_page=True)``) rings until the page acts, as on
Twilio: nothing is answered and no whisper key pressed before the test relays the page's
Accept (with the key pressed) or Reject."""

from __future__ import annotations

import time

from twilio.rest import Client

from devtools.twilio_standin import AgentBehaviour, TwilioStandIn
from tests.standin.conftest import SHOP_NUMBER, WebhookApp, twiml

AGENT = "client:oleh"
WHISPER = twiml('<Gather numDigits="1" action="/accept"><Say>Call for Kvitka, press 1</Say></Gather><Hangup/>')


def _ring_agent(client: Client, shop: WebhookApp) -> str:
    shop.route("/whisper", WHISPER)
    shop.route("/accept", twiml("<Say>Connected</Say>"))
    shop.route("/progress", "", content_type="text/plain")
    call = client.calls.create(
        to=AGENT,
        from_=SHOP_NUMBER,
        url=shop.url("/whisper"),
        status_callback=shop.url("/progress"),
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        timeout=20,
    )
    return str(call.sid)


def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_the_leg_rings_until_the_page_accepts_and_the_whisper_gets_the_pages_key(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    # GIVEN Oleh in the browser (his script would answer after 2 s and press 1 by itself)
    standin.register_agent(AGENT, AgentBehaviour(accept_digits="1", ring_seconds=2, on_page=True))
    sid = _ring_agent(client, shop)
    leg = standin.call(sid)
    # WHEN the page has not acted, long past the script's ring time and the call's ring timeout
    _until(lambda: leg.status == "ringing", "the leg ringing")
    # (at speed 0 the script's ring time and the timeout pass at once: the stand-in would be idle)
    assert not standin.wait_idle(timeout=0.3)
    # THEN it still rings: nothing answered, no whisper asked for; the stand-in says so
    assert leg.status == "ringing" and shop.to("/whisper") == []
    [busy] = standin.busy()
    assert busy.startswith(f"call {sid} outbound-api {SHOP_NUMBER} -> {AGENT} ringing, last: ")
    # WHEN the page accepts and Oleh presses 1 there
    standin.page_accepts(sid, "1")
    # THEN the leg is answered, the whisper runs, and its Gather gets the page's key
    assert standin.wait_idle(timeout=10)
    assert [r.params["Digits"] for r in shop.to("/accept")] == ["1"]
    assert leg.transcript.heard() == ["Call for Kvitka, press 1", "Connected"]
    assert [r.params["CallStatus"] for r in shop.to("/progress")] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]


def test_a_page_that_accepts_without_a_key_leaves_the_whisper_unanswered(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    standin.register_agent(AGENT, AgentBehaviour(accept_digits="1", on_page=True))
    sid = _ring_agent(client, shop)
    _until(lambda: standin.call(sid).status == "ringing", "the leg ringing")
    standin.page_accepts(sid, None)
    assert standin.wait_idle(timeout=10)
    # the script's accept_digits are not pressed for the page: the Gather timed out, the call hung up
    assert shop.to("/accept") == []
    assert standin.call(sid).transcript.heard() == ["Call for Kvitka, press 1"]


def test_a_page_that_rejects_ends_the_leg_busy_unanswered(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    standin.register_agent(AGENT, AgentBehaviour(on_page=True))
    sid = _ring_agent(client, shop)
    _until(lambda: standin.call(sid).status == "ringing", "the leg ringing")
    standin.page_rejects(sid)
    assert standin.wait_idle(timeout=10)
    assert standin.call(sid).status == "busy"
    assert shop.to("/whisper") == []
    assert [r.params["CallStatus"] for r in shop.to("/progress")] == ["initiated", "ringing", "busy"]
