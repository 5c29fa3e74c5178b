"""Webhooks of an inbound call's conference (#17, ``services.conference_calls``): the caller's
wait music and the end of their Dial, the conference's events and recording, the way back to
the queue; and the agent's own leg: the whisper, 1 to accept, the end of the agent's Dial (a
phone-only agent then keys the outcome, #16 item 8) and the leg's status. Every route checks
Twilio's signature.
"""

from __future__ import annotations

from chalice import Blueprint, Response
from twilio.twiml.voice_response import VoiceResponse

from chalicelib.clock import current_clock
from chalicelib.domain.ivr import next_attempt
from chalicelib.domain.keypad_outcomes import keyed_outcome
from chalicelib.domain.outcomes import OutcomeIn
from chalicelib.domain.routing import agent_language
from chalicelib.domain.twilio_fields import twilio_count
from chalicelib.observability import logger
from chalicelib.services import bridging, conference_calls, inbound, inbound_queue, outside_transfers, transfers
from chalicelib.services.inbound_queue import Goodbye, Survey
from chalicelib.services.outcomes import record_outcome
from chalicelib.voice import inbound_twiml as tw
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import load_catalog
from chalicelib.voice.links import INBOUND_BASE as BASE
from chalicelib.voice.twiml import GATHER_TIMEOUT_SECONDS, speak
from chalicelib.web.http import acknowledged, current_request, twilio_webhook, twiml
from chalicelib.web.voice_queue import guarded_by, heard_in, language_of, query_of, respond
from chalicelib.wiring import conference_links, conferences, inbound_store, outcome_store, telephony

voice_conference = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_conference))
guarded = guarded_by(voice_conference)
FORM = ["application/x-www-form-urlencoded"]


def _query(name: str) -> str:
    return query_of(voice_conference, name)


def _music_of(caller_sid: str) -> str:
    try:
        ctx = inbound.context(caller_sid, store=inbound_store())
    except Exception:
        logger.exception("conference music: call not read")
        ctx = None
    if ctx:
        return ctx.shop.inbound.hold_music_url
    from chalicelib.domain.shop import InboundPolicy  # cold start: pydantic, only on this fault path

    return InboundPolicy().hold_music_url


# ---- the caller's side ---------------------------------------------------------------------
@voice_conference.route(f"{BASE}/conf-wait", methods=["POST"], content_types=FORM)
@webhook
def conference_wait(form: dict[str, str]) -> Response:
    return twiml(tw.music(_music_of(form.get("CallSid", ""))))


@voice_conference.route(f"{BASE}/conf-hold-music", methods=["POST"], content_types=FORM)
@webhook
def hold_music(form: dict[str, str]) -> Response:
    return twiml(tw.music(_music_of(_query("call"))))


@voice_conference.route(f"{BASE}/conf-done", methods=["POST"], content_types=FORM)
@webhook
@guarded
def conference_done(form: dict[str, str]) -> Response:
    """The caller's Dial into the conference ended: after a talk, the survey or goodbye."""
    heard = heard_in(voice_conference, form)
    duration = twilio_count(form.get("DialCallDuration")) or 0
    talked, survey = conference_calls.caller_left(
        heard.call_sid, heard.agent_id, duration, store=inbound_store(), now=current_clock().now()
    )
    if not talked:
        conference_calls.stop_ringing_agent(heard.call_sid, store=inbound_store(), control=telephony())
    else:  # with no wrap-up the agent meets the next waiting caller now (issue 17)
        _bridge_next(heard.call_sid, heard.agent_id, agent_leg_over=False)
    if talked and survey:
        return respond(Survey(heard.language))
    return respond(Goodbye(heard.language, "goodbye" if talked else None))


@voice_conference.route(f"{BASE}/conf-events", methods=["POST"], content_types=FORM)
@webhook
def conference_events(form: dict[str, str]) -> Response:
    """Joins and leaves while a transfer is under way (``services.transfers``)."""

    def handle() -> None:
        ctx = inbound.context(_query("call"), store=inbound_store())
        if ctx is None:
            return
        event, leg_sid = form.get("StatusCallbackEvent", ""), form.get("CallSid", "")
        if outside_transfers.participant_event(
            ctx.call, event, leg_sid, store=inbound_store(), conferences=conferences()
        ):
            return
        transfers.participant_event(
            ctx.call,
            form.get("StatusCallbackEvent", ""),
            form.get("CallSid", ""),
            shop=ctx.shop,
            store=inbound_store(),
            conferences=conferences(),
            control=telephony(),
            requeue_url=conference_links().requeue,
            apology_url=conference_links().transfer_failed,
            now=current_clock().now(),
        )

    return acknowledged(handle, "conference event not handled")


