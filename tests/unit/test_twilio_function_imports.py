"""The Twilio webhooks' function (``chalicelib.twilio_webhooks``) starts lean: checked in a fresh
interpreter, since this test process has imported everything already (issue #19). pydantic
(shop settings, the order API's models) and jinja2 (reports) load on first use, never at import,
and no adapter is imported or built at import (lazy wiring)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_AT_IMPORT: tuple[str, ...] = ("pydantic", "pydantic_core", "jinja2", "twilio.rest", "PIL", "matplotlib", "boto3")
# lazy wiring: no adapter's module (and so no PynamoDB model) loads before a handler asks for one
NOT_AT_IMPORT += ("pynamodb", "chalicelib.adapters")
IMPORT_WEBHOOKS = """
import json, sys
import chalicelib.twilio_webhooks as webhooks
modules = sorted(sys.modules)
from chalicelib.adapters.dynamo import connection
from chalicelib import wiring
print(json.dumps({
    "modules": modules,
    "routes": sorted(webhooks.app.routes),
    "shared_connections": len(connection._shared),
    "threads_started": wiring._threads.cache_info().currsize,
}))
"""


def _run(code: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_importing_the_webhooks_function_loads_no_pydantic_no_jinja2_and_builds_no_adapter() -> None:
    found = _run(IMPORT_WEBHOOKS)
    modules = found["modules"]
    assert isinstance(modules, list)
    loaded = [m for m in modules if any(m == name or m.startswith(name + ".") for name in NOT_AT_IMPORT)]
    assert loaded == []
    assert "chalicelib.web.voice_inbound" in modules  # the webhooks were really imported
    assert found["shared_connections"] == 0 and found["threads_started"] == 0  # nothing built yet


def test_the_webhooks_function_serves_every_twilio_route_of_the_app_and_only_those() -> None:
    from app import app

    found = _run(IMPORT_WEBHOOKS)
    assert found["routes"] == sorted(path for path in app.routes if path.startswith("/twilio/"))


def test_pydantic_still_loads_where_it_is_used() -> None:
    """The laziness is deferral, not removal: a shop's settings read load it."""
    found = _run(
        IMPORT_WEBHOOKS.replace(
            "modules = ",
            "from chalicelib.domain.shop import ShopSettings\nassert ShopSettings.model_fields\nmodules = ",
        )
    )
    modules = found["modules"]
    assert isinstance(modules, list) and "pydantic" in modules


def test_both_apps_in_one_process_keep_every_route_method_and_content_type() -> None:
    """Chalice consumes a blueprint's route options on registration; the shared App class keeps
    them for the second app (the tests and the local stack load both)."""
    from app import app
    from chalicelib.twilio_webhooks import app as twilio_app

    for path, entries in twilio_app.routes.items():
        assert set(entries) == set(app.routes[path]) and "GET" not in entries, path
        for method, entry in entries.items():
            assert entry.content_types == app.routes[path][method].content_types, (path, method)
