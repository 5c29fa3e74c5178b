"""#16 item 14, as a shop's developer walks it with curl and as the customer then lives it: the
shop finds an order by its own number, cancels it or changes it after posting it, and no call,
text or agent decides anything the shop has decided. Through the Chalice client (API Gateway
as infra/ configures it) on moto, the streams fed the tables' real records, the webhooks signed
as Twilio signs them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.orders import order_keys, order_ref
from chalicelib.adapters.dynamo.schema import CrmEventItem, DialTaskItem, OrderItem
from chalicelib.clock import FixedClock
from chalicelib.config import reload_settings
from chalicelib.services import admin
from chalicelib.services.intake import customer_task_id
from chalicelib.wiring import repository
from cli.admin import main as admin_cli
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import API_KEY, StreamReader, post_order, signed_post
from tests.integration.test_order_pipeline_moto import telephony  # noqa: F401 (fixture)
from tests.integration.test_outcomes_moto import agent_dialed_call, desk  # noqa: F401 (fixture)
from tests.integration.test_outcomes_moto import post as post_outcome

pytestmark = pytest.mark.integration
KEY = {"Authorization": f"Bearer {API_KEY}"}
JSON_KEY = KEY | {"Content-Type": "application/json"}
OLD, NEW = "+380671234567", "+380501112233"
CANCELLED_ON_THE_PHONE = (
    "Це замовлення вже скасовано, тож ми нічого не підтвердили. Якщо воно вам ще потрібне, "
    "оформіть його знову або зателефонуйте нам. До побачення!"
)
CHANGED_ON_THE_PHONE = (
    "Магазин щойно змінив це замовлення, тож вашу відповідь не записано. "
    "Магазин зв'яжеться з вами щодо нього. До побачення!"
)
ORDER = {
    "order_number": "A-14",
    "phone": "067 123-45-67",
    "customer_name": "Olena",
    "total": "500",
    "delivery": {"address": "Kyiv, Khreshchatyk 1"},
}


def run(client: Client, function: str, stream: StreamReader) -> None:
    assert client.lambda_.invoke(function, stream.next_event()).payload == {"batchItemFailures": []}


def cancel(client: Client, order_id: str, body: dict[str, Any] | None = None) -> Any:
    return client.http.post(
        f"/v1/orders/{order_id}/cancel", headers=JSON_KEY, body=json.dumps(body).encode() if body is not None else b""
    )


def patch(client: Client, order_id: str, body: dict[str, Any]) -> Any:
    return client.http.request("PATCH", f"/v1/orders/{order_id}", headers=JSON_KEY, body=json.dumps(body).encode())


def get(client: Client, order_id: str) -> dict[str, Any]:
    response = client.http.get(f"/v1/orders/{order_id}", headers=KEY)
    assert response.status_code == 200
    body: dict[str, Any] = response.json_body
    return body


def queued_order(client: Client, order_stream: StreamReader, body: dict[str, Any] = ORDER) -> str:
    order_id: str = post_order(client, body).json_body["id"]
    run(client, "order_stream", order_stream)
    assert get(client, order_id)["status"] == "queued"
    return order_id


def robot_call_answered(
    client: Client,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,  # noqa: F811
) -> tuple[str, str, dict[str, str], ET.Element]:
    """An order the robot is on the phone about: (order id, task id, the call's form, the
    answer's TwiML)."""
    order_id = queued_order(client, order_stream)
    run(client, "task_stream", task_stream)
    [placed] = telephony.placed
    task_id = customer_task_id("demo", OLD)
    call_sid = DialTaskItem.get(task_id).last_call_sid
    call = {"CallSid": call_sid, "From": "+380441234567", "To": placed["to"], "AnsweredBy": "human"}
    path = placed["answer_url"].removeprefix("https://calls.example.test/api")
    answer = ET.fromstring(signed_post(client, path, {**call, "CallStatus": "in-progress"}).body)
    return order_id, task_id, call, answer


def press(client: Client, answer: ET.Element, call: dict[str, str], digits: str) -> list[str]:
    gather = answer.find("./Gather")
    assert gather is not None
    path = (gather.get("action") or "").removeprefix("https://calls.example.test/api")
    return [
        say.text or "" for say in ET.fromstring(signed_post(client, path, {**call, "Digits": digits}).body).iter("Say")
    ]


# ---- finding an order by the shop's own number ----------------------------------------------------
def test_the_shop_finds_every_order_under_its_number_newest_first(client: Client, clock: FixedClock) -> None:
    first = post_order(client, ORDER).json_body["id"]
    clock.advance(seconds=60)
    repeat = post_order(client, {**ORDER, "order_number": "a-14", "phone": "050 111 22 33"}).json_body["id"]
    post_order(client, {**ORDER, "order_number": "A-140"})

    found = client.http.get("/v1/orders?order_number=A-14", headers=KEY)

    assert found.status_code == 200
    assert [order["id"] for order in found.json_body["orders"]] == [repeat, first]
    assert found.json_body["orders"][1] == get(client, first)  # the same view as GET /v1/orders/{id}
    none = client.http.get("/v1/orders?order_number=B-1", headers=KEY)
    assert (none.status_code, none.json_body) == (200, {"orders": []})


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("", {"order_number": "required: the shop's own order number"}),
        ("?order_number=", {"order_number": "required: the shop's own order number"}),
        (
            "?orderNumber=A-14",
            {
                "orderNumber": "unknown parameter; did you mean 'order_number'?",
                "order_number": "required: the shop's own order number",
            },
        ),
    ],
)
def test_finding_without_a_number_is_422_naming_it(client: Client, query: str, fields: dict[str, str]) -> None:
    response = client.http.get(f"/v1/orders{query}", headers=KEY)
    assert (response.status_code, response.json_body["error"]) == (422, "validation_failed")
    assert {f["field"]: f["message"] for f in response.json_body["fields"]} == fields
    assert client.http.get("/v1/orders?order_number=A-14").status_code == 401


