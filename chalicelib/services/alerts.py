"""Alerts (R6): an immediate email to the shop's managers, once per event.

Four kinds of event:

- ``alert_on_new_order``: an order above the shop's ``alerts.order_total_above`` (called from
  the orders stream, for every new order; duplicates and fakes are not alerted);
- ``complaint_alert``: an agent recorded a complaint outcome (the outcomes API sends it);
- ``alert_on_live_figures``: the queue's longest wait or today's drop rate is over the shop's
  threshold (called on a schedule with the live figures; at most one alert per kind per
  local hour for the queue, per local day for the drop rate);
- ``destination_cap_alert``: the shop took its daily limit of new phone numbers and refuses
  more (``services.destinations``; once per shop and local day).

Every alert's facts become words in one place (``voice.alert_words``, the words in
``twiml/<language>.toml``): the email and the text in the shop's language, readable sentences
(no Python values, times in the shop's zone). Every alert goes by email and, where the shop
lists ``alerts.sms_numbers``, by a short text (never to a number on its do-not-call list). Each message (the email; the
text to each number) is sent once per event (the email by the channels' ``once``, each text by its
outbox record, which also keeps it until Twilio takes it), so a redelivered stream record or a
retried call sends nothing twice. A send that fails raises once
the other messages were tried, so the caller (the stream, the schedule) retries it, the
messages already sent are not sent again, and no alert is lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock
from chalicelib.domain.email import OutgoingEmail, one_line
from chalicelib.domain.phones import mask_phone
from chalicelib.domain.text_outbox import OutgoingText, text_id
from chalicelib.observability import logger
from chalicelib.services import text_outbox
from chalicelib.services.live import LiveFigures, live_figures
from chalicelib.services.text_outbox import TextLine
from chalicelib.voice.alert_words import (
    AlertFacts,
    ComplaintFacts,
    DestinationCapFacts,
    DropRateFacts,
    LargeOrderFacts,
    QueueWaitFacts,
    alert_words,
)

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.ports import (
        EmailSender,
        LiveQueries,
        SendOnce,
        TextMessenger,
        TextOutbox,
        TextStore,
    )

_NOT_ALERTED_STATUSES = frozenset({"duplicate", "fake"})


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # large-order | complaint | queue-wait | drop-rate | needs-manager | destination-cap
    event: str  # what makes it one event (the idempotency key with the shop and kind)
    subject: str
    text: str
    sms: str | None = None  # the text message's body; None: email only


def alert_recipients(shop: ShopSettings) -> tuple[str, ...]:
    return tuple(shop.alerts.recipients or shop.report.recipients)


def worded_alert(shop: ShopSettings, kind: str, event: str, facts: AlertFacts) -> Alert:
    """The alert with its facts in words in the shop's language (``voice.alert_words``), the
    same words for the email and the text."""
    from chalicelib.voice.catalog import load_catalog  # cold start: the catalogs only when an alert fires

    words = alert_words(facts, load_catalog(shop.main_language))
    return Alert(kind=kind, event=event, subject=one_line(words.subject), text=words.body, sms=words.sms)


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
    phone = str(_field(order, "phone", "") or "")
    facts = LargeOrderFacts(
        shop_name=shop.name,
        order_id=order_id,
        order_number=str(_field(order, "order_number") or order_id),
        total=total,
        currency=currency,
        threshold=threshold,
        customer_name=str(_field(order, "customer_name", "") or ""),
        masked_phone=mask_phone(phone) if phone else "",
    )
    return worded_alert(shop, "large-order", order_id, facts)


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
    facts = ComplaintFacts(
        shop_name=shop.name,
        order_number=order_number or order_id or "",
        customer_name=customer_name,
        phone=phone,
        masked_phone=mask_phone(phone) if phone else "",
        agent=agent_id or "",
        comment=comment,
    )
    return worded_alert(shop, "complaint", event_id, facts)


def destination_cap_alert(shop: ShopSettings, day: str, cap: int) -> Alert:
    """The shop took its limit of new phone numbers for its local ``day``: one alert that day."""
    return worded_alert(shop, "destination-cap", day, DestinationCapFacts(shop.name, day, cap))


def live_alerts(shop: ShopSettings, live: LiveFigures) -> list[Alert]:
    """Thresholds crossed now: queue wait (once per local hour), drop rate (once per local day)."""
    alerts: list[Alert] = []
    local = live.at.astimezone(shop.zone)
    limit = shop.alerts.max_queue_wait_seconds
    if limit is not None and live.queue.longest_wait_seconds > limit:
        facts = QueueWaitFacts(
            shop_name=shop.name,
            local_time=local,
            timezone=shop.timezone,
            calls_waiting=live.queue.calls_waiting,
            longest_wait_seconds=live.queue.longest_wait_seconds,
            limit_seconds=limit,
            agents_by_status=live.agents_by_status,
        )
        alerts.append(worded_alert(shop, "queue-wait", f"{local:%Y-%m-%dT%H}", facts))
    max_drop = shop.alerts.max_drop_rate_percent
    outbound = live.today.outbound if live.today is not None else None
    if max_drop is not None and outbound is not None:
        drop = outbound.drop_rate
        if drop.percent is not None and drop.percent > max_drop:
            facts_ = DropRateFacts(shop.name, drop.count, drop.whole, drop.percent, max_drop)
            alerts.append(worded_alert(shop, "drop-rate", f"{local:%Y-%m-%d}", facts_))
    return alerts


@dataclass(frozen=True, slots=True)
class AlertChannels:
    """Where alerts go and how each goes only once (``chalicelib.wiring.alert_channels``)."""

    sender: EmailSender
    messenger: TextMessenger
    do_not_call: TextStore
    once: SendOnce
    outbox: TextOutbox  # texts wait here until Twilio takes them (#18)
    clock: Clock

    def text_line(self) -> TextLine:
        return TextLine(self.outbox, self.messenger, self.messenger, self.do_not_call, lambda _shop_id: None)


def has_alert_channel(shop: ShopSettings) -> bool:
    """Whether any alert of the shop could reach someone (an email address or a mobile)."""
    return bool(alert_recipients(shop) or shop.alerts.sms_numbers)


def send_alert(
    shop: ShopSettings,
    alert: Alert | None,
    *,
    channels: AlertChannels,
) -> bool:
    """Send the alert's email and texts that were not sent before; True when this call sent any
    (False for no alert: a rule that did not fire).

    Every message is tried even when one fails; the first failure is raised afterwards, so the
    caller retries and only what failed goes again."""
    if alert is None:
        return False
    log_keys = {"shop_id": shop.shop_id, "kind": alert.kind, "event": alert.event}
    sent_now = False
    failure: Exception | None = None
    recipients = alert_recipients(shop)
    if recipients and shop.report.sender is not None:
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
            if channels.once(dict(log_keys), lambda: channels.sender.send(email)):
                sent_now = True
                logger.info("Alert emailed", extra=log_keys)
        except Exception as error:
            logger.exception("Alert email failed", extra=log_keys)
            failure = error
    elif not (alert.sms and shop.alerts.sms_numbers):
        logger.warning("Alert not sent: no recipients or no sender configured", extra=log_keys)
    if alert.sms and shop.alerts.sms_numbers:
        for number in shop.alerts.sms_numbers:
            try:
                if _text_once(shop, alert, number, channels=channels):
                    sent_now = True
            except Exception as error:
                logger.exception("Alert text failed", extra={**log_keys, "to": mask_phone(number)})
                failure = failure or error
    if failure is not None:
        raise failure
    return sent_now


def _text_once(
    shop: ShopSettings,
    alert: Alert,
    number: str,
    *,
    channels: AlertChannels,
) -> bool:
    log_keys = {"shop_id": shop.shop_id, "kind": alert.kind, "event": alert.event, "to": mask_phone(number)}
    if not shop.caller_id:
        logger.error("Alert not texted: the shop has no number to text from (caller_id)", extra=log_keys)
        return False
    if channels.do_not_call.is_do_not_call(shop.shop_id, number):
        logger.info("Alert not texted: the number is on the do-not-call list", extra=log_keys)
        return False
    assert alert.sms is not None
    body = alert.sms
    from_ = shop.caller_id
    key = {"shop_id": shop.shop_id, "kind": alert.kind, "event": alert.event, "channel": "sms", "to": number}
    now = channels.clock.now()
    text = OutgoingText(
        text_id(shop.shop_id, json.dumps(key, sort_keys=True)),
        shop.shop_id,
        number,
        from_,
        body,
        "alert",
        alert.kind,
        now,
    )
    result = text_outbox.send(text, line=channels.text_line(), now=now)
    if result == "duplicate":
        return False
    logger.info("Alert texted" if result == "sent" else f"Alert text {result}", extra=log_keys)
    return True


def _escape(text: str) -> str:
    from html import escape  # cold start: only email bodies need it

    return escape(text)


def alert_on_new_order(
    shop: ShopSettings,
    order: Any,
    *,
    channels: AlertChannels,
) -> bool:
    """The orders stream's hook: tell the managers about an order above the threshold, once."""
    return send_alert(shop, large_order_alert(shop, order), channels=channels)


