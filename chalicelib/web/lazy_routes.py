"""``app.py``'s HTTP routes without importing their blueprints (issue #19: the API function's
cold start). Each route of ``chalicelib/web/routes.py`` is registered with a stand-in view that
imports the blueprint's module on its first request and calls the module's own view; the
module's services, pydantic models and templates load then, with the first route that needs
them, not with ``import app`` (the streams' and schedules' functions import the app too)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from chalice import Chalice

from chalicelib.web.routes import BLUEPRINTS, ROUTES

PACKAGE = "chalicelib.web"


def register_routes(app: Chalice) -> None:
    for method, path, view, content_type in ROUTES:
        module, _, function = view.partition(".")
        app.route(path, methods=[method], content_types=[content_type])(_on_first_use(app, module, function))


def _on_first_use(app: Chalice, module_name: str, function_name: str) -> Callable[..., Any]:
    def view(**params: Any) -> Any:
        module = importlib.import_module(f"{PACKAGE}.{module_name}")
        # A blueprint reads the request from the app serving it (the Twilio function's app may
        # have served it last, in a process that holds both).
        getattr(module, BLUEPRINTS[module_name])._current_app = app
        return getattr(module, function_name)(**params)

    view.__name__ = view.__qualname__ = function_name
    return view
