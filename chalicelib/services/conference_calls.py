"""Inbound calls meet their agent in a conference named for the call (#17).

The caller leaves the queue into ``<Dial><Conference>`` (music until the agent is in) while the
app places the agent's own leg through the REST API: the whisper, 1 to accept, then the same
conference. The agent's leg is the app's, so it outlives the caller (a phone-only agent keys
the outcome after the caller hangs up, #16 item 8), and the app can hold the caller and
transfer the call. An agent who does not answer, declines, or whose leg cannot be placed is
missed as before: marked away, and the caller goes back to the queue at the original place.

A transfer that finds nobody once the first agent has left (``transfers``, ``outside_transfers``)
sends an inbound caller back to the queue at their place. An outbound call's customer (callback,
agent-first, predictive: the app's REST leg) cannot wait there: the queue's steps, its hang-up
and its lost-call callback are keyed by a caller's own inbound call, while this leg's progress
belongs to the dialer that placed it (and for an agent-first call the record is the agent's
leg, gone). So the customer hears an apology and that an agent will call back (or, a number
that takes no callback, to call again), and a callback task is made at once
(``call_back_after_transfer``), due from the call's arrival: a callback's call keeps its
original place in its group's queue (I6); another call's (no group) is taken by the next free
agent under the shop's callback rules. One task per call (its id is the call's):
a repeated webhook adds nothing. A record that is the first agent's leg (agent-first, browser
call) ends then, as nobody talks to the customer again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.entities import Call
from chalicelib.domain.queue import QueueEntry
from chalicelib.domain.routing import Agent
from chalicelib.observability import logger
from chalicelib.services import inbound
from chalicelib.services.inbound import CallContext
from chalicelib.services.ports import (
    CallbackRequests,
    CallControl,
    CallOutcomeUnknownError,
    InboundStore,
    OutboundCall,
    Telephony,
)

FINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


@dataclass(frozen=True)
class AgentLegUrls:
    """Where the agent's leg asks for its TwiML and reports its progress."""

    answer_url: str
    status_url: str


LegUrls = Callable[[str], AgentLegUrls]  # agent id -> the leg's URLs
# (language, whether a callback was made) -> the apology after a transfer that found nobody
ApologyUrl = Callable[[str, bool], str]


# An agent talks to the caller in the call's conference: an inbound caller given to the agent,
# an agent-first call whose customer answered (``agent_dialer``), a customer-first call whose
# agent answered (``predictive_legs``).
TALKING_RESULTS = frozenset({"agent", "agent-talked"})


def caller_leg(call: Call) -> str:
    """The caller's leg in the call's conference (the room is named for the call): the call
    itself when the caller rang in or a customer-first call, the app's leg to the customer of
    an agent-first call."""
    return call.customer_call_sid or call.call_sid


def agent_talking(call: Call) -> bool:
    """The caller and the call's agent are both in the room (hold and transfer act on it)."""
    if not call.agent_call_sid or call.result not in TALKING_RESULTS:
        return False
    return call.direction != "outbound-agent" or bool(call.customer_call_sid)


def call_back_after_transfer(
    ctx: CallContext,
    *,
    store: CallbackRequests,
    control: CallControl,
    apology_url: ApologyUrl,
    now: datetime,
) -> str | None:
    """An outbound call's transfer found nobody and its first agent has left: the customer hears
    the apology (``apology_url``) and a callback task keeps their place. Its id; None when the
    number takes no callback (withheld, or one the shop never calls): then the apology promises
    none."""
    call, shop = ctx.call, ctx.shop
    language = call.language or shop.main_language
    task_id = call.callback_task_id
    if task_id is None and inbound.can_call_back(ctx):
        task_id = inbound.callback_task_id(call.call_sid)
        arrived = call.queued_at or call.created_at
        created = store.insert_callback_task(task_id, shop.shop_id, call.customer_phone, language, arrived, now)
        if created and call.group:  # a callback's group: its place there (I6); else any agent takes it
            entry = QueueEntry(shop.shop_id, call.group, "callback", task_id, call.customer_phone, language, arrived)
            store.add_queue_entry(entry)
        store.update_call(call.call_sid, callback_task_id=task_id)  # the call keeps its result (talked)
    _end_agents_leg_record(call, store=store, now=now)
    logger.info("transfer found nobody: the customer hears the apology", extra={"task_id": task_id})
    control.redirect_call(caller_leg(call), apology_url(language, task_id is not None))
    return task_id


def _end_agents_leg_record(call: Call, *, store: CallbackRequests, now: datetime) -> None:
    """A record that is the first agent's leg (agent-first, browser call) ends here: that leg's
    end was skipped as a transfer's, and the customer's leg, redirected to the apology, reports
    no end of the room (Twilio requests no Dial action for a redirected call). Nobody talks to
    the customer again. The record keeps its result and ``handled_by``."""
    if call.agent_call_sid != call.call_sid or call.ended_at is not None:
        return  # a customer-first call's record is the customer's leg: its own status ends it
    since = call.answered_at or call.created_at
    talk = max(int((now - since).total_seconds()), 0)
    store.update_call(call.call_sid, status="completed", ended_at=now, duration_seconds=talk)


