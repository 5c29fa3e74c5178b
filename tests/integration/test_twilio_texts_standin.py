"""What the Twilio adapter tells the text outbox (#18), through the real SDK against the
stand-in: Twilio's 5xx and a refused connection are temporary (nothing was sent, a later try may
send it), a refusal such as an unsubscribed recipient is final with Twilio's reason; a text
taken is found again by its recipient, sender and body (after a timeout); a recording deleted
at Twilio is gone."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.twilio_rest import TwilioTelephony
from chalicelib.services.ports import MessageNotSentError
from devtools.twilio_standin import TwilioStandIn

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "texts-token"
SHOP_NUMBER = "+380441234567"
CUSTOMER = "+380671234599"
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    twilio = TwilioStandIn(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, speed=0.0).start()
    twilio.register_number(SHOP_NUMBER)
    try:
        yield twilio
    finally:
        twilio.stop()


def adapter(base_url: str) -> TwilioTelephony:
    return TwilioTelephony(ACCOUNT_SID, lambda: AUTH_TOKEN, base_url)


def test_twilio_down_is_temporary_and_nothing_is_sent(standin: TwilioStandIn) -> None:
    standin.set_outage(503)
    with pytest.raises(MessageNotSentError) as refused:
        adapter(standin.base_url).send_sms(to=CUSTOMER, from_=SHOP_NUMBER, body="hello")
    assert refused.value.temporary and "503" in str(refused.value)
    assert standin.messages == []


def test_a_refused_connection_is_temporary() -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(MessageNotSentError) as refused:
        adapter(f"http://127.0.0.1:{port}").send_sms(to=CUSTOMER, from_=SHOP_NUMBER, body="hello")
    assert refused.value.temporary and "unreachable" in str(refused.value)


def test_an_unsubscribed_recipient_is_final_with_twilios_reason(standin: TwilioStandIn) -> None:
    standin.engine.messages.opt_out(CUSTOMER, SHOP_NUMBER)
    with pytest.raises(MessageNotSentError) as refused:
        adapter(standin.base_url).send_sms(to=CUSTOMER, from_=SHOP_NUMBER, body="hello")
    assert not refused.value.temporary and "21610" in str(refused.value)


def test_a_text_taken_is_found_again_by_recipient_sender_and_body(standin: TwilioStandIn) -> None:
    twilio = adapter(standin.base_url)
    sid = twilio.send_sms(to=CUSTOMER, from_=SHOP_NUMBER, body="hello")
    assert twilio.find_sent_text(to=CUSTOMER, from_=SHOP_NUMBER, body="hello", since=SINCE) == sid
    assert twilio.find_sent_text(to=CUSTOMER, from_=SHOP_NUMBER, body="other", since=SINCE) is None
