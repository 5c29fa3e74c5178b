"""Fixtures for the local-stack plumbing: one DynamoDB Local per test process."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devtools.dynamodb_local import DynamoDBLocal


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    # One per pytest-xdist worker: each picks its own free port.
    with DynamoDBLocal() as instance:
        yield instance


@pytest.fixture(scope="session")
def dynamodb(dynamodb_local: DynamoDBLocal) -> Any:
    return dynamodb_local.client("dynamodb")


@pytest.fixture
def stream_table(dynamodb: Any) -> Callable[[], tuple[str, str]]:
    """Creates a table with a NEW_AND_OLD_IMAGES stream; returns (table name, stream ARN)."""

    def create() -> tuple[str, str]:
        name = f"t-{uuid.uuid4().hex[:12]}"
        description = dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        return name, description["LatestStreamArn"]

    return create
