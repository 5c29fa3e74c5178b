"""Every table is reached through one botocore session and client (issue #19: each extra
PynamoDB model used to build its own, about 74 ms of CPU on a cold Lambda's first request)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.adapters.dynamo import connection
from chalicelib.adapters.dynamo.schema import (
    ALL_MODELS,
    AgentItem,
    OrderItem,
    ShopItem,
    create_tables,
    reset_connections,
)

pytestmark = pytest.mark.integration

REGION = "eu-central-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    reset_connections()
    with mock_aws():
        create_tables(wait=False)
        yield
    reset_connections()


def test_every_model_is_declared_on_the_shared_connection_model() -> None:
    assert all(issubclass(model, connection.Model) for model in ALL_MODELS)


def test_three_tables_written_and_read_through_one_session_and_one_client(aws: None) -> None:
    # GIVEN a fresh process state (no table has been used yet)
    reset_connections()
    # WHEN three different tables are written and read back
    now = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
    ShopItem(shop_id="shop-a", settings={"name": "A"}, created_at=now).save()
    assert ShopItem.get("shop-a").settings == {"name": "A"}
    assert OrderItem.count() == 0
    assert AgentItem.count() == 0
    # THEN each table keeps its own schema but all go through the same Connection, whose
    # thread's botocore session and client were built once
    connections = {model._get_connection().connection for model in (ShopItem, OrderItem, AgentItem)}
    assert len(connections) == 1
    (shared,) = connections
    clients = {id(model._get_connection().connection.client) for model in (ShopItem, OrderItem, AgentItem)}
    assert clients == {id(shared.client)}
    assert shared.session is shared.session
    for model in (ShopItem, OrderItem, AgentItem):
        assert shared.get_meta_table(model.Meta.table_name).table_name == model.Meta.table_name


def test_reset_builds_a_new_shared_client(aws: None) -> None:
    # GIVEN a shared client in use
    ShopItem.count()
    before = ShopItem._get_connection().connection
    # WHEN the tests switch endpoints
    reset_connections()
    # THEN the next use builds a new one, shared again
    assert OrderItem.count() == 0
    after = OrderItem._get_connection().connection
    assert after is not before
    assert ShopItem._get_connection().connection is after


def test_every_dynamodb_request_carries_the_user_agent_built_once(aws: None) -> None:
    """botocore rebuilds its structured User-Agent twice a request unless the client's config
    gives one (#19: about a tenth of the app's CPU while ingesting orders)."""
    from chalicelib.adapters import idempotency

    idempotency._client.cache_clear()
    sent: list[str] = []

    def capture(request: Any, **kwargs: Any) -> None:
        header = request.headers["User-Agent"]
        sent.append(header.decode() if isinstance(header, bytes) else header)

    # GIVEN the tables' shared client and the idempotency layer's client
    clients = [ShopItem._get_connection().connection.client, idempotency._client()]
    for client in clients:
        client.meta.events.register_first("before-send.dynamodb", capture)
    # WHEN each sends requests
    ShopItem(shop_id="shop-a", settings={"name": "A"}, created_at=datetime(2015, 11, 23, tzinfo=UTC)).save()
    assert ShopItem.get("shop-a").settings == {"name": "A"}
    clients[1].list_tables()
    idempotency._client.cache_clear()
    # THEN every request's header starts with the one fixed string (botocore's legacy form naming
    # the app; boto3 and Powertools append their names), not botocore's structured form
    assert len(sent) == 3
    assert all(header.startswith(connection.user_agent()) for header in sent), sent
    assert not any("ua/2.1" in header for header in sent)
    assert connection.user_agent().startswith("Botocore/") and connection.user_agent().endswith(" app/callcenter")
