"""Per-shop-key limits (issue #9): the authorizer API Gateway runs before the shop routes, and
the operator's commands that put keys in the usage plan and take them out (moto's API Gateway)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.usage_plan import USAGE_PLAN_ENV, ApiGatewayUsagePlan, usage_plan_from_env
from chalicelib.domain.api_keys import allow_shop, bearer_key, usage_identifier, usage_key_name
from chalicelib.domain.shop import ShopSettings
from chalicelib.services import admin
from chalicelib.web.shop_key_authorizer import Unauthorized, authorize
from tests.fakes.store import FakeStore

NOW = datetime(2015, 11, 23, 9, 0, tzinfo=UTC)
METHOD_ARN = "arn:aws:execute-api:eu-central-1:123456789012:abc123/api/POST/v1/orders"


class Keys:
    """The repository's digest lookup, as the authorizer sees it."""

    def __init__(self, owners: dict[str, tuple[str, str]]) -> None:
        self.owners = owners

    def api_key_owner(self, api_key: str) -> tuple[str, str] | None:
        return self.owners.get(api_key)


class KeyStore(FakeStore):
    """FakeStore plus the key ids the CLI revokes and registers by."""

    def __init__(self, shops: list[ShopSettings]) -> None:
        super().__init__(shops)
        self.key_ids: dict[str, tuple[str, str]] = {}  # key id -> (shop id, key)

    def save_api_key(self, shop_id: str, api_key: str, key_id: str, now: datetime) -> None:
        super().save_api_key(shop_id, api_key, key_id, now)
        self.key_ids[key_id] = (shop_id, api_key)

    def api_key_ids(self) -> list[tuple[str, str]]:
        return sorted((shop_id, key_id) for key_id, (shop_id, _) in self.key_ids.items())

    def revoke_api_key(self, key_id: str) -> str | None:
        if key_id not in self.key_ids:
            return None
        shop_id, api_key = self.key_ids.pop(key_id)
        del self.api_keys[api_key]
        return shop_id


