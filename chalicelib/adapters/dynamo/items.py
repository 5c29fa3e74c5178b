"""What every repository does with items: conditional writes that report a lost race as False,
transactions, the shared key formats, and copying an item into a domain value.

Every state change that two Lambdas could race on is a conditional write: the condition names
the state the writer saw, and a failed condition means someone else got there first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pynamodb.exceptions import DeleteError, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

V = TypeVar("V")
Write = tuple[Model, list[Action], Condition | None]
TRANSACTION_CONFLICT_RETRIES = 3


def condition_failed(error: PutError | UpdateError | DeleteError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def _applied(write: Callable[[], object]) -> bool:
    try:
        write()
    except (PutError, UpdateError, DeleteError) as error:
        if condition_failed(error):
            return False
        raise
    return True


def saved(item: Model, condition: Condition) -> bool:
    """Put ``item`` if ``condition`` holds; False when it does not (the item is there already,
    or another writer changed it)."""
    return _applied(lambda: item.save(condition=condition))


def updated(item: Model, *, actions: list[Action], condition: Condition) -> bool:
    """Apply a conditional update; False when the condition no longer holds (another writer, or
    a repeated event, got there first), which callers treat as a normal outcome. On success
    ``item`` holds the item as stored (ALL_NEW)."""
    return _applied(lambda: item.update(actions=actions, condition=condition))


def deleted(item: Model, condition: Condition) -> bool:
    return _applied(lambda: item.delete(condition=condition))


def transact(writes: list[Write]) -> set[int]:
    """The ``writes`` (item, actions, condition) as one TransactWriteItems: all applied, or none.
    The positions of the writes whose condition failed (empty when all were applied).

    botocore gives every transaction a ClientRequestToken and keeps it across its own retries,
    so a transaction applied whose answer was lost is not applied twice. A transaction that met
    another writer on one of its items (TransactionConflict) is made again, at most a few times.
    """
    connection = writes[0][0]._get_connection().connection  # one long-lived client for all tables
    for attempt in range(TRANSACTION_CONFLICT_RETRIES + 1):
        try:
            with TransactWrite(connection=connection) as transaction:
                for item, actions, condition in writes:
                    transaction.update(item, actions=actions, condition=condition)
        except TransactWriteError as error:
            codes = [reason.code if reason else None for reason in error.cancellation_reasons]
            failed = {i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"}
            if failed:
                return failed
            if "TransactionConflict" in codes and attempt < TRANSACTION_CONFLICT_RETRIES:
                continue
            raise
        return set()
    raise AssertionError("unreachable")  # pragma: no cover


def setting(model: type[Model], fields: dict[str, Any]) -> list[Action]:
    """SET each of ``fields`` (attribute name -> value) on an item of ``model``."""
    return [getattr(model, name).set(value) for name, value in fields.items()]


def from_item(value_type: Callable[..., V], item: Model, **converted: Any) -> V:
    """The domain dataclass ``value_type`` with every field the item stores under the same name
    copied as is; ``converted`` gives the fields that need a conversion (numbers, sets, keys)
    or are not stored. One place reads items field by field, so no mapper repeats another."""
    stored = item.get_attributes()
    names = [field.name for field in dataclasses.fields(value_type)]  # type: ignore[arg-type]
    copied = {name: getattr(item, name) for name in names if name in stored and name not in converted}
    return value_type(**copied, **converted)


def count(number: Any) -> int:
    """A stored count as an int, 0 when absent."""
    return int(number or 0)


def int_or_none(number: Any) -> int | None:
    return None if number is None else int(number)


def float_or_none(number: Any) -> float | None:
    return None if number is None else float(number)


def sorted_set(values: Iterable[str] | None) -> list[str]:
    return sorted(values or ())


def day_key(shop_id: str, day: str) -> str:
    """The ``by_shop_day`` index key: one partition per shop and local day."""
    return f"{shop_id}#{day}"


def day_of(key: str) -> str:
    return key.rpartition("#")[2]


def shop_phone(shop_id: str, phone: str) -> str:
    """The key of one customer of one shop (timeline indexes, messages, do-not-call)."""
    return f"{shop_id}#{phone}"


def sortable_utc(at: datetime) -> str:
    """A time as a range key prefix: UTC, fixed width, so keys sort by time."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
