"""X-Ray is a deployment choice (issue #19: it is about a third of `import app`'s CPU, see bench
cold_start): on by default, ``-c tracing=false`` turns off Lambda's active tracing and Powertools'
Tracer (so no function loads the X-Ray SDK)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from infra.stack import CallCenterStack, DeploySettings

pytestmark = pytest.mark.xdist_group("infra")


class Node:
    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context

    def try_get_context(self, key: str) -> Any:
        return self.context.get(key)


@pytest.mark.parametrize(("value", "traced"), [(None, True), ("true", True), ("false", False), (False, False)])
def test_tracing_is_on_unless_the_context_turns_it_off(value: Any, traced: bool) -> None:
    settings = DeploySettings.from_context(Node({} if value is None else {"tracing": value}))
    # the stage configuration chalice package turns into every function's properties
    stage = CallCenterStack._stage_config(SimpleNamespace(settings=settings))  # type: ignore[arg-type]
    assert settings.tracing is traced
    assert stage["xray"] is traced
    disabled = stage["environment_variables"].get("POWERTOOLS_TRACE_DISABLED")
    assert disabled == (None if traced else "true")
