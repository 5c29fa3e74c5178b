"""The legs of an agent's call from the browser (#17, ``browser_calls``): the agent waits in the
room named for the call while the customer's leg, placed by the app with the shop's caller ID
(``agent_dial_legs.place_customer_leg``), rings. The customer answering joins the room and the
call is talked (``agent-talked``); hold and transfers act on it from then on.

Ends: a customer who does not answer, is busy or cannot be rung ends the call (the record says
how, ``customer-<status>``) and the agent, free again, hears so; the agent hanging up first calls
the customer off; after a conversation the agent wraps up, and after a transfer the agent who
has the call then does. Each end may come twice (the Dial's action and a status callback, or a
retry): the record's ``ended_at`` and the agent's reservation make repeats do nothing.

Should every end be lost, the minute's sweep (``release_lost_calls``) asks Twilio about agents
busy on a browser call for long and releases those whose call is over.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from chalicelib.domain.twilio_fields import FINAL_CALL_STATUSES
from chalicelib.observability import logger
from chalicelib.services.agent_dial_legs import CustomerLegUrls, place_customer_leg
from chalicelib.services.agent_dialer import ACCEPTED, TALKED
from chalicelib.services.ports import BrowserCallStore, CallControl, Telephony

if TYPE_CHECKING:
    from chalicelib.domain.entities import Call
    from chalicelib.domain.shop import ShopSettings

# What the agent hears when the customer is not reached (twiml/<lang>.toml prompts).
UNREACHED_PROMPTS = {
    "no-answer": "desk_call_customer_no_answer",
    "busy": "desk_call_customer_busy",
    "failed": "desk_call_customer_failed",
}


def unreached_prompt(status: str) -> str:
    return UNREACHED_PROMPTS.get(status, UNREACHED_PROMPTS["no-answer"])


def ring_customer(
    shop: ShopSettings,
    call_sid: str,
    number: str,
    urls: CustomerLegUrls,
    *,
    store: BrowserCallStore,
    telephony: Telephony,
    now: datetime,
) -> Literal["ringing", "not-placed"]:
    """Ring the customer into the room where the agent waits; ``not-placed`` (Twilio refused
    the leg) ends the call as failed and frees the agent."""
    placed = place_customer_leg(shop, call_sid, number, urls, store=store, telephony=telephony)
    if placed == "not-placed":
        call = store.get_call(call_sid)
        if call is not None:
            _unreached(shop, call, "failed", store=store, now=now)
    return placed


def customer_answered(call_sid: str, customer_sid: str, *, store: BrowserCallStore, now: datetime) -> bool:
    """The customer picked up: True when the agent still waits (the call is talked and the
    customer joins the room); False when the agent is gone (the customer's call ends)."""
    call = store.get_call(call_sid)
    if call is None or call.result != ACCEPTED or call.ended_at is not None:
        return False
    store.update_call(call_sid, result=TALKED, customer_call_sid=customer_sid, answered_at=now)
    logger.info("browser call answered", extra={"agent_id": call.agent_id})
    return True


def customer_leg_ended(
    shop: ShopSettings,
    call_sid: str,
    status: str,
    *,
    store: BrowserCallStore,
    control: CallControl,
    unreached_url: str,
    now: datetime,
) -> bool:
    """The customer's leg ended (its status callback, or its Dial into the room). Never
    answered: the call ends ``customer-<status>``, the agent is free and, still in the room, is
    sent to ``unreached_url`` to hear so (True). After a conversation the call is over."""
    if status not in FINAL_CALL_STATUSES:
        return False
    call = store.get_call(call_sid)
    if call is None or call.ended_at is not None:
        return False
    if call.result == TALKED:
        _talk_over(shop, call, store=store, now=now)
        return False
    if call.result != ACCEPTED:
        return False
    _unreached(shop, call, status, store=store, now=now)
    try:
        control.redirect_call(call_sid, unreached_url)
    except Exception:  # the agent hung up meanwhile: nobody to tell
        logger.exception("agent not told of the unreached customer")
    return True


def agent_left_room(
    shop: ShopSettings, agent_id: str, call_sid: str, *, store: BrowserCallStore, control: CallControl, now: datetime
) -> bool:
    """The agent's Dial into the room ended: the customer hung up, the agent did, or a transfer
    took them out. True after a conversation (the agent wraps up; the call ends unless another
    agent has it or a transfer is under way); a customer still ringing is called off."""
    call = store.get_call(call_sid)
    if call is None or agent_id not in (call.handled_by or [call.agent_id or ""]):
        return False
    zone = shop.timezone
    if call.result == TALKED:
        store.release_agent(shop.shop_id, agent_id, call_sid, "wrap-up", now, timezone=zone, talked=True)
        if call.agent_id == agent_id and not call.transfer_to and call.ended_at is None:
            _close(call, "completed", now, store=store)
        return True
    if call.result == ACCEPTED and call.ended_at is None:
        if call.customer_call_sid:
            try:
                control.end_call(call.customer_call_sid)
            except Exception:
                logger.exception("ringing customer leg not ended")
        store.update_call(call_sid, status="canceled", result="agent-hung-up", ended_at=now)
    store.release_agent(shop.shop_id, agent_id, call_sid, "available", now, timezone=zone)
    return False


def _talk_over(shop: ShopSettings, call: Call, *, store: BrowserCallStore, now: datetime) -> None:
    """The customer left: the call is over, and the agent who has it now wraps up."""
    _close(call, "completed", now, store=store)
    if call.agent_id:
        store.release_agent(
            shop.shop_id, call.agent_id, call.call_sid, "wrap-up", now, timezone=shop.timezone, talked=True
        )


def _unreached(shop: ShopSettings, call: Call, status: str, *, store: BrowserCallStore, now: datetime) -> None:
    store.update_call(call.call_sid, status=status, result=f"customer-{status}", ended_at=now, duration_seconds=0)
    if call.agent_id:
        store.release_agent(shop.shop_id, call.agent_id, call.call_sid, "available", now, timezone=shop.timezone)
    logger.info("browser call: customer not reached", extra={"agent_id": call.agent_id, "status": status})


def _close(call: Call, status: str, now: datetime, *, store: BrowserCallStore) -> None:
    talk = int((now - call.answered_at).total_seconds()) if call.answered_at else 0
    store.update_call(call.call_sid, status=status, ended_at=now, duration_seconds=max(talk, 0))


# ---- ends that never reached us --------------------------------------------------------------
LOST_AFTER = timedelta(minutes=10)  # asked of Twilio once a browser call is this old, then every as long


def release_lost_calls(*, store: BrowserCallStore, telephony: Telephony, now: datetime) -> list[str]:
    """Agents busy on a browser call for ``LOST_AFTER`` whose call Twilio reports over (every
    end callback lost): released (wrap-up after a conversation, else available) and the record
    closed. A call still in progress is asked about again ``LOST_AFTER`` later. Found through
    the agents' sparse ``by_desk_call`` index: one Query a minute whatever the number of shops.
    The agent ids released."""
    released: list[str] = []
    for shop_id, agent_id in store.desk_calls_unchecked_since(now - LOST_AFTER):
        try:
            if _release_if_over(shop_id, agent_id, store=store, telephony=telephony, now=now):
                released.append(agent_id)
        except Exception:  # one agent's fault must not keep the others busy
            logger.exception("lost browser call not settled", extra={"agent_id": agent_id})
    return released


def _release_if_over(
    shop_id: str, agent_id: str, *, store: BrowserCallStore, telephony: Telephony, now: datetime
) -> bool:
    agent = store.get_agent(shop_id, agent_id)
    shop = store.get_shop(shop_id)
    call_sid = agent.reserved_call_sid if agent else None
    if agent is None or shop is None or not call_sid:
        return False
    state = telephony.fetch_call(call_sid)  # the agent's leg: the call lasts as long as it
    if state.status not in FINAL_CALL_STATUSES:
        store.recheck_desk_call_later(shop_id, agent_id, now)  # a long conversation
        return False
    call = store.get_call(call_sid)
    talked = call is not None and call.result == TALKED
    if call is not None and call.ended_at is None:
        if talked:
            _close(call, "completed", now, store=store)
        else:
            store.update_call(call_sid, status=state.status, result="agent-hung-up", ended_at=now)
    status = "wrap-up" if talked else "available"
    store.release_agent(shop_id, agent_id, call_sid, status, now, timezone=shop.timezone, talked=talked)
    logger.warning("browser call's end was lost: agent released", extra={"agent_id": agent_id})
    return True
