"""One UpdateItem without PynamoDB's expression objects, for the webhooks' hot path (#19).

A call's record is written on every incoming call and status callback: one UpdateItem, whose
DynamoDB round trip is the webhook's floor. Through ``Model.update`` the app also built and
serialised a tree of PynamoDB actions, placeholders and values, then deserialised the whole
returned item into a model instance (about a third of the app's own time in those webhooks).
Here the same request (same attributes, values, ``if_not_exists``, a None stored as NULL, condition,
``ALL_NEW``) goes through the model's shared botocore client (``connection.shared_connection``),
its expression text cached per shape of update; values are serialised by the model's own
attributes, so what is stored is what ``Model.update`` stored.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

from chalicelib.adapters.dynamo.connection import shared_connection

CONDITION_FAILED = "ConditionalCheckFailedException"
Raw = dict[str, dict[str, Any]]


@cache
def _attributes(model: type[Model]) -> dict[str, Attribute[Any]]:
    return model.get_attributes()


def _value(attribute: Attribute[Any], value: Any) -> dict[str, Any] | None:
    """``value`` as DynamoDB's typed value as PynamoDB's ``set`` gives it: a None is stored as
    NULL; None when PynamoDB would REMOVE the attribute (a value it serialises to nothing, such
    as an empty set)."""
    if value is None:
        return {"NULL": True}
    serialized = attribute.serialize(value)
    return None if serialized is None else {attribute.attr_type: serialized}


@lru_cache(maxsize=256)
def _expressions(
    kept: tuple[str, ...], given: tuple[str, ...], removed: tuple[str, ...], below: str | None, key: str | None
) -> tuple[str, str | None, dict[str, str]]:
    """The UpdateExpression, the ConditionExpression and the names for one shape of update
    (built once per shape: a webhook's shape repeats on every call). Values are ``:0``,
    ``:1``... in the order kept, given, then the condition's. ``key``: the item must exist."""
    names: dict[str, str] = {}
    sets: list[str] = []
    for i, name in enumerate((*kept, *given, *removed)):
        names[f"#{i}"] = name
        if i < len(kept):
            sets.append(f"#{i} = if_not_exists (#{i}, :{i})")
        elif i < len(kept) + len(given):
            sets.append(f"#{i} = :{i}")
    update = "SET " + ", ".join(sets) if sets else ""
    if removed:
        first = len(kept) + len(given)
        update += " REMOVE " + ", ".join(f"#{first + j}" for j in range(len(removed)))
    conditions: list[str] = []
    if below is not None:
        at, value = f"#{len(names)}", f":{len(kept) + len(given)}"
        names[at] = below
        conditions.append(f"(attribute_not_exists ({at}) OR {at} < {value})")
    if key is not None:
        at = f"#{len(names)}"
        names[at] = key
        conditions.append(f"attribute_exists ({at})")
    return update.strip(), " AND ".join(conditions) or None, names


def update_item(
    model: type[Model],
    hash_key: str,
    *,
    keep: dict[str, Any],
    put: dict[str, Any],
    below: tuple[str, int] | None = None,
    existing: bool = False,
    returned: bool = True,
) -> Raw | None:
    """UpdateItem on ``model``'s item ``hash_key``: each of ``keep`` set only if the item has
    none (``if_not_exists``; one also in ``put`` is left to ``put``), each of ``put`` set as
    given (None as NULL, as PynamoDB stores it); with ``below`` (attribute, number), only if
    the item has no such attribute or a smaller one; ``existing``: only if the item is stored
    already, else UpdateError as ``Model.update`` raises for its failed condition. The item as
    stored (ALL_NEW, raw; empty when not ``returned``), None when the ``below`` condition
    failed. Names are the model's attribute names (the same as stored here)."""
    attributes = _attributes(model)
    values: dict[str, Any] = {}
    kept: list[str] = []
    for name, value in keep.items():
        if name not in put:
            attribute = attributes[name]
            values[f":{len(kept)}"] = _value(attribute, value) or {"NULL": True}  # if_not_exists of nothing
            kept.append(attribute.attr_name)
    given: list[str] = []
    removed: list[str] = []
    for name, value in put.items():
        attribute = attributes[name]
        typed = _value(attribute, value)
        if typed is None:
            removed.append(attribute.attr_name)
        else:
            values[f":{len(kept) + len(given)}"] = typed
            given.append(attribute.attr_name)
    if below is not None:
        attribute = attributes[below[0]]
        values[f":{len(kept) + len(given)}"] = {attribute.attr_type: attribute.serialize(below[1])}
    hash_attribute = model._hash_key_attribute()
    update, condition, names = _expressions(
        tuple(kept),
        tuple(given),
        tuple(removed),
        attributes[below[0]].attr_name if below else None,
        hash_attribute.attr_name if existing else None,
    )
    request: dict[str, Any] = {
        "TableName": model.Meta.table_name,
        "Key": {hash_attribute.attr_name: {hash_attribute.attr_type: hash_attribute.serialize(hash_key)}},
        "UpdateExpression": update,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValues": "ALL_NEW" if returned else "NONE",
    }
    if condition is not None:
        request["ConditionExpression"] = condition
    client = shared_connection(model.Meta).client
    try:
        answer = client.update_item(**request)
    except client.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") != CONDITION_FAILED:
            raise
        if existing:
            raise UpdateError("Failed to update item: it is not stored", cause=error) from error
        return None
    attributes_stored: Raw = answer.get("Attributes", {})
    return attributes_stored


def values_of(model: type[Model], raw: Raw, names: tuple[str, ...]) -> dict[str, Any]:
    """The attributes ``names`` of a raw item, as ``Model`` deserialises them: an absent or NULL
    one is the attribute's default (None for most)."""
    attributes = _attributes(model)
    out: dict[str, Any] = {}
    for name in names:
        attribute = attributes[name]
        stored = raw.get(attribute.attr_name)
        if stored and "NULL" not in stored:
            out[name] = attribute.deserialize(attribute.get_value(stored))
        else:
            default = attribute.default
            out[name] = default() if callable(default) else default
    return out
