"""The TwiML App's Voice URL (``POST /twilio/voice/desk-call``): an agent's outgoing call from
the browser softphone (#17, ``services.browser_calls``). Twilio calls it when the page's
``device.connect({params: {To}})`` runs, ``From`` being ``client:<identity>`` of the agent's
token. The answer puts the agent's leg in a conference named for the call while the app rings
the customer into it with the shop's caller ID (``services.browser_call_legs``), so hold and
transfers work as on every agent call; or it says why not and hangs up.

``/done`` is the agent's Dial's end; ``/customer-answer``, ``/customer-done`` and
``/customer-status`` are the customer's leg's; ``/unreached`` tells the waiting agent the
customer did not answer. All check Twilio's signature.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.domain.routing import agent_language
from chalicelib.observability import logger
from chalicelib.services import bridging, browser_call_legs, browser_calls
from chalicelib.services.agent_dial_legs import CustomerLegUrls
from chalicelib.voice import inbound_twiml as tw
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import load_catalog
from chalicelib.voice.links import DESK_CALL_PATH
from chalicelib.web.http import acknowledged, current_request, twilio_webhook, twiml
from chalicelib.wiring import conference_links, repository, telephony, urls

voice_desk_call = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_desk_call))
FORM = ["application/x-www-form-urlencoded"]


def _query(name: str) -> str:
    return str(dict(current_request(voice_desk_call).query_params or {}).get(name, ""))


def _customer_urls(join: browser_calls.Join) -> CustomerLegUrls:
    links = urls()
    return CustomerLegUrls(
        links.desk_call_customer("answer", join.shop_id, join.agent_id, join.call_sid),
        links.desk_call_customer("status", join.shop_id, join.agent_id, join.call_sid),
    )


@voice_desk_call.route(DESK_CALL_PATH, methods=["POST"], content_types=FORM)
@webhook
def desk_call(form: dict[str, str]) -> Response:
    now = current_clock().now()
    try:
        placed = browser_calls.start(
            form.get("From", ""), form.get("To", ""), form.get("CallSid", ""), store=repository(), now=now
        )
        if isinstance(placed, browser_calls.Refused):
            return twiml(render.say_and_hang_up(load_catalog(placed.language), placed.prompt))
        if not placed.placed:
            shop = repository().get_shop(placed.shop_id)
            ringing = shop is not None and (
                browser_call_legs.ring_customer(
                    shop,
                    placed.call_sid,
                    placed.number,
                    _customer_urls(placed),
                    store=repository(),
                    telephony=telephony(),
                    now=now,
                )
                == "ringing"
            )
            if not ringing:  # the agent is free: told so, then their leg ends at /done (the next caller)
                prompt = browser_call_legs.unreached_prompt("failed")
                done = urls().desk_call_done(placed.shop_id, placed.agent_id)
                return twiml(render.say_and_redirect(load_catalog(placed.language), prompt, done))
    except Exception:
        logger.exception("browser call failed")
        return twiml(render.hang_up())
    done = urls().desk_call_done(placed.shop_id, placed.agent_id)
    # the agent creates the room and waits in silence while the customer's phone rings
    events = conference_links().conference_events(placed.call_sid)
    return twiml(tw.agent_conference(placed.call_sid, done, events_url=events))


@voice_desk_call.route(f"{DESK_CALL_PATH}/done", methods=["POST"], content_types=FORM)
@webhook
def desk_call_done(form: dict[str, str]) -> Response:
    """The agent left the room (the customer hung up, the agent did, or a transfer took them
    out) or heard that the customer was not reached: their leg ends, and an agent free now (no
    wrap-up) meets the longest-waiting caller at once (issue 17)."""

    def settle() -> None:
        shop = repository().get_shop(_query("shop"))
        if shop is not None:
            now = current_clock().now()
            browser_call_legs.agent_left_room(
                shop, _query("agent"), form.get("CallSid", ""), store=repository(), control=telephony(), now=now
            )
            bridging.agent_freed(
                shop, _query("agent"), store=repository(), calls=telephony(), links=conference_links(), now=now
            )

    acknowledged(settle, "browser call end not recorded")
    return twiml(render.hang_up())


@voice_desk_call.route(f"{DESK_CALL_PATH}/customer-answer", methods=["POST"], content_types=FORM)
@webhook
def customer_answered(form: dict[str, str]) -> Response:
    """The customer picked up: into the room where the agent waits (or, the agent gone, hung up)."""
    call_sid = _query("call")
    try:
        joins = browser_call_legs.customer_answered(
            call_sid, form.get("CallSid", ""), store=repository(), now=current_clock().now()
        )
    except Exception:
        logger.exception("browser call's customer answer not recorded")
        joins = False
    if not joins:
        return twiml(render.hang_up())
    done = urls().desk_call_customer("done", _query("shop"), _query("agent"), call_sid)
    return twiml(tw.customer_conference(call_sid, done, events_url=conference_links().conference_events(call_sid)))


def _customer_ended(status: str) -> None:
    shop = repository().get_shop(_query("shop"))
    if shop is None:
        return
    browser_call_legs.customer_leg_ended(
        shop,
        _query("call"),
        status,
        store=repository(),
        control=telephony(),
        unreached_url=urls().desk_call_unreached(shop.shop_id, _query("agent"), status),
        now=current_clock().now(),
    )


@voice_desk_call.route(f"{DESK_CALL_PATH}/customer-done", methods=["POST"], content_types=FORM)
@webhook
def customer_done(form: dict[str, str]) -> Response:
    """The customer's Dial into the room ended: the customer left, the call is over."""
    acknowledged(lambda: _customer_ended("completed"), "browser call's customer end not recorded")
    return twiml(render.hang_up())


@voice_desk_call.route(f"{DESK_CALL_PATH}/customer-status", methods=["POST"], content_types=FORM)
@webhook
def customer_status(form: dict[str, str]) -> Response:
    """The customer's leg's status: unanswered, busy or failed ends the call and frees the agent."""
    return acknowledged(lambda: _customer_ended(form.get("CallStatus", "")), "browser call status not recorded")


@voice_desk_call.route(f"{DESK_CALL_PATH}/unreached", methods=["POST"], content_types=FORM)
@webhook
def unreached(form: dict[str, str]) -> Response:
    """The agent, waiting in the room, hears that the customer was not reached, in their
    language; then their leg ends at ``/done``, which gives them the next waiting caller."""
    language = "en"
    try:
        shop = repository().get_shop(_query("shop"))
        if shop is not None:
            language = agent_language(repository().get_agent(shop.shop_id, _query("agent")), shop.main_language)
    except Exception:
        logger.exception("browser call: agent's language not read")
    prompt = browser_call_legs.unreached_prompt(_query("status"))
    done = urls().desk_call_done(_query("shop"), _query("agent"))
    return twiml(render.say_and_redirect(load_catalog(language), prompt, done))
