"""What the local-stack benchmarks share: the stack on a clock inside calling hours, callees
that end their calls at once, and the shop's order API over real HTTP."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MONDAY_NOON_KYIV = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)  # inside calling hours
API_KEY = "demo-shop-key-0001"  # config/demo.toml


@contextlib.contextmanager
def local_stack(*, dial: bool = True) -> Iterator[Any]:
    """The whole local stack (DynamoDB Local, the app over HTTP, stream poller, Twilio
    stand-in) with schedules off (only the streams dial) and every callee busy, so a call ends
    as soon as it is placed and frees its line. ``dial=False``: the task stream's records are
    consumed without dialing (ingest stops at the task)."""
    import app as application
    from bench.service_time import app_output_discarded
    from devtools.simclock import SimClock
    from devtools.stack import LocalStack, StackOptions
    from devtools.twilio_standin import Callee

    handlers = application.app.handler_map
    task_stream = handlers["task_stream"]
    if not dial:
        handlers["task_stream"] = lambda event, context: {"batchItemFailures": []}

    logging.getLogger().setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as outbox, app_output_discarded():
        options = StackOptions(
            clock=SimClock(MONDAY_NOON_KYIV, speed=1.0), outbox_dir=Path(outbox), run_schedules=False
        )
        try:
            with LocalStack(options) as stack:
                stack.standin.set_default_callee(Callee(answer="busy", ring_seconds=0.0))
                yield stack
        finally:
            handlers["task_stream"] = task_stream


def post_order(api_url: str, body: dict[str, Any]) -> dict[str, Any]:
    return api_call("POST", f"{api_url}/v1/orders", body, expect=201)


def api_call(method: str, url: str, body: dict[str, Any], *, expect: int = 200) -> dict[str, Any]:
    """The shop's API as a shop calls it: JSON with its API key."""
    import requests

    response = requests.request(method, url, json=body, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)
    if response.status_code != expect:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
    answer: dict[str, Any] = response.json()
    return answer


def order_body(number: str, phone: str) -> dict[str, Any]:
    return {"order_number": number, "phone": phone, "customer_name": "Bench Customer", "total": "500"}


def customer_phone(index: int) -> str:
    """A distinct valid Ukrainian mobile number per index (one customer, one task each)."""
    return f"+38067{1_000_000 + index:07d}"
