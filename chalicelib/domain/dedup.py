"""Duplicate and fake detection for incoming orders (O3), per shop.

A dedup claim is a key that only one order may own. Variant A's key is phone + order number
and lasts forever; variant B's is the phone alone and lasts the shop's window, after which a
new order from the same phone claims it afresh. Whoever owns the claim is the original; any
other order that meets it is a duplicate of the owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.domain.shop import DedupPolicy


@dataclass(frozen=True)
class DedupClaim:
    key: str
    expires_at: datetime | None  # None: never expires


def dedup_claim_for(
    shop_id: str, policy: DedupPolicy, phone_e164: str, order_number: str | None, received_at: datetime
) -> DedupClaim:
    if policy.variant == "A" and order_number:
        return DedupClaim(f"{shop_id}#A#{phone_e164}#{order_number.casefold()}", None)
    # Variant B, and variant A orders that carry no order number, fall back to the time window.
    return DedupClaim(f"{shop_id}#B#{phone_e164}", received_at + timedelta(minutes=policy.window_minutes))


def dedup_claim_keys(shop_id: str, phone_e164: str, order_number: str | None) -> list[str]:
    """Every claim key an order of this customer may hold (erasure, #18): both variants'."""
    keys = [f"{shop_id}#B#{phone_e164}"]
    return keys + ([f"{shop_id}#A#{phone_e164}#{order_number.casefold()}"] if order_number else [])


def fake_reason(phone_problem: str | None, customer_name: str, test_names: list[str]) -> str | None:
    """Why an order is obviously not real, or None."""
    if phone_problem:
        return f"phone: {phone_problem}"
    words = {word.strip(".,!-_").casefold() for word in customer_name.split()}
    test_words = {name.casefold() for name in test_names}
    if words & test_words:
        return "customer name looks like a test"
    return None
