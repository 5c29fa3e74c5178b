"""The operator's API-key commands against a deployment (moto: the tables and API Gateway):
issuing puts the key in the usage plan, revoking refuses it everywhere and disables it in the
plan, the sync registers keys issued before; the authorizer and the app agree on every key."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from chalicelib.domain.api_keys import usage_identifier, usage_key_name
from chalicelib.web.shop_key_authorizer import Unauthorized, authorize
from chalicelib.wiring import repository
from cli.admin import main as admin_cli
from tests.integration.conftest import API_KEY, REGION

METHOD_ARN = "arn:aws:execute-api:eu-central-1:123456789012:abc123/api/POST/v1/orders"


@pytest.fixture
def usage_plan(aws: None, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    client = boto3.client("apigateway", region_name=REGION)
    api = client.create_rest_api(name="CallCenter-api")
    plan = client.create_usage_plan(
        name="CallCenter-shop-keys",
        throttle={"rateLimit": 10.0, "burstLimit": 20},
        quota={"limit": 100_000, "period": "DAY"},
        apiStages=[{"apiId": api["id"], "stage": "api"}],
    )
    monkeypatch.setenv("USAGE_PLAN_ID", plan["id"])
    return client, plan["id"]


def _in_plan(client: Any, plan_id: str) -> set[str]:
    return {key["name"] for key in client.get_usage_plan_keys(usagePlanId=plan_id)["items"]}


def _key(client: Any, name: str) -> dict[str, Any]:
    (key,) = [k for k in client.get_api_keys(includeValues=True)["items"] if k["name"] == name]
    return dict(key)


def test_issue_and_revoke_a_key_through_the_cli(
    usage_plan: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    client, plan_id = usage_plan

    # WHEN the operator issues a key for the demo shop
    assert admin_cli(["create-api-key", "--shop", "demo"]) == 0
    first_line = capsys.readouterr().out.splitlines()[0]
    key_id, _, api_key = first_line.partition(": ")

    # THEN the authorizer allows it, metered by its own identifier, which is in the plan
    answer = authorize({"authorizationToken": f"Bearer {api_key}", "methodArn": METHOD_ARN}, keys=repository())
    assert answer["principalId"] == "demo"
    assert answer["usageIdentifierKey"] == usage_identifier(key_id)
    assert usage_key_name("demo", key_id) in _in_plan(client, plan_id)
    assert _key(client, usage_key_name("demo", key_id))["value"] == usage_identifier(key_id)
    assert repository().shop_for_api_key(api_key) is not None

    # WHEN it is revoked
    assert admin_cli(["revoke-api-key", "--key-id", key_id]) == 0

    # THEN the authorizer and the app refuse it, and its API Gateway key is disabled, out of the plan
    with pytest.raises(Unauthorized):
        authorize({"authorizationToken": f"Bearer {api_key}", "methodArn": METHOD_ARN}, keys=repository())
    assert repository().shop_for_api_key(api_key) is None  # (another warm process: within its cache's minute)
    assert usage_key_name("demo", key_id) not in _in_plan(client, plan_id)
    assert _key(client, usage_key_name("demo", key_id))["enabled"] is False
    # The demo's own key is untouched; revoking an unknown key is an error, not a silent no-op.
    assert repository().shop_for_api_key(API_KEY) is not None
    assert admin_cli(["revoke-api-key", "--key-id", key_id]) == 2


def test_the_sync_registers_keys_loaded_before_the_plan(usage_plan: tuple[Any, str]) -> None:
    # GIVEN the demo's keys, loaded from config/demo.toml before any plan existed
    client, plan_id = usage_plan
    keys = repository().api_key_ids()
    assert keys and _in_plan(client, plan_id) == set()

    # WHEN the operator syncs, twice
    assert admin_cli(["register-api-keys"]) == 0
    assert admin_cli(["register-api-keys"]) == 0

    # THEN each key is in the plan once
    assert _in_plan(client, plan_id) == {usage_key_name(shop_id, key_id) for shop_id, key_id in keys}
    assert len(client.get_api_keys()["items"]) == len(keys)


def test_without_a_deployment_the_cli_touches_no_api_gateway(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("USAGE_PLAN_ID", raising=False)
    assert admin_cli(["create-api-key", "--shop", "demo"]) == 0
    assert "usage plan" not in capsys.readouterr().out
    assert boto3.client("apigateway", region_name=REGION).get_api_keys()["items"] == []
    assert admin_cli(["register-api-keys"]) == 2
