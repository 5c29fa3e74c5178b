"""Erasure (#18) on moto reaches what names the customer only inside a record's body: the CRM
events waiting for (or done with) the shop's CRM, and the stored answer to an order's
``Idempotency-Key``. Both are found without a Scan: the events by a hash of the shop and phone
stored beside them, the answers by the key kept on the customer's orders."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import CrmEventItem, idempotency_table_name
from chalicelib.clock import FixedClock
from chalicelib.config import reload_settings
from chalicelib.services import admin, crm_push
from chalicelib.wiring import crm_outbox, repository
from tests.integration.conftest import post_order

pytestmark = pytest.mark.integration
KEY = {"Authorization": "Bearer demo-shop-key-0001", "Content-Type": "application/json"}
CUSTOMER, OTHER = "+380671234511", "+380671234522"
LATER = datetime(2015, 11, 23, 10, 30, tzinfo=UTC)


@pytest.fixture
def shop_with_crm(client: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CALLCENTER_LOCAL", "1")
    monkeypatch.setenv("CRM_SECRET_KVITKA_CRM", "crm-secret-for-tests")
    reload_settings()
    shop = repository().get_shop("demo")
    assert shop is not None
    settings = shop.model_dump(mode="json") | {"crm": {"url": "http://127.0.0.1:9/crm", "secret_name": "kvitka-crm"}}
    admin.create_shop(settings, store=repository(), now=clock.now())
    yield
    reload_settings()


def order_with_crm_event(client: Client, phone: str, key: str) -> str:
    """An order sent with an Idempotency-Key whose confirmation is queued for the CRM."""
    created = post_order(client, {"order_number": key, "phone": phone, "total": "300"}, key=key)
    assert created.status_code == 201, created.body
    order_id: str = created.json_body["id"]
    shop, order = repository().get_shop("demo"), repository().get_order("demo", order_id)
    assert shop is not None and order is not None
    confirmed = dataclasses.replace(order, status="confirmed", decided_at=LATER)
    assert crm_push.queue_order_event(shop, "queued", confirmed, outbox=crm_outbox(), now=LATER)
    return order_id


def stored_answers() -> list[str]:
    """The idempotency table's records, as text (the answers are compressed: ids and keys only)."""
    items = boto3.client("dynamodb").scan(TableName=idempotency_table_name())["Items"]
    return sorted(item["id"]["S"] for item in items)


def test_erasing_a_customer_deletes_their_crm_events_and_their_orders_stored_answers(
    client: Client, shop_with_crm: None
) -> None:
    # GIVEN the customer's and another customer's orders, each with a stored answer and a CRM event
    order_id = order_with_crm_event(client, CUSTOMER, "checkout-41")
    order_with_crm_event(client, OTHER, "checkout-42")
    assert len(stored_answers()) == 2
    assert sum(CUSTOMER in event.body for event in CrmEventItem.scan()) == 1

    # WHEN the shop erases the customer
    erased = client.http.post("/v1/customers/erase", headers=KEY, body=json.dumps({"phone": CUSTOMER}))

    # THEN the answer counts them, and nothing stored names the customer any more
    assert erased.status_code == 200, erased.body
    assert (erased.json_body["erased"]["crm_events"], erased.json_body["erased"]["order_answers"]) == (1, 1)
    assert [CUSTOMER in event.body for event in CrmEventItem.scan()] == [False]
    assert len(stored_answers()) == 1
    assert repository().get_order("demo", order_id).idempotency_key is None  # type: ignore[union-attr]
    # AND the same key sent again is a new request, not the erased answer
    again = post_order(client, {"order_number": "checkout-41", "phone": OTHER, "total": "300"}, key="checkout-41")
    assert again.status_code == 201 and again.json_body["phone"] == OTHER
    # AND a second erasure finds nothing more
    twice = client.http.post("/v1/customers/erase", headers=KEY, body=json.dumps({"phone": CUSTOMER}))
    assert (twice.json_body["erased"]["crm_events"], twice.json_body["erased"]["order_answers"]) == (0, 0)
