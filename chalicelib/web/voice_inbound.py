"""What a caller meets when dialing a shop's number (I1-I11; the walking skeleton's part:
greeting with the recording notice, then voicemail)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.services.inbound import store_voicemail
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import load_catalog
from chalicelib.web.http import current_request, twilio_webhook, twiml
from chalicelib.wiring import repository, urls

voice_inbound = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_inbound))
FORM = ["application/x-www-form-urlencoded"]


@voice_inbound.route("/twilio/voice/incoming", methods=["POST"], content_types=FORM)
@webhook
def incoming_call(form: dict[str, str]) -> Response:
    route = repository().shop_for_number(form.get("To", ""))
    if route is None:
        return twiml(render.say_and_hang_up(load_catalog("en"), "number_not_in_service"))
    shop, _group = route
    return twiml(render.inbound_voicemail(load_catalog(shop.main_language), shop.name, urls().voicemail()))


@voice_inbound.route("/twilio/voice/voicemail", methods=["POST"], content_types=FORM)
@webhook
def voicemail_recorded(form: dict[str, str]) -> Response:
    language = store_voicemail(form, store=repository(), now=current_clock().now())
    return twiml(render.say_and_hang_up(load_catalog(language), "inbound_voicemail_thanks"))
