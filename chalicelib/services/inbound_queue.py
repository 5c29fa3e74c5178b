"""The agent queue of a call to a shop's number (I5-I10), one use case per webhook: entering
the queue, each round of the wait music, the caller's choice while waiting, leaving the queue
for an agent (or a callback, a voicemail), the agent's whisper and the end of their Dial.

Each returns what the caller hears next as a small step (``Goodbye``, ``LeaveMessage``,
``Queued``, ``DialAgent``, ``Survey``) that the web layer renders as TwiML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.domain.ivr import choose
from chalicelib.domain.routing import Agent, agent_language, staffed
from chalicelib.domain.twilio_fields import twilio_count, twilio_fraction
from chalicelib.services import conference_calls, inbound
from chalicelib.services.conference_calls import LegUrls
from chalicelib.services.inbound import CallContext, HoldRound
from chalicelib.services.ports import InboundStore, Telephony
from chalicelib.voice.catalog import load_catalog


@dataclass(frozen=True)
class Heard:
    """What a webhook of an inbound call brings: the call, the caller's language, what they
    keyed or said, and what the (signed) query carries on: the menu's try (None when absent),
    the order, the instant a slot menu was read (seconds), the agent dialled; and how sure
    Twilio was of the words."""

    call_sid: str
    language: str = "en"
    digits: str | None = None
    speech: str | None = None
    attempt: str | None = None
    order_id: str = ""
    as_of: str = "0"
    agent_id: str = ""
    confidence: str | None = None  # Twilio's for the speech

    @property
    def given(self) -> bool:
        return bool(self.digits or self.speech)

    def choice(self, options: Mapping[str, str], hints: Mapping[str, str] | None = None) -> str | None:
        return choose(self.digits, self.speech, options, hints, twilio_fraction(self.confidence))

    def tries(self, default: str = "0") -> str:
        return default if self.attempt is None else self.attempt


@dataclass(frozen=True)
class Goodbye:
    """Say ``prompt`` in ``language`` (nothing when None) and hang up."""

    language: str
    prompt: str | None = None


@dataclass(frozen=True)
class LeaveMessage:
    """Record a voicemail (and ask Twilio for its text where the shop wants it)."""

    language: str
    transcribe: bool = False


@dataclass(frozen=True)
class Queued:
    """The caller is in ``queue`` (after ``prompt``, if any)."""

    language: str
    queue: str
    prompt: str | None


@dataclass(frozen=True)
class DialAgent:
    """Ring the agent reserved for the caller (the whisper on their leg first)."""

    language: str
    call_sid: str
    agent: Agent
    ring_seconds: int
    record: bool


@dataclass(frozen=True)
class JoinConference:
    """Wait in the call's conference (music) while the agent's own leg rings (#17)."""

    language: str
    call_sid: str  # the conference is named for the call
    agent_id: str
    record: bool


@dataclass(frozen=True)
class Survey:
    """After the conversation: the one-key satisfaction survey."""

    language: str


@dataclass(frozen=True)
class Whisper:
    """What the agent hears before taking the call."""

    language: str = "en"
    shop_name: str = ""
    order_number: str | None = None


def call_context(call_sid: str, *, store: InboundStore) -> CallContext:
    ctx = inbound.context(call_sid, store=store)
    if ctx is None:
        raise LookupError("inbound step for a call with no record")
    return ctx


def callback_or_voicemail(heard: Heard) -> str | None:
    """1 or "call me back" -> callback, 2 or "voicemail" -> voicemail (after hours, in the queue)."""
    catalog = load_catalog(heard.language)
    return heard.choice(
        {"1": "callback", "2": "voicemail"},
        {"callback": catalog.text("inbound_speech_callback"), "voicemail": catalog.text("inbound_speech_voicemail")},
    )


# Said on the way into the queue when nobody of the group is at work: the queue's first round
# then says that nobody can answer, so "connecting you to an agent" would be a false promise.
WITH_NOBODY_AT_WORK = {"inbound_please_hold": None, "inbound_order_unchanged": "inbound_order_locked"}


def queue_caller(ctx: CallContext, language: str, prompt: str | None, *, store: InboundStore, now: datetime) -> Queued:
    inbound.enter_queue(ctx, store=store, now=now)
    if prompt in WITH_NOBODY_AT_WORK and not staffed(store.list_agents(ctx.shop.shop_id), ctx.call.group or "main"):
        prompt = WITH_NOBODY_AT_WORK[prompt]
    return Queued(language, inbound.queue_name(ctx), prompt)


def hold(call_sid: str, queue_seconds: int, *, store: InboundStore, now: datetime) -> HoldRound:
    """One round of the wait music (``inbound.hold_round``), with the shop's music."""
    ctx = call_context(call_sid, store=store)
    held = inbound.hold_round(ctx, queue_seconds, store=store, now=now)
    return replace(held, music_url=ctx.shop.inbound.hold_music_url)


def wait_choice(heard: Heard, *, store: InboundStore, now: datetime) -> bool:
    """A key while waiting: a callback or a voicemail takes the caller out of the queue (True);
    nothing chosen: back to the music (False)."""
    ctx = call_context(heard.call_sid, store=store)
    choice = callback_or_voicemail(heard)
    if choice == "callback":
        inbound.request_callback(ctx, store=store, now=now)
    elif choice == "voicemail":
        inbound.wants_voicemail(ctx, store=store)
    return choice is not None


def queue_left(
    heard: Heard,
    form: dict[str, str],
    *,
    store: InboundStore,
    now: datetime,
    telephony: Telephony | None = None,
    leg_urls: LegUrls | None = None,
) -> DialAgent | JoinConference | Queued | Goodbye | LeaveMessage:
    """The Enqueue ended (its ``QueueResult`` and ``QueueTime``): the reserved agent is rung
    (or, gone meanwhile, the caller queued again), a callback is confirmed, a caller who hung
    up gets nothing, the rest a voicemail. With ``telephony`` the agent's leg is the app's own
    and the two meet in a conference (``conference_calls``); without, the caller dials them."""
    ctx, language = call_context(heard.call_sid, store=store), heard.language
    queue_seconds = twilio_count(form.get("QueueTime")) or 0
    nxt = inbound.left_queue(ctx, form.get("QueueResult", ""), queue_seconds, store=store, now=now)
    if nxt == "agent":
        return meet_reserved_agent(ctx, language, store=store, now=now, telephony=telephony, leg_urls=leg_urls)
    if nxt == "callback":
        return Goodbye(language, "inbound_callback_confirmed")
    if nxt == "gone":
        return Goodbye(language)
    return LeaveMessage(language, ctx.shop.inbound.voicemail_transcription)


def meet_reserved_agent(
    ctx: CallContext,
    language: str,
    *,
    store: InboundStore,
    now: datetime,
    telephony: Telephony | None = None,
    leg_urls: LegUrls | None = None,
) -> DialAgent | JoinConference | Queued:
    """The caller out of the queue (``result`` connecting) meets the agent reserved for them:
    with ``telephony`` the app places the agent's own leg and the caller waits in the call's
    conference (``conference_calls``); without, the caller dials them. With the reservation
    gone, or the agent's leg refused by Twilio, the caller is queued again at their place.
    Used by the queue's exit and by ``/bridge`` (``services.bridging``)."""
    agent = inbound.reserved_agent(ctx, store=store)
    if agent is None:
        return queue_caller(ctx, language, None, store=store, now=now)
    policy = ctx.shop.inbound
    if telephony is not None and leg_urls is not None:
        if not conference_calls.ring_agent(ctx, agent, telephony=telephony, urls=leg_urls, store=store, now=now):
            return queue_caller(ctx, language, None, store=store, now=now)
        return JoinConference(language, ctx.call.call_sid, agent.agent_id, policy.record_calls)
    return DialAgent(language, ctx.call.call_sid, agent, policy.agent_ring_seconds, policy.record_calls)


def whisper(caller_sid: str, *, store: InboundStore) -> Whisper:
    """What the agent reserved for the caller hears, in the agent's language."""
    ctx = inbound.context(caller_sid, store=store)
    if ctx is None:
        return Whisper()
    orders = inbound.active_orders(ctx, store=store)
    agent = store.get_agent(ctx.shop.shop_id, ctx.call.agent_id) if ctx.call.agent_id else None
    language = agent_language(agent, ctx.shop.main_language)
    return Whisper(language, ctx.shop.name, orders[0].order_number if orders else None)


def agent_took_call(caller_sid: str, *, store: InboundStore, now: datetime) -> None:
    ctx = inbound.context(caller_sid, store=store)
    if ctx is not None:
        inbound.agent_accepted(ctx, store=store, now=now)


def agent_dial_ended(
    heard: Heard, form: dict[str, str], *, store: InboundStore, now: datetime
) -> Survey | Goodbye | Queued:
    """The Dial to the agent ended (``inbound.dial_ended``): the survey or goodbye after a
    conversation, else back in the queue at the caller's original place."""
    ctx, language = call_context(heard.call_sid, store=store), heard.language
    if form.get("RecordingSid"):
        inbound.store_recording(form, store=store)
    outcome = inbound.dial_ended(
        ctx,
        heard.agent_id,
        form.get("DialCallStatus", ""),
        form.get("DialBridged", "").lower() == "true",
        (twilio_count(form.get("DialCallDuration")) or 0),
        store=store,
        now=now,
    )
    if outcome.talked:
        return Survey(language) if ctx.shop.inbound.survey else Goodbye(language, "goodbye")
    refreshed = inbound.context(ctx.call.call_sid, store=store) or ctx
    return queue_caller(refreshed, language, "inbound_agent_missed", store=store, now=now)
