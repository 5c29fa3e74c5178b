"""An agent's call from the browser softphone (#17): the page's ``device.connect({params:
{To}})`` makes Twilio ask the TwiML App's Voice URL what to do, ``From`` being
``client:<identity>`` of the agent's token. The agent is the one whose softphone identity that
is (never a parameter of the request); the call is placed only under every dial's rules (the
do-not-call list, the shop's destinations, its caller ID, the calling window in the customer's
zone, ``agent_call_rules``) and only for an agent free to take it, who is busy for its length
and wraps up after a conversation. A refusal is a sentence the agent hears, in their language.
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
ANSWERED_STATUSES = frozenset({"completed", "answered"})


@dataclass(frozen=True)
class Dial:
    """Dial ``number`` from ``caller_id``; its end goes to the agent's and shop's done URL."""

    shop_id: str
    agent_id: str
    number: str
    caller_id: str


@dataclass(frozen=True)
class Refused:
    language: str
    prompt: str


def start(from_: str, to: str, call_sid: str, *, store: BrowserCallStore, now: datetime) -> Dial | Refused:
    """What the browser's outgoing call ``call_sid`` does: dial the customer, or a refusal."""
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
    try:
        check_rules(shop, number, store=store, now=now)
    except ClickRefused as refused:
        logger.info("browser call refused", extra={"agent_id": agent.agent_id, "reason": refused.error})
        return Refused(language, REFUSAL_PROMPTS[refused.error])
    if not store.reserve_agent(
        agent, call_sid, now, wrap_up_seconds=shop.inbound.wrap_up_seconds, timezone=shop.timezone
    ):
        return Refused(language, "desk_call_not_available")
    _record(shop, agent, number, call_sid, store=store, now=now)
    logger.info("browser call placed", extra={"agent_id": agent.agent_id, "to": mask_phone(number)})
    return Dial(shop.shop_id, agent.agent_id, number, shop.caller_id or "")  # check_rules: it has one


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
    store.upsert_call(call, handled_by=[agent.agent_id], result="agent", status="in-progress")
    store.update_call(call_sid, agent_id=agent.agent_id)  # the call on the agent's desk (screen pop, outcome)


def ended(
    call_sid: str,
    shop_id: str,
    agent_id: str,
    dial_status: str,
    duration: int,
    *,
    store: BrowserCallStore,
    now: datetime,
) -> None:
    """The customer's leg ended: the record says how, the agent wraps up after a conversation
    (or is free again when nobody answered)."""
    shop = store.get_shop(shop_id)
    call = store.get_call(call_sid)
    if shop is None or call is None or call.agent_id != agent_id or call.ended_at is not None:
        return  # not this agent's browser call, or its end is recorded already (a retried callback)
    talked = dial_status in ANSWERED_STATUSES and duration > 0
    store.update_call(call_sid, status=dial_status or "completed", duration_seconds=duration, ended_at=now)
    status = "wrap-up" if talked else "available"
    store.release_agent(shop_id, agent_id, call_sid, status, now, timezone=shop.timezone, talked=talked)
