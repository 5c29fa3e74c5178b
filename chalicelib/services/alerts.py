"""Alerts (R6): an immediate email to the shop's managers, once per event.

Three kinds of event:

- ``alert_on_new_order``: an order above the shop's ``alerts.order_total_above`` (called from
  the orders stream, for every new order; duplicates and fakes are not alerted);
- ``alert_on_complaint``: an agent recorded a complaint outcome (called by the outcomes API);
- ``alert_on_live_figures``: the queue's longest wait or today's drop rate is over the shop's
  threshold (called on a schedule with the live figures; at most one alert per kind per
  local hour for the queue, per local day for the drop rate).

Each send is guarded by a Powertools idempotency record keyed by the event, so a redelivered
stream record or a retried call sends nothing twice. A send that fails raises, so the caller
(the stream, the schedule) retries it and no alert is lost. Email only: SMS alerts come with
the SMS sender (issue #4).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from chalicelib.adapters.email import OutgoingEmail, one_line
from chalicelib.domain.phones import mask_phone
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger
from chalicelib.services.live import LiveFigures, LiveQueries, live_figures

ALERT_IDEMPOTENCY_SECONDS = 7 * 24 * 60 * 60
_KEY_PREFIX = "alert"
_NOT_ALERTED_STATUSES = frozenset({"duplicate", "fake"})


class EmailSender(Protocol):
    def send(self, email: OutgoingEmail) -> str: ...


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # large-order | complaint | queue-wait | drop-rate
    event: str  # what makes it one event (the idempotency key with the shop and kind)
    subject: str
    text: str


def alert_recipients(shop: ShopSettings) -> tuple[str, ...]:
    return tuple(shop.alerts.recipients or shop.report.recipients)


def _field(order: Any, name: str, default: Any = None) -> Any:
    if isinstance(order, Mapping):
        return order.get(name, default)
    return getattr(order, name, default)


def large_order_alert(shop: ShopSettings, order: Any) -> Alert | None:
    """The alert an order calls for, or None. ``order`` is the order entity or its stream image."""
    threshold = shop.alerts.order_total_above
    if threshold is None or order is None:
        return None
    if _field(order, "status", "received") in _NOT_ALERTED_STATUSES:
        return None
    currency = _field(order, "currency") or shop.currency
    if currency != shop.currency:
        return None  # a threshold in hryvnias says nothing about dollars
    total = Decimal(str(_field(order, "total", "0")))
    if total <= threshold:
        return None
    order_id = str(_field(order, "order_id"))
    number = _field(order, "order_number") or order_id
    phone = str(_field(order, "phone", "") or "")
    name = _field(order, "customer_name", "") or "—"
    return Alert(
        kind="large-order",
        event=order_id,
        subject=one_line(f"{shop.name}: order {number} for {total} {currency} (above {threshold})"),
        text=(
            f"A new order above your alert threshold of {threshold} {shop.currency}.\n\n"
            f"Order: {number} ({order_id})\nTotal: {total} {currency}\nCustomer: {name}\n"
            f"Phone: {mask_phone(phone) if phone else '—'}\n"
        ),
    )


def complaint_alert(
    shop: ShopSettings,
    *,
    event_id: str,
    phone: str,
    order_id: str | None = None,
    order_number: str | None = None,
    customer_name: str = "",
    agent_id: str | None = None,
    comment: str = "",
) -> Alert | None:
    if not shop.alerts.complaints:
        return None
    order = order_number or order_id or "—"
    return Alert(
        kind="complaint",
        event=event_id,
        subject=one_line(f"{shop.name}: complaint from {customer_name or mask_phone(phone)} (order {order})"),
        text=(
            "A customer complained; the agent recorded it as the call's outcome.\n\n"
            f"Order: {order}\nCustomer: {customer_name or '—'}\nPhone: {phone}\n"
            f"Agent: {agent_id or '—'}\nComment: {comment or '—'}\n"
        ),
    )


def live_alerts(shop: ShopSettings, live: LiveFigures) -> list[Alert]:
    """Thresholds crossed now: queue wait (once per local hour), drop rate (once per local day)."""
    alerts: list[Alert] = []
    local = live.at.astimezone(shop.zone)
    limit = shop.alerts.max_queue_wait_seconds
    if limit is not None and live.queue.longest_wait_seconds > limit:
        alerts.append(
            Alert(
                kind="queue-wait",
                event=f"{local:%Y-%m-%dT%H}",
                subject=one_line(
                    f"{shop.name}: a caller has waited {live.queue.longest_wait_seconds} s (limit {limit} s)"
                ),
                text=(
                    f"At {local:%H:%M} ({shop.timezone}) {live.queue.calls_waiting} caller(s) wait in the queue; "
                    f"the longest has waited {live.queue.longest_wait_seconds} s, over your limit of {limit} s.\n"
                    f"Agents by status: {live.agents_by_status or 'none'}\n"
                ),
            )
        )
    max_drop = shop.alerts.max_drop_rate_percent
    outbound = live.today.outbound if live.today is not None else None
    if max_drop is not None and outbound is not None:
        drop = outbound.drop_rate
        if drop.percent is not None and drop.percent > max_drop:
            alerts.append(
                Alert(
                    kind="drop-rate",
                    event=f"{local:%Y-%m-%d}",
                    subject=one_line(f"{shop.name}: drop rate {drop.percent}% today (limit {max_drop}%)"),
                    text=(
                        f"Today {drop.count} of {drop.whole} live answers of agent dialing were dropped "
                        f"(no agent within 2 s): {drop.percent}%, over your limit of {max_drop}%.\n"
                        "Drop rate = dropped live answers ÷ live answers.\n"
                    ),
                )
            )
    return alerts


# ----------------------------------------------------------------------------- sending once


def _send(*, alert_key: dict[str, str], email: OutgoingEmail, sender: EmailSender) -> dict[str, Any]:
    message_id = sender.send(email)
    logger.info("Alert sent", extra={**alert_key, "message_id": message_id})
    return {**alert_key, "message_id": message_id, "replayed": False}


def _mark_replayed(response: Any, idempotent_data: Any) -> Any:
    return {**response, "replayed": True} if isinstance(response, dict) else response


@functools.cache
def _once_per_event() -> Callable[..., dict[str, Any]]:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from chalicelib.adapters.models import idempotency_table_name

    config = IdempotencyConfig(expires_after_seconds=ALERT_IDEMPOTENCY_SECONDS, response_hook=_mark_replayed)
    return idempotent_function(
        _send,
        data_keyword_argument="alert_key",
        persistence_store=DynamoDBPersistenceLayer(table_name=idempotency_table_name()),
        config=config,
        key_prefix=_KEY_PREFIX,
    )


def forget_idempotency_store() -> None:
    _once_per_event.cache_clear()


def _default_sender() -> EmailSender:
    from chalicelib.adapters.email import SesEmailSender

    return SesEmailSender()


def send_alert(shop: ShopSettings, alert: Alert, *, sender: EmailSender | None = None) -> bool:
    """Send the alert unless it was sent before; True when this call sent it."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    recipients = alert_recipients(shop)
    log_keys = {"shop_id": shop.shop_id, "kind": alert.kind, "event": alert.event}
    if not recipients or shop.report.sender is None:
        logger.warning("Alert not sent: no recipients or no sender configured", extra=log_keys)
        return False
    email = OutgoingEmail(
        sender=shop.report.sender,
        recipients=recipients,
        subject=alert.subject,
        text=alert.text,
        html='<pre style="font-family:Arial,Helvetica,sans-serif;white-space:pre-wrap;">'
        + _escape(alert.text)
        + "</pre>",
    )
    try:
        result = _once_per_event()(
            alert_key={"shop_id": shop.shop_id, "kind": alert.kind, "event": alert.event},
            email=email,
            sender=sender or _default_sender(),
        )
    except IdempotencyAlreadyInProgressError:
        logger.info("Alert already being sent", extra=log_keys)
        return False
    return not result.get("replayed")