# ---- cancel ------------------------------------------------------------------------------------------
def test_a_queued_order_cancelled_leaves_its_task_and_no_call_is_made(
    client: Client,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,  # noqa: F811
    clock: FixedClock,
) -> None:
    # GIVEN an order waiting for the robot (the customer's line was busy; retry in 10 minutes)
    order_id = queued_order(client, order_stream)
    task_id = customer_task_id("demo", OLD)
    DialTaskItem(task_id).update(actions=[DialTaskItem.due_at.set(clock.now() + timedelta(minutes=10))])
    run(client, "task_stream", task_stream)
    assert telephony.placed == []

    # WHEN the shop cancels it (the customer cancelled on the site)
    clock.advance(seconds=30)
    response = cancel(client, order_id, {"reason": "cancelled on the site"})

    # THEN it is cancelled by the shop, now, with the reason; the task has nothing left and is closed
    assert response.status_code == 200, response.body
    view = response.json_body
    assert (view["status"], view["decided_by"], view["cancel_reason"]) == ("cancelled", "shop", "cancelled on the site")
    assert view["decided_at"] == clock.now().isoformat()
    task = DialTaskItem.get(task_id)
    assert (task.state, task.result, task.order_ids, task.queue_key) == ("done", "withdrawn-by-shop", None, None)
    # AND when the retry would have been due, nothing dials
    clock.advance(seconds=15 * 60)
    tick = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    client.lambda_.invoke("dial_due", tick)
    run(client, "task_stream", task_stream)
    assert telephony.placed == []

    # AND cancelling again answers the same and changes nothing
    clock.advance(seconds=30)
    again = cancel(client, order_id, {"reason": "double click"})
    assert (again.status_code, again.json_body) == (200, view)
    # AND the customer's timeline shows it
    timeline = client.http.post("/v1/customers/timeline", headers=JSON_KEY, body=json.dumps({"phone": "+380671234567"}))
    assert timeline.status_code == 200, timeline.body
    [entry] = [e for e in timeline.json_body["entries"] if e["type"] == "order"]
    assert (entry["status"], entry["decided_by"], entry["cancel_reason"]) == (
        "cancelled",
        "shop",
        "cancelled on the site",
    )


def test_an_order_cancelled_before_the_stream_decides_it_never_gets_a_task(
    client: Client,
    order_stream: StreamReader,
    telephony: FakeTelephony,  # noqa: F811
) -> None:
    order_id = post_order(client, ORDER).json_body["id"]
    assert cancel(client, order_id).json_body["status"] == "cancelled"  # no body: a reason is optional
    run(client, "order_stream", order_stream)
    assert get(client, order_id)["status"] == "cancelled"
    assert [(t.task_id, t.state, t.order_ids) for t in DialTaskItem.scan()] == []