@voice_conference.route(f"{BASE}/conf-recording", methods=["POST"], content_types=FORM)
@webhook
def conference_recording(form: dict[str, str]) -> Response:
    """The conference's recording: it names the conference, the call is in the query."""
    fields = form | {"CallSid": _query("call")}
    return acknowledged(lambda: inbound.store_recording(fields, store=inbound_store()), "recording not stored")


@voice_conference.route(f"{BASE}/requeue", methods=["POST"], content_types=FORM)
@webhook
@guarded
def requeue(form: dict[str, str]) -> Response:
    """The agent was missed: back in the queue at the caller's original place."""
    language = language_of(voice_conference)
    ctx = inbound_queue.call_context(form.get("CallSid", ""), store=inbound_store())
    now = current_clock().now()
    return respond(inbound_queue.queue_caller(ctx, language, "inbound_agent_missed", store=inbound_store(), now=now))


@voice_conference.route(f"{BASE}/transfer-failed", methods=["POST"], content_types=FORM)
@webhook
def transfer_failed(form: dict[str, str]) -> Response:
    """An outbound call's customer whose transfer found nobody: sorry, an agent calls back
    (the callback task is made before the redirect, ``conference_calls.call_back_after_transfer``)
    or, a number that takes no callback, please call again: never a promise the app cannot keep."""
    prompt = "transfer_failed_call_again" if _query("callback") == "none" else "transfer_failed_call_back"
    return twiml(render.say_and_hang_up(load_catalog(language_of(voice_conference)), prompt))


# ---- the agent's leg -----------------------------------------------------------------------
@voice_conference.route(f"{BASE}/agent-leg/answer", methods=["POST"], content_types=FORM)
@webhook
def agent_answer(form: dict[str, str]) -> Response:
    """The agent picked up: who calls, and 1 to accept (anything else: missed)."""
    caller_sid, agent_id = _query("call"), _query("agent")
    try:
        told = inbound_queue.whisper(caller_sid, store=inbound_store())
    except Exception:
        logger.exception("whisper failed")
        told = inbound_queue.Whisper()
    accept = conference_links().agent_leg("accept", caller_sid, agent_id)
    return twiml(tw.whisper(load_catalog(told.language), accept, told.shop_name, told.order_number))


@voice_conference.route(f"{BASE}/agent-leg/accept", methods=["POST"], content_types=FORM)
@webhook
def agent_accept(form: dict[str, str]) -> Response:
    caller_sid, agent_id = _query("call"), _query("agent")
    if (form.get("Digits") or "") != "1":
        return twiml(render.hang_up())
    done = conference_links().agent_leg("done", caller_sid, agent_id)
    try:
        call = inbound_store().get_call(caller_sid)
        if call is not None and transfers.may_join(call, agent_id):  # taking a transfer
            return twiml(tw.agent_conference(caller_sid, done, ends_call=False))
        ctx = conference_calls.agent_may_join(caller_sid, agent_id, store=inbound_store(), now=current_clock().now())
    except Exception:
        logger.exception("agent accept failed")
        ctx = None
    if ctx is None:
        return twiml(render.hang_up())
    return twiml(tw.agent_conference(caller_sid, done))


@voice_conference.route(f"{BASE}/agent-leg/done", methods=["POST"], content_types=FORM)
@webhook
def agent_done(form: dict[str, str]) -> Response:
    """The agent's Dial ended (the caller hung up, or the agent did): a phone-only agent keys
    the call's outcome, as after agent-first calls (A4)."""
    caller_sid, agent_id = _query("call"), _query("agent")
    try:
        language, phone_only = _agent_of(caller_sid, agent_id)
        call = inbound_store().get_call(caller_sid)
    except Exception:
        logger.exception("agent's conference end: agent not read")
        return twiml(render.hang_up())
    if not phone_only or call is None or call.agent_id != agent_id:  # handed over: the call is not theirs
        return twiml(render.hang_up())
    return twiml(_outcome_menu(language, conference_links().agent_leg("outcome", caller_sid, agent_id, attempt=0)))


