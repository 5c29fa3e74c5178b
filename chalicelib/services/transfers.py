"""Transfers of a live inbound call to another agent of the shop (#17).

The caller is held (the shop's music) and the second agent's own leg is rung into the call's
conference (the whisper, 1 to accept). **Cold**: the first agent leaves at once; the caller
talks to the second agent as soon as they are in. **Warm**: the first agent consults the second
while the caller waits, then completes (the first agent leaves, the caller is back with the
second) or cancels (the second agent leaves, the caller is back with the first).

Nobody is left stuck on hold: when the second agent does not answer, declines or hangs up
before the transfer completes, the caller is back with the first agent, or (the first agent
gone) back in the queue (an outbound call's customer: an apology and a callback keeping their
place, ``conference_calls.call_back_after_transfer`` says why); when the first agent hangs up
during a warm transfer, it completes as soon as the second agent is in. The call record
carries every agent who handled it (``handled_by``) and the transfers made. Agent-first calls
(``agent_dialer``) and the agents' browser calls (``browser_calls``) are transferred the same
way: their room is named for the call too, the customer's leg is ``caller_leg``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.entities import Call
from chalicelib.domain.routing import candidates, is_free
from chalicelib.observability import logger
from chalicelib.services.call_control import ControlRefused, live_call_of
from chalicelib.services.conference_calls import (
    FINAL_CALL_STATUSES,
    ApologyUrl,
    LegUrls,
    agent_address,
    call_back_after_transfer,
    caller_leg,
)
from chalicelib.services.inbound import CallContext
from chalicelib.services.ports import (
    CallControl,
    ConferenceParticipant,
    OutboundCall,
    Telephony,
    TransferEndStore,
    TransferStore,
)

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings

MODES = ("cold", "warm")
CLEARED: dict[str, Any] = {"transfer_to": None, "transfer_mode": None, "transfer_call_sid": None}


def start(
    shop: ShopSettings,
    agent_id: str,
    to_agent: str,
    mode: str,
    *,
    store: TransferStore,
    conferences: ConferenceParticipant,
    telephony: Telephony,
    urls: LegUrls,
    music_url: str,
    now: datetime,
) -> dict[str, Any]:
    """Begin a transfer from ``agent_id``'s live call to ``to_agent``; refusals in words."""
    if mode not in MODES:
        raise ControlRefused(422, "validation_failed", "mode must be cold or warm")
    call = live_call_of(shop, agent_id, store=store)
    if call.transfer_to or call.transfer_number:
        raise ControlRefused(409, "transfer_under_way", "a transfer of this call is already under way")
    if to_agent == agent_id:
        raise ControlRefused(409, "same_agent", "the call is already yours: choose another agent")
    target = store.get_agent(shop.shop_id, to_agent)
    if target is None:
        raise ControlRefused(404, "unknown_agent", f"no agent {to_agent!r} in this shop")
    if not is_free(target, now, shop.inbound.wrap_up_seconds):
        status = target.settled(now, shop.inbound.wrap_up_seconds).status
        raise ControlRefused(
            409, "agent_unavailable", f"{target.name} is {status}: only an available agent can take the call"
        )
    wrap_up, zone = shop.inbound.wrap_up_seconds, shop.timezone
    if not store.reserve_agent(target, call.call_sid, now, wrap_up_seconds=wrap_up, timezone=zone):
        raise ControlRefused(409, "agent_unavailable", f"{target.name} has just taken another call")
    room = call.call_sid
    if not conferences.hold(room, caller_leg(call), on=True, music_url=music_url):
        store.release_agent(shop.shop_id, to_agent, call.call_sid, "available", now, timezone=zone)
        raise ControlRefused(409, "caller_gone", "the caller is no longer on the line")
    if call.agent_call_sid:
        conferences.set_end_on_exit(room, call.agent_call_sid, end=False)  # the room outlives the first agent
    leg = urls(to_agent)
    try:
        leg_sid = telephony.place_call(
            OutboundCall(
                to=agent_address(target),
                from_=call.shop_number,
                answer_url=leg.answer_url,
                status_url=leg.status_url,
                ring_timeout_seconds=shop.inbound.agent_ring_seconds,
                detect_machine=False,
            )
        )
    except Exception:
        logger.exception("transfer leg not placed", extra={"to_agent": to_agent})
        store.release_agent(shop.shop_id, to_agent, call.call_sid, "available", now, timezone=zone)
        _back_to_first(call, conferences)
        raise ControlRefused(409, "not_placed", f"{target.name}'s phone could not be rung: try again") from None
    store.update_call(call.call_sid, transfer_to=to_agent, transfer_mode=mode, transfer_call_sid=leg_sid, on_hold=True)
    if mode == "cold" and call.agent_call_sid:
        conferences.remove(room, call.agent_call_sid)  # the first agent is done
    logger.info("transfer started", extra={"to_agent": to_agent, "mode": mode})
    return {"call_sid": call.call_sid, "transfer_to": to_agent, "mode": mode, "state": "ringing"}


def free_agent_of_group(
    shop: ShopSettings, group: str, except_agent: str, *, store: TransferStore, now: datetime
) -> str | None:
    """A transfer to a group goes to its longest-idle available agent (not the one transferring)."""
    free = candidates(store.list_agents(shop.shop_id), group, None, now, shop.inbound.wrap_up_seconds)
    return next((agent.agent_id for agent in free if agent.agent_id != except_agent), None)


def may_join(call: Call, agent_id: str) -> bool:
    """The second agent pressed 1: is the transfer still theirs, the caller still there?"""
    return call.transfer_to == agent_id and call.status not in FINAL_CALL_STATUSES


