"""What happens to a caller of a shop's number (I1-I10), as use cases taking their store.

These are the steps that ``inbound_menu`` and ``inbound_queue`` compose into one use case per
webhook (the web layer makes that one call and renders its answer as TwiML). Per-call
state lives on the call record: ``language``, ``group``, ``queued_at`` (the original arrival
in the agent queue, kept across re-queueing), ``agent_id`` (reserved or talking), ``result``
(``connecting`` while an agent is dialled, then ``agent``, ``callback``, ``voicemail``,
``self-service``, ``closed``), ``callback_task_id``, ``abandoned``, ``wait_seconds``, ``survey``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.delivery_slots import DeliverySlot, offered_slots
from chalicelib.domain.entities import Call, Order
from chalicelib.domain.hours import is_open
from chalicelib.domain.phones import destination_problem, is_withheld, normalise_phone
from chalicelib.domain.queue import QueueEntry
from chalicelib.domain.queue_estimate import estimated_wait_minutes
from chalicelib.domain.routing import Agent, candidates, free_beyond_customer_lines, is_free, staffed
from chalicelib.domain.twilio_fields import status_callback
from chalicelib.domain.values import local_day
from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.ports import InboundStore, Store

ACTIVE_ORDER_STATUSES = {"received", "queued"}
BRIDGING = "bridging"  # an agent is reserved and the caller is being taken out of the queue by REST
BRIDGING_OVERDUE_SECONDS = 15  # a hold round after this long takes the caller out itself


# ---- I1-I3: arrival ------------------------------------------------------------------------
@dataclass(frozen=True)
class Arrival:
    shop: ShopSettings
    group: str
    language: str
    open: bool
    call: Call


def arrive(form: dict[str, str], *, store: Store, now: datetime) -> Arrival | None:
    """The dialed number picks the shop and group (I1); the call record starts here. None for
    a number no shop owns."""
    route = store.shop_for_number(form.get("To", ""))
    if route is None:
        logger.warning("call to a number no shop owns", extra={"to": form.get("To", "")})
        return None
    shop, group = route
    open_now = is_open(shop.business_hours, shop.timezone, now)
    call = store.upsert_call(
        # The language is kept if a repeated webhook finds one chosen already.
        inbound_call(form, shop, now, language=shop.main_language),
        group=group,
        after_hours=not open_now,
    )
    return Arrival(shop, group, call.language or shop.main_language, open_now, call)


def _caller(form: dict[str, str], shop: ShopSettings) -> str:
    return normalise_phone(form.get("From", ""), shop.default_region).stored


def inbound_call(form: dict[str, str], shop: ShopSettings, now: datetime, language: str | None = None) -> Call:
    """The call Twilio's webhook describes, as first stored (a later webhook adds to it)."""
    return Call(
        call_sid=form.get("CallSid", ""),
        shop_id=shop.shop_id,
        direction="inbound",
        customer_phone=_caller(form, shop),
        shop_number=form.get("To", ""),
        created_at=now,
        day=local_day(now, shop.timezone),
        status="in-progress",
        language=language,
    )


@dataclass(frozen=True)
class CallContext:
    shop: ShopSettings
    call: Call


def context(call_sid: str, *, store: Store) -> CallContext | None:
    call = store.get_call(call_sid)
    if call is None:
        return None
    shop = store.get_shop(call.shop_id)
    return CallContext(shop, call) if shop else None


def choose_language(call_sid: str, language: str, *, store: Store) -> None:
    store.update_call(call_sid, language=language)


# ---- I6, I7: callbacks ---------------------------------------------------------------------
def can_call_back(ctx: CallContext) -> bool:
    """Whether the caller's number takes a callback: not withheld, and one the shop calls (not
    premium-rate or the like, in its countries: ``domain.phones.destination_problem``). The
    others are told to call again, as withheld numbers are."""
    phone = ctx.call.customer_phone
    return not is_withheld(phone) and destination_problem(phone, ctx.shop.destination_regions) is None


