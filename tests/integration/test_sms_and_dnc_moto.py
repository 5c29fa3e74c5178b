"""Customers' texts and the do-not-call list through the app's webhooks and API, on moto."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.dynamo.orders import order_keys, order_ref
from chalicelib.adapters.dynamo.schema import DoNotCallItem, MessageItem, OrderItem
from chalicelib.clock import FixedClock, use_clock, use_wall_clock
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import StreamReader, post_order, signed_post

pytestmark = pytest.mark.integration
KEY = {"Authorization": "Bearer demo-shop-key-0001", "Content-Type": "application/json"}
CUSTOMER = "+380671234567"


@pytest.fixture(autouse=True)
def open_hours() -> Iterator[None]:
    use_clock(FixedClock(datetime(2015, 11, 23, 10, 0, tzinfo=UTC)))
    yield
    use_wall_clock()


@pytest.fixture
def telephony(monkeypatch: pytest.MonkeyPatch) -> FakeTelephony:
    fake = FakeTelephony()
    monkeypatch.setattr(wiring, "telephony", lambda: fake)
    return fake


def text(client: Client, body: str, **extra: str) -> ET.Element:
    form = {"MessageSid": "SM" + "1" * 32, "From": "0671234567", "To": "+380441234567", "Body": body, **extra}
    response = signed_post(client, "/twilio/sms/incoming", form)
    assert response.status_code == 200
    return ET.fromstring(response.body)


def queued_order(client: Client, order_stream: StreamReader) -> str:
    order_id: str = post_order(client, {"order_number": "A-7", "phone": CUSTOMER, "total": "300"}).json_body["id"]
    client.lambda_.invoke("order_stream", order_stream.next_event())
    return order_id


def test_a_yes_by_text_confirms_the_order_and_the_reply_says_so(client: Client, order_stream: StreamReader) -> None:
    order_id = queued_order(client, order_stream)
    order_ref("demo", order_id).update(actions=[OrderItem.asked_by.set("robot")])  # the robot read it out
    reply = text(client, "Yes")
    assert reply.find("./Message").text == "Kvitka Flowers: замовлення A-7 підтверджено. Дякуємо!"  # type: ignore[union-attr]
    assert OrderItem.get(*order_keys("demo", order_id)).status == "confirmed"
    [logged] = MessageItem.query(f"demo#{CUSTOMER}")
    assert (logged.direction, logged.intent, logged.order_ids) == ("inbound", "confirm", {order_id})


def test_a_cancel_by_text_needs_the_order_number_and_two_wrong_ones_leave_it_to_a_call(
    client: Client, order_stream: StreamReader
) -> None:
    # GIVEN the robot read the order out, and a text comes from the customer's number
    order_id = queued_order(client, order_stream)
    order_ref("demo", order_id).update(actions=[OrderItem.asked_by.set("robot")])
    for body in ("2 A-6", "2 A-8"):
        reply = text(client, body)
        assert "нічого не скасовано" in (reply.find("./Message").text or "")  # type: ignore[union-attr]
    stored = OrderItem.get(*order_keys("demo", order_id))
    assert (stored.status, stored.cancel_misses, stored.asked_by) == ("queued", 2, None)


def test_a_yes_nobody_asked_for_leaves_the_order_for_its_call(client: Client, order_stream: StreamReader) -> None:
    order_id = queued_order(client, order_stream)
    reply = text(client, "Yes")
    assert [m.text for m in reply.findall("./Message")] == [
        "Kvitka Flowers: щодо замовлення A-7 ми вам зателефонуємо; ваше повідомлення збережено."
    ]
    assert OrderItem.get(*order_keys("demo", order_id)).status == "queued"
    [logged] = MessageItem.query(f"demo#{CUSTOMER}")
    assert (logged.intent, logged.order_ids, logged.left_open) == ("confirm", None, {order_id})


def test_stop_by_text_blocks_the_next_call(
    client: Client, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony
) -> None:
    reply = text(client, "STOP")
    assert "START" in (reply.find("./Message").text or "")  # type: ignore[union-attr]
    assert DoNotCallItem.get(f"demo#{CUSTOMER}").source == "sms"
    order_id = queued_order(client, order_stream)
    client.lambda_.invoke("task_stream", task_stream.next_event())
    assert telephony.placed == []
    order = OrderItem.get(*order_keys("demo", order_id))
    assert (order.status, order.route_reason) == ("unreachable", "do not call")


def test_twilios_own_opt_out_handling_is_respected_without_a_second_reply(client: Client) -> None:
    reply = text(client, "stop please", OptOutType="STOP")
    assert reply.find("./Message") is None
    assert DoNotCallItem.get(f"demo#{CUSTOMER}").source == "sms"


def test_a_forged_text_is_403_and_changes_nothing(client: Client, order_stream: StreamReader) -> None:
    order_id = queued_order(client, order_stream)
    forged = signed_post(
        client, "/twilio/sms/incoming", {"From": CUSTOMER, "To": "+380441234567", "Body": "2"}, token="x"
    )
    assert forged.status_code == 403
    assert OrderItem.get(*order_keys("demo", order_id)).status == "queued"


def test_the_do_not_call_api_adds_and_removes_a_customer(client: Client) -> None:
    added = client.http.post("/v1/do-not-call", headers=KEY, body=json.dumps({"phone": "067 123 45 67"}))
    assert (added.status_code, added.json_body) == (201, {"phone": CUSTOMER, "do_not_call": True})
    assert DoNotCallItem.get(f"demo#{CUSTOMER}").source == "api"
    removed = client.http.post("/v1/do-not-call/remove", headers=KEY, body=json.dumps({"phone": "067 123 45 67"}))
    assert (removed.status_code, removed.json_body) == (200, {"phone": CUSTOMER, "do_not_call": False})
    assert DoNotCallItem.count(f"demo#{CUSTOMER}") == 0
    # the old address with the number in its path is gone, pointing at the new one, and does nothing
    client.http.post("/v1/do-not-call", headers=KEY, body=json.dumps({"phone": CUSTOMER}))
    gone = client.http.delete("/v1/do-not-call/%2B380671234567", headers=KEY)
    assert (gone.status_code, gone.json_body["error"]) == (410, "gone")
    assert "POST /v1/do-not-call/remove" in gone.json_body["message"]
    assert DoNotCallItem.count(f"demo#{CUSTOMER}") == 1
    assert client.http.post("/v1/do-not-call/remove", headers=KEY, body=json.dumps({"phone": "12"})).status_code == 422
    bad = client.http.post("/v1/do-not-call", headers=KEY, body=json.dumps({"phone": "12"}))
    assert (bad.status_code, bad.json_body["fields"][0]["field"]) == (422, "phone")
    anonymous = client.http.post("/v1/do-not-call", headers={"Content-Type": "application/json"}, body="{}")
    assert anonymous.status_code == 401


def test_reading_an_order_shows_its_dialing_attempts(
    client: Client, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony
) -> None:
    order_id = queued_order(client, order_stream)
    client.lambda_.invoke("task_stream", task_stream.next_event())
    view = client.http.get(f"/v1/orders/{order_id}", headers=KEY).json_body
    assert view["dialing"] == {"attempts": 1, "state": "dialing", "next_attempt_at": None, "last_call_result": None}
    assert view["route"] == "robot"


def test_an_agent_sets_their_status_by_texting_a_keyword_from_their_phone(client: Client) -> None:
    from chalicelib.adapters.dynamo.schema import AgentItem, AgentStatusItem

    reply = text(client, "ready", From="0501112233")  # Anna's phone in the demo shop
    assert reply.find("./Message").text == "Kvitka Flowers: ваш статус — available."  # type: ignore[union-attr]
    assert AgentItem.get("demo", "anna").status == "available"
    [change] = AgentStatusItem.query("demo#anna")
    assert (change.status, change.source) == ("available", "sms")
    # The same word from a customer is just a message for a manager.
    customer = text(client, "READY")
    assert "передано менеджеру" in (customer.find("./Message").text or "")  # type: ignore[union-attr]
