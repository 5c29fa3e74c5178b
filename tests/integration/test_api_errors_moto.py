"""#16 item 15, walked as a shop's developer walks it with curl: a mistake is refused in the API's
own ``{error, message}`` form and nothing is stored, never passed over in silence.

- a field the API does not take (``order_id`` for ``order_number``, a misspelt callback time, a
  do-not-call "reason", an agent's "note") is 422 naming it, with the field it likely meant;
- every field the README and the OpenAPI document list is still taken;
- a method a route does not take is 405 with ``Allow``; a path no route has is 404; a body not
  sent as JSON is 415: all ``{error, message}``, never Chalice's ``{Code, Message}`` or API
  Gateway's ``{message}``.

Through the Chalice client on ``devtools.local_gateway.ApiLocalGateway``: API Gateway as the
stack in infra/ configures it (tests/infra/test_api_errors.py holds the template to that)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.orders import shop_orders
from chalicelib.adapters.dynamo.schema import AgentStatusItem, DialTaskItem, DoNotCallItem, OrderItem, OutcomeItem
from chalicelib.wiring import repository
from tests.integration.conftest import API_KEY, post_order
from tests.integration.test_agent_desk_moto import ANNA, agent_dialed_call, order

pytestmark = pytest.mark.integration
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)  # the conftest's clock: 12:00 in Kyiv, a Monday
JSON_KEY = {"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"}
ORDER = {
    "order_number": "A-2001",
    "phone": "067 123-45-67",
    "customer_name": "Olena",
    "items": [{"sku": "ROSE-RED", "name": "Red roses", "quantity": 3, "price": "400.00"}],
    "total": "1200.00",
}


def stored_orders() -> list[OrderItem]:
    return list(shop_orders("demo"))


def fields_of(response: Any) -> dict[str, str]:
    return {problem["field"]: problem["message"] for problem in response.json_body["fields"]}


def assert_api_error(response: Any, status: int, error: str) -> None:
    """The API's own error form: JSON {error, message}, nothing of Chalice's or API Gateway's."""
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert body["error"] == error and body["message"], body
    assert not {"Code", "Message"} & set(body), body


# ---- a field the API does not take --------------------------------------------------------------
def test_order_id_for_order_number_is_422_naming_it_and_nothing_is_stored(client: Client) -> None:
    # GIVEN a shop whose integration sends its id as order_id (the API's field is order_number)
    misnamed = {key: value for key, value in ORDER.items() if key != "order_number"} | {"order_id": "A-2001"}
    # WHEN it posts the order
    response = post_order(client, misnamed)
    # THEN it is refused, naming the field and the one it meant, and nothing is stored
    assert_api_error(response, 422, "validation_failed")
    assert fields_of(response) == {"order_id": "unknown field; did you mean 'order_number'?"}
    assert "order_id: unknown field" in response.json_body["message"]
    assert stored_orders() == []


def test_a_refused_order_does_not_use_up_its_idempotency_key(client: Client) -> None:
    # GIVEN a retry-safe post that the API refused for a misnamed field
    misnamed = {key: value for key, value in ORDER.items() if key != "order_number"} | {"orderNumber": "A-2001"}
    assert post_order(client, misnamed, key="checkout-2001").status_code == 422
    # WHEN the shop fixes the field and posts again with the same key
    fixed = post_order(client, ORDER, key="checkout-2001")
    # THEN the order is taken once, with its number (variant A dedup has it)
    assert fixed.status_code == 201, fixed.body
    assert [(o.order_number, o.phone) for o in stored_orders()] == [("A-2001", "+380671234567")]


def test_unknown_fields_inside_items_and_delivery_are_named_with_the_other_problems(client: Client) -> None:
    body = ORDER | {
        "items": [{"sku": "ROSE-RED", "qty": 3, "price": "400.00"}],
        "delivery": {"address": "Kyiv", "slot": {"start": "2015-11-24T10:00:00+02:00", "finish": "x"}},
        "gift": True,
    }
    response = post_order(client, body)
    assert_api_error(response, 422, "validation_failed")
    assert fields_of(response) == {
        "gift": "unknown field",
        "items.0.qty": "unknown field",
        "items.0.quantity": "Field required",
        "delivery.slot.end": "Field required",
        "delivery.slot.finish": "unknown field",
    }
    assert stored_orders() == []


def test_every_documented_order_field_is_still_taken(client: Client) -> None:
    # Every field of README's table and the OpenAPI document's OrderIn, nested ones included.
    full = ORDER | {
        "currency": "UAH",
        "delivery": {
            "address": "Kyiv, Khreshchatyk 1",
            "slot": {"start": "2015-11-24T10:00:00+02:00", "end": "2015-11-24T12:00:00+02:00"},
        },
        "needs_call": False,
        "in_stock": True,
        "prepaid": False,
        "comment": "ring twice",
        "created_at": "2015-11-23T11:55:00+02:00",
        "language": "uk",
    }
    response = post_order(client, full)
    assert response.status_code == 201, response.body
    assert len(stored_orders()) == 1


def test_a_callback_request_with_a_misspelt_time_is_422_and_no_callback_is_made(client: Client) -> None:
    body = {"phone": "067 123 45 67", "callback_time": "2015-11-23T15:30:00+00:00"}
    response = client.http.post("/v1/callbacks", headers=JSON_KEY, body=json.dumps(body))
    assert_api_error(response, 422, "validation_failed")
    assert fields_of(response) == {"callback_time": "unknown field; did you mean 'callback_at'?"}
    assert [task for task in DialTaskItem.scan() if task.kind == "callback"] == []


