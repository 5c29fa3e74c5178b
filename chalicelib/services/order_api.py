"""The order endpoint's use case, with or without the shop's ``Idempotency-Key`` (the
``idempotent`` port: the same key and body give the same response; the same key with another
body is refused)."""

from __future__ import annotations

from typing import Any

from chalicelib.clock import current_clock
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.intake import accept_order, new_order_id, stored_phone
from chalicelib.services.ports import Idempotent, OrderStore


def accept_order_now(
    shop: ShopSettings, order_in: OrderIn, *, store: OrderStore, idempotency_key: str | None = None
) -> dict[str, Any]:
    """``idempotency_key`` is kept on the order: erasing its customer finds the stored answer."""
    now = current_clock().now()
    order_id = new_order_id(now, stored_phone(shop, order_in))
    order = accept_order(shop, order_in, store=store, now=now, order_id=order_id, idempotency_key=idempotency_key)
    return order.public_view()


def accept_order_with_key(
    shop: ShopSettings,
    body: dict[str, Any],
    order_in: OrderIn,
    idempotency_key: str,
    *,
    store: OrderStore,
    idempotent: Idempotent,
    lambda_context: Any = None,
) -> dict[str, Any]:
    request = {"shop_id": shop.shop_id, "key": idempotency_key, "body": body}
    return idempotent(
        request, lambda: accept_order_now(shop, order_in, store=store, idempotency_key=idempotency_key), lambda_context
    )
