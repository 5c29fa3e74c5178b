"""The stand-in's IncomingPhoneNumbers resource, through the real Twilio SDK: listed and
filtered by PhoneNumber, fetched, updated; refused updates change nothing; a number handed to
a TwiML App or a SIP trunk no longer reaches its voice URL."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from devtools.twilio_standin import TwilioStandIn
from devtools.twilio_standin.calls import UnknownNumberError
from tests.standin.conftest import ACCOUNT_SID, SHOP_NUMBER, WebhookApp

OTHER = "+380441239999"


def test_numbers_are_listed_filtered_by_phone_number_with_twilios_fields(
    shop: WebhookApp, standin: TwilioStandIn, client: Client
) -> None:
    standin.register_number(OTHER)
    assert [n.phone_number for n in client.incoming_phone_numbers.list()] == [SHOP_NUMBER, OTHER]
    [number] = client.incoming_phone_numbers.list(phone_number=SHOP_NUMBER)
    assert (number.account_sid, number.phone_number, number.friendly_name) == (ACCOUNT_SID, SHOP_NUMBER, SHOP_NUMBER)
    assert number.sid.startswith("PN") and len(number.sid) == 34
    assert (number.voice_url, number.voice_method) == (shop.url("/voice"), "POST")
    assert (number.status_callback, number.sms_url) == (shop.url("/status"), shop.url("/sms"))
    assert (number.voice_fallback_url, number.sms_fallback_url, number.voice_application_sid) == ("", "", "")
    assert number.trunk_sid is None and number.capabilities == {"fax": False, "mms": False, "sms": True, "voice": True}
    assert number.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers/{number.sid}.json"
    # partial numbers and '*' for any digit, as Twilio's filter
    assert len(client.incoming_phone_numbers.list(phone_number="44123")) == 2
    assert [n.phone_number for n in client.incoming_phone_numbers.list(phone_number="+38044123999*")] == [OTHER]
    assert client.incoming_phone_numbers.list(phone_number="+15005550006") == []
    assert client.incoming_phone_numbers(number.sid).fetch().phone_number == SHOP_NUMBER


def test_an_update_changes_what_is_given_and_a_refused_one_changes_nothing(
    shop: WebhookApp, standin: TwilioStandIn, client: Client
) -> None:
    [number] = client.incoming_phone_numbers.list(phone_number=SHOP_NUMBER)
    updated = client.incoming_phone_numbers(number.sid).update(
        voice_fallback_url="https://fallback.example/voice", status_callback_method="get", sms_url=""
    )
    assert (updated.voice_fallback_url, updated.status_callback_method, updated.sms_url) == (
        "https://fallback.example/voice",
        "GET",
        "",
    )
    assert updated.voice_url == shop.url("/voice")  # not given: kept
    with pytest.raises(TwilioRestException) as refused:
        client.incoming_phone_numbers(number.sid).update(voice_url="https://ok.example/v", status_callback="not a url")
    assert (refused.value.status, refused.value.code) == (400, 21402)
    assert client.incoming_phone_numbers(number.sid).fetch().voice_url == shop.url("/voice")
    with pytest.raises(TwilioRestException) as unknown:
        client.incoming_phone_numbers("PN" + "0" * 32).update(voice_url="https://ok.example/v")
    assert (unknown.value.status, unknown.value.code) == (404, 20404)


def test_a_twiml_app_or_a_trunk_takes_the_calls_from_the_voice_url(
    shop: WebhookApp, standin: TwilioStandIn, client: Client
) -> None:
    [number] = client.incoming_phone_numbers.list(phone_number=SHOP_NUMBER)
    with_app = client.incoming_phone_numbers(number.sid).update(voice_application_sid="AP" + "1" * 32)
    with pytest.raises(UnknownNumberError, match="application or trunk"):
        standin.place_inbound_call("+380671112233", SHOP_NUMBER)
    assert shop.to("/voice") == []
    with_trunk = client.incoming_phone_numbers(number.sid).update(trunk_sid="TK" + "2" * 32)
    assert (with_app.voice_application_sid, with_trunk.voice_application_sid) == ("AP" + "1" * 32, "")
    cleared = client.incoming_phone_numbers(number.sid).update(trunk_sid="")
    assert cleared.trunk_sid is None
