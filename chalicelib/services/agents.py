"""Agents' statuses (A1): set through the API (or SMS keywords, by the SMS area), every change
stored with its time in the status log. ``busy`` and ``wrap-up`` belong to the system: an agent
cannot set them, and cannot leave ``busy`` by hand while a call is reserved for them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain.routing import SETTABLE_STATUSES, Agent

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.ports import AgentStore

SETTABLE = SETTABLE_STATUSES
SMS_KEYWORDS = {"READY": "available", "BREAK": "break", "AWAY": "away", "OFF": "offline"}


class StatusRefused(ValueError):
    pass


def set_status(
    shop: ShopSettings, agent_id: str, status: str, *, store: AgentStore, now: datetime, source: str = "api"
) -> Agent | None:
    """None for an unknown agent; ``StatusRefused`` for a status the agent may not set now."""
    if status not in SETTABLE_STATUSES:
        raise StatusRefused(f"status must be one of {', '.join(SETTABLE_STATUSES)}")
    agent = store.get_agent(shop.shop_id, agent_id)
    if agent is None:
        return None
    if agent.status == "busy":
        raise StatusRefused("the agent is on a call: the status changes when the call ends")
    if agent.status == status:
        return agent  # a repeat changes nothing and logs nothing
    changed = store.set_agent_status(
        shop.shop_id,
        agent_id,
        status,
        now,
        source=source,
        timezone=shop.timezone,
        only_from={"available", "wrap-up", "break", "away", "offline"},
    )
    if changed is None:
        raise StatusRefused("the agent's status changed meanwhile (a call arrived): try again")
    return changed


def status_for_sms(keyword: str) -> str | None:
    """READY / BREAK / AWAY / OFF from the agent's own phone (for the SMS webhook)."""
    return SMS_KEYWORDS.get(keyword.strip().upper())
