"""Cold transfers of a live inbound call to an outside number the shop allows (#17).

Only the numbers the shop lists (``desk.transfer_numbers``), and only where the shop may call
(the same destination rules as every dial, ``services.destinations``). The caller is held (the
shop's music) while the app dials the number into the call's conference with the shop's
caller ID; the agent leaves at once (cold) and wraps up. Once the number answers the caller is
back off hold talking to it, and either side hanging up ends the call. A number that does not
answer (busy, failed) sends the caller back to the queue at the original place: nobody is left
on hold. An outbound call's customer (the app's leg, ``conference_calls.caller_leg``) hears an
apology instead and is called back in their place (``conference_calls.call_back_after_transfer``).
The call record keeps the number (``transferred_to_number``) and counts the transfer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.entities import Call
from chalicelib.domain.phones import mask_phone, normalise_phone
from chalicelib.observability import logger
from chalicelib.services.call_control import ControlRefused, live_call_of
from chalicelib.services.conference_calls import (
    FINAL_CALL_STATUSES,
    ApologyUrl,
    call_back_after_transfer,
    caller_leg,
)
from chalicelib.services.destinations import refused_contact
from chalicelib.services.inbound import CallContext
from chalicelib.services.ports import CallControl, ConferenceParticipant, TransferEndStore, TransferStore

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings

LABEL = "outside-transfer"
PENDING_CLEARED: dict[str, Any] = {"transfer_number": None, "transfer_mode": None, "transfer_call_sid": None}


def number_problem(shop: ShopSettings, raw: str) -> tuple[str, str | None]:
    """The number in E.164 and, when the shop may not transfer to it, why (in words)."""
    number = normalise_phone(raw, shop.default_region).e164 or raw
    if number not in shop.desk.transfer_numbers:
        listed = ", ".join(shop.desk.transfer_numbers) or "none"
        return number, f"not one of the shop's transfer numbers (desk.transfer_numbers: {listed})"
    refused = refused_contact(shop, number)
    if refused:
        return number, f"the shop does not call this number ({refused})"
    return number, None


def start(
    shop: ShopSettings,
    agent_id: str,
    number: str,
    *,
    store: TransferStore,
    conferences: ConferenceParticipant,
    status_url: str,
    music_url: str,
    now: datetime,
) -> dict[str, Any]:
    """Dial ``number`` (checked by ``number_problem``) into the agent's live call; the agent leaves."""
    call = live_call_of(shop, agent_id, store=store)
    if call.transfer_to or call.transfer_number:
        raise ControlRefused(409, "transfer_under_way", "a transfer of this call is already under way")
    room, customer = call.call_sid, caller_leg(call)
    if not conferences.hold(room, customer, on=True, music_url=music_url):
        raise ControlRefused(409, "caller_gone", "the caller is no longer on the line")
    if call.agent_call_sid:
        conferences.set_end_on_exit(room, call.agent_call_sid, end=False)  # the room outlives the agent
    try:
        leg_sid = conferences.add(
            room,
            to=number,
            from_=shop.caller_id or call.shop_number,
            label=LABEL,
            status_url=status_url,
            ring_seconds=shop.inbound.agent_ring_seconds,
        )
    except Exception:
        logger.exception("outside transfer not placed", extra={"to": mask_phone(number)})
        if call.agent_call_sid:  # the room is the agent's again before the caller is back
            conferences.set_end_on_exit(room, call.agent_call_sid, end=True)
        conferences.hold(room, customer, on=False, music_url=None)
        raise ControlRefused(409, "not_placed", "the number could not be rung: try again") from None
    store.update_call(
        call.call_sid, transfer_number=number, transfer_mode="cold", transfer_call_sid=leg_sid, on_hold=True
    )
    if call.agent_call_sid:
        conferences.remove(room, call.agent_call_sid)  # cold: the agent is done
    store.release_agent(shop.shop_id, agent_id, call.call_sid, "wrap-up", now, timezone=shop.timezone, talked=True)
    logger.info("outside transfer started", extra={"to": mask_phone(number)})
    return {"call_sid": call.call_sid, "transfer_to": number, "mode": "cold", "state": "ringing"}


def participant_event(
    call: Call, event: str, leg_sid: str, *, store: TransferStore, conferences: ConferenceParticipant
) -> bool:
    """The number answered and joined: the caller is off hold talking to it, and it hanging up
    ends the call. True when the event was the outside leg's."""
    if not call.transfer_number or leg_sid != call.transfer_call_sid:
        return False
    if event == "participant-join":
        conferences.set_end_on_exit(call.call_sid, leg_sid, end=True)
        conferences.hold(call.call_sid, caller_leg(call), on=False, music_url=None)
        store.update_call(
            call.call_sid,
            **PENDING_CLEARED,
            on_hold=False,
            transferred_to_number=call.transfer_number,
            transfers=(call.transfers or 0) + 1,
        )
        logger.info("outside transfer completed", extra={"to": mask_phone(call.transfer_number)})
    return True


def leg_ended(
    call: Call,
    leg_sid: str,
    status: str,
    *,
    shop: ShopSettings,
    store: TransferEndStore,
    control: CallControl,
    requeue_url: Callable[[str], str],
    apology_url: ApologyUrl,
    now: datetime,
) -> bool:
    """The outside leg ended before it joined (no answer, busy, failed): the caller goes back
    to the queue (an outbound call's customer: an apology and a callback). True when so."""
    if status not in FINAL_CALL_STATUSES or not call.transfer_number or leg_sid != call.transfer_call_sid:
        return False
    if call.status in FINAL_CALL_STATUSES:
        store.update_call(call.call_sid, **PENDING_CLEARED)  # the caller hung up meanwhile
        return False
    logger.info("outside transfer not answered", extra={"to": mask_phone(call.transfer_number), "status": status})
    if call.direction != "inbound":
        store.update_call(call.call_sid, **PENDING_CLEARED, on_hold=False)
        call_back_after_transfer(
            CallContext(shop, call), store=store, control=control, apology_url=apology_url, now=now
        )
        return True
    store.update_call(call.call_sid, **PENDING_CLEARED, on_hold=False, result="queued")
    control.redirect_call(call.call_sid, requeue_url(call.language or shop.main_language))
    return True
