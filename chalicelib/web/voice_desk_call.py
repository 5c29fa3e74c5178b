"""The TwiML App's Voice URL (``POST /twilio/voice/desk-call``): an agent's outgoing call from
the browser softphone (#17, ``services.browser_calls``). Twilio calls it when the page's
``device.connect({params: {To}})`` runs, ``From`` being ``client:<identity>`` of the agent's
token; the answer dials the customer with the shop's caller ID, or says why not and hangs up.
``/done`` is the Dial's end; ``/status``, the customer's leg's final status callback, ends the
call the same way when that action never comes (the agent would stay busy). All check
Twilio's signature.
"""

from __future__ import annotations

from chalice import Blueprint, Response
from twilio.twiml.voice_response import Dial, VoiceResponse

from chalicelib.clock import current_clock
from chalicelib.domain.twilio_fields import twilio_count
from chalicelib.observability import logger
from chalicelib.services import browser_calls
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import load_catalog
from chalicelib.voice.links import DESK_CALL_PATH
from chalicelib.web.http import acknowledged, current_request, twilio_webhook, twiml
from chalicelib.wiring import repository, urls

voice_desk_call = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_desk_call))
FORM = ["application/x-www-form-urlencoded"]


@voice_desk_call.route(DESK_CALL_PATH, methods=["POST"], content_types=FORM)
@webhook
def desk_call(form: dict[str, str]) -> Response:
    try:
        placed = browser_calls.start(
            form.get("From", ""),
            form.get("To", ""),
            form.get("CallSid", ""),
            store=repository(),
            now=current_clock().now(),
        )
    except Exception:
        logger.exception("browser call failed")
        return twiml(render.hang_up())
    if isinstance(placed, browser_calls.Refused):
        return twiml(render.say_and_hang_up(load_catalog(placed.language), placed.prompt))
    response = VoiceResponse()
    dial = Dial(
        caller_id=placed.caller_id,
        action=urls().desk_call_done(placed.shop_id, placed.agent_id),
        method="POST",
    )
    dial.number(
        placed.number,
        status_callback=urls().desk_call_status(placed.shop_id, placed.agent_id),
        status_callback_event="completed",
        status_callback_method="POST",
    )
    response.append(dial)
    return twiml(str(response))


@voice_desk_call.route(f"{DESK_CALL_PATH}/done", methods=["POST"], content_types=FORM)
@webhook
def desk_call_done(form: dict[str, str]) -> Response:
    query: dict[str, str] = dict(current_request(voice_desk_call).query_params or {})
    try:
        browser_calls.ended(
            form.get("CallSid", ""),
            query.get("shop", ""),
            query.get("agent", ""),
            form.get("DialCallStatus", ""),
            twilio_count(form.get("DialCallDuration")) or 0,
            store=repository(),
            now=current_clock().now(),
        )
    except Exception:
        logger.exception("browser call end not recorded")
    return twiml(render.hang_up())


@voice_desk_call.route(f"{DESK_CALL_PATH}/status", methods=["POST"], content_types=FORM)
@webhook
def desk_call_status(form: dict[str, str]) -> Response:
    """The customer's leg (``CallSid``) of the browser call ``ParentCallSid`` ended: its end is
    recorded and the agent released unless the Dial's action did it first."""
    query: dict[str, str] = dict(current_request(voice_desk_call).query_params or {})
    return acknowledged(
        lambda: browser_calls.ended(
            form.get("ParentCallSid", ""),
            query.get("shop", ""),
            query.get("agent", ""),
            form.get("CallStatus", ""),
            twilio_count(form.get("CallDuration")) or 0,
            store=repository(),
            now=current_clock().now(),
        ),
        "browser call status not recorded",
    )
