"""Customer-first (predictive) dialing of agent tasks (O8) for shops whose dialing policy says
``agent_pacing = "predictive"``.

Each minute tick and each change on the tasks stream, the shop's pacing snapshot is built from
what is stored (agents and their times, the lines in flight, recent answer and handle-time
statistics, today's drops and live answers) and :func:`chalicelib.domain.pacing.decide` - the
function the simulator in ``bench/dialer.py`` runs - says how many customers to call. Each call
goes out with Twilio's asynchronous answering-machine detection: the customer hears a moment
of silence while Twilio listens, then

* a person (or an undecided verdict): an available agent is reserved atomically and the call
  is redirected to the call's conference while the app rings the agent into it
  (``predictive_legs``, #17); when none can be reserved the customer hears a short
  apology naming the shop, the call ends, the day's drop counter goes up and the task is dialed
  again before any other, a few minutes later, without counting the attempt;
* a machine: the call is hung up and the shop's retry policy applies (``retry_minutes.machine``);
* no answer, busy, failed: the shop's retry policy.

While a customer's phone rings, inbound routing leaves a free agent for the call
(:func:`chalicelib.domain.routing.free_beyond_customer_lines`): an inbound caller who reaches the queue
meanwhile waits the few seconds until the customer answers or not, rather than taking the agent
the answered customer then needs; the pacing in turn places no call on agents whose group has
callers waiting.

One live call per customer: the task is claimed (queued -> dialing, conditional) before its
call is placed and stays dialing until that call has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chalicelib.domain.calling_hours import next_calling_time
from chalicelib.domain.entities import Call
from chalicelib.domain.pacing import PacingDecision, decide
from chalicelib.domain.phones import number_time_zone
from chalicelib.domain.predictive import (
    CONNECTING,
    DROPPED,
    MACHINE,
    RINGING,
    STALE_LINE,
    UNANSWERED,
    DayCounts,
    build_snapshot,
    dial_order,
    dropped_task_ids,
)
from chalicelib.domain.robot import unanswered_result
from chalicelib.domain.routing import Agent, idle_since, is_free
from chalicelib.domain.twilio_fields import FINAL_CALL_STATUSES, twilio_count
from chalicelib.domain.values import local_day
from chalicelib.observability import logger
from chalicelib.services.agent_dialer import end_by_policy, end_do_not_call
from chalicelib.services.destinations import refused_contact
from chalicelib.services.paced_telephony import CallRateLimitedError
from chalicelib.services.ports import (
    CallControl,
    CallOutcomeUnknownError,
    OutboundCall,
    PredictiveStore,
    PredictiveUrls,
    Telephony,
)

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings

DIRECTION = "outbound-predictive"
DUE_LOOKAHEAD = 100
RECENT_LINES = 300
NOT_PLACED = "not-placed"  # Twilio refused or was unreachable: no call, not a statistic
TEMPORARY_FAILURE_BACKOFF = timedelta(minutes=1)
# A dropped customer is called again first, but not while still hearing the apology.
DROP_REDIAL_DELAY = timedelta(minutes=2)
AMD_WAIT_SECONDS = 5  # silence on the answered call while Twilio decides person or machine
LATE_SEQUENCE = 1_000_000  # a status fetched by the sweep comes after any real callback


@dataclass(frozen=True)
class PacingRun:
    decision: PacingDecision | None  # None: the shop does not dial agent tasks customer-first
    placed: list[str]
    today: DayCounts


def is_predictive(shop: ShopSettings) -> bool:
    return shop.dialing.agent_pacing == "predictive"


# ---- pacing and placing --------------------------------------------------------------------
def pace(
    shop: ShopSettings, *, store: PredictiveStore, telephony: Telephony, urls: PredictiveUrls, now: datetime
) -> PacingRun:
    """Decide how many customers to call now and call them, dropped customers first."""
    today = store.day_counts(shop.shop_id, local_day(now, shop.timezone))
    if not is_predictive(shop) or not shop.caller_id:
        return PacingRun(None, [], today)
    agents = store.list_agents(shop.shop_id)
    groups = sorted({group for agent in agents for group in agent.groups})
    with_callers = {g for g in groups if any(e.kind == "caller" for e in store.queue_entries(shop.shop_id, g))}
    lines = store.recent_lines(shop.shop_id, RECENT_LINES)
    snapshot = build_snapshot(shop, agents=agents, lines=lines, today=today, groups_with_callers=with_callers, now=now)
    decision = decide(snapshot)
    placed: list[str] = []
    if decision.calls_to_place > 0:
        due = store.due_tasks(shop.shop_id, "agent", now, DUE_LOOKAHEAD)
        for task in dial_order(due, shop.dialing.priority_variant, dropped_task_ids(lines)):
            if len(placed) >= decision.calls_to_place:
                break
            try:
                sid = place_customer_call(shop, task.task_id, store=store, telephony=telephony, urls=urls, now=now)
            except CallRateLimitedError:
                break  # the account's calls per second are spent: the next trigger goes on
            if sid:
                placed.append(sid)
    logger.info(
        "predictive pacing",
        extra={"shop_id": shop.shop_id, "mode": decision.mode_used, "placed": len(placed), "reason": decision.reason},
    )
    return PacingRun(decision, placed, today)


def place_customer_call(
    shop: ShopSettings,
    task_id: str,
    *,
    store: PredictiveStore,
    telephony: Telephony,
    urls: PredictiveUrls,
    now: datetime,
) -> str | None:
    """Claim the agent task and call its customer with async machine detection; the CallSid or None."""
    task = store.get_task(task_id)
    if task is None or task.kind != "agent" or task.state != "queued" or not task.order_ids:
        return None
    if task.due_at is not None and task.due_at > now:
        return None
    zone = ZoneInfo(number_time_zone(task.phone) or shop.timezone)
    opening = next_calling_time(now, zone, shop.calling_hours)
    if opening > now:
        store.defer_person_task(task_id, opening)
        return None
    refused = refused_contact(shop, task.phone)  # the last line against toll fraud
    if refused or store.is_do_not_call(shop.shop_id, task.phone):
        end_do_not_call(shop, task, store=store, now=now, refused=refused)
        return None
    claimed = store.claim_person_task(task_id, now, with_orders=True)
    if claimed is None:  # another dialer took it: one live call per customer
        return None
    line = store.add_line(shop.shop_id, task_id, now)  # before the call: its webhooks may outrun us
    try:
        call_sid = telephony.place_call(
            OutboundCall(
                to=claimed.phone,
                from_=shop.caller_id or "",
                answer_url=urls.answer(task_id, line),
                status_url=urls.status(task_id, line),
                ring_timeout_seconds=shop.robot.ring_timeout_seconds,
                detect_machine=True,
                async_amd_url=urls.amd(task_id, line),
            )
        )
    except CallOutcomeUnknownError:
        logger.warning("customer call outcome unknown; waiting for Twilio", extra={"task_id": task_id})
        return None  # its webhooks, or the sweep, settle it
    except Exception as error:  # refused, throttled or unreachable: no call exists, the attempt does not count
        logger.warning(
            "customer call not placed; task back uncounted", extra={"task_id": task_id, "reason": str(error)}
        )
        store.move_line(shop.shop_id, line, {RINGING}, NOT_PLACED)
        store.return_person_task(task_id, None, "queued", now + TEMPORARY_FAILURE_BACKOFF)
        if isinstance(error, CallRateLimitedError):
            raise
        return None
    store.attach_call(task_id, call_sid)
    store.update_line(shop.shop_id, line, call_sid=call_sid)
    call = Call.to_customer_of(claimed, call_sid, DIRECTION, shop.caller_id or "", now, shop.timezone)
    store.upsert_call(call, language=claimed.language)
    store.note_first_dial(shop.shop_id, claimed.call_order_ids, now)
    store.count_day(shop.shop_id, local_day(now, shop.timezone), dials=1)
    logger.info("customer-first call placed", extra={"task_id": task_id, "call_sid": call_sid})
    return call_sid


# ---- the customer's call (webhooks) --------------------------------------------------------
def customer_answered(
    shop: ShopSettings, line_key: str, call_sid: str, *, store: PredictiveStore, now: datetime
) -> bool:
    """Twilio picked up (the verdict is still to come); False when the line is over already."""
    line = store.get_line(shop.shop_id, line_key)
    if line is None or line.phase != RINGING:
        return False
    store.update_line(shop.shop_id, line_key, call_sid=call_sid, answered_at=now)
    return True


def machine_verdict(
    shop: ShopSettings,
    task_id: str,
    line_key: str,
    form: dict[str, str],
    *,
    store: PredictiveStore,
    telephony: CallControl,
    urls: PredictiveUrls,
    now: datetime,
) -> str:
    """The async machine-detection verdict: bridge a person, drop them, or hang up on a machine.
    Returns the line's phase after it (unchanged for a repeated or late verdict)."""
    call_sid = form.get("CallSid", "")
    answered_by = form.get("AnsweredBy", "unknown")
    millis = twilio_count(form.get("MachineDetectionDuration"))
    seconds = millis / 1000.0 if millis is not None else None
    if answered_by.startswith(("machine", "fax")):
        line = store.get_line(shop.shop_id, line_key)
        if line is None or not store.move_line(shop.shop_id, line_key, {RINGING}, MACHINE, amd_seconds=seconds):
            return line.phase if line else "unknown"
        store.update_call(call_sid, answered_by=answered_by)
        telephony.end_call(call_sid)
        logger.info("machine answered a customer-first call", extra={"task_id": task_id, "call_sid": call_sid})
        return MACHINE
    phase = live_answer(shop, task_id, line_key, call_sid, answered_by, seconds, store=store, now=now)
    if phase in (CONNECTING, DROPPED):
        try:
            telephony.redirect_call(call_sid, urls.connect(task_id, line_key))
        except Exception:  # the answer TwiML's own redirect reaches the same place a moment later
            logger.exception("redirect after the verdict failed", extra={"call_sid": call_sid})
    return phase