def complete(
    shop: ShopSettings, agent_id: str, *, store: TransferStore, conferences: ConferenceParticipant, now: datetime
) -> dict[str, Any]:
    """The first agent hands a warm transfer over: they leave, the caller talks to the second."""
    call = live_call_of(shop, agent_id, store=store)
    if not call.transfer_to or not call.transfer_call_sid:
        raise ControlRefused(409, "no_transfer", "no transfer of this call is under way")
    if not conferences.set_end_on_exit(call.call_sid, call.transfer_call_sid, end=True):
        raise ControlRefused(409, "not_joined", "the other agent is not in the call yet")
    handover(call, store=store, conferences=conferences, shop=shop, now=now)
    return {"call_sid": call.call_sid, "agent_id": call.transfer_to, "state": "completed"}


def cancel(
    shop: ShopSettings,
    agent_id: str,
    *,
    store: TransferStore,
    conferences: ConferenceParticipant,
    control: CallControl,
    now: datetime,
) -> dict[str, Any]:
    """The first agent takes the caller back: the second agent leaves (or stops ringing)."""
    call = live_call_of(shop, agent_id, store=store)
    if not call.transfer_to or not call.transfer_call_sid:
        raise ControlRefused(409, "no_transfer", "no transfer of this call is under way")
    store.update_call(call.call_sid, **CLEARED, on_hold=False)
    if not conferences.remove(call.call_sid, call.transfer_call_sid):
        control.end_call(call.transfer_call_sid)  # still ringing (or whispering)
    store.release_agent(shop.shop_id, call.transfer_to, call.call_sid, "available", now, timezone=shop.timezone)
    _back_to_first(call, conferences)
    return {"call_sid": call.call_sid, "agent_id": agent_id, "state": "cancelled"}


def handover(
    call: Call, *, store: TransferStore, conferences: ConferenceParticipant, shop: ShopSettings, now: datetime
) -> None:
    """The second agent has the caller: the call is theirs, the first agent wraps up."""
    first, second = call.agent_id, call.transfer_to
    assert second is not None
    handled = list(call.handled_by or ([first] if first else []))
    store.update_call(
        call.call_sid,
        **CLEARED,
        agent_id=second,
        agent_call_sid=call.transfer_call_sid,
        on_hold=False,
        transfers=(call.transfers or 0) + 1,
        handled_by=[*handled, second],
    )
    if call.transfer_call_sid:
        conferences.set_end_on_exit(call.call_sid, call.transfer_call_sid, end=True)
    conferences.hold(call.call_sid, caller_leg(call), on=False, music_url=None)
    if call.agent_call_sid:
        conferences.remove(call.call_sid, call.agent_call_sid)
    if first:
        store.release_agent(shop.shop_id, first, call.call_sid, "wrap-up", now, timezone=shop.timezone, talked=True)
    logger.info("transfer completed", extra={"from_agent": first, "to_agent": second})


def _back_to_first(call: Call, conferences: ConferenceParticipant) -> None:
    # The room is the first agent's again before the caller hears them: an agent who hangs up
    # the moment the caller is back must end the call, not leave the caller alone in the room.
    if call.agent_call_sid:
        conferences.set_end_on_exit(call.call_sid, call.agent_call_sid, end=True)
    conferences.hold(call.call_sid, caller_leg(call), on=False, music_url=None)


def participant_event(
    call: Call,
    event: str,
    leg_sid: str,
    *,
    shop: ShopSettings,
    store: TransferEndStore,
    conferences: ConferenceParticipant,
    control: CallControl,
    requeue_url: Callable[[str], str],
    apology_url: ApologyUrl,
    now: datetime,
) -> None:
    """The conference's join and leave events during a transfer (nobody stuck on hold)."""
    if not call.transfer_to:
        return
    second_in = event == "participant-join" and leg_sid == call.transfer_call_sid
    if second_in and call.transfer_mode == "cold":
        handover(call, store=store, conferences=conferences, shop=shop, now=now)
    elif event == "participant-leave" and leg_sid == call.transfer_call_sid:
        target_gone(call, missed=False, shop=shop, store=store, conferences=conferences, control=control,
                    requeue_url=requeue_url, apology_url=apology_url, now=now)  # fmt: skip
    elif event == "participant-leave" and leg_sid == call.agent_call_sid and call.transfer_mode == "warm":
        store.update_call(call.call_sid, transfer_mode="cold")  # the second agent takes over once in
        store.release_agent(
            shop.shop_id, call.agent_id or "", call.call_sid, "wrap-up", now, timezone=shop.timezone, talked=True
        )


def target_gone(
    call: Call,
    *,
    missed: bool,
    shop: ShopSettings,
    store: TransferEndStore,
    conferences: ConferenceParticipant,
    control: CallControl,
    requeue_url: Callable[[str], str],
    apology_url: ApologyUrl,
    now: datetime,
) -> None:
    """The second agent left, or never answered, before the transfer completed: the caller is
    back with the first agent, or, the first agent gone (cold), back in the queue (an outbound
    call's customer: an apology and a callback in their place)."""
    assert call.transfer_to is not None
    store.update_call(call.call_sid, **CLEARED, on_hold=False)
    status = "away" if missed else "available"
    store.release_agent(
        shop.shop_id, call.transfer_to, call.call_sid, status, now, timezone=shop.timezone, missed=missed
    )
    if call.transfer_mode == "warm":
        _back_to_first(call, conferences)
        return
    if call.direction != "inbound":  # the app's leg to the customer: called back instead (see conference_calls)
        ctx = CallContext(shop, call)
        call_back_after_transfer(ctx, store=store, control=control, apology_url=apology_url, now=now)
        return
    store.update_call(call.call_sid, result="queued")
    control.redirect_call(call.call_sid, requeue_url(call.language or shop.main_language))
