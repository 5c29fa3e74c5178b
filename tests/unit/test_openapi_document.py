"""The OpenAPI document (``GET /v1/openapi.json``) stays true: every non-Twilio route of the app
is in it with its methods, nothing in it is not a route, its request bodies are the models and
fields the handlers take (no others), it lists the answers each kind of route can give, and
the answers outside it (a method a path does not list: 405; a path it does not list: 404) are
the API's own ``{error, message}``."""

from __future__ import annotations

import json
import re
from typing import Any

from chalice.test import Client

import app as application
from chalicelib.domain.api_errors import NO_ROUTE, NO_ROUTE_ERROR
from chalicelib.domain.order_changes import CancelIn, OrderChangeIn
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.outcomes import OUTCOME_FIELDS
from chalicelib.services.web_callbacks import CallbackIn
from chalicelib.web.agents_api import STATUS_FIELDS
from chalicelib.web.openapi import DOCUMENT, openapi_document
from chalicelib.web.orders_api import DO_NOT_CALL_FIELDS
from chalicelib.web.privacy_api import ERASE_FIELDS
from devtools.local_gateway import ApiTestClient

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
    for model in (OrderIn, CallbackIn, OrderChangeIn, CancelIn):
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


# ---- every answer is listed, and the answers outside the document are the API's own (#16 item 15)
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS")


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"\1-1", path)


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in openapi_document()["paths"].items()
        for method, operation in methods.items()
    ]


def test_the_hand_written_request_bodies_are_the_fields_the_handlers_take() -> None:
    schemas = openapi_document()["components"]["schemas"]
    for name, known in [
        ("DoNotCallIn", DO_NOT_CALL_FIELDS),
        ("EraseCustomerIn", ERASE_FIELDS),
        ("AgentStatusIn", STATUS_FIELDS),
        ("OutcomeIn", OUTCOME_FIELDS),
    ]:
        assert set(schemas[name]["properties"]) == known, name
        assert schemas[name]["additionalProperties"] is False, name
    for model in ("OrderIn", "OrderLine", "Delivery", "DeliverySlot", "CallbackIn", "OrderChangeIn", "CancelIn"):
        assert schemas[model]["additionalProperties"] is False, model


def test_every_operation_lists_the_answers_its_kind_can_give() -> None:
    default_security = openapi_document()["security"]
    for method, path, operation in operations():
        listed = set(operation["responses"])
        assert "429" in listed, (method, path)  # API Gateway's throttling, on every route
        assert "415" in listed, (method, path)  # Chalice checks a Content-Type sent to any route
        if operation.get("security", default_security):
            assert "401" in listed, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= listed, (method, path)


def test_a_method_a_path_does_not_list_is_405_naming_the_ones_it_does() -> None:
    document = openapi_document()
    with ApiTestClient(application.app) as client:
        for path, methods in document["paths"].items():
            listed = {method.upper() for method in methods}
            allow = ", ".join(sorted(listed))
            for method in sorted(set(METHODS) - listed):
                response = client.http.request(method, concrete(path), headers={"Authorization": "Bearer x"})
                assert response.status_code == 405, (method, path, response.body)
                assert response.headers["Allow"] == allow, (method, path)
                if method != "HEAD":
                    body = json.loads(response.body)
                    assert body["error"] == "method_not_allowed", (method, path, body)
                    assert body["message"] == f"{method} is not a method of {path}: it takes {allow}"
    assert "405" in document["info"]["description"] and "Allow" in document["info"]["description"]


def test_a_json_body_sent_as_something_else_is_the_listed_415() -> None:
    with ApiTestClient(application.app) as client:
        for method, path, operation in operations():
            if "requestBody" not in operation:
                continue
            headers = {"Content-Type": "text/plain", "Authorization": "Bearer x"}
            response = client.http.request(method, concrete(path), headers=headers, body=b"phone=1")
            assert response.status_code == 415, (method, path, response.body)
            assert json.loads(response.body)["error"] == "unsupported_media_type"
            assert "415" in operation["responses"], (method, path)


def test_a_path_the_document_does_not_list_is_404_in_the_apis_form() -> None:
    with ApiTestClient(application.app) as client:
        for method, path in [("GET", "/v1/nothing"), ("POST", "/v1/order"), ("GET", "/"), ("DELETE", "/v1/orders/a/b")]:
            response = client.http.request(method, path)
            assert response.status_code == 404, (method, path)
            assert json.loads(response.body) == {"error": NO_ROUTE_ERROR, "message": NO_ROUTE}
    assert "404" in openapi_document()["info"]["description"]


def test_every_path_id_documents_its_bound_and_the_422_that_enforces_it() -> None:
    from chalicelib.web.http import MAX_PATH_ID_BYTES

    for method, path, operation in operations():
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"]["maxLength"] == MAX_PATH_ID_BYTES, (method, path)
                assert "422" in operation["responses"], (method, path)
    assert f"{MAX_PATH_ID_BYTES} bytes" in openapi_document()["info"]["description"]
