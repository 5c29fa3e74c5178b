"""schemathesis against the local server (the Chalice app on loopback over DynamoDB Local, as
``make run`` serves it), driven by the app's own OpenAPI document: valid and invalid requests to
every documented operation. Never a 5xx; every 4xx names the problem in the app's own
``{error, message, fields}`` (never Chalice's ``{Code, Message}``, #16 item 15), and every answer
is one the document lists for the operation. Then the mistakes a shop's developer makes with
curl, over HTTP to the same server: a method or path the API does not have, a body not sent
as JSON, a misnamed field. Then what schemathesis does not make (issue #18): bodies in broken
encodings, JSON nested thousands deep or holding lone surrogates, path ids past DynamoDB's key
limits, query values like '²' or 5,000 digits, to every documented operation with the key and
without, and to Twilio's webhooks from strangers: never a 5xx, every 4xx naming the problem."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.web.openapi import DOCUMENT
from devtools.simclock import SimClock
from devtools.stack import LocalStack, StackOptions

# The stack changes process-wide settings: run in the worker that runs the e2e tests.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

API_KEY = "demo-shop-key-0001"
MONDAY_NOON_KYIV = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
CHALICE_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
schema = schemathesis.openapi.from_path(DOCUMENT)


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    options = StackOptions(
        clock=SimClock(MONDAY_NOON_KYIV, speed=1.0),
        outbox_dir=Path(tmp_path_factory.mktemp("outbox")),
        run_schedules=False,
    )
    with LocalStack(options) as stack:
        yield stack.api_url


def problem_named(response: Any) -> str | None:
    """What is wrong with a 4xx body, or None when it names the problem."""
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]!r}"
    if not isinstance(body, dict):
        return f"not an object: {body!r}"
    if "Code" in body or "Message" in body:
        return f"Chalice's own shape, not the API's: {body!r}"
    if not (body.get("error") and body.get("message")):
        return f"no error and message: {body!r}"
    if response.status_code == 422:
        fields = body.get("fields") or []
        if not fields or not all(f.get("field") and f.get("message") for f in fields):
            return f"422 without the fields named: {body!r}"
    return None


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_5xx_and_every_4xx_names_the_problem(case: Any, api_url: str) -> None:
    if case.method.upper() not in CHALICE_METHODS:
        return  # TRACE, QUERY...: API Gateway refuses these itself; the local server's 501 says nothing of the app
    response = case.call(base_url=api_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)

    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
    if 400 <= response.status_code < 500:
        problem = problem_named(response)
        assert problem is None, f"{case.method} {case.formatted_path} {response.status_code}: {problem}"
    if case.method.upper() != case.operation.method.upper():
        # schemathesis tries methods the path does not list: the API's 405 naming the ones it does
        assert response.status_code == 405, f"{case.method} {case.formatted_path}: {response.status_code}"
        allow = {key.lower(): value for key, value in response.headers.items()}["allow"]
        allowed = ",".join(allow) if isinstance(allow, list) else allow
        assert case.operation.method.upper() in {m.strip() for m in allowed.split(",")}, allowed
        return
    listed = case.operation.definition.raw["responses"]
    assert str(response.status_code) in listed, (
        f"{case.method} {case.formatted_path}: {response.status_code} is not in the document "
        f"({sorted(listed)}): {response.text[:300]}"
    )


def test_what_a_shop_developer_gets_wrong_with_curl_is_answered_in_the_apis_form(api_url: str) -> None:
    key = {"Authorization": f"Bearer {API_KEY}"}
    order = {"order_id": "C-1", "phone": "067 123 45 67", "total": "10"}
    # DELETE on the collection the shop posts to and searches: 405 naming GET and POST
    deleted = requests.delete(f"{api_url}/v1/orders", headers=key, timeout=30)
    assert (deleted.status_code, deleted.headers["Allow"], deleted.json()["error"]) == (
        405,
        "GET, POST",
        "method_not_allowed",
    )
    # GET on it without the order number to find: 422 naming it
    unnamed = requests.get(f"{api_url}/v1/orders", headers=key, timeout=30)
    assert (unnamed.status_code, unnamed.json()["fields"][0]["field"]) == (422, "order_number")
    # a path of no route, with or without a key: 404 (API Gateway's own answer would be a 403)
    for headers in ({}, key):
        missing = requests.post(f"{api_url}/v1/order", json=order, headers=headers, timeout=30)
        assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    # OPTIONS: the API has no CORS, so it is a method like any other the route does not take
    options = requests.options(f"{api_url}/v1/orders", headers=key, timeout=30)
    assert (options.status_code, options.headers["Allow"]) == (405, "GET, POST")
    # a form post instead of JSON: 415
    form = requests.post(f"{api_url}/v1/orders", data=order, headers=key, timeout=30)
    assert (form.status_code, form.json()["error"]) == (415, "unsupported_media_type")
    # order_id for order_number: 422 naming it and the field it meant
    misnamed = requests.post(f"{api_url}/v1/orders", json=order, headers=key, timeout=30)
    assert misnamed.status_code == 422
    assert misnamed.json()["fields"] == [
        {"field": "order_id", "message": "unknown field; did you mean 'order_number'?"}
    ]


# ---- what schemathesis does not generate (issue #18) ------------------------------------------
OPERATIONS = [
    (method.upper(), path)
    for path, methods in json.loads(DOCUMENT.read_text(encoding="utf-8"))["paths"].items()
    for method in methods
]
BROKEN_BYTES = [b"\xff", b"\xfe\xff", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x82", "Київ".encode("cp1251"), b"\x00"]
PATH_IDS = st.one_of(
    st.sampled_from(["x" * 257, "x" * 1100, "я" * 600, "x" * 2100, "%C2%B2", "%FF", "%ED%A0%80", "%", "%2F", "."]),
    st.text(min_size=1, max_size=40).map(lambda text: quote(text, safe="")),
    st.integers(1, 3000).map(lambda size: "9" * size),
)
QUERY_VALUES = st.sampled_from(["%C2%B2", "%D9%A3", "9" * 5000, "%FF", "%ED%A0%80", "-1", "1e9", "", "%"])
JSON_DEPTHS = st.integers(min_value=30, max_value=5000)
BODIES = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from(BROKEN_BYTES), min_size=1, max_size=5).map(
        lambda parts: b'{"phone": "' + b"".join(parts) + b'"}'
    ),
    JSON_DEPTHS.map(lambda depth: b"[" * depth + b"]" * depth),
    JSON_DEPTHS.map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    st.sampled_from([b'{"phone": "\\ud800", "total": 1}', b'{"comment": "\\udfff"}', b'{"\\ud83d": 1}']),
    st.integers(1, 120_000).map(
        lambda size: json.dumps(
            {"phone": "+380671234567", "total": 1, "comment": "Ж" * size}, ensure_ascii=False
        ).encode()
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    operation=st.sampled_from(OPERATIONS),
    path_id=PATH_IDS,
    query=st.dictionaries(st.sampled_from(["limit", "cursor", "expires", "signature", "kpis"]), QUERY_VALUES),
    body=BODIES,
    with_key=st.booleans(),
)
def test_broken_encodings_deep_json_and_long_ids_are_4xx_naming_the_problem(
    api_url: str, operation: tuple[str, str], path_id: str, query: dict[str, str], body: bytes, with_key: bool
) -> None:
    method, template = operation
    path = re.sub(r"\{\w+\}", lambda _: path_id, template)
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {API_KEY}"} if with_key else {})
    url = f"{api_url}{path}" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    response = requests.request(
        method, url, data=body if method in ("POST", "PUT") else None, headers=headers, timeout=30
    )
    assert response.status_code < 500, f"{method} {path[:80]} {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        problem = problem_named(response)
        assert problem is None, f"{method} {path[:80]} {response.status_code}: {problem}"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    path=st.sampled_from(["/twilio/voice/incoming", "/twilio/sms/incoming", "/twilio/voice/status"]),
    body=st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.sampled_from([*BROKEN_BYTES, b"%FF", b"%C3", b"%ED%A0%80", b"From=", b"&", b"Body="]), max_size=8
        ).map(b"".join),
    ),
    signature=st.sampled_from([None, "", "x" * 28, "é" * 28]),
)
def test_strangers_webhooks_in_broken_encodings_are_400_or_403(
    api_url: str, path: str, body: bytes, signature: str | None
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    response = requests.post(f"{api_url}{path}", data=body, headers=headers, timeout=30)
    assert response.status_code in (400, 403), f"{path} {body!r}: {response.status_code} {response.text[:300]}"
    if response.status_code == 400:
        assert response.json()["error"] == "invalid_encoding", response.text
