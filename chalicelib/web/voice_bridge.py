"""``/bridge``: a waiting caller the app took out of the queue through Twilio's REST API
(``services.bridging``) meets the agent reserved for them as a caller leaving the queue does:
into the call's conference while the app places the agent's own leg, or back in the queue."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.services import bridging
from chalicelib.voice.links import INBOUND_BASE as BASE
from chalicelib.web.http import current_request, twilio_webhook
from chalicelib.web.voice_queue import FORM, guarded_by, heard_in, leg_urls, respond
from chalicelib.wiring import inbound_store, telephony

voice_bridge = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_bridge))


@voice_bridge.route(f"{BASE}/bridge", methods=["POST"], content_types=FORM)
@webhook
@guarded_by(voice_bridge)
def bridge(form: dict[str, str]) -> Response:
    heard = heard_in(voice_bridge, form)
    step = bridging.connect(
        heard,
        store=inbound_store(),
        telephony=telephony(),
        leg_urls=leg_urls(heard.call_sid),
        now=current_clock().now(),
    )
    return respond(step)
