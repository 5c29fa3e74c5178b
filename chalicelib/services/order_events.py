"""What follows an order's change of state, driven by the orders stream so that nothing is
lost when a webhook or a Lambda dies half-way: a text after the last unanswered call (O7) and
the shop's delivery notice once the order is confirmed, by whatever path (O9), each sent once
per order, and a delivery time the customer picks after the confirmation, once per time picked."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.entities import Order
from chalicelib.domain.shop import ShopSettings
from chalicelib.services import messaging
from chalicelib.services.ports import MessagingStore, Once, TextMessenger, TextOutbox
from chalicelib.services.text_outbox import TextLine


def after_new_order(shop: ShopSettings, order: Order | None, *, alert: Callable[[ShopSettings, Order], Any]) -> None:
    """R6: the managers hear about an order above the shop's threshold (once; a redelivered
    record asks again and is a no-op)."""
    if order is None or shop.alerts.order_total_above is None:
        return
    alert(shop, order)


@dataclass(frozen=True)
class OrderTexts:
    """Where an order's texts go: the store that records them, the messenger that sends them,
    the ``once`` that keeps each to one however often the stream delivers the change, and the
    outbox that holds each until Twilio takes it (#18)."""

    store: MessagingStore
    messenger: TextMessenger
    once: Once
    outbox: TextOutbox

    def line(self, shop: ShopSettings) -> TextLine:
        return TextLine(self.outbox, self.messenger, self.messenger, self.store, lambda _shop_id: shop)


def after_status_change(
    shop: ShopSettings,
    previous_status: str | None,
    order: Order,
    *,
    texts: OrderTexts,
    now: datetime,
) -> str | None:
    """The purpose of the text sent for this change, if one is due."""
    if order.status == previous_status:
        return None
    if order.status == "unreachable":
        texts.once(
            f"sms#{order.order_id}#confirm-request",
            lambda: messaging.ask_by_sms(shop, order, line=texts.line(shop), now=now),
        )
        return "confirm-request"
    # However it was confirmed (no call, the robot, a text, an agent, the caller's self-service),
    # the customer learns what happens about delivery: the shop's notice, once per order.
    if order.status == "confirmed" and shop.delivery_notice.mode != "off":
        key = f"sms#{order.order_id}#confirmed"
        texts.once(key, lambda: messaging.tell_delivery(shop, order, key=key, line=texts.line(shop), now=now))
        return "delivery-notice"
    return None


def after_slot_change(
    shop: ShopSettings,
    previous_status: str | None,
    previous_slot_start: str | None,
    order: Order,
    *,
    texts: OrderTexts,
    now: datetime,
) -> str | None:
    """O9 for a confirmed order whose customer picked (or changed) a delivery time in the IVR:
    the new time in writing, once per chosen time. An order still waiting for confirmation gets
    it with the confirmation text instead."""
    slot = order.delivery_slot
    if previous_status != "confirmed" or order.status != "confirmed" or shop.delivery_notice.mode == "off":
        return None
    if not slot or slot.get("start") == previous_slot_start:
        return None
    key = f"sms#{order.order_id}#slot#{slot.get('start')}"
    texts.once(key, lambda: messaging.tell_delivery(shop, order, key=key, line=texts.line(shop), now=now))
    return "delivery-slot"


def stored_slot_start(stored: Any) -> str | None:
    """The start of a delivery slot as a stream image holds it (the JSON text the order record
    stores), or None."""
    if not stored:
        return None
    slot = json.loads(stored) if isinstance(stored, str) else stored
    start = slot.get("start") if isinstance(slot, dict) else None
    return str(start) if start else None