def _escape(text: str) -> str:
    from html import escape

    return escape(text)


def alert_on_new_order(shop: ShopSettings, order: Any, *, sender: EmailSender | None = None) -> bool:
    """The orders stream's hook: email the managers about an order above the threshold, once."""
    alert = large_order_alert(shop, order)
    return send_alert(shop, alert, sender=sender) if alert is not None else False


def alert_on_complaint(
    shop: ShopSettings,
    *,
    event_id: str,
    phone: str,
    order_id: str | None = None,
    order_number: str | None = None,
    customer_name: str = "",
    agent_id: str | None = None,
    comment: str = "",
    sender: EmailSender | None = None,
) -> bool:
    """The outcomes API's hook (A4): a complaint outcome, once per ``event_id`` (the outcome's id)."""
    alert = complaint_alert(
        shop,
        event_id=event_id,
        phone=phone,
        order_id=order_id,
        order_number=order_number,
        customer_name=customer_name,
        agent_id=agent_id,
        comment=comment,
    )
    return send_alert(shop, alert, sender=sender) if alert is not None else False


def alert_on_live_figures(shop: ShopSettings, live: LiveFigures, *, sender: EmailSender | None = None) -> list[str]:
    """Send the live thresholds' alerts not sent yet; returns the kinds sent now."""
    return [alert.kind for alert in live_alerts(shop, live) if send_alert(shop, alert, sender=sender)]


def check_live_alerts(
    now: datetime, *, shops: list[ShopSettings], queries: LiveQueries, sender: EmailSender | None = None
) -> dict[str, list[str]]:
    """For a per-minute schedule: every shop with a live threshold, its figures, its alerts.
    A shop that fails is logged and the others still get checked; the first failure is raised."""
    sent: dict[str, list[str]] = {}
    failure: Exception | None = None
    for shop in shops:
        policy = shop.alerts
        if policy.max_queue_wait_seconds is None and policy.max_drop_rate_percent is None:
            continue
        if not alert_recipients(shop):
            continue
        try:
            live = live_figures(shop, now, queries, with_kpis=policy.max_drop_rate_percent is not None)
            kinds = alert_on_live_figures(shop, live, sender=sender)
        except Exception as error:
            logger.exception("Live alert check failed", extra={"shop_id": shop.shop_id})
            failure = failure or error
            continue
        if kinds:
            sent[shop.shop_id] = kinds
    if failure is not None:
        raise failure
    return sent
