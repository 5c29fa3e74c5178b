"""Webhooks of agent-first calls (O8, I6): the agent's leg hears a whisper about the task,
presses 1, and the customer is dialed with the shop's caller ID; the Dial's end and the leg's
status callbacks record the outcome. A phone-only agent (a phone number, no Twilio Client) then
hears a short keypad menu and keys in the call's outcome (A4), saved through the outcomes
service like the desk's; ``*`` during the conversation ends it and goes to the menu too.
Every route checks Twilio's signature.

``dial_agents`` is the schedule's entry point: the real adapters behind the agent dialer.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from aws_lambda_powertools.metrics import MetricUnit
from chalice import Blueprint, Response
from twilio.twiml.voice_response import Dial, VoiceResponse

from chalicelib.adapters.dynamo.store import store as inbound_store
from chalicelib.adapters.dynamo.store import store as outcome_store
from chalicelib.clock import current_clock
from chalicelib.domain.ivr import next_attempt
from chalicelib.domain.keypad_outcomes import keyed_outcome
from chalicelib.domain.outcomes import OutcomeIn
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger, metrics
from chalicelib.services import agent_dialer
from chalicelib.services.outcomes import record_outcome
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import load_catalog
from chalicelib.voice.twiml import GATHER_TIMEOUT_SECONDS, speak
from chalicelib.web.http import current_request, twilio_webhook, twiml
from chalicelib.web.voice_predictive import pace_shop
from chalicelib.wiring import telephony, urls

voice_agent_dial = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_agent_dial))
FORM = ["application/x-www-form-urlencoded"]
BASE = "/twilio/voice/agent-dial"
DROP_RATE_METRIC = "DialerDropRate"  # infra/stack.py's alarm watches it (namespace CallCenter, service)


class AgentDialLinks:
    """Absolute URLs of the agent leg's webhooks (query keys sorted, as the signature check wants)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def url(self, path: str, task_id: str, agent_id: str, reservation: str, **extra: object) -> str:
        values = {"agent": agent_id, "res": reservation, "task": task_id} | {k: str(v) for k, v in extra.items()}
        return f"{self.base_url}{BASE}/{path}?{urlencode(sorted(values.items()))}"

    def agent_answer(self, task_id: str, agent_id: str, reservation: str) -> str:
        return self.url("answer", task_id, agent_id, reservation)

    def agent_status(self, task_id: str, agent_id: str, reservation: str) -> str:
        return self.url("status", task_id, agent_id, reservation)


def dial_agents(shop: ShopSettings, now: datetime) -> list[str]:
    """The minute schedule: settle agent-first calls whose end never reached us, let free agents
    call the due callbacks and (progressive shops) agent tasks, and pace predictive shops'
    customer-first calls, publishing their day's drop rate (``DialerDropRate``, percent)."""
    placed: list[str] = []
    try:
        agent_dialer.reconcile_stuck_agent_calls(shop, store=inbound_store(), telephony=telephony(), now=now)
        placed = agent_dialer.dial_for_free_agents(
            shop, store=inbound_store(), telephony=telephony(), urls=AgentDialLinks(urls().base_url), now=now
        )
    except Exception:  # one shop's fault must not stop the schedule for the others
        logger.exception("agent dialing failed", extra={"shop_id": shop.shop_id})
    today = pace_shop(shop, now, sweep=True)
    if today is not None:
        metrics.add_metric(name=DROP_RATE_METRIC, unit=MetricUnit.Percent, value=today.drop_rate_percent)
    return placed


def _params() -> tuple[str, str, str]:
    query = dict(current_request(voice_agent_dial).query_params or {})
    return str(query.get("task", "")), str(query.get("agent", "")), str(query.get("res", ""))


def _shop_of(task_id: str) -> ShopSettings | None:
    task = inbound_store().get_task(task_id)
    return inbound_store().get_shop(task.shop_id) if task else None


def _links() -> AgentDialLinks:
    return AgentDialLinks(urls().base_url)


@voice_agent_dial.route(f"{BASE}/answer", methods=["POST"], content_types=FORM)
@webhook
def agent_answered(form: dict[str, str]) -> Response:
    """The agent picked up: who the call is for, press 1 to call them."""
    task_id, agent_id, reservation = _params()
    try:
        shop = _shop_of(task_id)
        told = agent_dialer.whisper(shop, task_id, form.get("CallSid", ""), store=inbound_store()) if shop else None
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
    """1: dial the customer with the shop's caller ID; anything else: hang up (declined)."""
    if (form.get("Digits") or "") != "1":
        return twiml(render.hang_up())
    task_id, agent_id, reservation = _params()
    try:
        shop = _shop_of(task_id)
        dial = (
            agent_dialer.agent_accepted(
                shop, task_id, form.get("CallSid", ""), store=inbound_store(), now=current_clock().now()
            )
            if shop
            else None
        )
    except Exception:
        logger.exception("agent accept failed")
        dial = None
    if dial is None:
        return twiml(render.hang_up())
    response = VoiceResponse()
    node = Dial(
        caller_id=dial.caller_id,
        action=_links().url("dial-done", task_id, agent_id, reservation),
        method="POST",
        timeout=dial.ring_seconds,
        hangup_on_star=True,  # the agent ends the conversation and stays for the outcome menu
    )
    node.number(dial.phone)
    response.append(node)
    return twiml(str(response))


@voice_agent_dial.route(f"{BASE}/dial-done", methods=["POST"], content_types=FORM)
@webhook
def customer_dial_done(form: dict[str, str]) -> Response:
    task_id, agent_id, reservation = _params()
    talked, language, phone_only = False, "en", False
    try:
        shop = _shop_of(task_id)
        if shop is not None:
            language = shop.main_language
            agent = inbound_store().get_agent(shop.shop_id, agent_id)
            phone_only = agent is not None and bool(agent.phone) and not agent.client_identity
            talked = agent_dialer.customer_dial_ended(
                shop,
                task_id,
                agent_id,
                reservation,
                form.get("CallSid", ""),
                form.get("DialCallStatus", ""),
                form.get("DialBridged", "").lower() == "true",
                store=inbound_store(),
                now=current_clock().now(),
            )
    except Exception:
        logger.exception("agent-first dial result not recorded")
    if talked and phone_only:
        return twiml(_outcome_menu(language, _links().url("outcome", task_id, agent_id, reservation, attempt=0)))
    if talked:
        return twiml(render.hang_up())
    return twiml(render.say_and_hang_up(load_catalog(language), "agent_dial_customer_missed"))


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
    catalog = load_catalog(shop.main_language)
    outcome = keyed_outcome(form.get("Digits"))
    if outcome == "skip":
        return twiml(render.say_and_hang_up(catalog, "agent_outcome_skipped"))
    if outcome is None:
        query = dict(current_request(voice_agent_dial).query_params or {})
        attempt = next_attempt(int(str(query.get("attempt", "0")) or 0), shop.inbound.menu_attempts)
        if attempt is None:
            return twiml(render.say_and_hang_up(catalog, "agent_outcome_skipped"))
        return twiml(
            _outcome_menu(shop.main_language, _links().url("outcome", task_id, agent_id, reservation, attempt=attempt))
        )
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
    try:
        shop = _shop_of(task_id)
        if shop is not None:
            agent_dialer.agent_leg_status(
                shop, task_id, agent_id, reservation, form, store=inbound_store(), now=current_clock().now()
            )
    except Exception:
        logger.exception("agent leg status not recorded")
        return Response(body="", status_code=500)  # Twilio retries the callback
    return Response(body="", status_code=204)
