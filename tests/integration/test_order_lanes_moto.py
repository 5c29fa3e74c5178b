"""A shop's orders under several partition keys, one customer's under one (#19), and every way
the shop and the app address an order still finds it."""

from __future__ import annotations

from chalice.test import Client

from chalicelib.adapters.dynamo.orders import shop_orders
from chalicelib.domain.order_lanes import lane_of_phone
from tests.integration.conftest import StreamReader, post_order

AUTH = {"Authorization": "Bearer demo-shop-key-0001"}
OLENA, PETRO = "+380671234567", "+380671234568"


def test_two_customers_orders_land_on_two_keys_one_customers_on_one_and_all_are_found(
    client: Client, order_stream: StreamReader
) -> None:
    assert lane_of_phone(OLENA) != lane_of_phone(PETRO)  # the premise: two lanes
    olena = [post_order(client, {"phone": OLENA, "total": "100", "order_number": f"A-{n}"}) for n in (1, 2)]
    petro = post_order(client, {"phone": "067 123-45-68", "total": "200", "order_number": "B-1"})
    ids = [response.json_body["id"] for response in (*olena, petro)]

    stored = {item.order_id: item for item in shop_orders("demo", consistent_read=True)}
    assert set(stored) == set(ids)
    assert {item.shop_id for item in stored.values()} == {"demo"}
    assert stored[ids[0]].order_key == stored[ids[1]].order_key == f"demo#{lane_of_phone(OLENA)}"
    assert stored[ids[2]].order_key == f"demo#{lane_of_phone(PETRO)}"

    for order_id in ids:
        fetched = client.http.get(f"/v1/orders/{order_id}", headers=AUTH)
        assert (fetched.status_code, fetched.json_body["id"]) == (200, order_id)
    by_number = client.http.get("/v1/orders?order_number=B-1", headers=AUTH)
    assert [order["id"] for order in by_number.json_body["orders"]] == [ids[2]]

    # The orders stream finds the shop and each order from the new keys: all decided.
    event = order_stream.next_event()
    assert len(event["Records"]) == 3
    assert client.lambda_.invoke("order_stream", event).payload == {"batchItemFailures": []}
    statuses = {item.order_id: item.status for item in shop_orders("demo", consistent_read=True)}
    assert statuses == dict.fromkeys(ids, "queued")
