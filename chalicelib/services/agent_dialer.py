"""Agent-first progressive dialing (O8, I6, I8, A2) of the tasks that need a person: agent tasks
(orders triaged to an agent, O5) and callbacks (I6, I7).

When an agent of the shop is free and such a task is due inside the customer's calling window,
the agent is reserved (conditional write), the task claimed (queued/waiting -> dialing,
conditional: two dialers never call one customer twice), and the AGENT is called first. The
agent hears a whisper (customer, orders) and presses 1; then the agent waits in a conference
named for the call while the app rings the customer (the shop's caller ID) into it
(``agent_dial_legs``, #17: hold and transfer work as on inbound calls). Nobody waits on a line
for an agent, so nothing is dropped.

Outcomes: the customer answered -> the task is done with ``agent-talked`` (the orders stay for
the agent's outcome, issue 5) and the agent goes to wrap-up; the customer did not answer -> the
shop's retry policy; the agent did not answer or declined -> the agent is marked away (missed)
and the task goes back uncounted, a callback keeping its place.

Order of service: callbacks by the caller's original arrival time (I6; a caller still waiting
live in the same group who arrived earlier goes first), then agent tasks in the shop's priority
order (O6). Live inbound callers waiting in an agent's group come before outbound agent tasks.
Triggered by the minute schedule (``dial_due``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from chalicelib.domain.calling_hours import next_calling_time
from chalicelib.domain.entities import Call, DialTask
from chalicelib.domain.phones import number_time_zone
from chalicelib.domain.priority import in_dial_order
from chalicelib.domain.queue import QueueEntry
from chalicelib.domain.robot import next_attempt_at
from chalicelib.domain.routing import Agent, agent_language, free_beyond_customer_lines, idle_since, is_free
from chalicelib.domain.twilio_fields import FINAL_CALL_STATUSES, status_callback
from chalicelib.observability import logger
from chalicelib.services.destinations import refused_contact
from chalicelib.services.give_up import end_for_do_not_call, orders_unreachable
from chalicelib.services.ports import AgentDialStore, AgentDialUrls, CallOutcomeUnknownError, OutboundCall, Telephony

if TYPE_CHECKING:
    from chalicelib.domain.shop import CallResult, ShopSettings

DIRECTION = "outbound-agent"
PERSON_KINDS = ("callback", "agent")
DUE_LOOKAHEAD = 50
TEMPORARY_FAILURE_BACKOFF = timedelta(minutes=1)
# Call record ``result`` of the agent's leg, in order.
RINGING, ACCEPTED, TALKED = "agent-ringing", "agent-accepted", "agent-talked"


@dataclass
class _Slot:
    """A callback's place in its group's queue (I6)."""

    group: str
    queued_at: datetime
    callers_ahead: int


# ---- dialing -------------------------------------------------------------------------------
def dial_for_free_agents(
    shop: ShopSettings, *, store: AgentDialStore, telephony: Telephony, urls: AgentDialUrls, now: datetime
) -> list[str]:
    """Give each free agent of the shop the next due task that needs a person; the agent legs
    (CallSids) placed."""
    if not shop.caller_id:
        return []
    wrap_up = shop.inbound.wrap_up_seconds
    agents = store.list_agents(shop.shop_id)
    free = sorted((a for a in agents if is_free(a, now, wrap_up)), key=idle_since)
    if free and shop.dialing.agent_pacing == "predictive":  # customer calls in flight keep an agent each
        lines = store.customer_lines_in_flight(shop.shop_id, now)
        free = free[: free_beyond_customer_lines(agents, now, wrap_up, lines)]
    if not free:
        return []
    groups = sorted({group for agent in agents for group in agent.groups})
    callers_waiting: set[str] = set()
    slots: dict[str, _Slot] = {}
    for group in groups:
        callers = 0
        for entry in store.queue_entries(shop.shop_id, group):
            if entry.kind == "caller":
                callers += 1
            elif entry.kind == "callback":
                slots[entry.ref] = _Slot(group, entry.queued_at, callers)
        if callers:
            callers_waiting.add(group)

    placed: list[str] = []
    callbacks = sorted(store.due_tasks(shop.shop_id, "callback", now, DUE_LOOKAHEAD), key=lambda t: t.due_at)
    for due in callbacks:
        if not free:
            return placed
        slot = slots.get(due.task_id)
        eligible = [a for a in free if slot is None or slot.group in a.groups]
        if slot is not None and slot.callers_ahead >= len(eligible):
            continue  # earlier live callers of the group take these agents first
        sid = _serve(shop, due.task_id, eligible, free, slot, store=store, telephony=telephony, urls=urls, now=now)
        if sid:
            placed.append(sid)
    if shop.dialing.agent_pacing == "predictive":
        return placed  # agent tasks are dialed customer-first (services.predictive_dialer)
    agent_tasks = store.due_tasks(shop.shop_id, "agent", now, DUE_LOOKAHEAD)
    for due in in_dial_order(agent_tasks, shop.dialing.priority_variant):
        eligible = [a for a in free if not callers_waiting.intersection(a.groups)]
        if not eligible:
            break
        sid = _serve(shop, due.task_id, eligible, free, None, store=store, telephony=telephony, urls=urls, now=now)
        if sid:
            placed.append(sid)
    return placed


def _serve(
    shop: ShopSettings,
    task_id: str,
    eligible: list[Agent],
    free: list[Agent],
    slot: _Slot | None,
    *,
    store: AgentDialStore,
    telephony: Telephony,
    urls: AgentDialUrls,
    now: datetime,
) -> str | None:
    """Reserve an agent, claim the task and call the agent; the agent leg's CallSid or None."""
    task = store.get_task(task_id)
    if task is None or task.kind not in PERSON_KINDS or task.state not in ("queued", "waiting"):
        return None
    if task.due_at is not None and task.due_at > now:
        return None
    if task.kind == "agent" and not task.order_ids:
        return None
    zone = ZoneInfo(number_time_zone(task.phone) or shop.timezone)
    opening = next_calling_time(now, zone, shop.calling_hours)
    if opening > now:
        if task.kind == "agent":  # a callback keeps its arrival time as its place in line
            store.defer_person_task(task_id, opening)
        return None
    refused = refused_contact(shop, task.phone)  # the last line against toll fraud
    if refused or store.is_do_not_call(shop.shop_id, task.phone):
        end_do_not_call(shop, task, store=store, now=now, refused=refused)
        return None
    ordered = sorted(eligible, key=lambda a: (task.language not in a.languages, idle_since(a)))
    reservation = f"AD{uuid.uuid4().hex}"
    agent: Agent | None = None
    for candidate in ordered:
        free.remove(candidate)  # reserved now, or lost to someone else meanwhile
        if store.reserve_agent(
            candidate, reservation, now, wrap_up_seconds=shop.inbound.wrap_up_seconds, timezone=shop.timezone
        ):
            agent = candidate
            break
    if agent is None:
        return None
    claimed = store.claim_person_task(task_id, now, with_orders=task.kind == "agent")
    if claimed is None:  # another dialer took it
        store.release_agent(shop.shop_id, agent.agent_id, reservation, "available", now, timezone=shop.timezone)
        free.append(agent)
        return None
    back_state = "waiting" if task.kind == "callback" else "queued"
    try:
        call_sid = telephony.place_call(
            OutboundCall(
                to=f"client:{agent.client_identity}" if agent.client_identity else agent.phone or "",
                from_=shop.caller_id or "",
                answer_url=urls.agent_answer(task_id, agent.agent_id, reservation),
                status_url=urls.agent_status(task_id, agent.agent_id, reservation),
                ring_timeout_seconds=shop.inbound.agent_ring_seconds,
                detect_machine=False,
            )
        )
    except CallOutcomeUnknownError:
        # The agent's phone may be ringing: its status callback settles the task and the agent.
        logger.warning("agent call outcome unknown; waiting for Twilio", extra={"task_id": task_id})
        return None
    except Exception:  # refused, throttled or unreachable (CallNotPlacedError): no call exists
        logger.exception("agent call not placed; task back uncounted", extra={"task_id": task_id})
        due_back = slot.queued_at if slot else now + TEMPORARY_FAILURE_BACKOFF
        store.return_person_task(task_id, None, back_state, due_back)
        store.release_agent(shop.shop_id, agent.agent_id, reservation, "available", now, timezone=shop.timezone)
        return None
    store.attach_call(task_id, call_sid)
    store.upsert_call(Call.to_customer_of(claimed, call_sid, DIRECTION, shop.caller_id or "", now, shop.timezone))
    fields: dict[str, Any] = {"agent_id": agent.agent_id, "result": RINGING, "language": claimed.language}
    if slot is not None:  # remembered so that a missed offer puts the callback back in its place
        fields |= {"group": slot.group, "queued_at": slot.queued_at}
        store.remove_queue_entry(shop.shop_id, slot.group, slot.queued_at, task_id)
    store.update_call(call_sid, **fields)
    if claimed.call_order_ids:
        store.note_first_dial(shop.shop_id, claimed.call_order_ids, now)
    logger.info("agent-first call placed", extra={"task_id": task_id, "call_sid": call_sid, "agent_id": agent.agent_id})
    return call_sid


