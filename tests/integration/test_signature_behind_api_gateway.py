"""Twilio signatures checked behind API Gateway: the app sees a path without the stage (or with a
custom domain's base path) and a host Twilio never called; the signature must be checked
against PUBLIC_BASE_URL + the route, exactly the URL Twilio signed.

Events are shaped as API Gateway's REST proxy integration delivers them and go through the
Chalice app's Lambda entry point, as in the cloud."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from twilio.request_validator import RequestValidator

from chalicelib.config import reload_settings
from chalicelib.web.http import _request_path
from tests.integration.conftest import AUTH_TOKEN

pytestmark = pytest.mark.integration

EXECUTE_API = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com"
STAGE = "api"
SMS = "/twilio/sms/incoming"
SMS_FORM = {
    "MessageSid": "SM0123456789abcdef0123456789abcdef",
    "AccountSid": "AC" + "0" * 32,
    "From": "+380671112233",
    "To": "+380441234567",
    "Body": "1",
    "FromCity": "",  # blank values are signed too
}


class _Context:
    function_name = "CallCenter-APIHandler"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:CallCenter-APIHandler"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def api_gateway_event(
    *,
    public_url: str,
    resource: str,
    path: str,
    stage_path: str,
    form: dict[str, str],
    signature: str | None,
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST API proxy event: ``path`` as API Gateway gives it, ``requestContext.path`` with the
    stage (execute-api) or the base path (custom domain)."""
    host = urlsplit(public_url).netloc
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Host": host,
        "User-Agent": "TwilioProxy/1.1",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "443",
    }
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": "POST",
            "path": stage_path,
            "stage": STAGE,
            "domainName": host,
            "apiId": "a1b2c3d4e5",
            "requestId": "4f8b1a52-0000-0000-0000-000000000000",
            "identity": {"sourceIp": "54.172.60.1", "userAgent": "TwilioProxy/1.1"},
        },
        "body": urlencode(form),
        "isBase64Encoded": False,
    }


def sign(url: str, form: dict[str, str]) -> str:
    return str(RequestValidator(AUTH_TOKEN).compute_signature(url, form))


@pytest.fixture
def public_base(aws: None, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[str]:
    monkeypatch.setenv("PUBLIC_BASE_URL", request.param)
    reload_settings()
    yield request.param
    monkeypatch.undo()
    reload_settings()


def call(event: dict[str, Any]) -> dict[str, Any]:
    from app import app

    response: dict[str, Any] = app(json.loads(json.dumps(event)), _Context())
    return response


@pytest.mark.parametrize("public_base", [f"{EXECUTE_API}/{STAGE}"], indirect=True)
def test_execute_api_url_with_stage(public_base: str) -> None:
    # GIVEN Twilio calls the execute-api URL, stage included, and signs that URL
    def event(signature: str) -> dict[str, Any]:
        return api_gateway_event(
            public_url=public_base,
            resource=SMS,
            path=SMS,  # API Gateway leaves the stage out of `path`...
            stage_path=f"/{STAGE}{SMS}",  # ...and puts it in requestContext.path
            form=SMS_FORM,
            signature=signature,
        )

    # WHEN the webhook arrives with the signature over the public URL
    accepted = call(event(sign(f"{public_base}{SMS}", SMS_FORM)))
    # THEN it is answered with TwiML
    assert accepted["statusCode"] == 200, accepted
    assert "<Response" in accepted["body"]

    # WHEN the signature was computed over the URL without the stage (or the Lambda's own view)
    for wrong_url in (f"{EXECUTE_API}{SMS}", f"{public_base}{SMS}/", f"http://{urlsplit(EXECUTE_API).netloc}{SMS}"):
        rejected = call(event(sign(wrong_url, SMS_FORM)))
        # THEN it is refused
        assert rejected["statusCode"] == 403, wrong_url


@pytest.mark.parametrize("public_base", ["https://calls.shop.example"], indirect=True)
def test_custom_domain_without_stage(public_base: str) -> None:
    # GIVEN a custom domain mapped to the API's stage with an empty base path
    def event(signature: str) -> dict[str, Any]:
        return api_gateway_event(
            public_url=public_base, resource=SMS, path=SMS, stage_path=SMS, form=SMS_FORM, signature=signature
        )

    assert call(event(sign(f"{public_base}{SMS}", SMS_FORM)))["statusCode"] == 200
    # A signature over the execute-api URL with its stage is not one for the custom domain.
    assert call(event(sign(f"{EXECUTE_API}/{STAGE}{SMS}", SMS_FORM)))["statusCode"] == 403
    assert call(event(sign(f"{public_base}/{STAGE}{SMS}", SMS_FORM)))["statusCode"] == 403


@pytest.mark.parametrize("public_base", ["https://shop.example/calls"], indirect=True)
def test_custom_domain_with_a_base_path_and_a_path_parameter(public_base: str) -> None:
    # GIVEN a custom domain whose base path mapping 'calls' API Gateway keeps in `path`, and a
    # route with a path parameter and a query string (the robot's and status callbacks' shape)
    task_id = "task-7f3a"
    query = {"task_id": task_id}
    form = {"CallSid": "CA" + "1" * 32, "CallStatus": "in-progress", "AccountSid": "AC" + "0" * 32}
    route = "/twilio/voice/status"

    def event(signature: str) -> dict[str, Any]:
        return api_gateway_event(
            public_url=public_base,
            resource=route,
            path=f"/calls{route}",
            stage_path=f"/calls{route}",
            form=form,
            signature=signature,
            query=query,
        )

    accepted = call(event(sign(f"{public_base}{route}?task_id={task_id}", form)))
    assert accepted["statusCode"] == 204, accepted  # unknown task: acknowledged, nothing to do
    assert call(event(sign(f"{public_base}/calls{route}?task_id={task_id}", form)))["statusCode"] == 403
    assert call(event(sign(f"{public_base}{route}", form)))["statusCode"] == 403  # query left out


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"path": SMS, "requestContext": {"path": f"/api{SMS}", "resourcePath": SMS}, "resource": SMS}, SMS),
        ({"requestContext": {"path": SMS, "resourcePath": SMS}}, SMS),  # Chalice's local server
        ({"requestContext": {"path": f"/api{SMS}", "resourcePath": SMS}}, SMS),  # no top-level path
        (
            {"path": "/calls/twilio/voice/robot/t1/keypress", "resource": "/twilio/voice/robot/{task_id}/keypress"},
            "/twilio/voice/robot/t1/keypress",
        ),
        ({"path": "/twilio/voice/robot/t1", "resource": "/twilio/voice/robot/{task_id}"}, "/twilio/voice/robot/t1"),
        ({"path": f"{SMS}/", "resource": SMS}, f"{SMS}/"),  # a trailing slash is signed as sent
        ({}, "/"),
    ],
)
def test_request_path_is_the_route_below_the_public_base(event: dict[str, Any], expected: str) -> None:
    assert _request_path(event) == expected
