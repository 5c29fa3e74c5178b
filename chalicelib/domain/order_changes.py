"""A shop takes an order back or changes it after posting it (#16 item 14): what a cancel or a
change may carry, what it changes on the stored order, and what a customer hears who answers
a call about an order the shop has decided meanwhile. Pure.

- A change carries any of phone, customer_name, delivery (address, slot), comment, language,
  each validated as the order's POST validates it; a field the API does not know is refused
  (422 naming it), and so is a field sent as null or a change that carries nothing.
- ``delivery`` is merged: the keys sent replace the stored ones (``"slot": null`` removes the
  slot). A slot the shop sends replaces the one the customer picked in the IVR: the shop has
  the last word on its deliveries.
- A new phone must be a valid number (a POST with a bad one becomes a ``fake`` order; a change
  that would make one is refused instead).
- The same change again changes nothing (``OrderEdit.changed`` is False).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from chalicelib.domain.entities import Order
from chalicelib.domain.orders import CustomerPhone, Delivery, RequestBody
from chalicelib.domain.phones import normalise_phone

SHOP = "shop"  # who decided: the shop, through its API


class CancelIn(RequestBody):
    reason: str = Field(default="", max_length=500)


class OrderChangeIn(RequestBody):
    phone: CustomerPhone | None = None
    customer_name: str | None = Field(default=None, max_length=200)
    delivery: Delivery | None = None
    comment: str | None = Field(default=None, max_length=2000)
    language: Literal["uk", "ru", "en"] | None = None

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for what the model's types let through but a change cannot be."""
        sent = self.model_fields_set
        if not sent:
            return [("body", f"send at least one of {', '.join(OrderChangeIn.model_fields)}")]
        return [(name, "may not be null") for name in sorted(sent) if getattr(self, name) is None]


@dataclass(frozen=True)
class OrderEdit:
    """What a change does to the stored order: attributes to set, and whether the customer's
    own delivery pick (IVR) goes. ``phone_changed``: the order must move to the new
    customer's dial task."""

    fields: dict[str, Any] = field(default_factory=dict)
    forget_caller_slot: bool = False
    phone_changed: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.fields) or self.forget_caller_slot


class PhoneRefused(ValueError):
    """The new phone is not a valid number."""


def order_edit(order: Order, change: OrderChangeIn, default_region: str) -> OrderEdit:
    """The edit ``change`` makes to ``order`` (nothing when it says what the order already
    says); ``PhoneRefused`` for a phone that is not a valid number."""
    sent = change.model_fields_set
    fields: dict[str, Any] = {}
    payload = dict(order.payload)
    if "phone" in sent and change.phone is not None:
        phone = normalise_phone(change.phone, default_region)
        if phone.e164 is None:
            raise PhoneRefused(phone.problem or "not a phone number")
        if phone.e164 != order.phone:
            fields.update(phone=phone.e164, phone_valid=True, phone_problem=None)
    if "customer_name" in sent and change.customer_name is not None and change.customer_name != order.customer_name:
        fields["customer_name"] = payload["customer_name"] = change.customer_name
    if "language" in sent and change.language is not None and change.language != order.language:
        fields["language"] = payload["language"] = change.language
    if "comment" in sent and change.comment is not None:
        payload["comment"] = change.comment
    new_slot = False
    if "delivery" in sent and change.delivery is not None:
        stored = dict(payload.get("delivery") or {"address": "", "slot": None})
        given = json.loads(change.delivery.model_dump_json())
        new_slot = "slot" in change.delivery.model_fields_set and given["slot"] != stored.get("slot")
        payload["delivery"] = stored | {key: given[key] for key in change.delivery.model_fields_set}
    if payload != order.payload:
        fields["payload"] = payload
    forget = new_slot and order.delivery_slot is not None
    return OrderEdit(fields, forget_caller_slot=forget, phone_changed="phone" in fields)


# ---- a call that ends after the shop decided ------------------------------------------------
def overruled_reply(decision_status: str, orders: list[Order]) -> str | None:
    """The prompt for a customer whose key moved none of the call's ``orders`` (as stored now),
    or None when they already stand as the key asked (the usual reply is true). Cancelled
    meanwhile (by the shop, as a rule): "already cancelled, nothing was confirmed"; otherwise
    the shop changed them (moved them to another number, say): "your answer was not recorded"."""
    if orders and all(order.status == decision_status for order in orders):
        return None
    if orders and all(order.status == "cancelled" for order in orders):
        return "robot_order_cancelled"
    return "robot_order_changed"