def end_do_not_call(
    shop: ShopSettings, task: DialTask, *, store: AgentDialStore, now: datetime, refused: str | None = None
) -> None:
    """O11: the customer asked not to be contacted, or the number is one the shop never calls
    (``refused``: why); the task ends without a call."""
    claimed = store.claim_person_task(task.task_id, now, with_orders=task.kind == "agent")
    if claimed is None:
        return
    end_for_do_not_call(store, shop.shop_id, task.task_id, claimed.call_order_ids, now, refused=refused)


# ---- the agent's leg (webhooks) ------------------------------------------------------------
@dataclass(frozen=True)
class Whisper:
    language: str
    shop_name: str
    kind: str  # agent | callback
    customer_name: str
    order_numbers: str


def whisper(
    shop: ShopSettings, task_id: str, call_sid: str, *, store: AgentDialStore, agent_id: str = ""
) -> Whisper | None:
    """What the agent hears before accepting, in the agent's language; None when the task is no
    longer this call's."""
    task = store.get_task(task_id)
    if task is None or task.state != "dialing":
        return None
    if not store.attach_call(task_id, call_sid):  # the webhook may outrun the dialer
        return None
    orders = store.orders_by_ids(shop.shop_id, task.call_order_ids) if task.call_order_ids else []
    name = next((o.customer_name for o in orders if o.customer_name), "") or task.phone
    numbers = ", ".join(o.order_number or o.order_id for o in orders)
    agent = store.get_agent(shop.shop_id, agent_id) if agent_id else None
    return Whisper(agent_language(agent, shop.main_language), shop.name, task.kind, name, numbers)


