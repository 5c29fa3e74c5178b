"""Upgrading to the lane-keyed orders table (#19): ``cli.admin copy-orders`` moves an old orders
table's items under their new keys, page by page, and running it again copies nothing twice nor
undoes what the app changed since."""

from __future__ import annotations

import json

import boto3
import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.orders import order_keys, order_ref, shop_orders
from chalicelib.adapters.dynamo.schema import OrderItem
from chalicelib.domain.order_lanes import order_key
from cli.admin import main as admin_cli

OLD = "callcenter-orders"
AUTH = {"Authorization": "Bearer demo-shop-key-0001"}


def old_table_with(order_ids: list[str]) -> None:
    """The orders table as it was: one partition key per shop."""
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName=OLD,
        KeySchema=[{"AttributeName": "shop_id", "KeyType": "HASH"}, {"AttributeName": "order_id", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "shop_id", "AttributeType": "S"},
            {"AttributeName": "order_id", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for n, order_id in enumerate(order_ids):
        item = {
            "shop_id": {"S": "demo"},
            "order_id": {"S": order_id},
            "order_number": {"S": f"A-{n}"},
            "phone": {"S": f"+38067123456{n}"},
            "phone_valid": {"BOOL": True},
            "customer_name": {"S": "Olena"},
            "payload": {"S": json.dumps({"order_number": f"A-{n}", "total": "100"})},
            "total": {"S": "100"},
            "currency": {"S": "UAH"},
            "status": {"S": "confirmed"},
            "reached": {"BOOL": True},
            "received_at": {"S": "2015-11-23T10:00:00.000000+0000"},
            "shop_day": {"S": "demo#2015-11-23"},
            "shop_phone": {"S": f"demo#+38067123456{n}"},
            "shop_order_number": {"S": f"demo#a-{n}"},
        }
        ddb.put_item(TableName=OLD, Item=item)


def copy(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = admin_cli(["copy-orders", "--from-table", OLD, *args])
    return code, capsys.readouterr().out.strip().splitlines()


def test_old_orders_are_copied_under_their_lanes_once_and_the_api_finds_them(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = ["ord_018a1b2c3d4e5f6071829a", "ord_2", "o-legacy", "ord_018a1b2c3d4e5f6071829b", "ord_x"]
    old_table_with(ids)

    code, lines = copy(capsys, "--page-size", "2")
    assert code == 0
    assert lines[-1] == f"5 order(s) copied, 0 already in {OrderItem.Meta.table_name}"
    stored = {item.order_id: item for item in shop_orders("demo", consistent_read=True)}
    assert {order_id: item.order_key for order_id, item in stored.items()} == {i: order_key("demo", i) for i in ids}
    assert {item.shop_id for item in stored.values()} == {"demo"}
    for order_id in ids:
        fetched = client.http.get(f"/v1/orders/{order_id}", headers=AUTH)
        assert (fetched.status_code, fetched.json_body["status"]) == (200, "confirmed")

    # The app changes one meanwhile; a second run (or a resumed one) copies nothing over it.
    order_ref("demo", "ord_2").update(actions=[OrderItem.status.set("cancelled")])
    code, lines = copy(capsys)
    assert (code, lines[-1]) == (0, f"0 order(s) copied, 5 already in {OrderItem.Meta.table_name}")
    assert OrderItem.get(*order_keys("demo", "ord_2")).status == "cancelled"


def test_a_run_resumes_after_the_last_page_it_printed(client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    old_table_with(["o-1", "o-2", "o-3", "o-4"])
    _, lines = copy(capsys, "--page-size", "2")
    first_page = json.loads(lines[0])
    # the new table as if the run had stopped after its first page
    for item in list(shop_orders("demo")):
        item.delete()

    code, lines = copy(capsys, "--page-size", "2", "--start-after", json.dumps(first_page["last_key"]))
    assert code == 0
    assert lines[-1] == f"2 order(s) copied, 0 already in {OrderItem.Meta.table_name}"
    assert len(list(shop_orders("demo"))) == 2


def test_copying_the_new_table_onto_itself_is_refused(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert admin_cli(["copy-orders", "--from-table", OrderItem.Meta.table_name]) == 2
    assert "the new table itself" in capsys.readouterr().err