@voice_conference.route(f"{BASE}/agent-leg/outcome", methods=["POST"], content_types=FORM)
@webhook
def agent_outcome(form: dict[str, str]) -> Response:
    """The outcome key: saved as the desk saves it; 0 skips; a wrong or missing key reads the
    menu again, at most the shop's menu tries."""
    caller_sid, agent_id = _query("call"), _query("agent")
    ctx = inbound.context(caller_sid, store=inbound_store())
    if ctx is None:
        return twiml(render.hang_up())
    language, _ = _agent_of(caller_sid, agent_id)
    catalog = load_catalog(language)
    outcome = keyed_outcome(form.get("Digits"))
    if outcome == "skip":
        return twiml(render.say_and_hang_up(catalog, "agent_outcome_skipped"))
    if outcome is None:
        attempt = next_attempt(int(_query("attempt") or 0), ctx.shop.inbound.menu_attempts)
        if attempt is None:
            return twiml(render.say_and_hang_up(catalog, "agent_outcome_skipped"))
        action = conference_links().agent_leg("outcome", caller_sid, agent_id, attempt=attempt)
        return twiml(_outcome_menu(language, action))
    try:
        record_outcome(
            ctx.shop,
            caller_sid,
            OutcomeIn(agent_id=agent_id, outcome=outcome),
            store=outcome_store(),
            now=current_clock().now(),
        )
    except Exception:  # refused (another agent's call, too late to correct) or a fault
        logger.exception("keyed outcome not saved", extra={"outcome": outcome})
        return twiml(render.say_and_hang_up(catalog, "agent_outcome_not_saved"))
    return twiml(
        render.say_and_hang_up(catalog, "agent_outcome_saved", outcome=catalog.text(f"agent_outcome_{outcome}"))
    )


@voice_conference.route(f"{BASE}/agent-leg/status", methods=["POST"], content_types=FORM)
@webhook
def agent_status(form: dict[str, str]) -> Response:
    caller_sid, agent_id = _query("call"), _query("agent")

    def settle() -> None:
        call = inbound_store().get_call(caller_sid)
        ended = form.get("CallStatus", "") in conference_calls.FINAL_CALL_STATUSES
        if call is not None and ended and call.transfer_to == agent_id:  # a transfer's leg, never in the room
            shop = inbound_store().get_shop(call.shop_id)
            if shop is not None:
                transfers.target_gone(
                    call,
                    missed=form.get("CallStatus") != "completed",  # never answered (not: declined, hung up)
                    shop=shop,
                    store=inbound_store(),
                    conferences=conferences(),
                    control=telephony(),
                    requeue_url=conference_links().requeue,
                    apology_url=conference_links().transfer_failed,
                    now=current_clock().now(),
                )
            return
        conference_calls.agent_leg_ended(
            caller_sid,
            agent_id,
            form.get("CallStatus", ""),
            store=inbound_store(),
            control=telephony(),
            requeue_url=conference_links().requeue,
            now=current_clock().now(),
        )

    response = acknowledged(settle, "agent leg status not handled")
    if form.get("CallStatus", "") in conference_calls.FINAL_CALL_STATUSES:
        _bridge_next(caller_sid, agent_id, agent_leg_over=True)  # the agent's leg is over (issue 17)
    return response


@voice_conference.route(f"{BASE}/outside-leg/status", methods=["POST"], content_types=FORM)
@webhook
def outside_leg_status(form: dict[str, str]) -> Response:
    """An outside number dialled in for a transfer: unanswered, the caller goes back to the queue."""

    def settle() -> None:
        ctx = inbound.context(_query("call"), store=inbound_store())
        if ctx is not None:
            outside_transfers.leg_ended(
                ctx.call,
                form.get("CallSid", ""),
                form.get("CallStatus", ""),
                shop=ctx.shop,
                store=inbound_store(),
                control=telephony(),
                requeue_url=conference_links().requeue,
                apology_url=conference_links().transfer_failed,
                now=current_clock().now(),
            )

    return acknowledged(settle, "outside leg status not handled")


def _bridge_next(caller_sid: str, agent_id: str, *, agent_leg_over: bool) -> None:
    """The conversation ended: an agent with no wrap-up takes the longest-waiting caller now."""
    bridging.after_conference(
        caller_sid,
        agent_id,
        agent_leg_over=agent_leg_over,
        store=inbound_store(),
        calls=telephony(),
        links=conference_links(),
        now=current_clock().now(),
    )


def _agent_of(caller_sid: str, agent_id: str) -> tuple[str, bool]:
    """The agent's language, and whether they work by phone only (no softphone)."""
    ctx = inbound.context(caller_sid, store=inbound_store())
    if ctx is None:
        return "en", False
    agent = inbound_store().get_agent(ctx.shop.shop_id, agent_id)
    phone_only = agent is not None and bool(agent.phone) and not agent.client_identity
    return agent_language(agent, ctx.shop.main_language), phone_only


def _outcome_menu(language: str, action: str) -> str:
    response = VoiceResponse()
    with response.gather(num_digits=1, action=action, method="POST", timeout=GATHER_TIMEOUT_SECONDS) as gather:
        speak(gather, load_catalog(language), "agent_outcome_menu")
    response.redirect(action, method="POST")  # no key: the same route counts the try
    return str(response)