def end_by_policy(
    shop: ShopSettings, task: DialTask, call_sid: str, result: CallResult, *, store: AgentDialStore, now: datetime
) -> None:
    """A person task's customer was not reached: queued again per the shop's retry policy, or,
    after the last attempt, unreachable with the orders of its call. The callers saw the task
    dialing this call; the orders are written before the task's end (give_up), so a failed write
    leaves the task dialing for whatever ends the attempt again, never queued orders behind a
    finished task."""
    retry_at = next_attempt_at(task.attempts, result, shop.robot, now)
    if retry_at is None:
        orders_unreachable(store, shop.shop_id, task.call_order_ids, now)
    store.end_attempt(
        task.task_id,
        call_sid,
        call_result=result,
        requeue_at=retry_at,
        final_result=None if retry_at else "unreachable",
        now=now,
    )
    store.update_call(call_sid, result=f"customer-{result}")


def agent_leg_status(
    shop: ShopSettings,
    task_id: str,
    agent_id: str,
    reservation: str,
    form: dict[str, str],
    *,
    store: AgentDialStore,
    now: datetime,
) -> None:
    """Status callbacks of the agent's leg. When it ends and the agent never accepted (no
    answer, busy, declined the whisper): the agent is marked away (a missed call) and the task
    goes back uncounted, a callback in its original place."""
    call_sid = form.get("CallSid", "")
    call = store.get_call(call_sid)
    if call is None:
        return
    if call.result == TALKED and (call.transfer_to or call.agent_id != agent_id):
        # Transferred (#17): the customer goes on with another agent in the call's room, and
        # the customer's leg ends the call (``agent_dial_legs.customer_left_room``).
        store.release_agent(shop.shop_id, agent_id, reservation, "wrap-up", now, timezone=shop.timezone, talked=True)
        return
    callback = status_callback(form, call.status, now)
    store.apply_call_status(call_sid, callback.sequence, **callback.fields)
    if not callback.final:
        return
    task = store.get_task(task_id)
    still_dialing = task is not None and task.state == "dialing" and task.last_call_sid in (None, call_sid)
    back_state = "waiting" if task is not None and task.kind == "callback" else "queued"
    due_back = call.queued_at or now
    if call.result == RINGING:
        store.release_agent(shop.shop_id, agent_id, reservation, "away", now, timezone=shop.timezone, missed=True)
        store.update_call(call_sid, result="agent-missed")
        logger.info("agent missed an agent-first call", extra={"agent_id": agent_id, "task_id": task_id})
    else:  # the agent's leg ended before its Dial's end was heard (usually released there already)
        talked = call.result == TALKED
        status = "wrap-up" if talked else "available"
        store.release_agent(shop.shop_id, agent_id, reservation, status, now, timezone=shop.timezone, talked=talked)
    if not (still_dialing and store.return_person_task(task_id, call_sid, back_state, due_back)):
        return
    if task is not None and task.kind == "callback" and call.group and call.queued_at:
        store.add_queue_entry(
            QueueEntry(shop.shop_id, call.group, "callback", task_id, task.phone, task.language, call.queued_at)
        )