# ---- the authorizer ---------------------------------------------------------------------------
def test_a_known_key_is_allowed_on_the_stage_and_metered_as_its_own_usage_key() -> None:
    # GIVEN a stored shop key
    keys = Keys({"sk_live_0123456789abcdef": ("kvitka", "key_0a1b2c3d")})

    # WHEN API Gateway asks about a request carrying it
    answer = authorize({"authorizationToken": "Bearer sk_live_0123456789abcdef", "methodArn": METHOD_ARN}, keys=keys)

    # THEN the shop is the principal, every method of the stage is allowed (the answer is cached
    # per key) and the usage plan meters the key by its own identifier
    assert answer["principalId"] == "kvitka"
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:eu-central-1:123456789012:abc123/api/*",
    }
    assert answer["usageIdentifierKey"] == usage_identifier("key_0a1b2c3d")
    assert answer["context"] == {"shop_id": "kvitka", "key_id": "key_0a1b2c3d"}


@pytest.mark.parametrize(
    "header",
    [None, "", "sk_live_0123456789abcdef", "Basic sk_live_0123456789abcdef", "Bearer ", "Bearer sk_unknown_key_000000"],
)
def test_a_missing_malformed_or_unknown_key_is_refused(header: str | None) -> None:
    keys = Keys({"sk_live_0123456789abcdef": ("kvitka", "key_0a1b2c3d")})
    event: dict[str, Any] = {"methodArn": METHOD_ARN}
    if header is not None:
        event["authorizationToken"] = header

    with pytest.raises(Unauthorized, match=r"^Unauthorized$"):  # API Gateway's 401 needs this exact text
        authorize(event, keys=keys)


def test_the_app_and_the_authorizer_read_the_header_alike() -> None:
    assert bearer_key("bearer  sk_live_0123456789abcdef ") == "sk_live_0123456789abcdef"
    assert bearer_key("BEARER sk_x") == "sk_x"
    assert bearer_key("Token sk_x") is None


def test_usage_identifiers_are_valid_api_gateway_key_values_and_distinct_per_key() -> None:
    first, second = usage_identifier("key_0a1b2c3d"), usage_identifier("key_99999999")
    assert first != second
    assert 20 <= len(first) <= 128  # API Gateway's bounds for an API key value
    with pytest.raises(ValueError, match="key id"):
        usage_identifier("key id with spaces")
    with pytest.raises(ValueError, match="method ARN"):
        allow_shop("not-an-arn", shop_id="kvitka", key_id="key_0a1b2c3d")


# ---- the usage plan (moto) ----------------------------------------------------------------------
@pytest.fixture
def plan(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("apigateway", region_name="eu-central-1")
        api = client.create_rest_api(name="CallCenter-api")
        created = client.create_usage_plan(
            name="CallCenter-shop-keys",
            throttle={"rateLimit": 10.0, "burstLimit": 20},
            quota={"limit": 100_000, "period": "DAY"},
            apiStages=[{"apiId": api["id"], "stage": "api"}],
        )
        yield client, created["id"]


def _plan_keys(client: Any, plan_id: str) -> dict[str, dict[str, Any]]:
    return {key["name"]: key for key in client.get_usage_plan_keys(usagePlanId=plan_id)["items"]}


def _api_key(client: Any, name: str) -> dict[str, Any]:
    (key,) = [k for k in client.get_api_keys(includeValues=True)["items"] if k["name"] == name]
    return dict(key)


def _shop() -> ShopSettings:
    return ShopSettings.model_validate({"shop_id": "kvitka", "name": "Kvitka"})


def test_issuing_a_key_puts_it_in_the_usage_plan_before_it_works(plan: tuple[Any, str]) -> None:
    # GIVEN a deployment's usage plan
    client, plan_id = plan
    store = KeyStore([_shop()])

    # WHEN the operator issues a key
    key_id, api_key = admin.create_api_key("kvitka", store=store, now=NOW, usage_plan=ApiGatewayUsagePlan(plan_id))

    # THEN the key works in the app, and the plan holds an enabled API Gateway key whose value is
    # the identifier the authorizer names (never the shop's secret)
    assert store.shop_for_api_key(api_key) == _shop()
    name = usage_key_name("kvitka", key_id)
    assert set(_plan_keys(client, plan_id)) == {name}
    registered = _api_key(client, name)
    assert registered["enabled"] is True
    assert registered["value"] == usage_identifier(key_id) != api_key


def test_registering_again_changes_nothing(plan: tuple[Any, str]) -> None:
    client, plan_id = plan
    usage_plan = ApiGatewayUsagePlan(plan_id)
    store = KeyStore([_shop()])
    key_id, _ = admin.create_api_key("kvitka", store=store, now=NOW, usage_plan=usage_plan)
    first = _api_key(client, usage_key_name("kvitka", key_id))["id"]

    registered = admin.register_api_keys(store=store, usage_plan=usage_plan)

    assert registered == [("kvitka", key_id)]
    assert [k["id"] for k in _plan_keys(client, plan_id).values()] == [first]
    assert len(client.get_api_keys()["items"]) == 1


def test_keys_issued_before_the_plan_are_registered_by_the_sync(plan: tuple[Any, str]) -> None:
    client, plan_id = plan
    store = KeyStore([_shop()])
    old_id, _ = admin.create_api_key("kvitka", store=store, now=NOW)  # locally, or before the plan existed
    assert _plan_keys(client, plan_id) == {}

    admin.register_api_keys(store=store, usage_plan=ApiGatewayUsagePlan(plan_id))

    assert set(_plan_keys(client, plan_id)) == {usage_key_name("kvitka", old_id)}


def test_revoking_a_key_refuses_it_and_disables_it_in_the_usage_plan(plan: tuple[Any, str]) -> None:
    # GIVEN two keys of a shop in the plan
    client, plan_id = plan
    usage_plan = ApiGatewayUsagePlan(plan_id)
    store = KeyStore([_shop()])
    revoked_id, revoked_key = admin.create_api_key("kvitka", store=store, now=NOW, usage_plan=usage_plan)
    kept_id, kept_key = admin.create_api_key("kvitka", store=store, now=NOW, usage_plan=usage_plan)

    # WHEN one is revoked
    shop_id = admin.revoke_api_key(revoked_id, store=store, usage_plan=usage_plan)

    # THEN it no longer authenticates, its API Gateway key is disabled and out of the plan, and
    # the other key is untouched
    assert shop_id == "kvitka"
    assert store.shop_for_api_key(revoked_key) is None
    assert store.shop_for_api_key(kept_key) == _shop()
    assert _api_key(client, usage_key_name("kvitka", revoked_id))["enabled"] is False
    assert set(_plan_keys(client, plan_id)) == {usage_key_name("kvitka", kept_id)}
    assert _api_key(client, usage_key_name("kvitka", kept_id))["enabled"] is True
    with pytest.raises(admin.AdminError, match="no API key"):
        admin.revoke_api_key(revoked_id, store=store, usage_plan=usage_plan)


def test_without_a_deployment_no_usage_plan_is_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    # Locally (no USAGE_PLAN_ID) keys are issued without API Gateway; no client is even made.
    monkeypatch.delenv(USAGE_PLAN_ENV, raising=False)
    assert usage_plan_from_env() is None
    monkeypatch.setenv(USAGE_PLAN_ENV, "  ")
    assert usage_plan_from_env() is None
    monkeypatch.setenv(USAGE_PLAN_ENV, "abc123")
    deployed = usage_plan_from_env()
    assert deployed is not None and deployed.usage_plan_id == "abc123" and deployed._client is None
