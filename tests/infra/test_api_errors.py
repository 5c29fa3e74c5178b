"""Errors in the API's own form where API Gateway answers before the app (#16 item 15), in the
synthesised template: an unknown path is the app's 404 ``not_found``; a method a route does not
take reaches the app (an ANY method on the handler), which answers 405 with ``Allow``; API
Gateway's other refusals keep their status and get ``{error, message}``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.domain.api_errors import NO_ROUTE, NO_ROUTE_ERROR
from chalicelib.domain.twilio_numbers import VOICE_FALLBACK_PATH
from infra.api_errors import ANY_METHOD, INTEGRATION
from infra.voice_fallback import RECORDED_PATH
from tests.infra.conftest import Synthesis

pytestmark = pytest.mark.xdist_group("infra")


def _swagger(synthesis: Synthesis) -> dict[str, Any]:
    (api,) = synthesis.of_type("AWS::Serverless::Api").values()
    swagger: dict[str, Any] = api["Properties"]["DefinitionBody"]
    return swagger


def test_an_unknown_path_is_the_apps_404_not_api_gateways_403(synthesis: Synthesis) -> None:
    responses = _swagger(synthesis)["x-amazon-apigateway-gateway-responses"]
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"
    assert json.loads(missing["responseTemplates"]["application/json"]) == {
        "error": NO_ROUTE_ERROR,
        "message": NO_ROUTE,
    }


def test_api_gateways_other_refusals_keep_their_status_in_the_error_shape(synthesis: Synthesis) -> None:
    responses = _swagger(synthesis)["x-amazon-apigateway-gateway-responses"]
    for kind, error in [("DEFAULT_4XX", "request_refused"), ("DEFAULT_5XX", "gateway_error")]:
        assert "statusCode" not in responses[kind], kind
        template = responses[kind]["responseTemplates"]["application/json"]
        # As API Gateway fills it: messageString is a quoted JSON string.
        filled = template.replace("$context.error.messageString", json.dumps('Request too "large"'))
        assert json.loads(filled) == {"error": error, "message": 'Request too "large"'}, kind
    # The refusals configured for the shop keys stay as they were.
    assert responses["UNAUTHORIZED"]["statusCode"] == "401"


def test_every_path_sends_any_other_method_to_the_app_which_answers_405(synthesis: Synthesis) -> None:
    paths = _swagger(synthesis)["paths"]
    assert paths, "no paths in the API"
    for path, operations in paths.items():
        explicit = {m: op for m, op in operations.items() if m != ANY_METHOD and isinstance(op, dict)}
        assert explicit, path
        if path in (VOICE_FALLBACK_PATH, RECORDED_PATH):  # static TwiML from API Gateway: GET and POST only
            assert ANY_METHOD not in operations and set(explicit) == {"get", "post"}
            continue
        any_method = operations[ANY_METHOD]
        handler = next(iter(explicit.values()))[INTEGRATION]
        # The handler's own proxy integration, with no authorizer or API key before it.
        assert any_method[INTEGRATION] == handler, path
        assert any_method[INTEGRATION]["type"] == "aws_proxy"
        assert "security" not in any_method, path
    assert "get" in paths["/v1/orders/{order_id}"] and "put" not in paths["/v1/orders"]


def test_api_gateway_may_invoke_the_handler_for_any_method(synthesis: Synthesis) -> None:
    handler = next(
        logical_id
        for logical_id, resource in synthesis.of_type("AWS::Serverless::Function").items()
        if resource["Properties"]["Handler"] == "app.app"
    )
    (permission,) = [
        p["Properties"]
        for p in synthesis.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": handler}
    ]
    assert permission["Principal"] == "apigateway.amazonaws.com"
    # Any stage, method and path of this API: the ANY methods included.
    template, values = permission["SourceArn"]["Fn::Sub"]
    assert template.endswith(":${RestAPIId}/*") and values == {"RestAPIId": {"Ref": "RestAPI"}}