def alert_on_live_figures(
    shop: ShopSettings,
    live: LiveFigures,
    *,
    channels: AlertChannels,
) -> list[str]:
    """Send the live thresholds' alerts not sent yet; returns the kinds sent now."""
    return [alert.kind for alert in live_alerts(shop, live) if send_alert(shop, alert, channels=channels)]


def check_shop_live_alerts(
    shop: ShopSettings, now: datetime, *, queries: LiveQueries, channels: AlertChannels
) -> list[str]:
    """One shop's live thresholds: its figures (when it has a threshold and a channel) and the
    alerts sent now."""
    policy = shop.alerts
    if policy.max_queue_wait_seconds is None and policy.max_drop_rate_percent is None:
        return []
    if not has_alert_channel(shop):
        return []
    live = live_figures(shop, now, queries, with_kpis=policy.max_drop_rate_percent is not None)
    return alert_on_live_figures(shop, live, channels=channels)


def check_live_alerts(
    now: datetime,
    *,
    shops: list[ShopSettings],
    queries: LiveQueries,
    channels: AlertChannels,
) -> dict[str, list[str]]:
    """Every shop given, its alerts. A shop that fails is logged and the others still get
    checked; the first failure is raised."""
    sent: dict[str, list[str]] = {}
    failure: Exception | None = None
    for shop in shops:
        try:
            kinds = check_shop_live_alerts(shop, now, queries=queries, channels=channels)
        except Exception as error:
            logger.exception("Live alert check failed", extra={"shop_id": shop.shop_id})
            failure = failure or error
            continue
        if kinds:
            sent[shop.shop_id] = kinds
    if failure is not None:
        raise failure
    return sent
