"""Webhooks of customer-first (predictive) calls (O8): the customer's answer, Twilio's async
machine-detection verdict, the call's conference where the reserved agent's own leg joins the
customer (``services.predictive_legs``, #17) or the apology of a dropped call, the ends of both
legs and the call's status callbacks. Every route checks Twilio's signature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from twilio.twiml.voice_response import VoiceResponse

from chalicelib.clock import current_clock
from chalicelib.observability import logger
from chalicelib.services import predictive_dialer, predictive_legs
from chalicelib.services.conference_calls import AgentLegUrls
from chalicelib.voice import inbound_twiml as tw
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import load_catalog
from chalicelib.voice.links import PREDICTIVE_BASE as BASE
from chalicelib.voice.links import PredictiveLinks as PredictiveLinks  # the tests' fakes extend it
from chalicelib.web.http import acknowledged, current_request, twilio_webhook, twiml
from chalicelib.wiring import conference_links, dialer_store, predictive_links, telephony

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings

voice_predictive = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_predictive))
FORM = ["application/x-www-form-urlencoded"]


def _links() -> PredictiveLinks:
    return predictive_links()


def _params() -> tuple[str, str]:
    query = dict(current_request(voice_predictive).query_params or {})
    return str(query.get("task", "")), str(query.get("line", ""))


def _shop_of(task_id: str) -> ShopSettings | None:
    task = dialer_store().get_task(task_id)
    return dialer_store().get_shop(task.shop_id) if task else None


@voice_predictive.route(f"{BASE}/answer", methods=["POST"], content_types=FORM)
@webhook
def customer_answered(form: dict[str, str]) -> Response:
    """Answered; Twilio is still deciding person or machine: a moment of silence, then (if no
    verdict has redirected the call meanwhile) the connect step takes it as a person."""
    task_id, line = _params()
    try:
        shop = _shop_of(task_id)
        live = shop is not None and predictive_dialer.customer_answered(
            shop, line, form.get("CallSid", ""), store=dialer_store(), now=current_clock().now()
        )
    except Exception:
        logger.exception("customer answer not recorded")
        live = True  # the connect step decides
    if not live:
        return twiml(render.hang_up())
    response = VoiceResponse()
    response.pause(length=predictive_dialer.AMD_WAIT_SECONDS)
    response.redirect(_links().connect(task_id, line), method="POST")
    return twiml(str(response))


@voice_predictive.route(f"{BASE}/amd", methods=["POST"], content_types=FORM)
@webhook
def machine_detected(form: dict[str, str]) -> Response:
    task_id, line = _params()

    def apply() -> None:
        shop = _shop_of(task_id)
        if shop is not None:
            predictive_dialer.machine_verdict(
                shop,
                task_id,
                line,
                form,
                store=dialer_store(),
                telephony=telephony(),
                urls=_links(),
                now=current_clock().now(),
            )

    return acknowledged(apply, "machine-detection verdict not applied")


@voice_predictive.route(f"{BASE}/connect", methods=["POST"], content_types=FORM)
@webhook
def connect_customer(form: dict[str, str]) -> Response:
    """A person: into the call's conference (music) while the app rings the reserved agent into
    it, or apologise and hang up (a dropped call)."""
    task_id, line = _params()
    call_sid = form.get("CallSid", "")
    links = _links()
    shop = None
    try:
        shop = _shop_of(task_id)
        step = (
            predictive_legs.connect(
                shop,
                task_id,
                line,
                call_sid,
                store=dialer_store(),
                telephony=telephony(),
                leg=AgentLegUrls(
                    links.agent_leg("answer", task_id, line, call_sid),
                    links.agent_leg("status", task_id, line, call_sid),
                ),
                now=current_clock().now(),
            )
            if shop
            else None
        )
    except Exception:
        logger.exception("customer-first connect failed")
        step = None
    if shop is None or step is None or step.action == "hang-up":
        return twiml(render.hang_up())
    if step.action == "apology":
        return twiml(
            render.say_and_hang_up(load_catalog(step.language), "predictive_drop_apology", shop_name=shop.name)
        )
    rooms = conference_links()
    dial = tw.conference_dial(
        call_sid,
        links.bridge_done(task_id, line),
        start_on_enter=False,
        end_on_exit=True,
        wait_url=rooms.conference_wait(step.language),
        events_url=rooms.conference_events(call_sid),
    )
    response = VoiceResponse()
    response.append(dial)
    return twiml(str(response))


@voice_predictive.route(f"{BASE}/bridge-done", methods=["POST"], content_types=FORM)
@webhook
def bridge_done(form: dict[str, str]) -> Response:
    """The customer's Dial into the conference ended."""
    task_id, line = _params()
    talked, shop = False, None
    try:
        shop = _shop_of(task_id)
        if shop is not None:
            talked = predictive_legs.bridge_ended(
                shop, task_id, line, form, store=dialer_store(), control=telephony(), now=current_clock().now()
            )
    except Exception:
        logger.exception("customer-first bridge result not recorded")
    if talked or shop is None:
        return twiml(render.hang_up())
    task = dialer_store().get_task(task_id)
    language = task.language if task else shop.main_language
    return twiml(render.say_and_hang_up(load_catalog(language), "predictive_drop_apology", shop_name=shop.name))


@voice_predictive.route(f"{BASE}/agent-answer", methods=["POST"], content_types=FORM)
@webhook
def agent_answered(form: dict[str, str]) -> Response:
    """The reserved agent picked up: into the room where the customer waits (no whisper: a
    person is on the line already)."""
    task_id, line = _params()
    call_sid = _query("call")
    try:
        shop = _shop_of(task_id)
        joins = shop is not None and predictive_legs.agent_answered(
            shop, line, call_sid, form.get("CallSid", ""), store=dialer_store()
        )
    except Exception:
        logger.exception("customer-first agent answer not recorded")
        joins = False
    if not joins:
        return twiml(render.hang_up())
    return twiml(tw.agent_conference(call_sid, _links().agent_leg("done", task_id, line, call_sid)))


@voice_predictive.route(f"{BASE}/agent-done", methods=["POST"], content_types=FORM)
@webhook
def agent_done(form: dict[str, str]) -> Response:
    return twiml(render.hang_up())


@voice_predictive.route(f"{BASE}/agent-status", methods=["POST"], content_types=FORM)
@webhook
def agent_status(form: dict[str, str]) -> Response:
    """The agent's leg's status: one that never answered drops the waiting customer."""
    task_id, line = _params()
    call_sid = _query("call")

    def settle() -> None:
        shop = _shop_of(task_id)
        if shop is not None:
            predictive_legs.agent_leg_ended(
                shop,
                task_id,
                line,
                call_sid,
                form.get("CallStatus", ""),
                store=dialer_store(),
                control=telephony(),
                apology_url=_links().connect(task_id, line),
                now=current_clock().now(),
            )

    return acknowledged(settle, "customer-first agent leg status not recorded")


def _query(name: str) -> str:
    return str(dict(current_request(voice_predictive).query_params or {}).get(name, ""))


@voice_predictive.route(f"{BASE}/status", methods=["POST"], content_types=FORM)
@webhook
def customer_call_status(form: dict[str, str]) -> Response:
    task_id, line = _params()

    def record() -> None:
        shop = _shop_of(task_id)
        if shop is not None:
            predictive_dialer.call_status(shop, task_id, line, form, store=dialer_store(), now=current_clock().now())

    return acknowledged(record, "customer-first call status not recorded")