def number_refused(ctx: CallContext) -> bool:
    """The caller's number is shown but is one the shop never calls: no callback, and the
    caller hears that this number cannot be called back (not that it is hidden)."""
    return not is_withheld(ctx.call.customer_phone) and not can_call_back(ctx)


def callback_task_id(call_sid: str) -> str:
    """One callback per call, whoever asks first (the caller, the queue's action, a status
    callback, a retry of any of them)."""
    return f"cb_{call_sid}"


def request_callback(ctx: CallContext, *, store: InboundStore, now: datetime, abandoned: bool = False) -> str | None:
    """A callback task for the caller keeping their original arrival time (I6), in the group's
    queue in that order; None when the call already has one, or when the caller withheld their
    number or calls from one the shop never calls (the menus tell such a caller to call again)."""
    call = ctx.call
    if call.callback_task_id:
        return None
    if not can_call_back(ctx):
        logger.info("no callback task: the caller's number is withheld or refused", extra={"abandoned": abandoned})
        return None
    task_id = callback_task_id(call.call_sid)
    arrived = call.queued_at or call.created_at
    language = call.language or ctx.shop.main_language
    created = store.insert_callback_task(task_id, ctx.shop.shop_id, call.customer_phone, language, arrived, now)
    if call.queued_at is not None:
        store.remove_queue_entry(ctx.shop.shop_id, call.group or "main", call.queued_at, call.call_sid)
    if created:
        store.add_queue_entry(
            QueueEntry(
                ctx.shop.shop_id, call.group or "main", "callback", task_id, call.customer_phone, language, arrived
            )
        )
    fields: dict[str, Any] = {"callback_task_id": task_id}
    if abandoned:
        fields["abandoned"] = True
    else:
        fields["result"] = "callback"
    store.update_call(call.call_sid, **fields)
    logger.info("callback task", extra={"task_id": task_id, "abandoned": abandoned})
    return task_id


# ---- I4: self-service ----------------------------------------------------------------------
def active_orders(ctx: CallContext, *, store: InboundStore) -> list[Order]:
    if not ctx.shop.inbound.self_service:
        return []
    return store.active_orders(ctx.shop.shop_id, ctx.call.customer_phone)[:9]


def decide_order(ctx: CallContext, order_id: str, decision: str, *, store: Store, now: datetime) -> Order | None:
    """confirmed / cancelled, only from an active state (like the robot's keypress)."""
    order = store.transition_order(ctx.shop.shop_id, order_id, ACTIVE_ORDER_STATUSES, decision, decided_at=now)
    if order is not None:
        store.update_call(ctx.call.call_sid, result="self-service")
        logger.info("self-service decision", extra={"order_id": order_id, "decision": decision})
    return order


def delivery_slots(ctx: CallContext, as_of: datetime) -> list[DeliverySlot]:
    """The slots read to the caller at ``as_of``; the same instant gives the same list."""
    return offered_slots(ctx.shop.inbound.delivery_slots, ctx.shop.zone, as_of)


def offered_slot(ctx: CallContext, as_of: datetime, digits: str | None, now: datetime) -> DeliverySlot | None:
    """The slot behind the digit pressed in a slot menu read at ``as_of``, if it has not
    started yet."""
    slots = delivery_slots(ctx, as_of)
    digit = (digits or "").strip()[:1]
    if not digit.isdigit() or not 1 <= int(digit) <= len(slots):
        return None
    slot = slots[int(digit) - 1]
    return slot if slot.start > now else None


def choose_delivery_slot(
    ctx: CallContext, order_id: str, slot: DeliverySlot, *, store: InboundStore, now: datetime
) -> Order | None:
    """Store the caller's slot on the order while it is still active (I4); None otherwise."""
    record = slot.as_record(ctx.shop.zone) | {"chosen_at": now.isoformat(), "call_sid": ctx.call.call_sid}
    order = store.choose_delivery_slot(ctx.shop.shop_id, order_id, record)
    if order is not None:
        store.update_call(ctx.call.call_sid, result="self-service")
        logger.info("delivery slot chosen", extra={"order_id": order_id, "slot_start": record["start"]})
    return order


