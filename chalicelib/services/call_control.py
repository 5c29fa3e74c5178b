"""The desk's control of the agent's live call (#17): hold the caller (with the shop's hold
music) and take them back. Only the agent whose call it is, while the caller is on the line in
the call's conference; each refusal says why in words (``ControlRefused``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.domain.entities import Call
from chalicelib.observability import logger
from chalicelib.services.conference_calls import FINAL_CALL_STATUSES, TALKING_RESULTS, agent_talking, caller_leg
from chalicelib.services.ports import ConferenceCallStore, ConferenceParticipant

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings


@dataclass(frozen=True)
class ControlRefused(Exception):
    status: int
    error: str
    message: str


def live_call_of(shop: ShopSettings, agent_id: str, *, store: ConferenceCallStore) -> Call:
    """The conference call the agent is talking on now, or ``ControlRefused``."""
    agent = store.desk_agent(shop.shop_id, agent_id)
    call = store.get_call(agent.current_call_sid) if agent and agent.current_call_sid else None
    if call is None or call.shop_id != shop.shop_id:
        raise ControlRefused(404, "no_call", "no call on this agent's desk")
    if call.status in FINAL_CALL_STATUSES or call.ended_at is not None:
        raise ControlRefused(409, "call_ended", "the call on the desk has ended")
    if call.agent_id != agent_id or call.result not in TALKING_RESULTS:
        raise ControlRefused(409, "not_connected", "the agent is not talking on this call yet")
    if not agent_talking(call):
        raise ControlRefused(409, "not_a_conference", "this call cannot be held: it is not a conference call")
    return call


def hold(
    shop: ShopSettings,
    agent_id: str,
    on: bool,
    *,
    store: ConferenceCallStore,
    conferences: ConferenceParticipant,
    music_url: str,
) -> dict[str, Any]:
    """Hold the caller (``on``) or take them back; the call's state as the desk shows it."""
    call = live_call_of(shop, agent_id, store=store)
    if not conferences.hold(call.call_sid, caller_leg(call), on=on, music_url=music_url if on else None):
        raise ControlRefused(409, "caller_gone", "the caller is no longer on the line")
    store.update_call(call.call_sid, on_hold=on)
    logger.info("caller held" if on else "caller back from hold", extra={"agent_id": agent_id})
    return {"call_sid": call.call_sid, "on_hold": on}