def test_the_crm_hears_of_the_shops_cancel_like_any_status_change(
    client: Client, order_stream: StreamReader, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLCENTER_LOCAL", "1")
    reload_settings()
    shop = repository().get_shop("demo")
    assert shop is not None
    admin.create_shop(
        shop.model_dump(mode="json") | {"crm": {"url": "http://127.0.0.1:9/crm", "secret_name": "kvitka-crm"}},
        store=repository(),
        now=clock.now(),
    )
    order_id = queued_order(client, order_stream)
    run(client, "order_stream", order_stream)  # its move to queued
    cancel(client, order_id, {"reason": "out of stock"})
    run(client, "order_stream", order_stream)
    events = [json.loads(e.body) for e in CrmEventItem.scan() if e.subject == order_id]
    [change] = [e["data"] for e in events if e["data"]["status"] == "cancelled"]
    assert (change["previous_status"], change["decided_by"]) == ("queued", "shop")


def test_what_cannot_be_cancelled_is_named(client: Client, order_stream: StreamReader) -> None:
    original = post_order(client, ORDER).json_body["id"]
    repeat = post_order(client, ORDER).json_body["id"]
    run(client, "order_stream", order_stream)

    refused = cancel(client, repeat)
    assert (refused.status_code, refused.json_body["error"]) == (409, "order_not_open")
    assert refused.json_body["message"].startswith("status: the order is duplicate")
    assert get(client, repeat)["status"] == "duplicate"
    missing = cancel(client, "ord_nothing")
    assert (missing.status_code, missing.json_body["error"]) == (404, "not_found")
    unknown = cancel(client, original, {"why": "x"})
    assert unknown.status_code == 422
    assert unknown.json_body["fields"] == [{"field": "why", "message": "unknown field"}]
    assert get(client, original)["status"] == "queued"


# ---- change ------------------------------------------------------------------------------------------
def test_a_new_phone_moves_the_order_to_the_new_customers_task_and_the_call_goes_there(
    client: Client,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,  # noqa: F811
    clock: FixedClock,
) -> None:
    # GIVEN an order waiting for its retry on the old number
    order_id = queued_order(client, order_stream)
    old_task = customer_task_id("demo", OLD)
    DialTaskItem(old_task).update(actions=[DialTaskItem.due_at.set(clock.now() + timedelta(minutes=10))])
    run(client, "task_stream", task_stream)

    # WHEN the shop gives it the customer's new phone
    changed = patch(client, order_id, {"phone": "050 111 22 33"})

    # THEN the order is on the new customer's task, the old one is closed, and the robot calls the new number
    assert changed.status_code == 200, changed.body
    assert (changed.json_body["phone"], changed.json_body["status"]) == (NEW, "queued")
    new_task = customer_task_id("demo", NEW)
    assert OrderItem.get(*order_keys("demo", order_id)).task_id == new_task
    assert (DialTaskItem.get(old_task).state, DialTaskItem.get(old_task).result) == ("done", "moved-by-shop")
    assert DialTaskItem.get(new_task).order_ids == {order_id}
    run(client, "task_stream", task_stream)
    assert [call["to"] for call in telephony.placed] == [NEW]

    # AND the same change again changes nothing
    again = patch(client, order_id, {"phone": "+380501112233"})
    assert (again.status_code, again.json_body["changed_at"]) == (200, changed.json_body["changed_at"])
    assert DialTaskItem.get(new_task).attempts == 1


def test_after_a_new_phone_a_repost_with_either_number_is_a_duplicate_of_the_order(
    client: Client, order_stream: StreamReader
) -> None:
    # GIVEN an order the shop moved to the customer's corrected phone
    order_id = queued_order(client, order_stream)
    assert patch(client, order_id, {"phone": "050 111 22 33"}).status_code == 200
    # WHEN the shop's site posts the same order again, with the new phone and with the old one
    reposts = [post_order(client, ORDER | {"phone": phone}).json_body["id"] for phone in ("050 111 22 33", OLD)]
    for _ in reposts:
        run(client, "order_stream", order_stream)
    # THEN both are duplicates of the order: no second task, no second call
    for repost in reposts:
        view = get(client, repost)
        assert (view["status"], view["duplicate_of"]) == ("duplicate", order_id)
    assert DialTaskItem.get(customer_task_id("demo", NEW)).order_ids == {order_id}


def test_a_new_slot_and_address_are_what_the_robot_and_the_delivery_read(
    client: Client,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,  # noqa: F811
) -> None:
    order_id = queued_order(client, order_stream)
    order_ref("demo", order_id).update(actions=[OrderItem.delivery_slot.set({"start": "x", "end": "y"})])
    slot = {"start": "2015-11-24T10:00:00+02:00", "end": "2015-11-24T12:00:00+02:00"}

    changed = patch(client, order_id, {"delivery": {"address": "Lviv, Rynok 5", "slot": slot}, "comment": "ring twice"})

    assert changed.status_code == 200, changed.body
    view = changed.json_body
    assert view["delivery"]["address"] == "Lviv, Rynok 5"
    assert view["delivery"]["slot"] == slot
    assert (view["delivery_slot"], view["comment"]) == (None, "ring twice")  # the shop's slot wins
    # a slot alone keeps the address
    only_slot = patch(client, order_id, {"delivery": {"slot": None}})
    assert only_slot.json_body["delivery"] == {"address": "Lviv, Rynok 5", "slot": None}
    # the robot reads the new address
    run(client, "task_stream", task_stream)
    [placed] = telephony.placed
    call = {"CallSid": "CA-slot", "From": "+380441234567", "To": OLD, "AnsweredBy": "human"}
    DialTaskItem(customer_task_id("demo", OLD)).update(actions=[DialTaskItem.last_call_sid.set("CA-slot")])
    path = placed["answer_url"].removeprefix("https://calls.example.test/api")
    answer = ET.fromstring(signed_post(client, path, {**call, "CallStatus": "in-progress"}).body)
    assert "Адреса доставки: Lviv, Rynok 5." in [say.text for say in answer.iter("Say")]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"phone": "12"}, {"phone": "not a valid number"}),
        ({"phone": None}, {"phone": "may not be null"}),
        ({}, {"body": "send at least one of phone, customer_name, delivery, comment, language"}),
        ({"order_number": "A-15"}, {"order_number": "unknown field"}),
        ({"delivery": {"adress": "x"}}, {"delivery.adress": "unknown field; did you mean 'address'?"}),
        ({"language": "de"}, {"language": "Input should be 'uk', 'ru' or 'en'"}),
    ],
)
def test_a_bad_change_is_422_naming_the_field_and_changes_nothing(
    client: Client, order_stream: StreamReader, body: dict[str, Any], fields: dict[str, str]
) -> None:
    order_id = queued_order(client, order_stream)
    before = get(client, order_id)
    response = patch(client, order_id, body)
    assert (response.status_code, response.json_body["error"]) == (422, "validation_failed")
    assert {f["field"]: f["message"] for f in response.json_body["fields"]} == fields
    assert get(client, order_id) == before