def test_a_do_not_call_request_with_an_extra_field_is_422_and_the_number_is_not_listed(client: Client) -> None:
    body = {"phone": "067 123 45 67", "reason": "asked on the phone"}
    response = client.http.post("/v1/do-not-call", headers=JSON_KEY, body=json.dumps(body))
    assert_api_error(response, 422, "validation_failed")
    assert fields_of(response) == {"reason": "unknown field"}
    assert list(DoNotCallItem.scan()) == []
    # a bad phone and an unknown field are named together
    both = client.http.post("/v1/do-not-call", headers=JSON_KEY, body=json.dumps({"phon": "067 123 45 67"}))
    assert set(fields_of(both)) == {"phon", "phone"}
    assert fields_of(both)["phon"] == "unknown field; did you mean 'phone'?"
    # a field with a blank name is named too (quoted), not passed as an empty name
    blank = client.http.post("/v1/do-not-call", headers=JSON_KEY, body=json.dumps({"": 1, "phone": "0671234567"}))
    assert fields_of(blank) == {"''": "unknown field"}
    blank_query = client.http.get("/v1/orders?=1&order_number=A-1", headers=JSON_KEY)
    assert fields_of(blank_query) == {"''": "unknown parameter"}


def test_an_agents_outcome_with_an_unknown_field_is_422_and_nothing_is_saved(client: Client) -> None:
    # GIVEN Anna on an agent-first call about an open order
    repository().insert_order(order("o1", "A-1"))
    agent_dialed_call("CA-errors-1", "anna", ["o1"])
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ANNA}"}
    # WHEN her desk sends the outcome with its comment as "note"
    body = {"outcome": "confirmed", "note": "wants roses, not tulips"}
    response = client.http.post("/v1/calls/CA-errors-1/outcome", headers=headers, body=json.dumps(body))
    # THEN it is refused naming the field, nothing is saved and the order still waits
    assert_api_error(response, 422, "validation_failed")
    assert fields_of(response) == {"note": "unknown field"}
    assert list(OutcomeItem.scan()) == []
    assert repository().get_order("demo", "o1").status == "queued"  # type: ignore[union-attr]
    # an unknown field and a bad known one are named together
    both = client.http.post("/v1/calls/CA-errors-1/outcome", headers=headers, body=json.dumps({"outcom": "confirmed"}))
    assert fields_of(both) == {"outcom": "unknown field; did you mean 'outcome'?", "outcome": "Field required"}


def test_an_agent_status_with_an_unknown_field_is_422_and_the_status_stays(client: Client) -> None:
    body = {"status": "available", "until": "13:00"}
    response = client.http.put("/v1/agents/anna/status", headers=JSON_KEY, body=json.dumps(body))
    assert_api_error(response, 422, "validation_failed")
    assert fields_of(response) == {"until": "unknown field"}
    assert [item for item in AgentStatusItem.scan() if item.status == "available"] == []


# ---- methods, paths and media types the API does not take ---------------------------------------
def test_delete_on_the_orders_collection_is_405_with_allow(client: Client) -> None:
    for headers in ({}, {"Authorization": f"Bearer {API_KEY}"}):
        response = client.http.delete("/v1/orders", headers=headers)
        assert_api_error(response, 405, "method_not_allowed")
        assert response.headers["Allow"] == "GET, POST"
        assert response.json_body["message"] == "DELETE is not a method of /v1/orders: it takes GET, POST"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/orders/ord_1", "GET, PATCH"),
        ("PUT", "/v1/orders", "GET, POST"),
        ("OPTIONS", "/v1/orders", "GET, POST"),
        ("GET", "/v1/orders/ord_1/cancel", "POST"),
        ("HEAD", "/v1/callbacks", "POST"),
        ("GET", "/v1/agents/anna/status", "PUT"),
        ("POST", "/v1/do-not-call/0671234567", "DELETE"),  # the old address (410) keeps its method
    ],
)
def test_any_method_a_route_does_not_take_is_405_naming_the_ones_it_does(
    client: Client, method: str, path: str, allow: str
) -> None:
    response = client.http.request(method, path, headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    if method != "HEAD":
        assert_api_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize("path", ["/v1/order", "/v1/orders/ord_1/refund", "/", "/v2/orders", "/v1/orders/a/b/c"])
def test_a_path_no_route_has_is_404_in_the_apis_form(client: Client, path: str) -> None:
    for headers in ({}, {"Authorization": f"Bearer {API_KEY}"}):
        response = client.http.post(path, headers=headers | {"Content-Type": "application/json"}, body="{}")
        assert_api_error(response, 404, "not_found")
        assert "GET /v1/openapi.json" in response.json_body["message"]
    assert stored_orders() == []


def test_an_order_not_sent_as_json_is_415_and_nothing_is_stored(client: Client) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        headers = {"Content-Type": content_type, "Authorization": f"Bearer {API_KEY}"}
        response = client.http.post("/v1/orders", headers=headers, body=json.dumps(ORDER))
        assert_api_error(response, 415, "unsupported_media_type")
        assert response.json_body["fields"] == [{"field": "Content-Type", "message": "send application/json"}]
    assert stored_orders() == []
