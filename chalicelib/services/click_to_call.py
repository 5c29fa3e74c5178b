"""Click-to-call (I12, issue 17): an agent calls a customer from the desk, agent first.

The customer is an order's (``order_id``) or a number (``phone``, in the shop's region). The
rules of every dial apply before anything rings: do-not-call (O11), the shop's destinations
(P5: premium-rate, disallowed countries), the calling window in the customer's zone (O6/O14),
the shop's caller ID. The call is a callback task of the agent's, placed by the agent-first
dialer (``agent_dialer._serve`` for that one agent: the agent is rung, hears the whisper,
presses 1, the customer is dialed with the shop's caller ID); its webhooks, outcomes and
timeline are the agent-first call's. A customer who does not answer is tried again per the
shop's retry policy like any callback.

A double click makes one call: the task id comes from the ``Idempotency-Key`` header, or
without one from the agent, the number and the minute; a repeat answers with the same task
and call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.entities import DialTask
from chalicelib.domain.phones import normalise_phone
from chalicelib.domain.routing import is_free
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger
from chalicelib.services import agent_dialer
from chalicelib.services.agent_call_rules import ClickRefused, check_rules
from chalicelib.services.ports import AgentDialStore, AgentDialUrls, Telephony

KIND = "callback"


@dataclass(frozen=True)
class Placed:
    task_id: str
    call_sid: str | None  # None while the first of two clicks is still placing the call
    repeated: bool = False


def task_id_for(shop_id: str, agent_id: str, phone: str, key: str | None, now: datetime) -> str:
    basis = f"{shop_id}|{agent_id}|key|{key}" if key else f"{shop_id}|{agent_id}|{phone}|{now:%Y-%m-%dT%H:%M}"
    return "c2c_" + hashlib.sha256(basis.encode()).hexdigest()[:32]


def customer_phone(
    shop: ShopSettings, *, order_id: str | None, phone: str | None, store: AgentDialStore
) -> tuple[str, list[str]]:
    """The number to call and the orders the call is about."""
    if order_id:
        order = store.get_order(shop.shop_id, order_id)
        if order is None:
            raise ClickRefused(404, "unknown_order", f"order_id: no order {order_id!r} in this shop", "order_id")
        return order.phone, [order.order_id]
    normalised = normalise_phone(phone or "", shop.default_region)
    if not normalised.e164:
        raise ClickRefused(422, "validation_failed", f"phone: {phone!r} is not a phone number", "phone")
    return normalised.e164, []


def call_customer(
    shop: ShopSettings,
    agent_id: str,
    *,
    order_id: str | None = None,
    phone: str | None = None,
    idempotency_key: str | None = None,
    store: AgentDialStore,
    telephony: Telephony,
    urls: AgentDialUrls,
    now: datetime,
) -> Placed:
    """Ring the agent, then the customer; ``ClickRefused`` naming the rule that forbids it."""
    number, order_ids = customer_phone(shop, order_id=order_id, phone=phone, store=store)
    task_id = task_id_for(shop.shop_id, agent_id, number, idempotency_key, now)
    earlier = store.get_task(task_id)
    if earlier is not None:
        return Placed(task_id, earlier.last_call_sid, repeated=True)
    check_rules(shop, number, store=store, now=now)
    agent = store.get_agent(shop.shop_id, agent_id)
    if agent is None or not is_free(agent, now, shop.inbound.wrap_up_seconds):
        raise ClickRefused(409, "agent_not_available", "agent: set your status to available to place a call", "agent")
    task = DialTask(
        task_id,
        shop.shop_id,
        number,
        order_ids,
        agent.languages[0] if agent.languages else shop.main_language,
        now,
        kind=KIND,
        due_at=now,
    )
    if not store.insert_task(task):  # the other click got here first
        again = store.get_task(task_id)
        return Placed(task_id, again.last_call_sid if again else None, repeated=True)
    call_sid = agent_dialer._serve(
        shop, task_id, [agent], [agent], None, store=store, telephony=telephony, urls=urls, now=now
    )
    if call_sid is None:
        raise ClickRefused(409, "agent_not_available", "agent: the agent was given another call meanwhile", "agent")
    logger.info("click-to-call placed", extra={"task_id": task_id, "agent_id": agent_id})
    return Placed(task_id, call_sid)