# ---- I5, I8: queue and agents --------------------------------------------------------------
def queue_name(ctx: CallContext) -> str:
    return f"{ctx.shop.shop_id}.{ctx.call.group or 'main'}"[:64]


def enter_queue(ctx: CallContext, *, store: InboundStore, now: datetime) -> None:
    """Put the caller in the group's queue; a caller coming back (the agent did not answer)
    keeps the original arrival time and so their place."""
    call = ctx.call
    queued_at = call.queued_at or now
    if call.queued_at is None:
        store.update_call(call.call_sid, queued_at=queued_at)
    store.update_call(call.call_sid, result="queued")
    store.add_queue_entry(
        QueueEntry(
            ctx.shop.shop_id,
            call.group or "main",
            "caller",
            call.call_sid,
            call.customer_phone,
            call.language or ctx.shop.main_language,
            queued_at,
        )
    )


@dataclass(frozen=True)
class HoldRound:
    leave: bool  # an agent is reserved: leave the queue and dial them
    position: int | None = None  # announce it (changed since the last announcement)
    minutes: int | None = None
    max_wait_reached: bool = False
    no_agents: bool = False  # nobody of the group takes calls now or soon (all on break, away, offline)
    can_call_back: bool = True  # False for a withheld or refused number: no callback offer
    number_refused: bool = False  # a shown number the shop never calls (premium-rate, abroad ...)
    music_url: str = ""  # the shop's hold music (set by ``inbound_queue.hold``)


def hold_round(ctx: CallContext, queue_seconds: int, *, store: InboundStore, now: datetime) -> HoldRound:
    """One round of the wait music: take a free agent when it is this caller's turn, else say
    where they stand (when it changed) and how long it should take. With nobody of the group
    available, busy or in wrap-up there is no wait to estimate: the round says so instead (and
    the callback is offered at once)."""
    call, shop = ctx.call, ctx.shop
    group = call.group or "main"
    if call.result == "connecting" and call.agent_id:
        return HoldRound(leave=True)
    if call.result == BRIDGING and call.agent_id:
        # Reserved through services.bridging, whose REST redirect takes the caller out: music
        # meanwhile; a redirect that never came (a crash between) leaves by this round instead.
        if not _bridging_overdue(ctx, store=store, now=now):
            return HoldRound(leave=False, can_call_back=False)
        store.update_call(call.call_sid, result="connecting")
        return HoldRound(leave=True)
    if call.queued_at is None:  # not queued by us (should not happen): queue now
        enter_queue(ctx, store=store, now=now)
        call = store.get_call(call.call_sid) or call
        ctx = CallContext(shop, call)
    assert call.queued_at is not None
    agents = store.list_agents(shop.shop_id)
    if _take_agent(ctx, agents, store=store, now=now):
        return HoldRound(leave=True)
    position, _size = store.queue_position(shop.shop_id, group, call.queued_at, call.call_sid)
    announced = store.announced_position(shop.shop_id, group, call.queued_at, call.call_sid)
    max_wait = queue_seconds >= shop.inbound.queue_max_wait_seconds
    staffed_now = staffed(agents, group)
    held = HoldRound(
        leave=False,
        max_wait_reached=max_wait,
        no_agents=not staffed_now,
        can_call_back=can_call_back(ctx),
        number_refused=number_refused(ctx),
    )
    if position and position != announced:
        store.note_announced_position(shop.shop_id, group, call.queued_at, call.call_sid, position)
        if not staffed_now:
            return replace(held, position=position)
        minutes = estimated_wait_minutes(
            position,
            store.recent_handle_seconds(shop.shop_id, group),
            staffed_now,
            shop.inbound.default_handle_seconds,
        )
        return replace(held, position=position, minutes=minutes)
    return held


