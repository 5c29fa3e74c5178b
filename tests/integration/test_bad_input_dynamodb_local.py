"""Bad input against DynamoDB's own limits (issue #18), on DynamoDB Local through the Chalice test
client: moto checks key sizes only on writes and its item limit is 405,000 bytes, while DynamoDB
refuses a read by a key over 1,024 (sort) or 2,048 (partition) bytes and an item over 400 KB.

- a path id over 256 bytes is 422 naming it, never DynamoDB's ValidationException (a 500);
- a valid order up to the 256 kB body limit is stored, whatever its alphabet: Cyrillic was kept
  as ``\\uXXXX`` escapes, six bytes a letter, so a 232 kB order was an item "over the maximum
  allowed size" (a 500), and so was its ``Idempotency-Key`` record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.clock import FixedClock, use_clock, use_wall_clock
from chalicelib.web.http import MAX_BODY_BYTES
from chalicelib.wiring import forget_clients
from devtools.local_gateway import ApiTestClient
from tests.integration.conftest import API_KEY, AUTH_TOKEN, LINK_SECRET, PUBLIC_BASE, dynamodb_local_tables

pytestmark = pytest.mark.integration
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv, a Monday
ANNA = "demo-agent-anna-0001"  # config/demo.toml
CUSTOMER = "+380671234567"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    env = {"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "PUBLIC_BASE_URL": PUBLIC_BASE, "RECORDING_LINK_SECRET": LINK_SECRET}
    use_clock(FixedClock(NOW))
    try:
        with dynamodb_local_tables(extra_env=env, demo_config_at=NOW):
            forget_clients()
            from app import app

            with ApiTestClient(app) as test_client:
                yield test_client
    finally:
        forget_clients()
        use_wall_clock()


def bearer(secret: str) -> dict[str, str]:
    return JSON | {"Authorization": f"Bearer {secret}"}


# ---- ids over DynamoDB's key limits -----------------------------------------------------------
ROUTES = [
    ("get", "/v1/orders/{}", API_KEY, "order_id"),
    ("get", "/v1/agents/{}", API_KEY, "agent_id"),
    ("put", "/v1/agents/{}/status", API_KEY, "agent_id"),
    ("post", "/v1/calls/{}/outcome", ANNA, "call_sid"),
]


def test_a_path_id_past_dynamodbs_key_limits_is_422_naming_it(client: Client) -> None:
    body = json.dumps({"status": "available", "outcome": "confirmed"})
    for method, template, secret, name in ROUTES:
        sent: dict[str, Any] = {"body": body} if method in ("put", "post") else {}
        for value in ("x" * 1_100, "я" * 600, "x" * 2_100, "x" * 300):
            response = getattr(client.http, method)(template.format(value), headers=bearer(secret), **sent)
            assert response.status_code == 422, (template, len(value), response.body)
            assert json.loads(response.body) == {
                "error": "validation_failed",
                "message": f"{name}: at most 256 bytes as UTF-8",
                "fields": [{"field": name, "message": "at most 256 bytes as UTF-8"}],
            }
        # an id of 256 bytes is looked up as any other (not found, or the body's own 422)
        at_the_limit = getattr(client.http, method)(template.format("x" * 256), headers=bearer(secret), **sent)
        assert at_the_limit.status_code < 500 and b"at most 256 bytes" not in at_the_limit.body, template


# ---- a Cyrillic order as large as the body limit allows ---------------------------------------
def cyrillic_order(limit: int) -> dict[str, Any]:
    """A valid order of Cyrillic items whose JSON (as a shop's library sends it, UTF-8) is just
    under ``limit`` bytes."""
    item = {"sku": "Щ" * 64, "name": "Сковорідка чавунна з кришкою, " * 6 + "Ж" * 20, "quantity": 1, "price": "1"}
    order: dict[str, Any] = {
        "phone": CUSTOMER,
        "total": "499",
        "order_number": "Замовлення-1",
        "customer_name": "Олександра Ковальчук-Шевченко" * 6,
        "comment": "Подзвоніть після обіду, будь ласка. " * 55,
        "delivery": {"address": "Київ, вулиця Хрещатик, будинок 1, квартира 1. " * 10},
        "items": [],
    }
    while len(encoded(order | {"items": [*order["items"], item]})) < limit and len(order["items"]) < 500:
        order["items"].append(item)
    return order


def encoded(order: dict[str, Any]) -> bytes:
    return json.dumps(order, ensure_ascii=False).encode()


def test_a_valid_cyrillic_order_up_to_the_body_limit_is_stored_and_answered_the_same_on_replay(
    client: Client,
) -> None:
    order = cyrillic_order(MAX_BODY_BYTES)
    body = encoded(order)
    assert 250_000 < len(body) <= MAX_BODY_BYTES  # 232 kB was enough to fail
    # WHEN the shop posts it, once plainly and once with an Idempotency-Key
    plain = client.http.post("/v1/orders", headers=bearer(API_KEY), body=body)
    keyed_headers = bearer(API_KEY) | {"Idempotency-Key": "cyrillic-1"}
    keyed = client.http.post("/v1/orders", headers=keyed_headers, body=body)
    # THEN both are accepted and read back whole
    assert (plain.status_code, keyed.status_code) == (201, 201), (plain.body[:200], keyed.body[:200])
    for created in (plain, keyed):
        order_id = json.loads(created.body)["id"]
        stored = client.http.get(f"/v1/orders/{order_id}", headers=bearer(API_KEY))
        assert stored.status_code == 200
        view = json.loads(stored.body)
        assert view["items"][0]["name"] == order["items"][0]["name"]
        assert len(view["items"]) == len(order["items"])
        assert view["customer_name"] == order["customer_name"]
        assert view["delivery"]["address"] == order["delivery"]["address"].strip()
    # and the same key and body again is the same 201 (from the stored answer), nothing new
    replay = client.http.post("/v1/orders", headers=keyed_headers, body=body)
    assert (replay.status_code, json.loads(replay.body)) == (201, json.loads(keyed.body))
    asked = json.dumps({"phone": "+380671234567", "limit": 100})
    timeline = client.http.post("/v1/customers/timeline", headers=bearer(API_KEY), body=asked)
    assert [e["type"] for e in json.loads(timeline.body)["entries"]] == ["order", "order"]
    # one byte over the limit is the documented 413
    over = client.http.post("/v1/orders", headers=bearer(API_KEY), body=body + b" " * (MAX_BODY_BYTES - len(body) + 1))
    assert (over.status_code, json.loads(over.body)["error"]) == (413, "body_too_large")
