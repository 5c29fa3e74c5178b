"""API Gateway as the deployed stack answers, for the local server (``make run``) and the tests'
Chalice client: Chalice's ``LocalGateway`` emulates a bare API Gateway, so a path no route has
gets 403 ``{"message": "Missing Authentication Token"}`` and OPTIONS gets a made-up 200. The
stack in infra/ answers those in the API's own form (its gateway response for
MISSING_AUTHENTICATION_TOKEN and a 405 for every method a route does not take; see
``infra/api_errors.py``), and so does this gateway:

- a path no route has: 404 ``{"error": "not_found", "message": ...}``;
- OPTIONS (the API has no CORS) reaches the app like any other method the route does not take:
  405 with ``Allow``, in the app's form (``chalicelib.web.http.api_error_shape``);
- the voice webhooks' static fallback (``infra/voice_fallback.py``: API Gateway answers it
  itself, no Lambda) answers ``GET``/``POST`` with the same TwiML, so a number set by
  ``cli.admin twilio-numbers`` against the local stack falls back as it would in AWS.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalGateway, LocalGatewayException
from chalice.test import Client, TestHTTPClient

from chalicelib.domain.api_errors import NO_ROUTE, NO_ROUTE_ERROR


class RouteNotFound(LocalGatewayException):
    CODE = 404


def no_route_answer() -> RouteNotFound:
    body = json.dumps({"error": NO_ROUTE_ERROR, "message": NO_ROUTE}).encode()
    return RouteNotFound({"Content-Type": "application/json"}, body)


@functools.cache
def _static_documents() -> dict[str, str]:
    from infra.voice_fallback import DEFAULT_LANGUAGES, static_documents  # the stack's own documents

    return static_documents(DEFAULT_LANGUAGES)


def static_twiml(method: str, path: str) -> str | None:
    """The TwiML the stack serves itself at ``path`` (the voice fallback), or None."""
    if method not in ("GET", "POST"):
        return None
    return _static_documents().get(path.partition("?")[0])


class ApiLocalGateway(LocalGateway):
    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        twiml = static_twiml(method, path)
        if twiml is not None:
            return {
                "statusCode": 200,
                "headers": {"Content-Type": "application/xml"},
                "multiValueHeaders": {},
                "body": twiml,
            }
        return super().handle_request(method, path, headers, body)

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            return super()._generate_lambda_event(method, path, headers, body)
        except ValueError:  # Chalice's route matcher: no route has this path
            raise no_route_answer() from None

    def _has_user_defined_options_method(self, lambda_event: Any) -> bool:
        return True  # no CORS preflight to make up: the app answers OPTIONS (405)


class ApiRequestHandler(ChaliceRequestHandler):
    """Chalice's local HTTP handler on ``ApiLocalGateway``."""

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Chalice, config: Config) -> None:
        # ChaliceRequestHandler.__init__ builds its gateway, then handles the request at once;
        # the gateway has to be this one before that.
        self.local_gateway = ApiLocalGateway(app_object, config)
        super(ChaliceRequestHandler, self).__init__(request, client_address, server)


class ApiTestClient(Client):
    """``chalice.test.Client`` whose HTTP requests go through ``ApiLocalGateway``."""

    @property
    def http(self) -> TestHTTPClient:
        if self._http_client is None:
            self._http_client = TestHTTPClient(self._app, self._chalice_config)
            self._http_client._local_gateway = ApiLocalGateway(self._app, self._chalice_config)
        return self._http_client