def test_only_an_open_order_can_be_changed(client: Client, order_stream: StreamReader) -> None:
    order_id = queued_order(client, order_stream)
    assert cancel(client, order_id).status_code == 200
    refused = patch(client, order_id, {"customer_name": "Olena K."})
    assert (refused.status_code, refused.json_body["error"]) == (409, "order_not_open")
    assert refused.json_body["message"].startswith("status: the order is cancelled")
    assert get(client, order_id)["customer_name"] == "Olena"


# ---- a call or a text already under way decides nothing the shop decided ----------------------------
def test_a_customer_pressing_1_after_the_shop_cancelled_hears_so_and_nothing_is_confirmed(
    client: Client,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,  # noqa: F811
) -> None:
    order_id, task_id, call, answer = robot_call_answered(client, order_stream, task_stream, telephony)
    assert cancel(client, order_id).status_code == 200  # while the robot is talking

    heard = press(client, answer, call, "1")

    assert heard == [CANCELLED_ON_THE_PHONE]
    assert get(client, order_id)["status"] == "cancelled"
    ended = {**call, "CallStatus": "completed", "CallDuration": "20", "SequenceNumber": "3"}
    assert signed_post(client, f"/twilio/voice/status?task_id={task_id}", ended).status_code == 204
    assert (get(client, order_id)["status"], DialTaskItem.get(task_id).state) == ("cancelled", "done")


def test_the_old_number_pressing_1_after_the_phone_changed_decides_nothing(
    client: Client,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,  # noqa: F811
) -> None:
    order_id, task_id, call, answer = robot_call_answered(client, order_stream, task_stream, telephony)
    assert patch(client, order_id, {"phone": NEW}).status_code == 200

    heard = press(client, answer, call, "1")

    assert heard == [CHANGED_ON_THE_PHONE]
    assert (get(client, order_id)["status"], get(client, order_id)["phone"]) == ("queued", NEW)
    # the old call ends; its task has nothing left, the new number's task waits for its call
    busy = {**call, "CallStatus": "completed", "CallDuration": "20", "SequenceNumber": "3"}
    signed_post(client, f"/twilio/voice/status?task_id={task_id}", busy)
    assert DialTaskItem.get(task_id).state == "done"
    assert DialTaskItem.get(customer_task_id("demo", NEW)).order_ids == {order_id}