def live_answer(
    shop: ShopSettings,
    task_id: str,
    line_key: str,
    call_sid: str,
    answered_by: str,
    amd_seconds: float | None,
    *,
    store: PredictiveStore,
    now: datetime,
) -> str:
    """A person answered: reserve an agent (conditional write) or count a drop. The line's phase."""
    line = store.get_line(shop.shop_id, line_key)
    if line is None:
        return "unknown"
    if line.phase != RINGING:
        return line.phase
    task = store.get_task(task_id)
    language = task.language if task else shop.main_language
    agent = _reserve_agent(shop, call_sid, language, store=store, now=now)
    day = local_day(now, shop.timezone)
    if agent is not None:
        if not store.move_line(
            shop.shop_id,
            line_key,
            {RINGING},
            CONNECTING,
            agent_id=agent.agent_id,
            reservation=call_sid,
            amd_seconds=amd_seconds if amd_seconds is not None else 0.0,
        ):  # someone else settled the line meanwhile: give the agent back
            store.release_agent(shop.shop_id, agent.agent_id, call_sid, "available", now, timezone=shop.timezone)
            return _phase(store, shop, line_key)
        store.count_day(shop.shop_id, day, live_answers=1)
        store.mark_contacted(task_id)
        if task is not None and task.call_order_ids:
            store.mark_orders(shop.shop_id, task.call_order_ids, reached=True)
        store.update_call(call_sid, answered_by=answered_by, answered_at=now, agent_id=agent.agent_id)
        logger.info("live answer bridged to an agent", extra={"task_id": task_id, "agent_id": agent.agent_id})
        return CONNECTING
    if not store.move_line(shop.shop_id, line_key, {RINGING}, DROPPED, amd_seconds=amd_seconds or 0.0):
        return _phase(store, shop, line_key)
    store.count_day(shop.shop_id, day, live_answers=1, drops=1)
    store.update_call(call_sid, answered_by=answered_by, answered_at=now, result="dropped")
    logger.warning("live answer dropped: no agent free", extra={"task_id": task_id, "call_sid": call_sid})
    return DROPPED


