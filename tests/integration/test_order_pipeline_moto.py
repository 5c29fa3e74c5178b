"""Orders stream -> dedup -> dial task -> robot call -> confirmed, on moto, with the stream
handlers fed the tables' real stream records and the webhooks signed as Twilio signs them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem, OrderItem
from chalicelib.clock import FixedClock, use_clock, use_wall_clock
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import StreamReader, post_order, signed_post

pytestmark = pytest.mark.integration

ORDER = {"order_number": "A-1", "phone": "067 123-45-67", "customer_name": "Olena", "total": "500"}


@pytest.fixture
def telephony(monkeypatch: pytest.MonkeyPatch) -> FakeTelephony:
    fake = FakeTelephony()
    monkeypatch.setattr(wiring, "telephony", lambda: fake)
    return fake


@pytest.fixture
def open_hours() -> Iterator[None]:
    use_clock(FixedClock(datetime(2015, 11, 23, 10, 0, tzinfo=UTC)))  # 12:00 in Kyiv, a Monday
    yield
    use_wall_clock()


def run_stream(client: Client, function: str, event: dict[str, Any]) -> dict[str, Any]:
    return client.lambda_.invoke(function, event).payload


def order(order_id: str) -> OrderItem:
    return OrderItem.get(*order_keys("demo", order_id), consistent_read=True)


def test_dedup_on_the_stream_gives_one_task_per_customer_and_flags_the_rest(
    client: Client, order_stream: StreamReader, open_hours: None
) -> None:
    first = post_order(client, ORDER).json_body["id"]
    repeat = post_order(client, {**ORDER, "phone": "+380 (67) 1234567"}).json_body["id"]
    another_purchase = post_order(client, {**ORDER, "order_number": "A-2"}).json_body["id"]
    fake = post_order(client, {**ORDER, "order_number": "A-3", "customer_name": "test"}).json_body["id"]
    event = order_stream.next_event()
    assert len(event["Records"]) == 4

    assert run_stream(client, "order_stream", event) == {"batchItemFailures": []}
    assert order(first).status == "queued"
    assert (order(repeat).status, order(repeat).duplicate_of) == ("duplicate", first)
    assert order(another_purchase).status == "queued"
    assert (order(fake).status, order(fake).fake_reason) == ("fake", "customer name looks like a test")
    # One task for the customer, covering both real orders (O4).
    [task] = DialTaskItem.scan()
    assert task.order_ids == {first, another_purchase}
    assert order(first).task_id == order(another_purchase).task_id == task.task_id

    # Lambda redelivers the same batch: nothing changes, no second task.
    assert run_stream(client, "order_stream", event) == {"batchItemFailures": []}
    assert [t.order_ids for t in DialTaskItem.scan()] == [{first, another_purchase}]
    assert order(repeat).duplicate_of == first


def test_a_record_that_cannot_be_processed_is_reported_alone(client: Client, order_stream: StreamReader) -> None:
    good = post_order(client, ORDER).json_body["id"]
    event = order_stream.next_event()
    ghost = {**event["Records"][0], "eventID": "ghost"}
    ghost["dynamodb"] = {
        **ghost["dynamodb"],
        "Keys": {"order_key": {"S": "demo#0"}, "order_id": {"S": "ord_missing"}},
        "SequenceNumber": "999999",
    }
    result = run_stream(client, "order_stream", {"Records": [*event["Records"], ghost]})
    assert result == {"batchItemFailures": [{"itemIdentifier": "999999"}]}
    assert order(good).status == "queued"


def pipeline_to_dialled_call(
    client: Client, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony
) -> tuple[str, str, str]:
    order_id = post_order(client, ORDER).json_body["id"]
    run_stream(client, "order_stream", order_stream.next_event())
    run_stream(client, "task_stream", task_stream.next_event())
    assert len(telephony.placed) == 1
    task_id = order(order_id).task_id
    call_sid = DialTaskItem.get(task_id).last_call_sid
    return order_id, task_id, call_sid


def test_a_new_task_is_dialled_at_once_and_a_keypress_confirms_the_order(
    client: Client, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony, open_hours: None
) -> None:
    order_id, task_id, call_sid = pipeline_to_dialled_call(client, order_stream, task_stream, telephony)
    placed = telephony.placed[0]
    assert placed["to"] == "+380671234567" and placed["from_"] == "+380441234567"
    assert placed["answer_url"] == (
        f"https://calls.example.test/api/twilio/voice/robot/{task_id}?attempt=1&lang=uk&orders={order_id}&shop=demo"
    )

    call = {"CallSid": call_sid, "From": "+380441234567", "To": "+380671234567", "AnsweredBy": "human"}
    answer = signed_post(client, f"/twilio/voice/robot/{task_id}", {**call, "CallStatus": "in-progress"})
    assert answer.status_code == 200
    root = ET.fromstring(answer.body)
    gather = root.find("./Gather")
    assert gather is not None
    assert gather.get("action") == f"https://calls.example.test/api/twilio/voice/robot/{task_id}/keypress"
    assert "A-1" in "".join(say.text or "" for say in gather.iter("Say"))

    pressed = signed_post(client, f"/twilio/voice/robot/{task_id}/keypress", {**call, "Digits": "1"})
    assert [say.text for say in ET.fromstring(pressed.body).iter("Say")] == ["Дякуємо! Ваше замовлення підтверджено."]
    status = {**call, "CallStatus": "completed", "CallDuration": "37", "SequenceNumber": "3"}
    assert signed_post(client, f"/twilio/voice/status?task_id={task_id}", status).status_code == 204

    fetched = client.http.get(f"/v1/orders/{order_id}", headers={"Authorization": "Bearer demo-shop-key-0001"})
    assert (fetched.json_body["status"], fetched.json_body["reached"]) == ("confirmed", True)
    task = DialTaskItem.get(task_id)
    assert (task.state, task.result) == ("done", "confirmed")
    stored_call = CallItem.get(call_sid)
    assert (stored_call.status, stored_call.duration_seconds, stored_call.result) == ("completed", 37, "confirmed")


def test_a_forged_keypress_is_403_and_changes_nothing(
    client: Client, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony, open_hours: None
) -> None:
    order_id, task_id, call_sid = pipeline_to_dialled_call(client, order_stream, task_stream, telephony)
    forged = signed_post(
        client, f"/twilio/voice/robot/{task_id}/keypress", {"CallSid": call_sid, "Digits": "1"}, token="guessed"
    )
    unsigned = client.http.post(
        f"/twilio/voice/robot/{task_id}/keypress",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=f"CallSid={call_sid}&Digits=2",
    )
    assert (forged.status_code, unsigned.status_code) == (403, 403)
    assert order(order_id).status == "queued"
    assert DialTaskItem.get(task_id).result is None


def test_silence_then_hang_up_retries_the_task_later(
    client: Client, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony, open_hours: None
) -> None:
    order_id, task_id, call_sid = pipeline_to_dialled_call(client, order_stream, task_stream, telephony)
    call = {"CallSid": call_sid, "From": "+380441234567", "To": "+380671234567"}
    again = signed_post(client, f"/twilio/voice/robot/{task_id}/again", call)
    root = ET.fromstring(again.body)
    assert root.find("./Gather") is not None and root[-1].tag == "Hangup"
    signed_post(
        client, f"/twilio/voice/status?task_id={task_id}", {**call, "CallStatus": "completed", "SequenceNumber": "3"}
    )
    task = DialTaskItem.get(task_id)
    assert (task.state, task.last_call_result, task.attempts) == ("queued", "no-input", 1)
    assert order(order_id).status == "queued"


def test_after_hours_a_voicemail_is_stored_on_the_shops_call_record(client: Client) -> None:
    use_clock(FixedClock(datetime(2015, 11, 23, 21, 0, tzinfo=UTC)))  # 23:00 on a Monday in Kyiv: closed
    try:
        call = {"CallSid": "CA2", "From": "0671234567", "To": "+380441234567"}
        greeting = signed_post(client, "/twilio/voice/incoming", call)
        assert ET.fromstring(greeting.body).find(".//Gather") is not None  # 1 callback, 2 voicemail
        choice = signed_post(client, "/twilio/voice/inbound/after-hours?lang=uk", {**call, "Digits": "2"})
        assert ET.fromstring(choice.body).find("./Record") is not None
        recorded = {**call, "RecordingUrl": "https://api.twilio.com/rec/RE1", "RecordingDuration": "12"}
        thanks = signed_post(client, "/twilio/voice/voicemail", recorded)
        assert "повідомлення збережено" in (ET.fromstring(thanks.body).find("./Say").text or "")  # type: ignore[union-attr]
    finally:
        use_wall_clock()
    stored = CallItem.get("CA2")
    assert (stored.shop_id, stored.customer_phone, stored.result) == ("demo", "+380671234567", "voicemail")
    assert stored.recording_url == "https://api.twilio.com/rec/RE1"


def test_a_text_to_no_shop_is_acknowledged_with_empty_twiml(client: Client) -> None:
    form = {"MessageSid": "SM1", "From": "+380671234567", "Body": "YES"}
    response = signed_post(client, "/twilio/sms/incoming", form)
    assert response.status_code == 200
    assert list(ET.fromstring(response.body)) == []
