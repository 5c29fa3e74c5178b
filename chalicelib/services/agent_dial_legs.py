"""An agent-first call's conference (O8, I6, #17): the agent and the customer meet in a room
named for the call (the agent's leg, the call record's SID), as inbound callers meet theirs.

The agent pressed 1 after the whisper: the agent waits in the room (silence) while the app
places the customer's leg with the shop's caller ID; the customer answering joins the room and
the call is talked (the task done with ``agent-talked``; the orders wait for the agent's
outcome, issue 5). The customer's leg is the call's ``customer_call_sid``, so the desk's hold
and transfers (``call_control``, ``transfers``) act on it as on an inbound caller. A customer
who does not answer: the shop's retry policy, and the agent is taken out of the room to hear
so. Whoever leaves the room ends it; the agent goes to wrap-up after a talk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from chalicelib.domain.robot import unanswered_result
from chalicelib.domain.twilio_fields import FINAL_CALL_STATUSES
from chalicelib.observability import logger
from chalicelib.services.agent_dialer import ACCEPTED, TALKED, end_by_policy
from chalicelib.services.ports import (
    AgentDialStore,
    CallControl,
    CallOutcomeUnknownError,
    CallStore,
    OutboundCall,
    Telephony,
)

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings


@dataclass(frozen=True)
class CustomerLegUrls:
    """The customer's leg's webhooks of one agent-first (or browser) call."""

    answer_url: str
    status_url: str


Accepted = Literal["ringing", "not-placed", "gone"]


def agent_accepted(
    shop: ShopSettings,
    task_id: str,
    call_sid: str,
    *,
    store: AgentDialStore,
    telephony: Telephony,
    urls: CustomerLegUrls,
    now: datetime,
) -> Accepted:
    """The agent pressed 1: the customer's phone rings (``ringing``: the agent waits in the
    room); ``not-placed`` when Twilio refused the customer's leg (the attempt ends unanswered,
    per the shop's policy); ``gone`` when the task is no longer this call's."""
    task = store.get_task(task_id)
    if task is None or task.state != "dialing" or task.last_call_sid != call_sid or not shop.caller_id:
        return "gone"
    store.update_call(call_sid, result=ACCEPTED, answered_at=now, agent_call_sid=call_sid)
    placed = place_customer_leg(shop, call_sid, task.phone, urls, store=store, telephony=telephony)
    if placed == "not-placed":
        end_by_policy(shop, task, call_sid, "failed", store=store, now=now)
    return placed


def place_customer_leg(
    shop: ShopSettings,
    call_sid: str,
    phone: str,
    urls: CustomerLegUrls,
    *,
    store: CallStore,
    telephony: Telephony,
) -> Literal["ringing", "not-placed"]:
    """Ring the customer of an agent's call (``call_sid``, the agent's leg, waiting in the
    room) with the shop's caller ID; the leg is the call's ``customer_call_sid``, which hold
    and transfers act on. An agent-first call's and a browser call's (``browser_call_legs``)."""
    try:
        customer_sid = telephony.place_call(
            OutboundCall(
                to=phone,
                from_=shop.caller_id or "",
                answer_url=urls.answer_url,
                status_url=urls.status_url,
                ring_timeout_seconds=shop.robot.ring_timeout_seconds,
                detect_machine=False,
            )
        )
    except CallOutcomeUnknownError:  # it may ring: its answer or status callback settles it
        logger.warning("customer leg outcome unknown", extra={"call_sid": call_sid})
        return "ringing"
    except Exception:
        logger.exception("customer leg not placed", extra={"call_sid": call_sid})
        return "not-placed"
    store.update_call(call_sid, customer_call_sid=customer_sid)
    return "ringing"


def customer_answered(task_id: str, call_sid: str, customer_sid: str, *, store: AgentDialStore, now: datetime) -> bool:
    """The customer picked up: True when the agent still waits for them (the call is talked
    and the customer joins the room); False when the agent is gone (the customer's call ends)."""
    task = store.get_task(task_id)
    call = store.get_call(call_sid)
    if task is None or call is None or task.state != "dialing" or task.last_call_sid != call_sid:
        return False
    if call.result != ACCEPTED or call.status in FINAL_CALL_STATUSES:
        return False
    store.mark_contacted(task_id)
    store.end_attempt(task_id, call_sid, call_result="answered", requeue_at=None, final_result=TALKED, now=now)
    store.update_call(call_sid, result=TALKED, customer_call_sid=customer_sid)
    logger.info("agent-first customer answered", extra={"task_id": task_id, "agent_id": call.agent_id})
    return True


def customer_leg_ended(
    shop: ShopSettings,
    task_id: str,
    call_sid: str,
    status: str,
    *,
    store: AgentDialStore,
    control: CallControl,
    missed_url: str,
    now: datetime,
) -> bool:
    """The customer's leg ended. Never answered (no answer, busy, failed): the shop's retry
    policy, and the agent, waiting in the room, is redirected to ``missed_url`` to hear so.
    True when so."""
    if status not in FINAL_CALL_STATUSES:
        return False
    task = store.get_task(task_id)
    call = store.get_call(call_sid)
    if task is None or call is None or call.result != ACCEPTED:
        return False
    if task.state != "dialing" or task.last_call_sid != call_sid:
        return False
    end_by_policy(shop, task, call_sid, unanswered_result(status, None), store=store, now=now)
    try:
        control.redirect_call(call_sid, missed_url)
    except Exception:  # the agent hung up meanwhile: their leg's status frees them
        logger.exception("agent not told of the missed customer", extra={"task_id": task_id})
    return True


def agent_left_room(
    shop: ShopSettings,
    agent_id: str,
    reservation: str,
    call_sid: str,
    *,
    store: AgentDialStore,
    control: CallControl,
    now: datetime,
) -> bool:
    """The agent's Dial into the room ended: the room ended (the customer hung up), the agent
    pressed *, or a transfer took them out. True when they talked to the customer (then
    wrap-up); a customer still ringing is called off (its status applies the retry policy)."""
    call = store.get_call(call_sid)
    if call is None:
        return False
    zone = shop.timezone
    if call.result == TALKED:
        store.release_agent(shop.shop_id, agent_id, reservation, "wrap-up", now, timezone=zone, talked=True)
        return True
    if call.result == ACCEPTED and call.customer_call_sid:
        try:
            control.end_call(call.customer_call_sid)
        except Exception:
            logger.exception("ringing customer leg not ended")
    store.release_agent(shop.shop_id, agent_id, reservation, "available", now, timezone=zone)
    return False


def customer_left_room(shop: ShopSettings, call_sid: str, *, store: AgentDialStore, now: datetime) -> None:
    """The customer's Dial into the room ended. After a transfer (or one under way) the call
    outlived the first agent's leg, its record's status: it ends now, and the agent who has it
    (reserved for the call itself, ``transfers``) goes to wrap-up. Without a transfer the
    agent's own leg ends the call (``agent_left_room``, ``agent_dialer.agent_leg_status``)."""
    call = store.get_call(call_sid)
    if call is None or call.result != TALKED or call.ended_at is not None:
        return  # ended already: a transfer that found nobody (``conference_calls.call_back_after_transfer``)
    if not (call.transfer_to or len(call.handled_by or []) > 1):
        return
    store.update_call(call_sid, status="completed", ended_at=now)
    if call.agent_id:
        store.release_agent(shop.shop_id, call.agent_id, call_sid, "wrap-up", now, timezone=shop.timezone, talked=True)


def may_key_outcome(call_sid: str, agent_id: str, *, store: AgentDialStore) -> bool:
    """Whether the agent leaving the room still has the call (not handed over by a transfer)."""
    call = store.get_call(call_sid)
    return call is not None and call.agent_id == agent_id and not call.transfer_to
