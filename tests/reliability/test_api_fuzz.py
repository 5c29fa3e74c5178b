"""schemathesis against the local server (the Chalice app on loopback over DynamoDB Local, as
``make run`` serves it), driven by the app's own OpenAPI document: valid and invalid requests to
every documented operation. Never a 5xx; every 4xx names the problem (the app's
``{error, message, fields}``, or Chalice's own ``{Code, Message}`` for a wrong media type)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

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
    if body.get("Code") and body.get("Message"):  # Chalice's own answer (e.g. 415 media type)
        return None
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
