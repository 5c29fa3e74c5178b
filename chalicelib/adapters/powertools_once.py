"""At most once per key, by a Powertools idempotency record in the idempotency table: the
``ReportOnce`` port as the owner's reports have used it since their first release.

The record's key is ``<key_prefix>#<hash of the key>``, so records written before this adapter
existed still guard the same reports. Built by ``chalicelib.wiring`` on first use, never at
import: the table name and the DynamoDB endpoint come from the run's environment (moto,
DynamoDB Local, the cloud)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _run(*, key: dict[str, str], action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    return action()


def _mark_replayed(response: Any, idempotent_data: Any) -> Any:
    if isinstance(response, dict):
        return {**response, "replayed": True}
    return response


class PowertoolsOnce:
    """``once(key, action)``: ``action()``'s JSON result the first time for ``key``; later, the
    stored result with ``"replayed": True``; None while another run holds the key."""

    def __init__(self, *, table_name: str, key_prefix: str, expires_after_seconds: int) -> None:
        # Powertools is imported with the first ``once``, not with the module that names the class.
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        self._in_progress = IdempotencyAlreadyInProgressError
        self._config = IdempotencyConfig(expires_after_seconds=expires_after_seconds, response_hook=_mark_replayed)
        self._run: Callable[..., dict[str, Any]] = idempotent_function(
            _run,
            data_keyword_argument="key",
            persistence_store=DynamoDBPersistenceLayer(table_name=table_name),
            config=self._config,
            key_prefix=key_prefix,
        )

    def register_lambda_context(self, lambda_context: Any) -> None:
        """A send cut off by the function's timeout is then retried by the next run instead of
        being held "in progress" until its record expires."""
        self._config.register_lambda_context(lambda_context)

    def __call__(self, key: dict[str, str], action: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        try:
            return self._run(key=key, action=action)
        except self._in_progress:
            return None
