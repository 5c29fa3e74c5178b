"""The OpenAPI document (``GET /v1/openapi.json``) stays true: every non-Twilio route of the app
is in it with its methods, nothing in it is not a route, and its request bodies are the models
the handlers validate with."""

from __future__ import annotations

import json

from chalice.test import Client

import app as application
from chalicelib.domain.orders import OrderIn
from chalicelib.services.web_callbacks import CallbackIn
from chalicelib.web.openapi import DOCUMENT, openapi_document

REF = "#/components/schemas/{model}"


def app_routes() -> set[tuple[str, str]]:
    """(METHOD, path) of every route but Twilio's webhooks (signed by Twilio, not an API)."""
    return {
        (method, path)
        for path, methods in application.app.routes.items()
        if not path.startswith("/twilio/")
        for method in methods
    }


def documented_routes() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in openapi_document()["paths"].items()
        for method in operations
        if method in ("get", "put", "post", "delete", "patch")
    }


def test_every_api_route_is_documented_and_every_documented_route_exists() -> None:
    undocumented = sorted(app_routes() - documented_routes())
    not_routes = sorted(documented_routes() - app_routes())
    # Printed so whoever adds a route sees exactly what to add to chalicelib/openapi.json.
    for method, path in undocumented:
        print(f"undocumented route: {method} {path}")
    for method, path in not_routes:
        print(f"documented but no such route: {method} {path}")
    assert not undocumented, f"routes missing from {DOCUMENT.name}: {undocumented}"
    assert not not_routes, f"{DOCUMENT.name} documents routes the app does not have: {not_routes}"


def test_request_bodies_are_the_models_the_handlers_validate_with() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for model in (OrderIn, CallbackIn):
        expected = model.model_json_schema(ref_template=REF)
        for name, sub in expected.pop("$defs", {}).items():
            assert schemas[name] == sub, f"components.schemas.{name} differs from the model"
        assert schemas[model.__name__] == expected, f"components.schemas.{model.__name__} differs from the model"


def test_every_reference_resolves_and_every_error_answer_uses_the_error_shape() -> None:
    document = openapi_document()
    text = json.dumps(document)
    for name in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert name in document["components"]["schemas"], name
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith("4"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_the_app_serves_the_document_without_an_api_key() -> None:
    with Client(application.app) as client:
        response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    assert json.loads(response.body) == json.loads(DOCUMENT.read_text(encoding="utf-8"))
