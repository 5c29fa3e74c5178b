"""Per-shop-key limits in the synthesised template (issue #9): a usage plan with a rate, a burst
and a daily quota on the API's stage; the shop routes behind the key authorizer and an API key
(whose source is the authorizer); Twilio's webhooks, the agent desk and the signed links outside."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.api_keys import AUTHORIZER_NAME, shop_key_routes
from infra.stack import DeploySettings
from tests.infra.conftest import Synthesis, authorizer_id

pytestmark = pytest.mark.xdist_group("infra")


def _swagger(synthesis: Synthesis) -> dict[str, Any]:
    (api,) = synthesis.of_type("AWS::Serverless::Api").values()
    swagger: dict[str, Any] = api["Properties"]["DefinitionBody"]
    return swagger


def _operations(swagger: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, methods in swagger["paths"].items()
        for method, operation in methods.items()
        if isinstance(operation, dict) and "x-amazon-apigateway-integration" in operation
    }


def test_one_usage_plan_limits_each_key_on_the_api_stage(synthesis: Synthesis) -> None:
    defaults = DeploySettings()
    (plan,) = synthesis.of_type("AWS::ApiGateway::UsagePlan").values()
    properties = plan["Properties"]

    assert properties["Throttle"] == {"RateLimit": defaults.key_rate_limit, "BurstLimit": defaults.key_burst_limit}
    assert properties["Quota"] == {"Limit": defaults.key_daily_quota, "Period": "DAY"}
    # Bound to the stage SAM makes for the Chalice API (the reference orders the plan after it).
    assert properties["ApiStages"] == [{"ApiId": {"Ref": "RestAPI"}, "Stage": {"Ref": "RestAPI.Stage"}}]
    # Each key is held to less than the whole API may serve.
    assert defaults.key_rate_limit < defaults.api_rate_limit and defaults.key_burst_limit < defaults.api_burst_limit
    # The operator's CLI needs the plan's id.
    assert synthesis.template["Outputs"]["UsagePlanId"]["Value"] == {"Ref": next(iter(_plan_ids(synthesis)))}


def _plan_ids(synthesis: Synthesis) -> list[str]:
    return list(synthesis.of_type("AWS::ApiGateway::UsagePlan"))


def test_the_shop_routes_need_the_authorizer_and_an_api_key_from_it(synthesis: Synthesis) -> None:
    swagger = _swagger(synthesis)
    operations = _operations(swagger)
    routes = shop_key_routes()

    # The key the usage plan counts comes from the authorizer, never from a client's header.
    assert swagger["x-amazon-apigateway-api-key-source"] == "AUTHORIZER"
    authorizer = swagger["securityDefinitions"][AUTHORIZER_NAME]
    assert authorizer["name"] == "Authorization" and authorizer["in"] == "header"
    settings = authorizer["x-amazon-apigateway-authorizer"]
    assert settings["type"] == "token"
    assert settings["authorizerResultTtlInSeconds"] == DeploySettings().authorizer_cache_seconds
    authorizer_name = synthesis.function_names[authorizer_id(synthesis)]
    assert settings["authorizerUri"]["Fn::Sub"].endswith(f":function:{authorizer_name}/invocations")
    assert swagger["securityDefinitions"]["api_key"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}

    assert ("POST", "/v1/orders") in routes and ("POST", "/v1/callbacks") in routes and ("GET", "/v1/live") in routes
    for route in routes:
        assert operations[route]["security"] == [{"api_key": []}, {AUTHORIZER_NAME: []}], route


def test_webhooks_the_agent_desk_and_signed_links_stay_outside_the_plan(synthesis: Synthesis) -> None:
    operations = _operations(_swagger(synthesis))
    routes = set(shop_key_routes())
    outside = [route for route in operations if route not in routes]

    assert any(path.startswith("/twilio/") for _, path in outside)
    for expected in [
        ("POST", "/twilio/voice/incoming"),
        ("POST", "/twilio/sms/incoming"),
        ("POST", "/v1/calls/{call_sid}/outcome"),  # an agent's token
        ("GET", "/v1/agent"),
        ("GET", "/agent"),
        ("POST", "/v1/customers/timeline"),  # a shop key or an agent's token
        ("GET", "/v1/customers/{phone}/timeline"),  # gone (410, #18): no key asked
        ("GET", "/v1/recordings/{call_sid}"),  # a signed link
        ("GET", "/v1/openapi.json"),
    ]:
        assert expected in outside, expected
    for route in outside:
        assert "security" not in operations[route], route


def test_api_gateway_may_invoke_the_authorizer_of_this_api_only(synthesis: Synthesis) -> None:
    permissions = [
        p["Properties"]
        for p in synthesis.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": authorizer_id(synthesis)}
    ]
    (permission,) = permissions
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    source = json.dumps(permission["SourceArn"])
    assert '{"Ref": "RestAPI"}' in source and "/authorizers/*" in source


def test_refusals_by_api_gateway_are_json_like_the_apps(synthesis: Synthesis) -> None:
    responses = _swagger(synthesis)["x-amazon-apigateway-gateway-responses"]
    for kind, status, error in [
        ("UNAUTHORIZED", "401", "unauthorized"),
        ("THROTTLED", "429", "rate_limited"),
        ("QUOTA_EXCEEDED", "429", "quota_exceeded"),
    ]:
        assert responses[kind]["statusCode"] == status
        assert json.loads(responses[kind]["responseTemplates"]["application/json"])["error"] == error


def test_every_shop_route_of_the_document_is_a_route_of_the_app() -> None:
    import app

    for method, path in shop_key_routes():
        assert method in app.app.routes[path], (method, path)


class _Context:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def try_get_context(self, key: str) -> str | None:
        return self.values.get(key)


def test_per_key_limits_come_from_context_and_inconsistent_ones_are_refused() -> None:
    settings = DeploySettings.from_context(
        _Context({"key_rate_limit": "5", "key_burst_limit": "8", "key_daily_quota": "20000"})
    )
    assert (settings.key_rate_limit, settings.key_burst_limit, settings.key_daily_quota) == (5.0, 8, 20000)
    assert DeploySettings.from_context(_Context({"authorizer_cache_seconds": "0"})).authorizer_cache_seconds == 0
    with pytest.raises(ValueError, match="key_rate_limit"):
        DeploySettings.from_context(_Context({"key_rate_limit": "500"}))
    with pytest.raises(ValueError, match="authorizer_cache_seconds"):
        DeploySettings.from_context(_Context({"authorizer_cache_seconds": "7200"}))


def test_the_api_handler_ends_when_api_gateway_stops_waiting(synthesis: Synthesis) -> None:
    # An order whose idempotency write lost its answer stays "in progress" (409 to the shop's
    # retries) for the invocation's time: no longer than API Gateway's 29 s wait.
    assert synthesis.resources["APIHandler"]["Properties"]["Timeout"] == 30
