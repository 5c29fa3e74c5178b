"""Erasing a customer of a shop (#18, the right to erasure): what is kept and what goes.

Orders keep what the report counts (amounts, currency, items' SKUs and quantities, status,
route, times) and lose the person: name, phone, address, comment. Calls and outcomes keep
their figures and lose the number, the transcription and the comment; recordings are deleted
at Twilio. Texts, the customer's timeline, callback tasks, queue entries and dedup claims go;
so do the CRM events that name the customer (found by ``customer_hash``, stored with each
event) and the stored answers to their orders' ``Idempotency-Key`` (the key is kept on the order).
A customer on the do-not-call list stays on it as a salted hash only, so they are still never
called or texted and the number is not stored in clear.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import Any

ERASED = "erased"  # what stands where a customer's number was (never a valid number)
HASH_SALT = "callcenter-dnc-erased-v1"  # with the shop's id: one hash per shop and number
CUSTOMER_SALT = "callcenter-customer-v1"  # records that name a customer only inside their body

# An order's payload as the shop sent it: these keys stay (the report's figures), the rest goes.
KEPT_ORDER_FIELDS = frozenset({"order_number", "total", "currency", "prepaid", "in_stock", "needs_call", "created_at"})
KEPT_ITEM_FIELDS = frozenset({"sku", "quantity", "price"})


def erased_shop_phone(shop_id: str) -> str:
    """The customer index key an erased record moves to: no Query by the number finds it."""
    return f"{shop_id}#{ERASED}"


def do_not_call_hash(shop_id: str, phone: str) -> str:
    """The do-not-call key kept for an erased customer: the number, salted and hashed."""
    digest = hashlib.sha256(f"{HASH_SALT}#{shop_id}#{phone}".encode()).hexdigest()
    return f"sha256:{digest}"


def customer_hash(shop_id: str, phone: str) -> str:
    """The key that finds a record naming ``phone`` only in its body (a CRM event): the shop and
    the number, salted and hashed, so the index itself holds no number."""
    digest = hashlib.sha256(f"{CUSTOMER_SALT}#{shop_id}#{phone}".encode()).hexdigest()
    return f"{shop_id}#sha256:{digest}"


def anonymised_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The order as the shop sent it, without the person: items keep SKU, quantity and price."""
    kept = {key: value for key, value in payload.items() if key in KEPT_ORDER_FIELDS}
    items = payload.get("items")
    if isinstance(items, list):
        kept["items"] = [
            {key: value for key, value in item.items() if key in KEPT_ITEM_FIELDS}
            for item in items
            if isinstance(item, dict)
        ]
    return kept


@dataclass
class Erased:
    """What one erasure removed or anonymised, by kind (all 0 for a number the shop never knew)."""

    orders: int = 0
    calls: int = 0
    recordings: int = 0
    texts: int = 0
    outbox_texts: int = 0
    outcomes: int = 0
    callback_tasks: int = 0
    queue_entries: int = 0
    dedup_claims: int = 0
    crm_events: int = 0  # queued, delivered or parked events for the shop's CRM
    order_answers: int = 0  # stored answers to the customer's orders' Idempotency-Key
    do_not_call_hashed: int = 0  # 1 when the customer's opt-out was turned into a hash now

    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
