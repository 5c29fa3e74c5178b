"""Per-shop-key limits in API Gateway (issue #9): the shop routes go through a Lambda authorizer
that checks the bearer key (chalicelib.web.shop_key_authorizer) and names the key's usage
identifier; with the API's key source set to ``AUTHORIZER`` and an API key required on those
routes, the stack's usage plan throttles and counts every shop key on its own.

Which routes are shop routes comes from the API's own document (chalicelib/openapi.json): an
operation whose only security scheme is ``shopApiKey``. Twilio's webhooks (signed), the agent
desk (agent tokens), the document itself and recording links (signed) stay outside the plan,
under the stage's throttling only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OPENAPI_DOCUMENT = REPO / "chalicelib" / "openapi.json"
AUTHORIZER_FUNCTION = "shop_key_authorizer"  # app.py's @app.lambda_function name
SHOP_SCHEME = "shopApiKey"  # the openapi.json security scheme of shop API keys
AUTHORIZER_NAME = "shopKey"  # the swagger security definition of the authorizer
API_KEY_DEFINITION = "api_key"  # the swagger security definition "an API key is required"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def shop_key_routes(document: Path = OPENAPI_DOCUMENT) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation a shop calls with its API key and nothing else."""
    spec = json.loads(document.read_text(encoding="utf-8"))
    default = spec.get("security", [])
    routes = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            security = operation.get("security", default)
            if security and all(list(requirement) == [SHOP_SCHEME] for requirement in security):
                routes.append((method.upper(), path))
    return sorted(routes)


def authorizer_uri(function_name: str) -> dict[str, str]:
    # By name, like the API's integrations (infra.chalice_app.name_functions): no API -> function cycle.
    return {
        "Fn::Sub": (
            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{function_name}/invocations"
        )
    }


def _gateway_response(status: str, error: str, message: str) -> dict[str, Any]:
    body = json.dumps({"error": error, "message": message})
    return {
        "statusCode": status,
        "responseTemplates": {"application/json": body},
        "responseParameters": {},
    }


GATEWAY_RESPONSES = {
    # API Gateway answers these itself, before the app: JSON like the app's own errors.
    "UNAUTHORIZED": _gateway_response(
        "401", "unauthorized", "send the shop's API key as 'Authorization: Bearer <key>' (unknown or revoked key)"
    ),
    "THROTTLED": _gateway_response("429", "rate_limited", "too many requests: slow down and retry with backoff"),
    "QUOTA_EXCEEDED": _gateway_response(
        "429", "quota_exceeded", "this API key's daily request quota is used up: it resets at 00:00 UTC"
    ),
}


def protect_shop_routes(
    swagger: dict[str, Any],
    *,
    authorizer_function_name: str,
    cache_seconds: int,
    routes: list[tuple[str, str]] | None = None,
) -> list[tuple[str, str]]:
    """Put the shop routes of Chalice's swagger document behind the authorizer and the usage
    plan. Returns the routes changed; a shop route the API lacks is an error."""
    routes = shop_key_routes() if routes is None else routes
    swagger["x-amazon-apigateway-api-key-source"] = "AUTHORIZER"
    definitions = swagger.setdefault("securityDefinitions", {})
    definitions[API_KEY_DEFINITION] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
    definitions[AUTHORIZER_NAME] = {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "x-amazon-apigateway-authtype": "custom",
        "x-amazon-apigateway-authorizer": {
            "type": "token",
            "authorizerUri": authorizer_uri(authorizer_function_name),
            "authorizerResultTtlInSeconds": cache_seconds,
        },
    }
    swagger.setdefault("x-amazon-apigateway-gateway-responses", {}).update(GATEWAY_RESPONSES)
    missing = []
    for method, path in routes:
        operation = swagger["paths"].get(path, {}).get(method.lower())
        if operation is None:
            missing.append(f"{method} {path}")
            continue
        # As Chalice writes api_key_required=True with an authorizer: both apply.
        operation["security"] = [{API_KEY_DEFINITION: []}, {AUTHORIZER_NAME: []}]
    if missing:
        raise ValueError(f"shop routes of openapi.json that the app does not serve: {missing}")
    return routes
