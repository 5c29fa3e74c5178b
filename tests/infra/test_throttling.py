"""API Gateway throttling in the synthesised template: a limit for the whole API and a lower one
on each route shops write through, from CDK context, refused when inconsistent."""

from __future__ import annotations

from typing import Any

import pytest

from infra.stack import WRITE_ROUTES, DeploySettings
from tests.infra.conftest import Synthesis


def method_settings(synthesis: Synthesis) -> list[dict[str, Any]]:
    (api,) = synthesis.of_type("AWS::Serverless::Api").values()
    settings: list[dict[str, Any]] = api["Properties"]["MethodSettings"]
    return settings


def test_the_whole_api_and_each_write_route_are_throttled(synthesis: Synthesis) -> None:
    defaults = DeploySettings()
    by_route = {(s["HttpMethod"], s["ResourcePath"]): s for s in method_settings(synthesis)}

    whole = by_route[("*", "/*")]
    assert (whole["ThrottlingRateLimit"], whole["ThrottlingBurstLimit"]) == (
        defaults.api_rate_limit,
        defaults.api_burst_limit,
    )
    assert ("POST", "/~1v1~1orders") in by_route
    for method, path in WRITE_ROUTES:
        route = by_route[(method, "/" + path.replace("/", "~1"))]
        assert route["ThrottlingRateLimit"] == defaults.write_rate_limit < defaults.api_rate_limit
        assert route["ThrottlingBurstLimit"] == defaults.write_burst_limit < defaults.api_burst_limit


def test_write_routes_are_routes_of_the_app() -> None:
    import app

    for method, path in WRITE_ROUTES:
        assert method in app.app.routes[path]


class _Context:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def try_get_context(self, key: str) -> str | None:
        return self.values.get(key)


def test_limits_come_from_context_and_inconsistent_ones_are_refused() -> None:
    settings = DeploySettings.from_context(_Context({"api_rate_limit": "500", "write_rate_limit": "50"}))
    assert (settings.api_rate_limit, settings.write_rate_limit) == (500.0, 50.0)
    with pytest.raises(ValueError, match="write_rate_limit"):
        DeploySettings.from_context(_Context({"api_rate_limit": "10", "write_rate_limit": "50"}))
