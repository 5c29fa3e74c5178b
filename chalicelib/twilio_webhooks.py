"""The Twilio webhooks' own Lambda function (issue #19): API Gateway sends every ``/twilio/...``
route here (``infra/twilio_function.py``), every other route to ``app.py``'s handler.

A caller waits on this function's cold start, so it imports only what the webhooks need: the
Twilio-facing blueprints of ``chalicelib/web`` (modules named ``voice_*`` and ``sms*``, found by
name, so a new webhook module is served here without a list to keep), not the shop API, the
agent desk or the OpenAPI document, and none of pydantic or jinja2 at import (tests/unit/
test_twilio_function_imports.py). Adapters are built on first use (``chalicelib.wiring``).
``app.py`` serves the same routes too (from ``chalicelib/web/routes.py``, each blueprint's module
imported on its first request): the local stack and the tests serve every route from one app.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

from chalice import Blueprint

from chalicelib import web
from chalicelib.observability import logger, metrics
from chalicelib.web.apps import App
from chalicelib.web.http import api_error_shape, bounded_path_ids

TWILIO_MODULE_PREFIXES = ("voice_", "sms")
TWILIO_PATH_PREFIX = "/twilio/"


def twilio_blueprints() -> Iterator[Blueprint]:
    """The blueprints defined by the Twilio-facing modules of ``chalicelib/web``, by module name."""
    for info in sorted(pkgutil.iter_modules(web.__path__), key=lambda found: found.name):
        if not info.name.startswith(TWILIO_MODULE_PREFIXES):
            continue
        module = importlib.import_module(f"{web.__name__}.{info.name}")
        for value in vars(module).values():
            # its own blueprint, not one it imported from a sibling
            if isinstance(value, Blueprint) and value._import_name == module.__name__:
                yield value


app = App(app_name="callcenter-twilio")
BLUEPRINTS = list(twilio_blueprints())
for blueprint in BLUEPRINTS:
    # A blueprint reads the request from the one app it was last bound to. In Lambda this module
    # is the only app; where app.py's app is loaded too (tests, the local stack) it binds them to
    # itself on each of its requests, and this app borrows them for each of its own (below).
    serving = blueprint._current_app
    app.register_blueprint(blueprint)
    if serving is not None:
        blueprint._current_app = serving


@app.middleware("http")
def borrow_blueprints(event: Any, get_response: Any) -> Any:
    lent = [(blueprint, blueprint._current_app) for blueprint in BLUEPRINTS]
    for blueprint, _ in lent:
        blueprint._current_app = app
    try:
        return get_response(event)
    finally:
        for blueprint, serving in lent:
            blueprint._current_app = serving


@app.middleware("all")
def observe(event: Any, get_response: Any) -> Any:
    """As ``app.py``'s: metrics flushed and the request's log keys dropped after each webhook."""
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
            metrics.clear_metrics()
        logger.remove_keys(["call_sid", "message_sid", "shop_id", "order_id", "task_id"])


app.register_middleware(api_error_shape, "http")
app.register_middleware(bounded_path_ids, "http")
