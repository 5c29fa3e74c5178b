"""Fixtures for the local-stack plumbing: one DynamoDB Local per test process."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.dynamodb_local import DynamoDBLocal
from devtools.stream_poller import StreamConsumer, StreamPoller

POLLER_REGION = "eu-central-1"


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


@pytest.fixture
def run_poller(dynamodb_local: DynamoDBLocal, tmp_path: Path) -> Iterator[Callable[..., StreamPoller]]:
    """Starts a stream poller for the given consumers (failures in tmp_path), stopped after the test."""
    pollers: list[StreamPoller] = []

    def run(*consumers: StreamConsumer) -> StreamPoller:
        poller = StreamPoller(
            list(consumers),
            region=POLLER_REGION,
            endpoint_url=dynamodb_local.endpoint_url,
            failure_log=tmp_path / "stream-failures.jsonl",
            poll_interval=0.05,
        )
        pollers.append(poller.start())
        return poller

    yield run
    for poller in pollers:
        poller.stop()
