"""The agent queue of a call to a shop's number (I5-I10): the wait music and the caller's
choice while waiting, leaving the queue for the reserved agent (whisper, accept, the Dial's
end), the survey, the recording callback and the voicemail. Each handler parses the webhook,
makes one call to ``services.inbound_queue`` (or ``services.inbound``) and renders the step it
returns; ``respond`` renders the queue's steps for the menus too.

The caller's views are guarded: a fault (a storage error) gives the caller an apology and a
voicemail (fallback TwiML), never Twilio's application error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.domain.twilio_fields import twilio_count
from chalicelib.observability import logger
from chalicelib.services import bridging, conference_calls, inbound, inbound_queue, voicemail
from chalicelib.services.inbound_queue import DialAgent, Goodbye, Heard, JoinConference, LeaveMessage, Queued, Survey
from chalicelib.voice import inbound_twiml as tw
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import Catalog, load_catalog
from chalicelib.voice.links import INBOUND_BASE as BASE
from chalicelib.voice.links import VOICEMAIL_PATH, VOICEMAIL_READY_PATH, VOICEMAIL_TRANSCRIPTION_PATH
from chalicelib.web.http import acknowledged, current_request, twilio_webhook, twiml
from chalicelib.wiring import conference_links, inbound_links, inbound_store, telephony, urls, voicemail_mail

voice_queue = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_queue))
FORM = ["application/x-www-form-urlencoded"]
QueueStep = Goodbye | LeaveMessage | Queued | DialAgent | JoinConference | Survey


def query_of(blueprint: Blueprint, name: str, default: str = "") -> str:
    params: dict[str, str] = dict(current_request(blueprint).query_params or {})
    return str(params.get(name, default))


def language_of(blueprint: Blueprint) -> str:
    language = query_of(blueprint, "lang", "en")
    return language if language in ("uk", "ru", "en") else "en"


def heard_in(blueprint: Blueprint, form: dict[str, str]) -> Heard:
    """The call, language, answer and menu state of an inbound call's webhook."""
    query: dict[str, str] = dict(current_request(blueprint).query_params or {})
    return Heard(
        form.get("CallSid", ""),
        language_of(blueprint),
        form.get("Digits"),
        form.get("SpeechResult"),
        query.get("attempt"),
        query.get("order", ""),
        query.get("asof", "0"),
        query.get("agent", ""),
        confidence=form.get("Confidence"),
    )


def guarded_by(blueprint: Blueprint) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Any fault inside a call: the caller hears an apology and can leave a message."""

    def guarded(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def safe(*args: Any, **kwargs: Any) -> Response:
            try:
                return view(*args, **kwargs)
            except Exception:
                logger.exception("inbound call step failed: fallback TwiML")
                catalog = load_catalog(language_of(blueprint))
                return twiml(leave_a_message(catalog, prompt="inbound_technical_problem"))

        return safe

    return guarded


def leave_a_message(catalog: Catalog, prompt: str = "inbound_voicemail", *, transcribe: bool = False) -> str:
    """The voicemail's TwiML: the recording's action, its ready callback and, where the shop
    asks for it, Twilio's transcription."""
    links = urls()
    transcription_url = links.voicemail_transcription() if transcribe else None
    return tw.voicemail(
        catalog, links.voicemail(), prompt, ready_url=links.voicemail_ready(), transcription_url=transcription_url
    )


def leg_urls(caller_sid: str) -> conference_calls.LegUrls:
    """Where the agent's own leg into the caller's conference asks for TwiML and reports (#17)."""
    links = conference_links()

    def urls(agent_id: str) -> conference_calls.AgentLegUrls:
        return conference_calls.AgentLegUrls(
            links.agent_leg("answer", caller_sid, agent_id), links.agent_leg("status", caller_sid, agent_id)
        )

    return urls


def respond(step: QueueStep) -> Response:
    """The TwiML of a step of the queue."""
    catalog, links, language = load_catalog(step.language), inbound_links(), step.language
    if isinstance(step, JoinConference):
        room = conference_links()
        return twiml(
            tw.join_conference(
                catalog,
                step.call_sid,
                wait_url=room.conference_wait(language),
                action_url=room.conference_done(language, step.agent_id),
                events_url=room.conference_events(step.call_sid),
                record=step.record,
                recording_callback_url=room.conference_recording(step.call_sid),
            )
        )
    if isinstance(step, Goodbye):
        return twiml(render.say_and_hang_up(catalog, step.prompt) if step.prompt else render.hang_up())
    if isinstance(step, LeaveMessage):
        return twiml(leave_a_message(catalog, transcribe=step.transcribe))
    if isinstance(step, Queued):
        return twiml(tw.enqueue(catalog, step.queue, links.wait(language), links.queue_exit(language), step.prompt))
    if isinstance(step, Survey):
        return twiml(tw.survey(catalog, links.survey(language)))
    return twiml(
        tw.dial_agent(
            catalog,
            phone=step.agent.phone,
            client_identity=step.agent.client_identity,
            whisper_url=links.whisper(step.call_sid),
            action_url=links.dial_done(language, step.agent.agent_id),
            ring_seconds=step.ring_seconds,
            record=step.record,
            recording_callback_url=links.recording(),
        )
    )


guarded = guarded_by(voice_queue)


def _lang() -> str:
    return language_of(voice_queue)


def _heard(form: dict[str, str]) -> Heard:
    return heard_in(voice_queue, form)