def _phase(store: PredictiveStore, shop: ShopSettings, line_key: str) -> str:
    line = store.get_line(shop.shop_id, line_key)
    return line.phase if line else "unknown"


def _reserve_agent(
    shop: ShopSettings, call_sid: str, language: str, *, store: PredictiveStore, now: datetime
) -> Agent | None:
    """The free agent who takes the customer: their language first, longest idle first; the
    reservation is the customer's CallSid."""
    wrap = shop.inbound.wrap_up_seconds
    free = [a for a in store.list_agents(shop.shop_id) if is_free(a, now, wrap)]
    for agent in sorted(free, key=lambda a: (language not in a.languages, idle_since(a))):
        if store.reserve_agent(agent, call_sid, now, wrap_up_seconds=wrap, timezone=shop.timezone):
            return agent
    return None


def call_status(
    shop: ShopSettings,
    task_id: str,
    line_key: str,
    form: dict[str, str],
    *,
    store: PredictiveStore,
    now: datetime,
) -> None:
    """Status callbacks of the customer's call; its end ends the attempt by the line's phase."""
    call_sid = form.get("CallSid", "")
    status = form.get("CallStatus", "")
    fields: dict[str, Any] = {"status": status}
    duration = twilio_count(form.get("CallDuration"))
    if duration is not None:
        fields["duration_seconds"] = duration
    if form.get("AnsweredBy"):
        fields["answered_by"] = form["AnsweredBy"]
    final = status in FINAL_CALL_STATUSES
    if final:
        fields["ended_at"] = now
    if store.get_call(call_sid) is not None:
        store.apply_call_status(call_sid, twilio_count(form.get("SequenceNumber")) or 0, **fields)
    if not final:
        return
    store.attach_call(task_id, call_sid)  # a create that timed out still ties its call to the task
    line = store.get_line(shop.shop_id, line_key)
    if line is None:
        return
    store.update_line(shop.shop_id, line_key, ended_at=now)
    if line.phase == RINGING:
        if store.move_line(shop.shop_id, line_key, {RINGING}, UNANSWERED, call_sid=call_sid):
            _retry_by_policy(shop, task_id, call_sid, unanswered_result(status, form.get("AnsweredBy")), store, now)
    elif line.phase == MACHINE:
        _retry_by_policy(shop, task_id, call_sid, "machine", store, now)
    elif line.phase == DROPPED:
        # Our fault, not the customer's: the attempt does not count and they are called first.
        if store.return_person_task(task_id, call_sid, "queued", now + DROP_REDIAL_DELAY):
            logger.info("dropped customer rescheduled first", extra={"task_id": task_id})
    elif (
        line.phase == CONNECTING and line.agent_id and store.move_line(shop.shop_id, line_key, {CONNECTING}, UNANSWERED)
    ):
        # The customer hung up before the agent was bridged: the agent is free again.
        store.release_agent(
            shop.shop_id, line.agent_id, line.reservation or call_sid, "available", now, timezone=shop.timezone
        )
        store.return_person_task(task_id, call_sid, "queued", now + DROP_REDIAL_DELAY)