def agent_address(agent: Agent) -> str:
    return f"client:{agent.client_identity}" if agent.client_identity else agent.phone or ""


def ring_agent(
    ctx: CallContext, agent: Agent, *, telephony: Telephony, urls: LegUrls, store: InboundStore, now: datetime
) -> bool:
    """Place the reserved agent's leg; False when Twilio refused it (the agent is released and
    the caller stays in the queue). Once per reservation: a hold round that found the bridging
    redirect overdue takes the caller out by the queue's exit, and the redirect may still come
    (``/bridge``); the second finds the leg placed and the caller just joins the room (two legs
    would ring the agent twice, and the call would keep the leg not in the room)."""
    call, shop = ctx.call, ctx.shop
    since = agent.status_since.isoformat() if agent.status_since else ""
    if not store.claim_agent_leg(call.call_sid, f"{agent.agent_id}@{since}"):
        logger.info("agent's leg already placed for this reservation", extra={"agent_id": agent.agent_id})
        return True
    leg = urls(agent.agent_id)
    try:
        agent_call_sid = telephony.place_call(
            OutboundCall(
                to=agent_address(agent),
                from_=call.shop_number,
                answer_url=leg.answer_url,
                status_url=leg.status_url,
                ring_timeout_seconds=shop.inbound.agent_ring_seconds,
                detect_machine=False,
            )
        )
    except CallOutcomeUnknownError:  # it may ring: its status callback settles it
        logger.warning("agent leg outcome unknown", extra={"agent_id": agent.agent_id})
        return True
    except Exception:
        logger.exception("agent leg not placed: the caller stays queued", extra={"agent_id": agent.agent_id})
        store.release_agent(shop.shop_id, agent.agent_id, call.call_sid, "available", now, timezone=shop.timezone)
        store.update_call(call.call_sid, result="queued")
        return False
    store.update_call(call.call_sid, agent_call_sid=agent_call_sid)
    return True


def agent_may_join(caller_sid: str, agent_id: str, *, store: InboundStore, now: datetime) -> CallContext | None:
    """The agent pressed 1: still the caller's agent, and the caller still there? Then the
    call is the agent's (answered now) and the agent joins the conference."""
    ctx = inbound.context(caller_sid, store=store)
    if ctx is None:
        return None
    call = ctx.call
    if call.status in FINAL_CALL_STATUSES or call.result != "connecting" or call.agent_id != agent_id:
        logger.info("agent accepted a call no longer theirs", extra={"agent_id": agent_id, "result": call.result})
        return None
    inbound.agent_accepted(ctx, store=store, now=now)
    return ctx


def agent_leg_ended(
    caller_sid: str,
    agent_id: str,
    status: str,
    *,
    store: InboundStore,
    control: CallControl,
    requeue_url: Callable[[str], str],
    now: datetime,
) -> bool:
    """The agent's leg ended (its final status callback). Before the agent took the call (no
    answer, busy, declined the whisper): the agent is missed and the caller, still waiting in
    the conference, is sent back to the queue (``requeue_url(language)``). True when so."""
    if status not in FINAL_CALL_STATUSES:
        return False
    ctx = inbound.context(caller_sid, store=store)
    if ctx is None or ctx.call.result != "connecting" or ctx.call.agent_id != agent_id:
        return False
    if ctx.call.status in FINAL_CALL_STATUSES:
        return False  # the caller hung up first: not the agent's miss (the caller's status callback freed them)
    inbound.dial_ended(ctx, agent_id, status, False, 0, store=store, now=now)
    control.redirect_call(caller_sid, requeue_url(ctx.call.language or ctx.shop.main_language))
    return True


def caller_left(
    caller_sid: str, agent_id: str, duration: int, *, store: InboundStore, now: datetime
) -> tuple[bool, bool]:
    """The caller's Dial into the conference ended. After a talk with the agent (who took the
    call) the agent goes to wrap-up; returns (talked, the shop's survey follows)."""
    ctx = inbound.context(caller_sid, store=store)
    if ctx is None:
        return False, False
    agent_id = ctx.call.agent_id or agent_id  # after a transfer, the agent who has the call now
    if ctx.call.result != "agent" or not agent_id:
        return False, False
    inbound.dial_ended(ctx, agent_id, "completed", True, duration, store=store, now=now)
    return True, ctx.shop.inbound.survey


def stop_ringing_agent(caller_sid: str, *, store: InboundStore, control: CallControl) -> bool:
    """The caller left the conference before the agent took the call: the agent's phone stops
    ringing (or the whisper ends) instead of the agent joining an empty room. True when so."""
    call = store.get_call(caller_sid)
    if call is None or call.result != "connecting" or not call.agent_call_sid:
        return False
    control.end_call(call.agent_call_sid)
    return True