def _bridging_overdue(ctx: CallContext, *, store: InboundStore, now: datetime) -> bool:
    agent = store.get_agent(ctx.shop.shop_id, ctx.call.agent_id or "")
    if agent is None or agent.reserved_call_sid != ctx.call.call_sid or agent.status_since is None:
        return True
    return (now - agent.status_since).total_seconds() > BRIDGING_OVERDUE_SECONDS


def _take_agent(
    ctx: CallContext, agents: list[Agent], *, store: InboundStore, now: datetime, result: str = "connecting"
) -> bool:
    """Reserve a free agent for this caller if no one who came earlier is still waiting for
    one: as many free agents as there are earlier entries are left for them. The agent is
    reserved first, then the caller claimed (``result``); a caller another agent got meanwhile
    (services.bridging and a hold round at the same moment) hands the agent back."""
    call, shop = ctx.call, ctx.shop
    group = call.group or "main"
    assert call.queued_at is not None
    wrap_up = shop.inbound.wrap_up_seconds
    free = candidates(agents, group, call.language, now, wrap_up)
    if not free:
        return False
    takeable = len(free)
    if shop.dialing.agent_pacing == "predictive":  # customer calls in flight keep an agent each
        in_flight = store.customer_lines_in_flight(shop.shop_id, now)
        takeable = min(takeable, free_beyond_customer_lines(agents, now, wrap_up, in_flight))
        if takeable == 0:
            logger.info("caller waits: free agents kept for customer-first calls in flight", extra={"lines": in_flight})
            return False
    ahead = [
        entry
        for entry in store.queue_entries(shop.shop_id, group, limit=takeable + 1)
        if entry.ref != call.call_sid and entry.queued_at <= call.queued_at
    ]
    if len(ahead) >= takeable:
        return False
    for agent in free:
        if store.reserve_agent(agent, call.call_sid, now, wrap_up_seconds=wrap_up, timezone=shop.timezone):
            if not store.claim_queued_call(call.call_sid, agent.agent_id, result):
                store.release_agent(
                    shop.shop_id, agent.agent_id, call.call_sid, "available", now, timezone=shop.timezone
                )
                logger.info("caller taken meanwhile: agent handed back", extra={"agent_id": agent.agent_id})
                return False
            store.remove_queue_entry(shop.shop_id, group, call.queued_at, call.call_sid)
            logger.info("agent reserved", extra={"agent_id": agent.agent_id, "result": result})
            return True
    return False


def reserved_agent(ctx: CallContext, *, store: InboundStore) -> Agent | None:
    if ctx.call.result != "connecting" or not ctx.call.agent_id:
        return None
    agent = store.get_agent(ctx.shop.shop_id, ctx.call.agent_id)
    return agent if agent and agent.reserved_call_sid == ctx.call.call_sid else None


def agent_accepted(ctx: CallContext, *, store: Store, now: datetime) -> None:
    call = ctx.call
    waited = int((now - call.queued_at).total_seconds()) if call.queued_at else 0
    store.update_call(call.call_sid, result="agent", answered_at=now, wait_seconds=max(waited, 0))


@dataclass(frozen=True)
class DialOutcome:
    talked: bool


def dial_ended(
    ctx: CallContext,
    agent_id: str,
    dial_status: str,
    bridged: bool,
    duration: int,
    *,
    store: InboundStore,
    now: datetime,
) -> DialOutcome:
    """The Dial to the agent ended: after a conversation the agent goes to wrap-up; on no
    answer (or a declined whisper) the agent is marked away and the caller queued again."""
    call, shop = ctx.call, ctx.shop
    talked = bridged or (dial_status == "completed" and call.result == "agent")
    if talked:
        store.release_agent(shop.shop_id, agent_id, call.call_sid, "wrap-up", now, timezone=shop.timezone, talked=True)
        store.remember_handle_seconds(shop.shop_id, call.group or "main", duration)
        return DialOutcome(talked=True)
    store.release_agent(shop.shop_id, agent_id, call.call_sid, "away", now, timezone=shop.timezone, missed=True)
    logger.info("agent missed the call", extra={"agent_id": agent_id, "dial_status": dial_status})
    store.update_call(call.call_sid, result="queued")
    return DialOutcome(talked=False)


