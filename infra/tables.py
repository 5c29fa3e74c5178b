"""The DynamoDB tables as the PynamoDB models define them, in a shape the stack turns into
CloudFormation. The models stay the one definition: nothing here names a key or an index."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from chalicelib.adapters.dynamo.schema import IDEMPOTENCY_TABLE_SUFFIX, all_models, idempotency_table_definition


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # DynamoDB's attribute type letter: S, N or B


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: Key
    range_key: Key | None
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    suffix: str  # the table name without TABLE_PREFIX
    hash_key: Key
    range_key: Key | None
    indexes: tuple[Index, ...]
    stream_view_type: str | None
    ttl_attribute: str | None

    def name(self, prefix: str) -> str:
        return prefix + self.suffix


def _keys(key_schema: list[dict[str, str]], types: dict[str, str]) -> tuple[Key, Key | None]:
    by_role = {k["KeyType"]: Key(k["AttributeName"], types[k["AttributeName"]]) for k in key_schema}
    return by_role["HASH"], by_role.get("RANGE")


def _ttl_attribute(model: type[Model]) -> str | None:
    names = [attr.attr_name for attr in model.get_attributes().values() if isinstance(attr, TTLAttribute)]
    if len(names) > 1:  # DynamoDB allows one TTL attribute per table
        raise ValueError(f"{model.__name__} has several TTL attributes: {names}")
    return names[0] if names else None


def model_spec(model: type[Model], prefix: str) -> TableSpec:
    """A model's table from the schema PynamoDB itself sends to CreateTable (the same one
    DynamoDB Local and moto get), plus its Meta stream setting and its TTLAttribute."""
    table_name: str = model.Meta.table_name
    if not table_name.startswith(prefix):
        # Model table names are fixed at import from TABLE_PREFIX: a different deploy prefix
        # would create tables the functions never read.
        raise ValueError(
            f"{model.__name__} is named {table_name!r}: import the models with TABLE_PREFIX={prefix!r} set"
        )
    schema: dict[str, Any] = dict(model._get_schema())
    types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    if schema.get("local_secondary_indexes"):
        raise ValueError(f"{model.__name__}: local secondary indexes are not deployed yet")
    hash_key, range_key = _keys(schema["key_schema"], types)
    indexes = []
    for gsi in sorted(schema.get("global_secondary_indexes", []), key=lambda g: g["index_name"]):
        index_hash, index_range = _keys(gsi["key_schema"], types)
        projection = gsi["projection"]
        indexes.append(
            Index(
                name=gsi["index_name"],
                hash_key=index_hash,
                range_key=index_range,
                projection=projection["ProjectionType"],
                non_key_attributes=tuple(projection.get("NonKeyAttributes", ())),
            )
        )
    return TableSpec(
        suffix=table_name[len(prefix) :],
        hash_key=hash_key,
        range_key=range_key,
        indexes=tuple(indexes),
        stream_view_type=getattr(model.Meta, "stream_view_type", None),
        ttl_attribute=_ttl_attribute(model),
    )


def idempotency_ttl_attribute() -> str:
    """The attribute Powertools' DynamoDB persistence layer writes its expiry to (its default,
    which the app keeps)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return str(inspect.signature(DynamoDBPersistenceLayer.__init__).parameters["expiry_attr"].default)


def idempotency_spec() -> TableSpec:
    definition = idempotency_table_definition()
    types = {d["AttributeName"]: d["AttributeType"] for d in definition["AttributeDefinitions"]}
    hash_key, range_key = _keys(definition["KeySchema"], types)
    return TableSpec(
        suffix=IDEMPOTENCY_TABLE_SUFFIX,
        hash_key=hash_key,
        range_key=range_key,
        indexes=(),
        stream_view_type=None,
        ttl_attribute=idempotency_ttl_attribute(),
    )


def table_specs(prefix: str) -> list[TableSpec]:
    """Every table the app uses: the models of ``all_models()`` and the idempotency table."""
    return [model_spec(model, prefix) for model in all_models()] + [idempotency_spec()]