# ---- lost status callbacks of the agent's leg ------------------------------------------------
STALE_DIALING = timedelta(minutes=10)  # far beyond the agent's ring time and a whisper
LATE_SEQUENCE = 1_000_000  # a status fetched by the sweep comes after any real callback


def reconcile_stuck_agent_calls(
    shop: ShopSettings, *, store: AgentDialStore, telephony: Telephony, now: datetime
) -> list[str]:
    """Settle agent-first attempts whose agent leg's final status callback never reached us:
    asked of Twilio and applied as if it had arrived, so the agent does not stay busy forever
    and the task goes back (or ends) as the callback would have left it. The task ids settled."""
    settled: list[str] = []
    for kind in PERSON_KINDS:
        for task_id in store.stale_dialing_task_ids(shop.shop_id, kind, now - STALE_DIALING):
            task = store.get_task(task_id)
            if task is None or task.state != "dialing" or task.last_call_sid is None:
                continue
            call = store.get_call(task.last_call_sid)
            if call is None or call.direction != DIRECTION or not call.agent_id:
                continue  # customer-first calls have their own sweep
            state = telephony.fetch_call(task.last_call_sid)
            if state.status not in FINAL_CALL_STATUSES:
                continue  # still talking: a long conversation, not a lost callback
            agent = store.get_agent(shop.shop_id, call.agent_id)
            reservation = agent.reserved_call_sid if agent and agent.reserved_call_sid else ""
            form = {
                "CallSid": task.last_call_sid,
                "CallStatus": state.status,
                "CallDuration": str(state.duration_seconds),
                "SequenceNumber": str(LATE_SEQUENCE),
            }
            agent_leg_status(shop, task_id, call.agent_id, reservation, form, store=store, now=now)
            settled.append(task_id)
    return settled