def left_queue(ctx: CallContext, queue_result: str, queue_seconds: int, *, store: InboundStore, now: datetime) -> str:
    """The Enqueue ended; returns what the caller gets next: ``agent``, ``callback``,
    ``voicemail``, or ``gone`` (hung up: a callback task is made, I7)."""
    call, shop = ctx.call, ctx.shop
    if queue_result == "redirected" and call.result in (BRIDGING, "connecting"):
        return "gone"  # taken out through the API (services.bridging): the redirect's webhook goes on
    if queue_result == "leave" and call.result == "connecting":
        return "agent"
    if queue_result == "leave" and call.result in ("callback", "voicemail-requested"):
        return "callback" if call.result == "callback" else "voicemail"
    if call.queued_at is not None:
        store.remove_queue_entry(shop.shop_id, call.group or "main", call.queued_at, call.call_sid)
    if call.result in ("connecting", BRIDGING) and call.agent_id:
        store.release_agent(shop.shop_id, call.agent_id, call.call_sid, "available", now, timezone=shop.timezone)
    if queue_result == "hangup":
        store.update_call(call.call_sid, wait_seconds=queue_seconds)
        request_callback(ctx, store=store, now=now, abandoned=True)
        return "gone"
    return "voicemail"


def wants_voicemail(ctx: CallContext, *, store: InboundStore) -> None:
    if ctx.call.queued_at is not None:
        store.remove_queue_entry(ctx.shop.shop_id, ctx.call.group or "main", ctx.call.queued_at, ctx.call.call_sid)
    store.update_call(ctx.call.call_sid, result="voicemail-requested")


def free_agent_count(ctx: CallContext, *, store: InboundStore, now: datetime) -> int:
    return sum(
        1 for agent in store.list_agents(ctx.shop.shop_id) if is_free(agent, now, ctx.shop.inbound.wrap_up_seconds)
    )


def store_survey(call_sid: str, digits: str | None, *, store: Store) -> bool:
    if digits in ("1", "2", "3"):
        store.update_call(call_sid, survey=digits)
        return True
    return False


def store_recording(form: dict[str, str], *, store: Store) -> None:
    """Recording callbacks (I9): the recording's id and link land on the call record."""
    call_sid = form.get("CallSid", "")
    if form.get("RecordingSid") and store.get_call(call_sid) is not None:
        store.update_call(call_sid, recording_sid=form["RecordingSid"], recording_url=form.get("RecordingUrl", ""))


# ---- status callbacks (voicemail: services.voicemail) ------------------------------------
# Results that mean the caller was served or has a next step; anything else at hang-up is a
# lost call that gets a callback task (I7).
SERVED_RESULTS = {"agent", "callback", "voicemail", "self-service", "closed"}


def record_inbound_call_status(form: dict[str, str], *, store: Store, now: datetime, inbound: InboundStore) -> None:
    """Status callbacks of calls to the shop's numbers. Repeated or reordered callbacks never
    move the record back (SequenceNumber). A caller who hung up before being served (greeting,
    menu, queue) gets an automatic callback task (I7)."""
    call = store.get_call(form.get("CallSid", ""))
    if call is None:
        return
    callback = status_callback(form, call.status, now)
    applied = store.apply_call_status(call.call_sid, callback.sequence, **callback.fields)
    if not applied or not callback.final or call.direction != "inbound":
        return
    if call.result in SERVED_RESULTS or call.callback_task_id:
        return
    shop = store.get_shop(call.shop_id)
    if shop is None:
        return
    ctx = CallContext(shop, call)
    if call.result in ("connecting", BRIDGING) and call.agent_id:
        inbound.release_agent(shop.shop_id, call.agent_id, call.call_sid, "available", now, timezone=shop.timezone)
    request_callback(ctx, store=inbound, now=now, abandoned=True)
