"""Webhooks of agent-first calls (O8, I6): the agent's leg hears a whisper about the task,
presses 1 and waits in a conference named for the call while the app rings the customer (the
shop's caller ID) into it (``services.agent_dial_legs``, #17); the legs' ends and status
callbacks record the outcome. A phone-only agent (a phone number, no Twilio Client) then
hears a short keypad menu and keys in the call's outcome (A4), saved through the outcomes
service like the desk's; ``*`` during the conversation ends it and goes to the menu too.
Every route checks Twilio's signature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from twilio.twiml.voice_response import VoiceResponse

from chalicelib.clock import current_clock
from chalicelib.domain.ivr import next_attempt
from chalicelib.domain.keypad_outcomes import keyed_outcome
from chalicelib.domain.outcomes import OutcomeIn
from chalicelib.domain.routing import agent_language
from chalicelib.observability import logger
from chalicelib.services import agent_dial_legs, agent_dialer
from chalicelib.services.agent_dial_legs import CustomerLegUrls
from chalicelib.services.outcomes import record_outcome
from chalicelib.voice import inbound_twiml as tw
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import load_catalog
from chalicelib.voice.links import AGENT_DIAL_BASE as BASE
from chalicelib.voice.links import AgentDialLinks as AgentDialLinks  # tests build it from here
from chalicelib.voice.twiml import GATHER_TIMEOUT_SECONDS, speak
from chalicelib.web.http import acknowledged, current_request, twilio_webhook, twiml
from chalicelib.wiring import agent_dial_links, conference_links, inbound_store, outcome_store, telephony

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings

voice_agent_dial = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_agent_dial))
FORM = ["application/x-www-form-urlencoded"]
MISSED = "agent_dial_customer_missed"


def _params() -> tuple[str, str, str]:
    query = dict(current_request(voice_agent_dial).query_params or {})
    return str(query.get("task", "")), str(query.get("agent", "")), str(query.get("res", ""))


def _shop_of(task_id: str) -> ShopSettings | None:
    task = inbound_store().get_task(task_id)
    return inbound_store().get_shop(task.shop_id) if task else None


def _links() -> AgentDialLinks:
    return agent_dial_links()


@voice_agent_dial.route(f"{BASE}/answer", methods=["POST"], content_types=FORM)
@webhook
def agent_answered(form: dict[str, str]) -> Response:
    """The agent picked up: who the call is for, press 1 to call them."""
    task_id, agent_id, reservation = _params()
    try:
        shop = _shop_of(task_id)
        told = (
            agent_dialer.whisper(shop, task_id, form.get("CallSid", ""), store=inbound_store(), agent_id=agent_id)
            if shop
            else None
        )
    except Exception:
        logger.exception("agent whisper failed")
        told = None
    if told is None:
        return twiml(render.hang_up())
    catalog = load_catalog(told.language)
    response = VoiceResponse()
    accept = _links().url("accept", task_id, agent_id, reservation)
    with response.gather(num_digits=1, action=accept, method="POST", timeout=GATHER_TIMEOUT_SECONDS) as gather:
        if told.kind == "callback":
            speak(gather, catalog, "agent_dial_whisper_callback", shop_name=told.shop_name)
        else:
            speak(
                gather,
                catalog,
                "agent_dial_whisper_orders",
                shop_name=told.shop_name,
                customer_name=told.customer_name,
                order_numbers=told.order_numbers,
            )
    response.hangup()  # not accepted: the leg's status callback marks the agent missed
    return twiml(str(response))


@voice_agent_dial.route(f"{BASE}/accept", methods=["POST"], content_types=FORM)
@webhook
def agent_pressed(form: dict[str, str]) -> Response:
    """1: the agent waits in the call's conference while the customer's phone rings (the
    shop's caller ID); anything else: hang up (declined)."""
    if (form.get("Digits") or "") != "1":
        return twiml(render.hang_up())
    task_id, agent_id, reservation = _params()
    call_sid = form.get("CallSid", "")
    links = _links()
    customer_urls = CustomerLegUrls(
        links.customer("answer", task_id, agent_id, reservation, call_sid),
        links.customer("status", task_id, agent_id, reservation, call_sid),
    )
    accepted: agent_dial_legs.Accepted = "gone"
    try:
        shop = _shop_of(task_id)
        if shop is not None:
            accepted = agent_dial_legs.agent_accepted(
                shop,
                task_id,
                call_sid,
                store=inbound_store(),
                telephony=telephony(),
                urls=customer_urls,
                now=current_clock().now(),
            )
    except Exception:
        logger.exception("agent accept failed")
    if accepted == "gone":
        return twiml(render.hang_up())
    if accepted == "not-placed":
        return twiml(render.say_and_hang_up(load_catalog(_language_of_agent(task_id, agent_id)), MISSED))
    action = links.url("dial-done", task_id, agent_id, reservation)
    # * leaves the room: the agent stays on the line for the outcome menu
    events = conference_links().conference_events(call_sid)
    return twiml(tw.agent_conference(call_sid, action, events_url=events, hangup_on_star=True))


@voice_agent_dial.route(f"{BASE}/customer-answer", methods=["POST"], content_types=FORM)
@webhook
def customer_answered(form: dict[str, str]) -> Response:
    """The customer picked up: into the room where the agent waits (or, the agent gone, hung up)."""
    task_id, agent_id, reservation = _params()
    call_sid = _query("call")
    try:
        joins = agent_dial_legs.customer_answered(
            task_id, call_sid, form.get("CallSid", ""), store=inbound_store(), now=current_clock().now()
        )
    except Exception:
        logger.exception("customer answer not recorded")
        joins = False
    if not joins:
        return twiml(render.hang_up())
    action = _links().customer("done", task_id, agent_id, reservation, call_sid)
    return twiml(tw.customer_conference(call_sid, action, events_url=conference_links().conference_events(call_sid)))


@voice_agent_dial.route(f"{BASE}/customer-done", methods=["POST"], content_types=FORM)
@webhook
def customer_done(form: dict[str, str]) -> Response:
    task_id, call_sid = _params()[0], _query("call")

    def settle() -> None:
        shop = _shop_of(task_id)
        if shop is not None:
            agent_dial_legs.customer_left_room(shop, call_sid, store=inbound_store(), now=current_clock().now())

    acknowledged(settle, "customer's end of the conference not recorded")
    return twiml(render.hang_up())


@voice_agent_dial.route(f"{BASE}/customer-status", methods=["POST"], content_types=FORM)
@webhook
def customer_status(form: dict[str, str]) -> Response:
    task_id, agent_id, reservation = _params()
    call_sid = _query("call")

    def settle() -> None:
        shop = _shop_of(task_id)
        if shop is not None:
            agent_dial_legs.customer_leg_ended(
                shop,
                task_id,
                call_sid,
                form.get("CallStatus", ""),
                store=inbound_store(),
                control=telephony(),
                missed_url=_links().customer("missed", task_id, agent_id, reservation, call_sid),
                now=current_clock().now(),
            )

    return acknowledged(settle, "customer leg status not recorded")


@voice_agent_dial.route(f"{BASE}/customer-missed", methods=["POST"], content_types=FORM)
@webhook
def customer_missed(form: dict[str, str]) -> Response:
    """The agent, waiting in the room, hears that the customer did not answer."""
    task_id, agent_id, _ = _params()
    return twiml(render.say_and_hang_up(load_catalog(_language_of_agent(task_id, agent_id)), MISSED))


@voice_agent_dial.route(f"{BASE}/dial-done", methods=["POST"], content_types=FORM)
@webhook
def customer_dial_done(form: dict[str, str]) -> Response:
    """The agent left the room (the customer hung up, the agent pressed *, or a transfer took
    them out): a phone-only agent who still has the call keys its outcome (A4)."""
    task_id, agent_id, reservation = _params()
    call_sid = form.get("CallSid", "")
    talked, language, phone_only, keys = False, "en", False, False
    try:
        shop = _shop_of(task_id)
        if shop is not None:
            agent = inbound_store().get_agent(shop.shop_id, agent_id)
            language = agent_language(agent, shop.main_language)
            phone_only = agent is not None and bool(agent.phone) and not agent.client_identity
            talked = agent_dial_legs.agent_left_room(
                shop,
                agent_id,
                reservation,
                call_sid,
                store=inbound_store(),
                control=telephony(),
                now=current_clock().now(),
            )
            keys = talked and phone_only and agent_dial_legs.may_key_outcome(call_sid, agent_id, store=inbound_store())
    except Exception:
        logger.exception("agent-first dial result not recorded")
    if keys:
        return twiml(_outcome_menu(language, _links().url("outcome", task_id, agent_id, reservation, attempt=0)))
    if talked:
        return twiml(render.hang_up())
    return twiml(render.say_and_hang_up(load_catalog(language), MISSED))


def _query(name: str) -> str:
    return str(dict(current_request(voice_agent_dial).query_params or {}).get(name, ""))


def _language_of_agent(task_id: str, agent_id: str) -> str:
    shop = _shop_of_or_none(task_id)
    return _language_of(shop, agent_id) if shop else "en"


def _outcome_menu(language: str, action: str) -> str:
    response = VoiceResponse()
    with response.gather(num_digits=1, action=action, method="POST", timeout=GATHER_TIMEOUT_SECONDS) as gather:
        speak(gather, load_catalog(language), "agent_outcome_menu")
    response.redirect(action, method="POST")  # no key: the same route counts the try
    return str(response)


@voice_agent_dial.route(f"{BASE}/outcome", methods=["POST"], content_types=FORM)
@webhook
def agent_keyed_outcome(form: dict[str, str]) -> Response:
    """The phone-only agent's outcome key (A4): saved as the desk would save it; 0 skips; a
    wrong or missing key reads the menu again, at most the shop's menu tries."""
    task_id, agent_id, reservation = _params()
    shop = _shop_of_or_none(task_id)
    if shop is None:
        return twiml(render.hang_up())
    language = _language_of(shop, agent_id)
    catalog = load_catalog(language)
    outcome = keyed_outcome(form.get("Digits"))
    if outcome == "skip":
        return twiml(render.say_and_hang_up(catalog, "agent_outcome_skipped"))
    if outcome is None:
        query = dict(current_request(voice_agent_dial).query_params or {})
        attempt = next_attempt(int(str(query.get("attempt", "0")) or 0), shop.inbound.menu_attempts)
        if attempt is None:
            return twiml(render.say_and_hang_up(catalog, "agent_outcome_skipped"))
        return twiml(_outcome_menu(language, _links().url("outcome", task_id, agent_id, reservation, attempt=attempt)))
    try:
        record_outcome(
            shop,
            form.get("CallSid", ""),
            OutcomeIn(agent_id=agent_id, outcome=outcome),
            store=outcome_store(),
            now=current_clock().now(),
        )
    except Exception:  # refused (another agent's call, too late to correct) or a fault
        logger.exception("keyed outcome not saved", extra={"task_id": task_id, "outcome": outcome})
        return twiml(render.say_and_hang_up(catalog, "agent_outcome_not_saved"))
    return twiml(
        render.say_and_hang_up(catalog, "agent_outcome_saved", outcome=catalog.text(f"agent_outcome_{outcome}"))
    )


def _language_of(shop: ShopSettings, agent_id: str) -> str:
    try:
        return agent_language(inbound_store().get_agent(shop.shop_id, agent_id), shop.main_language)
    except Exception:
        logger.exception("agent outcome menu: agent not read")
        return shop.main_language


def _shop_of_or_none(task_id: str) -> ShopSettings | None:
    try:
        return _shop_of(task_id)
    except Exception:
        logger.exception("agent outcome menu: shop not found")
        return None


@voice_agent_dial.route(f"{BASE}/status", methods=["POST"], content_types=FORM)
@webhook
def agent_leg_status(form: dict[str, str]) -> Response:
    task_id, agent_id, reservation = _params()

    def record() -> None:
        shop = _shop_of(task_id)
        if shop is not None:
            agent_dialer.agent_leg_status(
                shop, task_id, agent_id, reservation, form, store=inbound_store(), now=current_clock().now()
            )

    return acknowledged(record, "agent leg status not recorded")
