"""moto-backed fixtures: the app's tables in a fresh mock per test, the demo shop loaded,
the Chalice test client, signed Twilio requests, and Lambda-shaped stream events read from
the tables' real (moto) streams; a fixed clock; and the app's tables on DynamoDB Local for the
tests that need AWS's own engine."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws
from twilio.request_validator import RequestValidator

from chalicelib.adapters.dynamo.schema import create_tables, reset_connections
from chalicelib.clock import FixedClock, runs_on_wall_clock, use_clock, use_wall_clock
from chalicelib.config import reload_settings
from chalicelib.services.admin import load_config
from chalicelib.wiring import forget_clients, repository
from devtools.dynamodb_local import DynamoDBLocal
from devtools.local_gateway import ApiTestClient

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-central-1"
AUTH_TOKEN = "integration-test-token"
LINK_SECRET = "integration-test-recording-link-key"
PUBLIC_BASE = "https://calls.example.test/api"
API_KEY = "demo-shop-key-0001"
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv, a Monday: the demo shop is open


@pytest.fixture
def clock() -> Iterator[FixedClock]:
    """The app's clock fixed at NOW for one test."""
    fixed = FixedClock(NOW)
    use_clock(fixed)
    yield fixed
    use_wall_clock()


@contextmanager
def dynamodb_local_tables(
    *,
    extra_env: dict[str, str] | None = None,
    drop_env: tuple[str, ...] = (),
    demo_config_at: datetime | None = None,
) -> Iterator[DynamoDBLocal]:
    """A DynamoDB Local engine with the app's tables (and the demo shop loaded when
    ``demo_config_at`` is given); the process's settings point at it until the block ends."""
    saved = dict(os.environ)
    try:
        with DynamoDBLocal(ROOT, region=REGION) as engine:
            os.environ.update(engine.env())
            os.environ.update({"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION} | (extra_env or {}))
            for name in drop_env:
                os.environ.pop(name, None)
            reload_settings()
            reset_connections()
            create_tables()
            if demo_config_at is not None:
                load_config(ROOT / "config" / "demo.toml", store=repository(), now=demo_config_at)
            yield engine
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_connections()
        reload_settings()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PUBLIC_BASE_URL": PUBLIC_BASE,
        "RECORDING_LINK_SECRET": LINK_SECRET,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODBSTREAMS"):
        monkeypatch.delenv(name, raising=False)
    reload_settings()
    reset_connections()
    forget_clients()
    # The app never runs on the real clock here: a test that sets none gets NOW (years from
    # the real date), so a read of the wall clock where the app's clock belongs shows at once.
    pinned = runs_on_wall_clock()
    if pinned:
        use_clock(FixedClock(NOW))
    with mock_aws():
        create_tables(wait=False)
        load_config(ROOT / "config" / "demo.toml", store=repository(), now=NOW)
        yield
    if pinned:
        use_wall_clock()
    reset_connections()
    forget_clients()
    reload_settings()


@pytest.fixture
def client(aws: None) -> Iterator[Client]:
    from app import app

    # Through API Gateway as the stack in infra/ configures it (unknown paths 404, OPTIONS 405).
    with ApiTestClient(app) as test_client:
        yield test_client


def post_order(client: Client, body: dict[str, Any], *, key: str | None = None, api_key: str = API_KEY) -> Any:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
    if key:
        headers["Idempotency-Key"] = key
    return client.http.post("/v1/orders", headers=headers, body=json.dumps(body))


def signed_post(client: Client, path: str, params: dict[str, str], *, token: str = AUTH_TOKEN) -> Any:
    """POST a form exactly as Twilio would: signed over the public URL and the parameters."""
    signature = RequestValidator(token).compute_signature(PUBLIC_BASE + path, params)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return client.http.post(path, headers=headers, body=urlencode(params))


class StreamReader:
    """Reads a table's stream from where it last stopped and shapes records as Lambda does."""

    def __init__(self, table_name: str) -> None:
        self.stream_arn = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        # botocore sends stream calls to an account-based host moto doesn't serve; use the classic one.
        self.streams = boto3.client("dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com")
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        self.iterators = {
            shard["ShardId"]: self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for shard in shards
        }

    def next_event(self) -> dict[str, Any]:
        records: list[dict[str, Any]] = []
        for shard_id, iterator in list(self.iterators.items()):
            page = self.streams.get_records(ShardIterator=iterator)
            self.iterators[shard_id] = page["NextShardIterator"]
            records += page["Records"]
        for record in records:
            created = record["dynamodb"].get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                record["dynamodb"]["ApproximateCreationDateTime"] = created.replace(
                    tzinfo=created.tzinfo or UTC
                ).timestamp()
            record.setdefault("eventSourceARN", self.stream_arn)
        return {"Records": records}


@pytest.fixture
def order_stream(aws: None) -> StreamReader:
    return StreamReader("callcenter-order_lanes")


@pytest.fixture
def task_stream(aws: None) -> StreamReader:
    return StreamReader("callcenter-dial_tasks")
