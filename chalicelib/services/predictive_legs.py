"""A customer-first (predictive) call's conference (O8, #17): the answered customer and the
agent reserved for them meet in a room named for the call (the customer's call), as inbound
callers meet theirs, so the desk holds and transfers these calls too.

After the verdict (``predictive_dialer``) the customer waits in the room (the shop's music)
while the app places the reserved agent's own leg; the agent answering joins the room and the
call is theirs. The compliance rules are the dialer's as before: an agent who does not answer
is marked away and the customer counted dropped, hears the shop's apology and is called again
first; the line's phases and the day's counters are the ones ``domain.pacing`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain.predictive import CONNECTING, DROPPED, RINGING, TALKED
from chalicelib.domain.twilio_fields import FINAL_CALL_STATUSES, twilio_count
from chalicelib.domain.values import local_day
from chalicelib.observability import logger
from chalicelib.services.agent_dialer import TALKED as AGENT_TALKED
from chalicelib.services.conference_calls import AgentLegUrls, agent_address
from chalicelib.services.ports import CallControl, CallOutcomeUnknownError, OutboundCall, PredictiveStore, Telephony
from chalicelib.services.predictive_dialer import live_answer

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings

AGENT_MISSED_STATUSES = frozenset({"no-answer", "busy", "failed"})  # the agent's leg never answered


@dataclass(frozen=True)
class Connect:
    """What the customer's call does after the verdict."""

    action: str  # join (the room; the agent is rung) | apology | hang-up
    language: str


def connect(
    shop: ShopSettings,
    task_id: str,
    line_key: str,
    call_sid: str,
    *,
    store: PredictiveStore,
    telephony: Telephony,
    leg: AgentLegUrls,
    now: datetime,
) -> Connect:
    """Where the answered call goes: into the room while the reserved agent's leg rings, the
    apology, or nowhere. A call whose verdict never came (the answer TwiML's pause ran out) is
    taken as a person. The agent's leg is placed once, however often this step is reached."""
    task = store.get_task(task_id)
    language = task.language if task else shop.main_language
    line = store.get_line(shop.shop_id, line_key)
    if line is None:
        return Connect("hang-up", language)
    phase = line.phase
    if phase == RINGING:
        phase = live_answer(shop, task_id, line_key, call_sid, "unknown", None, store=store, now=now)
        line = store.get_line(shop.shop_id, line_key) or line
    if phase == DROPPED:
        return Connect("apology", language)
    if phase != CONNECTING or not line.agent_id:
        return Connect("hang-up", language)
    call = store.get_call(call_sid)
    if call is not None and call.agent_call_sid:
        return Connect("join", language)  # the agent's leg rings already
    agent = store.get_agent(shop.shop_id, line.agent_id)
    if agent is None:
        return Connect("apology", language)
    try:
        agent_sid = telephony.place_call(
            OutboundCall(
                to=agent_address(agent),
                from_=shop.caller_id or "",
                answer_url=leg.answer_url,
                status_url=leg.status_url,
                ring_timeout_seconds=shop.inbound.agent_ring_seconds,
                detect_machine=False,
            )
        )
    except CallOutcomeUnknownError:  # it may ring: its status callback settles it
        logger.warning("predictive agent leg outcome unknown", extra={"task_id": task_id})
        return Connect("join", language)
    except Exception:
        logger.exception("predictive agent leg not placed: dropped", extra={"task_id": task_id})
        _drop(shop, task_id, line_key, call_sid, line.agent_id, missed=False, store=store, now=now)
        return Connect("apology", language)
    store.update_call(call_sid, agent_call_sid=agent_sid)
    return Connect("join", language)


def agent_answered(shop: ShopSettings, line_key: str, call_sid: str, agent_sid: str, *, store: PredictiveStore) -> bool:
    """The agent picked up: True when the customer still waits (the agent joins the room and
    the call is talked); False when the customer is gone or was dropped meanwhile."""
    line = store.get_line(shop.shop_id, line_key)
    call = store.get_call(call_sid)
    if line is None or line.phase != CONNECTING or call is None or call.status in FINAL_CALL_STATUSES:
        return False
    store.update_call(call_sid, result=AGENT_TALKED, agent_call_sid=agent_sid)
    return True


def agent_leg_ended(
    shop: ShopSettings,
    task_id: str,
    line_key: str,
    call_sid: str,
    status: str,
    *,
    store: PredictiveStore,
    control: CallControl,
    apology_url: str,
    now: datetime,
) -> bool:
    """The agent's leg ended. Never answered (no answer, busy, failed) while the customer
    waits in the room: the agent is marked away (missed), the customer counted dropped and
    taken out of the room to the apology. True when so."""
    if status not in AGENT_MISSED_STATUSES:
        return False
    line = store.get_line(shop.shop_id, line_key)
    call = store.get_call(call_sid)
    if line is None or line.phase != CONNECTING or not line.agent_id or call is None or call.result == AGENT_TALKED:
        return False
    if not _drop(shop, task_id, line_key, call_sid, line.agent_id, missed=True, store=store, now=now):
        return False
    try:
        control.redirect_call(call_sid, apology_url)
    except Exception:  # the customer hung up meanwhile: their status ends the attempt
        logger.exception("dropped customer not redirected to the apology", extra={"task_id": task_id})
    return True


def _drop(
    shop: ShopSettings,
    task_id: str,
    line_key: str,
    call_sid: str,
    agent_id: str,
    *,
    missed: bool,
    store: PredictiveStore,
    now: datetime,
) -> bool:
    if not store.move_line(shop.shop_id, line_key, {CONNECTING}, DROPPED):
        return False
    store.count_day(shop.shop_id, local_day(now, shop.timezone), drops=1)
    store.update_call(call_sid, result="dropped")
    status = "away" if missed else "available"
    store.release_agent(shop.shop_id, agent_id, call_sid, status, now, timezone=shop.timezone, missed=missed)
    logger.warning("agent not reached for a live answer: dropped", extra={"task_id": task_id, "agent_id": agent_id})
    return True


def bridge_ended(
    shop: ShopSettings,
    task_id: str,
    line_key: str,
    form: dict[str, str],
    *,
    store: PredictiveStore,
    control: CallControl,
    now: datetime,
) -> bool:
    """The customer's Dial into the room ended; True when they talked. Talked: the task is done
    with ``agent-talked`` (the orders wait for the agent's outcome) and the agent who has the
    call (after a transfer, the second) goes to wrap-up. The customer left before the agent was
    in: the agent's ringing leg is called off (the call's status frees the agent)."""
    call_sid = form.get("CallSid", "")
    line = store.get_line(shop.shop_id, line_key)
    if line is None or line.phase != CONNECTING or not line.agent_id:
        return line is not None and line.phase == TALKED
    call = store.get_call(call_sid)
    if call is None or call.result != AGENT_TALKED:
        if call is not None and call.agent_call_sid:
            try:
                control.end_call(call.agent_call_sid)
            except Exception:
                logger.exception("ringing agent leg not ended", extra={"task_id": task_id})
        return False
    talk = twilio_count(form.get("DialCallDuration")) or 0
    if not store.move_line(
        shop.shop_id, line_key, {CONNECTING}, TALKED, handle_seconds=talk + shop.inbound.wrap_up_seconds
    ):
        return False
    store.end_attempt(task_id, call_sid, call_result="answered", requeue_at=None, final_result=AGENT_TALKED, now=now)
    agent_id = call.agent_id or line.agent_id
    store.release_agent(shop.shop_id, agent_id, call_sid, "wrap-up", now, timezone=shop.timezone, talked=True)
    return True