def _retry_by_policy(
    shop: ShopSettings, task_id: str, call_sid: str, result: Any, store: PredictiveStore, now: datetime
) -> None:
    task = store.get_task(task_id)
    if task is None or task.state != "dialing" or task.last_call_sid != call_sid:
        return  # a repeated callback: the attempt is over already
    end_by_policy(shop, task, call_sid, result, store=store, now=now)


# ---- lost callbacks --------------------------------------------------------------------------
def sweep_lines(shop: ShopSettings, *, store: PredictiveStore, telephony: Telephony, now: datetime) -> list[str]:
    """Settle lines whose end never reached us: a create that timed out and never produced a
    webhook (no call: the task goes back uncounted), or a call whose final status callback was
    lost (asked of Twilio and applied as if it had arrived). The task ids settled."""
    settled: list[str] = []
    for line in store.recent_lines(shop.shop_id, RECENT_LINES):
        unsettled = line.phase in (RINGING, CONNECTING, DROPPED, MACHINE) and line.ended_at is None
        if not unsettled or now - line.placed_at < STALE_LINE:
            continue
        if line.call_sid is None:
            if store.move_line(shop.shop_id, line.line_key, {RINGING}, NOT_PLACED):
                store.return_person_task(line.task_id, None, "queued", now)
                settled.append(line.task_id)
            continue
        state = telephony.fetch_call(line.call_sid)
        if state.status not in FINAL_CALL_STATUSES:
            continue
        form = {
            "CallSid": line.call_sid,
            "CallStatus": state.status,
            "CallDuration": str(state.duration_seconds),
            "SequenceNumber": str(LATE_SEQUENCE),
            **({"AnsweredBy": state.answered_by} if state.answered_by else {}),
        }
        call_status(shop, line.task_id, line.line_key, form, store=store, now=now)
        settled.append(line.task_id)
    return settled
