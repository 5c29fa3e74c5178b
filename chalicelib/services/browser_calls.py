"""An agent's call from the browser softphone (#17): the page's ``device.connect({params:
{To}})`` makes Twilio ask the TwiML App's Voice URL what to do, ``From`` being
``client:<identity>`` of the agent's token. The agent is the one whose softphone identity that
is (never a parameter of the request); the call is placed only under every dial's rules (the
do-not-call list, the shop's destinations, its caller ID, the calling window in the customer's
zone, ``agent_call_rules``) and only for an agent free to take it, who is busy for its length
and wraps up after a conversation. A refusal is a sentence the agent hears, in their language.

The call is a conference call like every other agent call: the agent's browser leg (the
webhook's CallSid, the call record's) waits in the room named for the call while the app rings
the customer into it (``browser_call_legs``), so hold, transfers and the desk's controls act on
it as on an agent-first call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain.entities import Call
from chalicelib.domain.phones import mask_phone, normalise_phone
from chalicelib.domain.routing import Agent, agent_language
from chalicelib.domain.values import local_day
from chalicelib.observability import logger
from chalicelib.services.agent_call_rules import ClickRefused, check_rules
from chalicelib.services.agent_dialer import ACCEPTED
from chalicelib.services.ports import BrowserCallStore

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings

DIRECTION = "outbound-agent"  # as click-to-call's: an agent calls a customer
CLIENT_PREFIX = "client:"
# What the agent hears for each rule that forbids the call (twiml/<lang>.toml prompts).
REFUSAL_PROMPTS = {
    "do_not_call": "desk_call_do_not_call",
    "number_refused": "desk_call_number_refused",
    "no_caller_id": "desk_call_no_caller_id",
    "outside_calling_hours": "desk_call_outside_hours",
}


@dataclass(frozen=True)
class Join:
    """The agent's leg ``call_sid`` joins the call's room; the customer ``number`` is rung into
    it unless ``placed`` already (a retried webhook of the same call)."""

    shop_id: str
    agent_id: str
    call_sid: str
    number: str
    language: str
    placed: bool = False


@dataclass(frozen=True)
class Refused:
    language: str
    prompt: str


def start(from_: str, to: str, call_sid: str, *, store: BrowserCallStore, now: datetime) -> Join | Refused:
    """What the browser's outgoing call ``call_sid`` does: into its room, or a refusal."""
    identity = from_[len(CLIENT_PREFIX) :] if from_.startswith(CLIENT_PREFIX) else ""
    agents = store.agents_with_identity(identity) if identity else []
    shop = store.get_shop(agents[0].shop_id) if len(agents) == 1 else None
    if shop is None:
        logger.warning("browser call from no single agent", extra={"agents": len(agents)})
        return Refused("en", "desk_call_no_agent")
    agent = agents[0]
    language = agent_language(agent, shop.main_language)
    number = normalise_phone(to, shop.default_region).e164
    if not number:
        return Refused(language, "desk_call_not_a_number")
    join = Join(shop.shop_id, agent.agent_id, call_sid, number, language)
    if agent.reserved_call_sid == call_sid:
        return _retried(join)
    try:
        check_rules(shop, number, store=store, now=now)
    except ClickRefused as refused:
        logger.info("browser call refused", extra={"agent_id": agent.agent_id, "reason": refused.error})
        return Refused(language, REFUSAL_PROMPTS[refused.error])
    if not store.reserve_agent(
        agent, call_sid, now, wrap_up_seconds=shop.inbound.wrap_up_seconds, timezone=shop.timezone
    ):
        again = store.get_agent(shop.shop_id, agent.agent_id)
        if again is not None and again.reserved_call_sid == call_sid:  # the same webhook, twice at once
            return _retried(join)
        return Refused(language, "desk_call_not_available")
    store.note_desk_call(shop.shop_id, agent.agent_id, call_sid, now)  # the sweep's, should its end be lost
    _record(shop, agent, number, call_sid, store=store, now=now)
    logger.info("browser call started", extra={"agent_id": agent.agent_id, "to": mask_phone(number)})
    return join


def _retried(join: Join) -> Join:
    # The reservation is the claim: only the request that made it rings the customer.
    logger.info("browser call webhook retried: the customer's leg is not placed again")
    return Join(join.shop_id, join.agent_id, join.call_sid, join.number, join.language, placed=True)


def _record(
    shop: ShopSettings, agent: Agent, number: str, call_sid: str, *, store: BrowserCallStore, now: datetime
) -> None:
    call = Call(
        call_sid,
        shop.shop_id,
        DIRECTION,
        number,
        shop.caller_id or "",
        now,
        local_day(now, shop.timezone),
    )
    store.upsert_call(call, handled_by=[agent.agent_id], result=ACCEPTED, status="in-progress")
    # on the agent's desk (screen pop, outcome); the agent's leg is the room's, for hold and transfers
    store.update_call(call_sid, agent_id=agent.agent_id, agent_call_sid=call_sid)
