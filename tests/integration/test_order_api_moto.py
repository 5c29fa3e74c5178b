"""The shop's order API (O1, O2) through the Chalice app, on moto's DynamoDB."""

from __future__ import annotations

import json

from chalice.test import Client

from chalicelib.adapters.dynamo.orders import shop_orders
from chalicelib.adapters.dynamo.schema import OrderItem
from tests.integration.conftest import post_order

ORDER = {
    "order_number": "A-1001",
    "phone": "067 123-45-67",
    "customer_name": "Olena",
    "items": [{"sku": "ROSE-RED", "name": "Red roses", "quantity": 3, "price": "400.00"}],
    "total": "1200.00",
    "delivery": {"address": "Kyiv, Khreshchatyk 1"},
    "prepaid": False,
}


def stored_orders() -> list[OrderItem]:
    return list(shop_orders("demo"))


def test_a_posted_order_is_stored_with_its_phone_in_e164_and_can_be_read_back(client: Client) -> None:
    created = post_order(client, ORDER)
    assert created.status_code == 201
    order_id = created.json_body["id"]
    assert created.headers["Location"] == f"/v1/orders/{order_id}"
    assert created.json_body["phone"] == "+380671234567"
    assert created.json_body["status"] == "received"
    fetched = client.http.get(f"/v1/orders/{order_id}", headers={"Authorization": "Bearer demo-shop-key-0001"})
    assert fetched.status_code == 200
    assert fetched.json_body["order_number"] == "A-1001"
    assert fetched.json_body["items"][0]["sku"] == "ROSE-RED"
    assert [(o.order_id, o.total, o.currency) for o in stored_orders()] == [(order_id, "1200.00", "UAH")]


def test_the_same_idempotency_key_and_body_gives_the_same_order_once(client: Client) -> None:
    first = post_order(client, ORDER, key="checkout-77")
    again = post_order(client, ORDER, key="checkout-77")
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body
    assert len(stored_orders()) == 1


def test_the_same_idempotency_key_with_another_body_is_refused(client: Client) -> None:
    post_order(client, ORDER, key="checkout-78")
    changed = post_order(client, {**ORDER, "total": "1.00"}, key="checkout-78")
    assert changed.status_code == 409
    assert changed.json_body["error"] == "idempotency_key_reused"
    assert len(stored_orders()) == 1


def test_bad_fields_are_each_named_and_nothing_is_stored(client: Client) -> None:
    bad = {**ORDER, "total": "-5", "items": [{"sku": "", "quantity": 0, "price": "1"}], "currency": "hryvnia"}
    del bad["phone"]
    response = post_order(client, bad)
    assert response.status_code == 422
    fields = {problem["field"] for problem in response.json_body["fields"]}
    assert fields == {"phone", "total", "items.0.sku", "items.0.quantity", "currency"}
    assert "phone: Field required" in response.json_body["message"]
    assert stored_orders() == []


def test_malformed_json_and_non_objects_are_400(client: Client) -> None:
    headers = {"Content-Type": "application/json", "Authorization": "Bearer demo-shop-key-0001"}
    broken = client.http.post("/v1/orders", headers=headers, body="{not json")
    listed = client.http.post("/v1/orders", headers=headers, body="[1, 2]")
    assert (broken.status_code, broken.json_body["fields"][0]["field"]) == (400, "body")
    assert listed.status_code == 400
    assert stored_orders() == []


def test_an_oversized_body_is_413(client: Client) -> None:
    response = post_order(client, {**ORDER, "comment": "x" * 300_000})
    assert response.status_code == 413
    assert stored_orders() == []


def test_a_missing_or_unknown_api_key_is_401(client: Client) -> None:
    missing = client.http.post("/v1/orders", headers={"Content-Type": "application/json"}, body=json.dumps(ORDER))
    unknown = post_order(client, ORDER, api_key="not-a-real-key-at-all")
    assert (missing.status_code, unknown.status_code) == (401, 401)
    assert "Authorization: Bearer" in missing.json_body["message"]
    assert stored_orders() == []


def test_an_unknown_order_is_404_naming_it(client: Client) -> None:
    response = client.http.get("/v1/orders/ord_nope", headers={"Authorization": "Bearer demo-shop-key-0001"})
    assert response.status_code == 404
    assert "ord_nope" in response.json_body["message"]
