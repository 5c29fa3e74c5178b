"""Side effects that must happen once per business event even when the event is delivered
again (stream redelivery, retried invocations): Powertools idempotency keyed by the event."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.models import idempotency_table_name

ONE_WEEK = 7 * 24 * 3600


@functools.cache
def _persistence() -> Any:
    # Created on first use: the persistence layer builds a boto3 client.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=idempotency_table_name())


def forget_persistence() -> None:
    """Tests and the local stack switch endpoints: build the client again next time."""
    _persistence.cache_clear()


def run_once(key: str, action: Callable[[], Any]) -> Any:
    """``action()``'s result, from the first run for ``key``; later calls return the stored result.
    If ``action`` raises, nothing is stored and the next delivery tries again."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=ONE_WEEK)

    @idempotent_function(data_keyword_argument="event", persistence_store=_persistence(), config=config)
    def once(event: dict[str, str]) -> Any:
        return action()

    return once(event={"key": key})
