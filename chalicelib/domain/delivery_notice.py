"""What a customer reads about delivery once their order is confirmed (O9): the shop's delivery
notice, whichever way the order was confirmed (no call, the robot, a text reply, an agent, the
caller's own self-service).

The notice names the order and what is known of its delivery: the time (the caller's choice in
the IVR over the shop's) and the address; with neither, that the shop will be in touch about it.
The shop's own sentence (``delivery_notice.note``, per language) follows when it gives one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.domain.entities import Order
    from chalicelib.domain.shop import ShopSettings


@dataclass(frozen=True)
class NoticeWords:
    """The catalog's ``[sms]`` message to send, its values, and the shop's sentence after it."""

    message: str
    values: dict[str, str]
    note: str


def delivery_address(order: Order) -> str:
    """The address the shop sent with the order, on one line; empty when it sent none."""
    address = (order.payload.get("delivery") or {}).get("address") or ""
    return " ".join(str(address).split()).rstrip(".")


def notice_words(shop: ShopSettings, order: Order, language: str) -> NoticeWords:
    values = {"order_number": order.order_number or order.order_id}
    address = delivery_address(order)
    slot = order.promised_slot
    if slot:
        start = datetime.fromisoformat(slot["start"]).astimezone(shop.zone)
        end = datetime.fromisoformat(slot["end"]).astimezone(shop.zone)
        values |= {
            "delivery_date": start.strftime("%d.%m.%Y"),
            "delivery_from": start.strftime("%H:%M"),
            "delivery_to": end.strftime("%H:%M"),
        }
        message = "confirmed_delivery"
        if address:
            message, values = "delivery_notice_slot_address", values | {"address": address}
    elif address:
        message, values = "delivery_notice_address", values | {"address": address}
    else:
        message = "delivery_notice_later"
    note = next((text for code, text in shop.delivery_notice.note.items() if code == language), "")
    return NoticeWords(message, values, note)