@voice_queue.route(f"{BASE}/wait", methods=["POST"], content_types=FORM)
@webhook
def waiting(form: dict[str, str]) -> Response:
    language = _lang()
    queue_seconds = twilio_count(form.get("QueueTime")) or 0
    try:
        held = inbound_queue.hold(
            form.get("CallSid", ""), queue_seconds, store=inbound_store(), now=current_clock().now()
        )
    except Exception:  # the caller stays on hold; the next round tries again
        logger.exception("queue wait round failed")
        from chalicelib.domain.shop import InboundPolicy  # cold start: pydantic, already loaded by now

        held = inbound.HoldRound(leave=False, music_url=InboundPolicy().hold_music_url)
    if held.leave:
        return twiml(tw.leave_queue())
    return twiml(
        tw.hold(
            load_catalog(language),
            inbound_links().wait_choice(language),
            held.music_url,
            position=held.position,
            minutes=held.minutes,
            max_wait_reached=held.max_wait_reached,
            no_agents=held.no_agents,
            can_call_back=held.can_call_back,
            number_refused=held.number_refused,
        )
    )


@voice_queue.route(f"{BASE}/wait-choice", methods=["POST"], content_types=FORM)
@webhook
@guarded
def wait_choice(form: dict[str, str]) -> Response:
    leave = inbound_queue.wait_choice(_heard(form), store=inbound_store(), now=current_clock().now())
    return twiml(tw.leave_queue() if leave else tw.bridge())  # nothing chosen: back to the wait music


@voice_queue.route(f"{BASE}/queue-exit", methods=["POST"], content_types=FORM)
@webhook
@guarded
def queue_exit(form: dict[str, str]) -> Response:
    heard = _heard(form)
    return respond(
        inbound_queue.queue_left(
            heard,
            form,
            store=inbound_store(),
            now=current_clock().now(),
            telephony=telephony(),
            leg_urls=leg_urls(heard.call_sid),
        )
    )


@voice_queue.route(f"{BASE}/whisper", methods=["POST"], content_types=FORM)
@webhook
def whisper(form: dict[str, str]) -> Response:
    """The agent's leg: who calls, and press 1 to accept (anything else: next agent)."""
    caller_sid = query_of(voice_queue, "call")
    try:
        told = inbound_queue.whisper(caller_sid, store=inbound_store())
    except Exception:
        logger.exception("whisper failed")
        told = inbound_queue.Whisper()
    accept_url = inbound_links().whisper_accept(caller_sid)
    return twiml(tw.whisper(load_catalog(told.language), accept_url, told.shop_name, told.order_number))


@voice_queue.route(f"{BASE}/whisper-accept", methods=["POST"], content_types=FORM)
@webhook
def whisper_accept(form: dict[str, str]) -> Response:
    if (form.get("Digits") or "") != "1":
        return twiml(render.hang_up())
    try:
        inbound_queue.agent_took_call(query_of(voice_queue, "call"), store=inbound_store(), now=current_clock().now())
    except Exception:
        logger.exception("could not note the agent's answer")
    return twiml(tw.bridge())


@voice_queue.route(f"{BASE}/dial-done", methods=["POST"], content_types=FORM)
@webhook
@guarded
def dial_done(form: dict[str, str]) -> Response:
    step = inbound_queue.agent_dial_ended(_heard(form), form, store=inbound_store(), now=current_clock().now())
    bridging.after_call(  # with no wrap-up the agent meets the next caller now (issue 17)
        form.get("CallSid", ""),
        _heard(form).agent_id,
        store=inbound_store(),
        calls=telephony(),
        links=inbound_links(),
        now=current_clock().now(),
    )
    return respond(step)


@voice_queue.route(f"{BASE}/survey", methods=["POST"], content_types=FORM)
@webhook
@guarded
def survey_answer(form: dict[str, str]) -> Response:
    catalog = load_catalog(_lang())
    if inbound.store_survey(form.get("CallSid", ""), form.get("Digits"), store=inbound_store()):
        return twiml(render.say_and_hang_up(catalog, "inbound_survey_thanks"))
    return twiml(render.say_and_hang_up(catalog, "goodbye"))


@voice_queue.route(f"{BASE}/recording", methods=["POST"], content_types=FORM)
@webhook
def recording_status(form: dict[str, str]) -> Response:
    return acknowledged(lambda: inbound.store_recording(form, store=inbound_store()), "recording callback not stored")


# ---- voicemail: the recording's action, its file ready, its transcription --------------------
@voice_queue.route(VOICEMAIL_PATH, methods=["POST"], content_types=FORM)
@webhook
def voicemail_recorded(form: dict[str, str]) -> Response:
    try:
        thanks = voicemail.message_recorded(form, store=inbound_store(), now=current_clock().now())
    except Exception:
        logger.exception("voicemail not stored")
        thanks = voicemail.Thanks("en", "inbound_voicemail_thanks")
    return twiml(render.say_and_hang_up(load_catalog(thanks.language), thanks.prompt))


@voice_queue.route(VOICEMAIL_READY_PATH, methods=["POST"], content_types=FORM)
@webhook
def voicemail_ready(form: dict[str, str]) -> Response:
    now = current_clock().now()
    return acknowledged(
        lambda: voicemail.recording_ready_callback(
            form, store=inbound_store(), now=now, mail=voicemail_mail(now), lookup=telephony().fetch_call
        ),
        "voicemail not handled",
    )


@voice_queue.route(VOICEMAIL_TRANSCRIPTION_PATH, methods=["POST"], content_types=FORM)
@webhook
def voicemail_transcribed(form: dict[str, str]) -> Response:
    now = current_clock().now()
    return acknowledged(
        lambda: voicemail.transcribed(form, store=inbound_store(), mail=voicemail_mail(now)),
        "voicemail transcription not handled",
    )
