"""The shop's CRM push (A6): events into the outbox, and their delivery.

- ``queue_outcome_event`` (outcomes stream), ``queue_order_event`` and ``queue_route_event``
  (orders stream) store one event per outcome, order decision or change of an open order's
  route under a stable id; a redelivered record or a repeated
  save stores nothing new. Shops without a CRM get nothing stored.
- ``deliver`` (outbox stream, at once; the sweep, when due) claims the event, POSTs it signed,
  and records the answer: delivered; retried with exponential backoff for a day after timeouts,
  connection or TLS errors, 5xx, 408 or 429; parked at once when the CRM refuses it (other 4xx,
  redirects) or its URL is not allowed, and after the day of failures.
- ``sweep_due`` (every minute) Queries each shop's due events; ``parked_events`` and ``replay``
  serve the admin CLI.

The call flow never waits on a CRM: nothing here runs inside a webhook. Within one run a shop
whose CRM just failed is skipped (``Breaker``): its other events stay due for the next sweep
instead of each waiting out a timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain.crm import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    CrmAddressRefused,
    OutboxEvent,
    OutcomeFacts,
    crm_url_problem,
    event_body,
    first_save_of_same,
    next_attempt_at,
    order_change_is_news,
    order_event_id,
    outcome_event_id,
    retryable_status,
    route_change_is_news,
    route_event_id,
    signature_header,
)
from chalicelib.domain.erasure import customer_hash
from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.domain.entities import Order
    from chalicelib.domain.outcomes import SavedOutcome
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.ports import Outbox, SecretOf, Sender

LEASE = timedelta(minutes=2)  # a claimed try that never reports back is retried after this
SWEEP_LIMIT = 100  # events per shop per sweep; the rest wait a minute
# A try takes at most the sender's connect + read timeouts (13 s): none starts with less left
# of a run's budget, which stays under the functions' 60 s timeout (infra).
RESERVE_SECONDS = 20.0
RUN_SECONDS = 55.0


@dataclass
class Breaker:
    """One run's limits: shops whose CRM failed during it, and the run's time (a slow CRM must
    not hold a Lambda past its timeout; what is left stays due for the next sweep)."""

    failed: set[str] = field(default_factory=set)
    seconds_left: Callable[[], float] | None = None

    def out_of_time(self) -> bool:
        return self.seconds_left is not None and self.seconds_left() < RESERVE_SECONDS


# ---- events -----------------------------------------------------------------------------------
def queue_outcome_event(
    shop: ShopSettings,
    saves: list[tuple[str, SavedOutcome]],
    saved_key: str,
    orders: list[Order],
    *,
    outbox: Outbox,
    now: datetime,
    handled_by: list[str] | None = None,
) -> str | None:
    """The id of the event for the outcome saved as ``saved_key`` (``saves``: the call's saves,
    in order), stored unless it is there already; None when the shop has no CRM. ``handled_by``:
    every agent who talked to the caller, in order (transfers, #17); the saving agent alone when
    the call does not say."""
    if shop.crm is None:
        return None
    facts = [_facts(key, saved) for key, saved in saves]
    first = first_save_of_same(facts, saved_key)
    saved = dict(saves)[saved_key]
    event_id = outcome_event_id(shop.shop_id, saved.call_sid, first.saved_key)
    earlier = [fact for fact in facts if fact.saved_key < first.saved_key]
    corrects = (
        outcome_event_id(shop.shop_id, saved.call_sid, first_save_of_same(facts, earlier[-1].saved_key).saved_key)
        if earlier
        else None
    )
    numbers = {order.order_id: order.order_number for order in orders}
    data = {
        "call_sid": saved.call_sid,
        "agent_id": saved.agent_id,
        "handled_by": handled_by or [saved.agent_id],
        "outcome": saved.outcome,
        "comment": saved.comment,
        "callback_at": saved.callback_at.isoformat() if saved.callback_at else None,
        "phone": saved.phone,
        "orders": [{"id": order_id, "order_number": numbers.get(order_id)} for order_id in saved.order_ids],
        "saved_at": first.saved_at.isoformat(),
        "corrects": corrects,
    }
    body = event_body(event_id, "call.outcome", shop.shop_id, first.saved_at, data)
    event = OutboxEvent(
        event_id,
        shop.shop_id,
        "call.outcome",
        saved.call_sid,
        body.decode(),
        created_at=now,
        customer=customer_hash(shop.shop_id, saved.phone) if saved.phone else None,
    )
    if outbox.add(event):
        logger.info("crm event queued", extra={"event_id": event_id, "call_sid": saved.call_sid})
    return event_id


def queue_order_event(
    shop: ShopSettings, previous_status: str | None, order: Order, *, outbox: Outbox, now: datetime
) -> str | None:
    """The id of the event for an order's decision (robot, SMS, agent, dedup) or its
    correction; None when it is not news or the shop has no CRM."""
    if shop.crm is None or not order_change_is_news(previous_status, order.status):
        return None
    event_id = order_event_id(shop.shop_id, order.order_id, previous_status, order.status, order.decided_at)
    data = {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "status": order.status,
        "previous_status": previous_status,
        "route": order.route,
        "reached": order.reached,
        "decided_at": order.decided_at.isoformat() if order.decided_at else None,
        "decided_by": order.decided_by,  # "shop": cancelled through the API (#16 item 14)
        "duplicate_of": order.duplicate_of,
        "fake_reason": order.fake_reason,
        "phone": order.phone,
    }
    body = event_body(event_id, "order.status_changed", shop.shop_id, order.decided_at or now, data)
    event = OutboxEvent(
        event_id,
        shop.shop_id,
        "order.status_changed",
        order.order_id,
        body.decode(),
        created_at=now,
        customer=customer_hash(shop.shop_id, order.phone),
    )
    if outbox.add(event):
        logger.info("crm event queued", extra={"event_id": event_id, "order_id": order.order_id})
    return event_id


def queue_route_event(
    shop: ShopSettings, previous_route: str | None, order: Order, *, outbox: Outbox, now: datetime
) -> str | None:
    """The id of the event for an open order that goes another way (the customer pressed 3 on
    the robot's call: an agent will call); None when it is not news or the shop has no CRM."""
    if shop.crm is None or not route_change_is_news(previous_route, order.route):
        return None
    event_id = route_event_id(shop.shop_id, order.order_id, previous_route or "", order.route or "")
    data = {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "status": order.status,
        "route": order.route,
        "previous_route": previous_route,
        "route_reason": order.route_reason,
        "phone": order.phone,
    }
    body = event_body(event_id, "order.route_changed", shop.shop_id, now, data)
    event = OutboxEvent(
        event_id,
        shop.shop_id,
        "order.route_changed",
        order.order_id,
        body.decode(),
        created_at=now,
        customer=customer_hash(shop.shop_id, order.phone),
    )
    if outbox.add(event):
        logger.info("crm event queued", extra={"event_id": event_id, "order_id": order.order_id})
    return event_id


def _facts(saved_key: str, saved: SavedOutcome) -> OutcomeFacts:
    return OutcomeFacts(
        call_sid=saved.call_sid,
        saved_key=saved_key,
        agent_id=saved.agent_id,
        outcome=saved.outcome,
        comment=saved.comment,
        callback_at=saved.callback_at,
        saved_at=saved.saved_at,
    )


# ---- delivery -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CrmLine:
    """What every delivery goes through: the outbox, the HTTP sender, the shops' signing secrets,
    the clock that stamps signatures (the CRM compares it with its own clock, so the app passes
    the wall clock, while business time decides when an event is due), and whether local URLs
    are allowed (the local stack's stand-in CRM)."""

    outbox: Outbox
    sender: Sender
    secret_of: SecretOf
    signed_at: Callable[[], datetime]
    local: bool


def deliver(
    shop: ShopSettings | None, event_id: str, *, line: CrmLine, now: datetime, breaker: Breaker | None = None
) -> str:
    """One try of a pending, due event: ``delivered``, ``retry``, ``parked``, or ``skipped``
    (not pending, not due, taken by another run, or its shop's CRM failed in this run)."""
    outbox, sender, secret_of, signed_at = line.outbox, line.sender, line.secret_of, line.signed_at
    event = outbox.get(event_id)
    if event is None or event.state != "pending":
        return "skipped"
    if event.next_attempt_at is not None and event.next_attempt_at > now:
        return "skipped"
    breaker = breaker or Breaker()
    if event.shop_id in breaker.failed or breaker.out_of_time():
        return "skipped"
    log_keys = {"event_id": event_id, "shop_id": event.shop_id, "kind": event.kind}
    if shop is None or shop.crm is None:
        outbox.park(event_id, event.shop_id, now, "the shop has no CRM configured", None)
        logger.warning("crm event parked: no CRM", extra=log_keys)
        return "parked"
    problem = crm_url_problem(shop.crm.url, local=line.local)
    if problem:
        outbox.park(event_id, event.shop_id, now, f"CRM URL refused: {problem}", None)
        logger.warning("crm event parked: URL refused", extra={**log_keys, "problem": problem})
        return "parked"
    if not outbox.claim(event_id, event.attempts, now + LEASE):
        return "skipped"
    attempts = event.attempts + 1
    status: int | None = None
    try:
        body = event.body.encode()
        timestamp = int(signed_at().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "callcenter-crm-push/1",
            EVENT_ID_HEADER: event_id,
            SIGNATURE_HEADER: signature_header(secret_of(shop.crm.secret_name), timestamp, body),
        }
        status = sender.post(shop.crm.url, body, headers)
    except CrmAddressRefused as refused:
        outbox.park(event_id, event.shop_id, now, f"CRM URL refused: {refused}", None)
        logger.warning("crm event parked: address refused", extra=log_keys)
        return "parked"
    except Exception as error:  # no answer: DNS, connection, TLS, timeout, or no secret yet
        return _failed(event, attempts, now, f"{type(error).__name__}: {error}"[:500], None, outbox, breaker)
    if 200 <= status < 300:
        outbox.delivered(event_id, now, status)
        logger.info("crm event delivered", extra={**log_keys, "status": status, "attempts": attempts})
        return "delivered"
    if retryable_status(status):
        return _failed(event, attempts, now, f"HTTP {status}", status, outbox, breaker)
    outbox.park(event_id, event.shop_id, now, f"refused by the CRM: HTTP {status}", status)
    logger.warning("crm event parked: refused", extra={**log_keys, "status": status})
    return "parked"


def run_budget(seconds: float = RUN_SECONDS) -> Callable[[], float]:
    """Seconds left of a run that starts now (monotonic: the business clock may be simulated)."""
    import time  # a run budget reads the real monotonic clock, not business time

    started = time.monotonic()
    return lambda: seconds - (time.monotonic() - started)


def _failed(
    event: OutboxEvent, attempts: int, now: datetime, error: str, status: int | None, outbox: Outbox, breaker: Breaker
) -> str:
    breaker.failed.add(event.shop_id)
    log_keys = {"event_id": event.event_id, "shop_id": event.shop_id, "attempts": attempts, "error": error}
    at = next_attempt_at(attempts, event.retrying_since or event.created_at, now)
    if at is None:
        outbox.park(event.event_id, event.shop_id, now, f"gave up after {attempts} tries: {error}", status)
        logger.warning("crm event parked after a day of failures", extra=log_keys)
        return "parked"
    outbox.retry_at(event.event_id, at, error, status)
    logger.info("crm event will be retried", extra={**log_keys, "next_attempt_at": at.isoformat()})
    return "retry"


def sweep_due(
    shops: list[ShopSettings],
    *,
    line: CrmLine,
    now: datetime,
    limit: int = SWEEP_LIMIT,
    seconds_left: Callable[[], float] | None = None,
) -> dict[str, int]:
    """Try every due event of these shops (each shop's oldest due first); counts by result.
    The app passes the shops with a CRM: events of a shop whose CRM is removed wait, and go
    out once one is configured again."""
    counts: dict[str, int] = {}
    breaker = Breaker(seconds_left=seconds_left)
    for shop in shops:
        if breaker.out_of_time():
            break
        for event_id in line.outbox.due(shop.shop_id, now, limit):
            if shop.shop_id in breaker.failed or breaker.out_of_time():
                break
            result = deliver(shop, event_id, line=line, now=now, breaker=breaker)
            counts[result] = counts.get(result, 0) + 1
    return counts


# ---- operator ------------------------------------------------------------------------------------
def parked_events(shops: list[ShopSettings], *, outbox: Outbox) -> list[OutboxEvent]:
    return [event for shop in shops for event in outbox.parked(shop.shop_id)]


def replay(event_ids: list[str], *, outbox: Outbox, now: datetime) -> dict[str, bool]:
    """Each parked event back to pending (delivered at once by the outbox stream); False for
    an id that is unknown or not parked."""
    return {event_id: outbox.replay(event_id, now) for event_id in event_ids}


def parked_view(event: OutboxEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "shop_id": event.shop_id,
        "kind": event.kind,
        "subject": event.subject,
        "created_at": event.created_at.isoformat(),
        "parked_at": event.parked_at.isoformat() if event.parked_at else None,
        "attempts": event.attempts,
        "last_status": event.last_status,
        "last_error": event.last_error,
    }
