"""The order endpoint's use case with the shop's ``Idempotency-Key`` honoured (Powertools
idempotency over DynamoDB): the same key and body give the same response; the same key with
another body is refused."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.dynamo.schema import idempotency_table_name
from chalicelib.clock import current_clock
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.intake import accept_order, new_order_id
from chalicelib.wiring import repository

IDEMPOTENCY_HOURS = 24


def accept_order_now(shop: ShopSettings, order_in: OrderIn) -> dict[str, Any]:
    now = current_clock().now()
    order = accept_order(shop, order_in, store=repository(), now=now, order_id=new_order_id(now))
    return order.public_view()


def accept_order_with_key(
    shop: ShopSettings, body: dict[str, Any], order_in: OrderIn, idempotency_key: str, lambda_context: Any = None
) -> dict[str, Any]:
    accept, config = _idempotent_accept()
    if lambda_context is not None:  # lets Powertools expire an in-progress record with the invocation
        config.register_lambda_context(lambda_context)
    request = {"shop_id": shop.shop_id, "key": idempotency_key, "body": body}
    return accept(request=request, shop=shop, order_in=order_in)


@functools.cache
def _idempotent_accept() -> tuple[Callable[..., dict[str, Any]], Any]:
    # Built on first use: the persistence layer creates a boto3 client, never at import.
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(table_name=idempotency_table_name())
    config = IdempotencyConfig(
        event_key_jmespath="[shop_id, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=IDEMPOTENCY_HOURS * 3600,
    )

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def accept(request: dict[str, Any], shop: ShopSettings, order_in: OrderIn) -> dict[str, Any]:
        return accept_order_now(shop, order_in)

    return accept, config
