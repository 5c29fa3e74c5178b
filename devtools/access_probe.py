"""Which tables, parameters and email each Lambda function really uses, checked against
``infra/access.py`` (#18: a grant too narrow is an outage). A pytest plugin records every AWS call
the moto integration tests make, by the handler it runs under (the outermost ``chalicelib.events``
entry point, or the web app: ``/twilio/`` paths the Twilio function's, the rest the API
handler's); then this module compares the record with each function's row:

    PYTHONPATH=devtools .venv/bin/python -m pytest tests/integration -k "moto or standin" \\
        -p access_probe -p no:cacheprovider -q          # writes .access_probe.json
    .venv/bin/python -m devtools.access_probe .access_probe.json

Calls made outside any handler (the tests' setup, the admin CLI) are left out. Secrets come from
the environment in the tests, so SSM reads show only where a test sets a parameter.
"""

from __future__ import annotations

import contextvars
import functools
import json
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("access_probe_function", default=None)
SEEN: Counter[tuple[str, str, str, str]] = Counter()
LOCK = threading.Lock()
OUTPUT = ".access_probe.json"
# chalicelib.events module -> its entry points -> app.py's function
ENTRY_POINTS = {
    "orders": {"order_stream": "order_stream", "decide_order": "order_stream"},
    "dialing": {
        "task_stream": "task_stream",
        "dial_on_change": "task_stream",
        "dial_due": "dial_due",
        "dial_shop": "dial_due",
        "dial_agents": "dial_due",
        "pace_shop": "dial_due",
    },
    "live": {
        "call_stream": "call_stream",
        "count_call_and_expire": "call_stream",
        "count_call": "call_stream",
        "count_order": "order_stream",
        "count_orders": "order_stream",
    },
    "outcomes": {"outcome_stream": "outcome_stream", "after_outcome": "outcome_stream"},
    "crm": {"crm_stream": "crm_stream", "deliver_new": "crm_stream", "crm_retry": "crm_retry"},
    "texts": {"text_retry": "text_retry"},
    "reports": {"live_alerts": "live_alerts", "daily_reports": "daily_reports"},
}
READS = {"BatchGetItem", "GetItem", "Query", "Scan"}


def _under(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        if CURRENT.get() is not None:
            return function(*args, **kwargs)
        token = CURRENT.set(name)
        try:
            return function(*args, **kwargs)
        finally:
            CURRENT.reset(token)

    return run


def _resources(service: str, params: dict[str, Any]) -> list[str]:
    if service == "ssm":
        return [str(params.get("Name", "?"))]
    if service != "dynamodb":
        return ["-"]
    tables = [params["TableName"]] if "TableName" in params else list(params.get("RequestItems", {}))
    for item in params.get("TransactItems", []):
        tables += [f"{body['TableName']}#{kind}" for kind, body in item.items()]
    if "IndexName" in params:
        tables = [f"{table}/index/{params['IndexName']}" for table in tables]
    return tables or ["?"]


def pytest_configure(config: Any) -> None:
    import importlib

    import botocore.client

    from chalicelib import wiring
    from chalicelib.web.apps import App

    for module_name, entry_points in ENTRY_POINTS.items():
        module = importlib.import_module(f"chalicelib.events.{module_name}")
        for attribute, function in entry_points.items():
            setattr(module, attribute, _under(function, getattr(module, attribute)))
    together = wiring.together

    def together_in_context(first: Callable[[], Any], second: Callable[[], Any], /) -> Any:
        context = contextvars.copy_context()  # the worker thread runs under the same handler
        return together(lambda: context.run(first), second)

    wiring.together = together_in_context
    for name in ("chalicelib.web.voice_status", "chalicelib.web.voice_robot"):
        setattr(importlib.import_module(name), "together", together_in_context)  # noqa: B010 - a module
    serve = App.__call__

    def call(self: Any, event: Any, context: Any) -> Any:
        path = event.get("path") or event.get("requestContext", {}).get("resourcePath", "") or ""
        token = CURRENT.set("twilio_webhooks" if "/twilio/" in path else "api_handler")
        try:
            return serve(self, event, context)
        finally:
            CURRENT.reset(token)

    App.__call__ = call  # type: ignore[method-assign]
    make_call = botocore.client.BaseClient._make_api_call

    def recorded(self: Any, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        with LOCK:
            for resource in _resources(service, params):
                SEEN[(CURRENT.get() or "-", service, operation, resource)] += 1
        return make_call(self, operation, params)

    botocore.client.BaseClient._make_api_call = recorded


def pytest_unconfigure(config: Any) -> None:
    rows = [[*key, count] for key, count in sorted(SEEN.items())]
    Path(os.environ.get("ACCESS_PROBE_OUT", OUTPUT)).write_text(json.dumps(rows, indent=0))


def violations(rows: list[list[Any]], prefix: str = "callcenter-") -> list[str]:
    """What a function did that its row in infra/access.py does not grant."""
    from infra.access import FUNCTION_ACCESS, SCAN_ACTION, SCANNED_TABLES
    from infra.tables import table_specs

    every = frozenset(spec.suffix for spec in table_specs(prefix))
    found = []
    for function, service, operation, resource, _count in rows:
        if function == "-":
            continue
        access = FUNCTION_ACCESS[function]
        if service == "ses" and not access.email:
            found.append(f"{function}: ses:{operation}")
        if service != "dynamodb":
            continue
        table = resource.removeprefix(prefix).partition("/")[0].partition("#")[0]
        kind = resource.partition("#")[2]
        writing = (operation not in READS and operation != "TransactGetItems") or kind not in ("", "Get")
        if table not in (access.tables_written(every) if writing else access.tables_read(every)):
            found.append(f"{function}: {operation} {resource}")
        elif f"dynamodb:{operation}" == SCAN_ACTION and table not in SCANNED_TABLES:
            found.append(f"{function}: Scan {resource} (not in SCANNED_TABLES)")
    return found


def main(argv: list[str]) -> int:
    rows = json.loads(Path(argv[0] if argv else OUTPUT).read_text())
    found = violations(rows)
    for line in found:
        print("NOT GRANTED", line)
    print(f"{len({row[0] for row in rows if row[0] != '-'})} functions checked, {len(found)} calls not granted")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
