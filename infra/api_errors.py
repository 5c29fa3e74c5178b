"""The API's own error form where API Gateway answers before the app (#16 item 15).

- **An unknown path** never reaches the app: API Gateway answers it with its
  MISSING_AUTHENTICATION_TOKEN response (403 ``{"message": "Missing Authentication Token"}``).
  Its gateway response here is the app's 404 ``{"error": "not_found", "message": ...}`` (the
  API has no IAM-authorised method, so that response means nothing else).
- **A method a route does not take** is, in a bare API Gateway, that same 403. Each path of the
  API gets an ANY method with the handler's own integration: explicit methods still win, and
  every other method reaches the app, whose answer is the 405 with ``Allow`` that the tests and
  the local stack see (``chalicelib.web.http.api_error_shape``). No authorizer on it: the app
  refuses the method before it reads anything.
- **Any other refusal of API Gateway's own** (a body over its limit, a bad request, an
  integration failure or timeout) keeps its status and gets the same shape.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from chalicelib.domain.api_errors import NO_ROUTE, NO_ROUTE_ERROR

ANY_METHOD = "x-amazon-apigateway-any-method"
INTEGRATION = "x-amazon-apigateway-integration"


def gateway_response(status: str | None, error: str, message: str) -> dict[str, Any]:
    """A gateway response whose body is the app's ``{error, message}``; ``message`` may be a
    template (``$context.error.messageString`` is already a quoted JSON string)."""
    quoted = message if message.startswith("$context.") else json.dumps(message)
    body = '{"error": ' + json.dumps(error) + ', "message": ' + quoted + "}"
    answer: dict[str, Any] = {"responseTemplates": {"application/json": body}, "responseParameters": {}}
    if status is not None:
        answer["statusCode"] = status
    return answer


GATEWAY_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": gateway_response("404", NO_ROUTE_ERROR, NO_ROUTE),
    # Without a status a default response keeps the one API Gateway chose (400, 413, 415, 502, 504...).
    "DEFAULT_4XX": gateway_response(None, "request_refused", "$context.error.messageString"),
    "DEFAULT_5XX": gateway_response(None, "gateway_error", "$context.error.messageString"),
}


def answer_every_method(swagger: dict[str, Any]) -> list[str]:
    """Give every path of Chalice's swagger document an ANY method on the handler, and the
    gateway responses above; returns the paths changed."""
    swagger.setdefault("x-amazon-apigateway-gateway-responses", {}).update(GATEWAY_RESPONSES)
    changed = []
    for path, operations in swagger["paths"].items():
        integrations = [op[INTEGRATION] for op in operations.values() if isinstance(op, dict) and INTEGRATION in op]
        if ANY_METHOD in operations or not integrations:
            continue
        integration = copy.deepcopy(integrations[0])
        if integration.get("type") != "aws_proxy":
            raise ValueError(f"{path}: expected the handler's proxy integration, got {integration.get('type')!r}")
        operations[ANY_METHOD] = {
            "responses": {"405": {"description": "the route does not take this method (the app's answer)"}},
            INTEGRATION: integration,
        }
        changed.append(path)
    return changed
