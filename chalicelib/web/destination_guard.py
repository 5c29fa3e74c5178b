"""The doors where a phone number enters from outside (``POST /v1/orders``,
``POST /v1/callbacks``) refuse one the shop must not call or text (``services.destinations``):
422 naming ``phone`` for the number itself, 429 naming it when the day's new numbers ran out."""

from __future__ import annotations

from chalice import Response

from chalicelib.clock import current_clock
from chalicelib.domain.shop import ShopSettings
from chalicelib.web.http import json_error, validation_failed
from chalicelib.wiring import alert_destination_cap, repository


def refused_destination(shop: ShopSettings, phone: str) -> Response | None:
    """The answer refusing ``phone`` for the shop, or None when it may be taken (counted then)."""
    from chalicelib.services.destinations import destination_refusal  # cold start: only the doors

    refusal = destination_refusal(
        shop, phone, ledger=repository(), now=current_clock().now(), alert=alert_destination_cap
    )
    if refusal is None:
        return None
    if refusal.status == 422:
        return validation_failed([("phone", refusal.message)])
    answer = json_error(
        refusal.status, refusal.error, f"phone: {refusal.message}", [{"field": "phone", "message": refusal.message}]
    )
    if refusal.retry_after_seconds is not None:
        answer.headers["Retry-After"] = str(refusal.retry_after_seconds)
    return answer
