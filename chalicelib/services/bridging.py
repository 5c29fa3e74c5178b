"""No waiting for the music to end (issue 17, I13): an agent who becomes free meets the
longest-waiting caller at once.

Twilio starts the next ``<Enqueue waitUrl>`` round only when the wait document's music ended
(minutes), so a hold round alone would keep a free agent idle that long. When an agent becomes
free - sets ``available`` (API, desk, SMS READY), or their call ends with no wrap-up, or their
wrap-up runs its time (found by the minute schedule, ``bridge_free_agents``) - the callers of
the agent's groups are looked at in arrival order with the hold round's own rules
(``inbound._take_agent``: callbacks and earlier callers keep their place, I6; predictive
lines keep their agents), the caller is claimed (``bridging``, a conditional write: never two
agents for one caller, never two callers for one agent) and Twilio is asked to redirect the
caller's call to ``/bridge``, which leaves the queue for the call's conference while the app
places the reserved agent's own leg (``inbound_queue.meet_reserved_agent``, the queue's path).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.routing import Agent, is_free
from chalicelib.observability import logger
from chalicelib.services import agents, inbound
from chalicelib.services.conference_calls import LegUrls
from chalicelib.services.inbound import BRIDGING, CallContext
from chalicelib.services.inbound_queue import (
    DialAgent,
    Heard,
    JoinConference,
    Queued,
    call_context,
    meet_reserved_agent,
)
from chalicelib.services.ports import BridgeUrls, BridgingStore, CallControl, InboundStore, Telephony

if TYPE_CHECKING:  # pydantic loads on first use: the Twilio function's cold start (SMS READY, /bridge)
    from chalicelib.domain.shop import ShopSettings

LOG_STEP = timedelta(milliseconds=1)
CALLERS_LOOKED_AT = 5  # per group: the head of the queue (the hold round's rule stops at the first it may not take)


def set_status(
    shop: ShopSettings,
    agent_id: str,
    status: str,
    *,
    store: BridgingStore,
    calls: CallControl,
    links: BridgeUrls,
    now: datetime,
    source: str = "api",
) -> Agent | None:
    """``agents.set_status``; an agent who becomes available takes the longest-waiting caller
    at once (``agent_freed``)."""
    before = store.get_agent(shop.shop_id, agent_id)
    agent = agents.set_status(shop, agent_id, status, store=store, now=now, source=source)
    if agent is not None and status == "available" and (before is None or before.status != "available"):
        agent_freed(shop, agent_id, store=store, calls=calls, links=links, now=now)
    return agent


def agent_freed(
    shop: ShopSettings, agent_id: str, *, store: InboundStore, calls: CallControl, links: BridgeUrls, now: datetime
) -> str | None:
    """The agent may be free now: the call sid of the caller taken out of the queue for them
    (None when nobody waits, or the rules keep the agent for someone else). Never raises."""
    try:
        agent = store.get_agent(shop.shop_id, agent_id)
        if agent is None or not is_free(agent, now, shop.inbound.wrap_up_seconds):
            return None
        # The agents' status log keeps one entry per instant: the reservation comes just after
        # the change that freed the agent (both may be made with the same ``now``).
        later = now + LOG_STEP
        return _bridge_one(shop, agent.groups, store=store, calls=calls, links=links, now=later)
    except Exception:  # the hold round still finds the caller: never fail the agent's request
        logger.exception("bridging a waiting caller failed", extra={"agent_id": agent_id})
        return None


def after_call(
    call_sid: str, agent_id: str, *, store: InboundStore, calls: CallControl, links: BridgeUrls, now: datetime
) -> str | None:
    """An inbound conversation ended: an agent with no wrap-up to do is free at once."""
    call = store.get_call(call_sid)
    shop = store.get_shop(call.shop_id) if call else None
    if shop is None or not agent_id:
        return None
    return agent_freed(shop, agent_id, store=store, calls=calls, links=links, now=now)


def after_conference(
    call_sid: str,
    agent_id: str,
    *,
    agent_leg_over: bool,
    store: InboundStore,
    calls: CallControl,
    links: BridgeUrls,
    now: datetime,
) -> str | None:
    """The conference path (``conference_calls``) ended an inbound conversation: the caller's
    Dial into the call's conference ended (``agent_leg_over`` False) or the agent's own leg did
    (True). The agent is free at once when the shop has no wrap-up; whichever of the two
    callbacks comes second finds them so. A phone-only agent keys the outcome on their own leg
    after the room ends (#16 item 8), so only the end of their leg frees them: ringing them
    before would find their line busy."""
    try:
        call = store.get_call(call_sid)
        if call is None:
            return None
        if not agent_leg_over:
            agent_id = call.agent_id or agent_id  # after a transfer, the agent who had the call last
            agent = store.get_agent(call.shop_id, agent_id) if agent_id else None
            if agent is None or (agent.phone and not agent.client_identity):
                return None
        return after_call(call_sid, agent_id, store=store, calls=calls, links=links, now=now)
    except Exception:  # the minute schedule and the next hold round still find the caller
        logger.exception("bridging after a conference failed", extra={"agent_id": agent_id})
        return None


def sweep(
    shop: ShopSettings, *, store: InboundStore, calls: CallControl, links: BridgeUrls, now: datetime
) -> list[str]:
    """Every free agent of the shop (wrap-ups that ran their time): the callers bridged. A shop
    with no free agent, or no caller waiting in their groups, costs one Query per group."""
    bridged: list[str] = []
    free = [a for a in store.list_agents(shop.shop_id) if is_free(a, now, shop.inbound.wrap_up_seconds)]
    groups = sorted({group for agent in free for group in agent.groups})
    if not any(e.kind == "caller" for g in groups for e in store.queue_entries(shop.shop_id, g, CALLERS_LOOKED_AT)):
        return bridged
    for agent in free:
        call_sid = agent_freed(shop, agent.agent_id, store=store, calls=calls, links=links, now=now)
        if call_sid:
            bridged.append(call_sid)
    return bridged


def _bridge_one(
    shop: ShopSettings,
    groups: list[str],
    *,
    store: InboundStore,
    calls: CallControl,
    links: BridgeUrls,
    now: datetime,
) -> str | None:
    entries = [entry for group in groups for entry in store.queue_entries(shop.shop_id, group, limit=CALLERS_LOOKED_AT)]
    for entry in sorted(entries, key=lambda e: e.queued_at):
        if entry.kind != "caller":
            return None  # a callback came first: it keeps its place (the dialer gives it an agent)
        ctx = inbound.context(entry.ref, store=store)
        if ctx is None or ctx.call.result != "queued" or ctx.call.queued_at is None:
            continue
        agents_now = store.list_agents(shop.shop_id)
        if not inbound._take_agent(ctx, agents_now, store=store, now=now, result=BRIDGING):
            return None  # someone earlier keeps the agent, or the rules keep them for a line
        return _redirect(ctx, store=store, calls=calls, links=links, now=now)
    return None


def _redirect(
    ctx: CallContext, *, store: InboundStore, calls: CallControl, links: BridgeUrls, now: datetime
) -> str | None:
    call = ctx.call
    language = call.language or ctx.shop.main_language
    try:
        calls.redirect_call(call.call_sid, links.bridge(language))
    except Exception:
        # The caller hung up meanwhile (their status callback makes the callback task) or
        # Twilio failed: the agent is free again and the caller back in their place.
        logger.exception("redirecting the waiting caller failed")
        claimed = store.get_call(call.call_sid)
        if claimed is not None and claimed.agent_id:
            store.release_agent(
                ctx.shop.shop_id, claimed.agent_id, call.call_sid, "available", now, timezone=ctx.shop.timezone
            )
        if claimed is not None and claimed.result == BRIDGING:
            inbound.enter_queue(CallContext(ctx.shop, claimed), store=store, now=now)
        return None
    logger.info("waiting caller redirected to the free agent", extra={"call_sid": call.call_sid})
    return call.call_sid


def connect(
    heard: Heard, *, store: InboundStore, telephony: Telephony, leg_urls: LegUrls, now: datetime
) -> DialAgent | JoinConference | Queued:
    """The redirected caller (``/bridge``) meets the agent reserved for them the way a caller
    leaving the queue does (``inbound_queue.meet_reserved_agent``): the caller waits in the
    call's conference while the app places the agent's own leg; with the reservation gone
    meanwhile, or the agent's leg refused, back in the queue at their original place."""
    ctx = call_context(heard.call_sid, store=store)
    if ctx.call.result == BRIDGING and ctx.call.agent_id:
        store.update_call(ctx.call.call_sid, result="connecting")
        ctx = call_context(heard.call_sid, store=store)
    if inbound.reserved_agent(ctx, store=store) is None and ctx.call.result == "connecting":
        store.update_call(ctx.call.call_sid, result="queued")
        ctx = call_context(heard.call_sid, store=store)
    return meet_reserved_agent(ctx, heard.language, store=store, now=now, telephony=telephony, leg_urls=leg_urls)