def test_a_text_reply_after_the_shop_cancelled_confirms_nothing(client: Client, order_stream: StreamReader) -> None:
    order_id = queued_order(client, order_stream)
    order_ref("demo", order_id).update(actions=[OrderItem.status.set("unreachable")])  # asked by text (O7)
    assert cancel(client, order_id).status_code == 200

    reply = signed_post(
        client, "/twilio/sms/incoming", {"MessageSid": "SM14", "From": OLD, "To": "+380441234567", "Body": "1"}
    )

    assert get(client, order_id)["status"] == "cancelled"
    message = ET.fromstring(reply.body).find("./Message")
    assert message is not None and "немає замовлень, що чекають на підтвердження" in (message.text or "")


def test_a_call_unanswered_after_the_shop_cancelled_is_not_tried_again(
    client: Client,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,  # noqa: F811
) -> None:
    # GIVEN the robot's call ringing about an order, which the shop cancels meanwhile
    order_id = queued_order(client, order_stream)
    run(client, "task_stream", task_stream)
    task_id = customer_task_id("demo", OLD)
    call_sid = DialTaskItem.get(task_id).last_call_sid
    assert cancel(client, order_id).status_code == 200
    assert DialTaskItem.get(task_id).state == "dialing"  # the call may finish

    # WHEN nobody answers (a retry would be due in 30 minutes)
    ended = {"CallSid": call_sid, "From": "+380441234567", "To": OLD, "CallStatus": "no-answer", "SequenceNumber": "2"}
    assert signed_post(client, f"/twilio/voice/status?task_id={task_id}", ended).status_code == 204

    # THEN the task has nothing left to call about: closed, not queued for a retry
    task = DialTaskItem.get(task_id)
    assert (task.state, task.result, task.order_ids, task.due_at) == ("done", "no-orders-left", None, None)
    assert get(client, order_id)["status"] == "cancelled"


def test_an_agents_corrected_outcome_does_not_confirm_an_order_the_shop_cancelled(
    desk: Client,  # noqa: F811
    clock: FixedClock,
) -> None:
    # GIVEN an agent-first call about an order, which the shop cancels while the agent talks
    agent_dialed_call(orders=("o1",))
    assert cancel(desk, "o1", {"reason": "paid elsewhere"}).status_code == 200

    # WHEN the agent saves "cancelled", then corrects it to "confirmed" within wrap-up
    first = post_outcome(desk, "CA100", {"agent_id": "anna", "outcome": "cancelled"})
    clock.advance(seconds=10)
    corrected = post_outcome(desk, "CA100", {"agent_id": "anna", "outcome": "confirmed"})

    # THEN the outcomes are kept, but the order stays as the shop decided it
    assert (first.status_code, first.json_body["orders_updated"]) == (201, [])
    assert (corrected.status_code, corrected.json_body["orders_updated"]) == (200, [])
    order = get(desk, "o1")
    assert (order["status"], order["decided_by"]) == ("cancelled", "shop")


def test_an_unreachable_order_given_a_new_phone_is_called_there(
    client: Client,
    order_stream: StreamReader,
    task_stream: StreamReader,
    telephony: FakeTelephony,  # noqa: F811
) -> None:
    # GIVEN an order the robot gave up on (its task failed after the last attempt)
    order_id = queued_order(client, order_stream)
    old_task = customer_task_id("demo", OLD)
    order_ref("demo", order_id).update(actions=[OrderItem.status.set("unreachable")])
    DialTaskItem(old_task).update(actions=[DialTaskItem.state.set("failed"), DialTaskItem.order_ids.delete({order_id})])
    # WHEN the shop gives it the number the customer really uses
    changed = patch(client, order_id, {"phone": NEW})
    # THEN it waits for a call again, on the new number's task, and the robot calls there
    assert (changed.status_code, changed.json_body["status"], changed.json_body["phone"]) == (200, "queued", NEW)
    assert DialTaskItem.get(customer_task_id("demo", NEW)).order_ids == {order_id}
    run(client, "task_stream", task_stream)
    assert [call["to"] for call in telephony.placed] == [NEW]


def test_orders_stored_before_the_index_are_found_after_the_one_off_command(client: Client) -> None:
    # GIVEN an order stored before the index existed (no key for it)
    order_id = post_order(client, ORDER).json_body["id"]
    order_ref("demo", order_id).update(actions=[OrderItem.shop_order_number.remove()])
    assert client.http.get("/v1/orders?order_number=A-14", headers=KEY).json_body == {"orders": []}
    # WHEN the operator runs the command (twice: safe to repeat)
    assert admin_cli(["index-order-numbers"]) == 0
    assert admin_cli(["index-order-numbers"]) == 0
    # THEN the shop finds it by its number
    found = client.http.get("/v1/orders?order_number=a-14", headers=KEY).json_body["orders"]
    assert [order["id"] for order in found] == [order_id]
    assert OrderItem.get(*order_keys("demo", order_id)).shop_order_number == "demo#a-14"
