"""How many DynamoDB requests each main webhook makes, counted through botocore's event hooks on
every DynamoDB client (as ``bench/service_time.py`` counts them), so the counts cannot creep
back up. Counts are for a warm process (configuration items cached), which is what almost
every webhook meets; the cold cost of the cache is counted separately.

Targets (issue #8): at most 2 requests for an IVR step, 3 for a status callback.

The robot call's webhooks are posted to the URLs the app gave Twilio (the answer URL of the
placed call, the keypress URL of the answer's ``<Gather>``), as Twilio posts them: those URLs
carry the attempt, so the webhooks need not read the task."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from bench.ddb_counter import DynamoDBRequestCounter
from chalicelib.adapters.config_cache import forget_cached_config
from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem, OrderItem, reset_connections
from chalicelib.clock import FixedClock, use_clock, use_wall_clock
from chalicelib.wiring import forget_clients
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import PUBLIC_BASE, StreamReader, post_order, signed_post
from tests.integration.test_order_pipeline_moto import ORDER, order, run_stream

pytestmark = pytest.mark.integration

SHOP_NUMBER, CALLER = "+380441234567", "+380671234567"


@pytest.fixture
def telephony(monkeypatch: pytest.MonkeyPatch) -> FakeTelephony:
    from chalicelib import wiring

    fake = FakeTelephony()
    monkeypatch.setattr(wiring, "telephony", lambda: fake)
    return fake


@pytest.fixture
def open_hours() -> Iterator[None]:
    use_clock(FixedClock(datetime(2015, 11, 23, 10, 0, tzinfo=UTC)))  # 12:00 in Kyiv, a Monday
    yield
    use_wall_clock()


@pytest.fixture
def counter(aws: None) -> Iterator[DynamoDBRequestCounter]:
    with DynamoDBRequestCounter() as installed:
        reset_connections()  # every client is created again, hooked
        forget_clients()
        yield installed


def requests_of(counter: DynamoDBRequestCounter, send: Any) -> tuple[Any, Counter[str]]:
    with counter.measure() as tally:
        response = send()
    return response, tally[0].calls


def robot_call_placed(client: Client, telephony: FakeTelephony) -> tuple[str, str]:
    order_id = post_order(client, ORDER).json_body["id"]
    run_stream(client, "order_stream", StreamReader("callcenter-order_lanes").next_event())
    run_stream(client, "task_stream", StreamReader("callcenter-dial_tasks").next_event())
    task_id = order(order_id).task_id
    return task_id, DialTaskItem.get(task_id).last_call_sid


def order_of_task(task_id: str) -> OrderItem:
    """The order a freshly dialled task calls about (read before the call ends it)."""
    (order_id,) = DialTaskItem.get(task_id).order_ids
    return OrderItem.get(*order_keys("demo", order_id))


def path_of(url: str) -> str:
    """The path and query of one of the app's public URLs (what the test client is given)."""
    assert url.startswith(PUBLIC_BASE), url
    return url[len(PUBLIC_BASE) :]


def inbound_form(call_sid: str, **extra: str) -> dict[str, str]:
    return {"CallSid": call_sid, "From": CALLER, "To": SHOP_NUMBER, "Direction": "inbound", **extra}


def test_an_order_post_is_two_writes_once_the_api_key_is_known(client: Client, counter: DynamoDBRequestCounter) -> None:
    post_order(client, {**ORDER, "order_number": "W-1"})  # warms the key -> shop cache
    response, calls = requests_of(counter, lambda: post_order(client, {**ORDER, "order_number": "W-2"}))
    assert response.status_code == 201
    # The order, and the number counted among the shop's new numbers of the day (toll fraud: one
    # transaction, which a number already counted today fails on its condition at the same cost).
    assert calls == Counter({"PutItem": 1, "TransactWriteItems": 1})


def test_a_cold_process_pays_two_reads_for_the_api_key_and_the_shop(
    client: Client, counter: DynamoDBRequestCounter
) -> None:
    forget_cached_config()
    response, calls = requests_of(counter, lambda: post_order(client, ORDER))
    assert response.status_code == 201
    assert calls == Counter({"GetItem": 2, "PutItem": 1, "TransactWriteItems": 1})


def test_an_incoming_call_and_its_ivr_steps_make_at_most_two_requests(
    client: Client, counter: DynamoDBRequestCounter
) -> None:
    signed_post(client, "/twilio/voice/incoming", inbound_form("CAwarm"))  # warms number -> shop
    incoming, incoming_calls = requests_of(
        counter, lambda: signed_post(client, "/twilio/voice/incoming", inbound_form("CA1", CallStatus="ringing"))
    )
    assert incoming.status_code == 200 and b"<Gather" in incoming.body
    language, language_calls = requests_of(
        counter,
        lambda: signed_post(client, "/twilio/voice/inbound/language?attempt=0", inbound_form("CA1", Digits="1")),
    )
    assert language.status_code == 200 and b"/inbound/menu" in language.body
    status, status_calls = requests_of(
        counter,
        lambda: signed_post(
            client,
            "/twilio/voice/status",
            inbound_form("CA1", CallStatus="in-progress", SequenceNumber="1"),
        ),
    )
    assert status.status_code == 204

    assert incoming_calls == Counter({"UpdateItem": 1})
    assert language_calls == Counter({"GetItem": 1, "UpdateItem": 1})
    assert status_calls == Counter({"GetItem": 1, "UpdateItem": 1})


def test_a_robot_call_answered_confirmed_and_completed_makes_two_one_and_two_requests(
    client: Client, counter: DynamoDBRequestCounter, telephony: FakeTelephony, open_hours: None
) -> None:
    task_id, call_sid = robot_call_placed(client, telephony)
    order = order_of_task(task_id)
    placed = telephony.placed[-1]
    call = {"CallSid": call_sid, "From": SHOP_NUMBER, "To": CALLER}
    answer, answer_calls = requests_of(
        counter, lambda: signed_post(client, path_of(placed["answer_url"]), {**call, "AnsweredBy": "human"})
    )
    assert answer.status_code == 200 and b"A-1" in answer.body
    gather = ET.fromstring(answer.body).find("./Gather")
    assert gather is not None
    keypress_url = gather.get("action", "")
    keypress, keypress_calls = requests_of(
        counter, lambda: signed_post(client, path_of(keypress_url), {**call, "Digits": "1"})
    )
    assert keypress.status_code == 200 and "підтверджено" in keypress.body.decode()
    final = {**call, "CallStatus": "completed", "CallDuration": "37", "SequenceNumber": "3"}
    status, status_calls = requests_of(counter, lambda: signed_post(client, path_of(placed["status_url"]), final))
    assert status.status_code == 204
    task = DialTaskItem.get(task_id)
    assert (task.state, task.result, task.contacted) == ("done", "confirmed", True)
    stored = CallItem.get(call_sid)
    assert (stored.answered_by, stored.result, stored.status) == ("human", "confirmed", "completed")
    order.refresh()
    assert (order.status, order.reached) == ("confirmed", True)

    # one transaction (the task attaches the call, the call record, the order reached) and the
    # order read to speak of it
    assert answer_calls == Counter({"TransactWriteItems": 1, "BatchGetItem": 1})
    # one transaction: the task (decision), the call record (result), the order (confirmed)
    assert keypress_calls == Counter({"TransactWriteItems": 1})
    # the call record (identity and status; it answers with the decision), the task (attempt
    # over): the status URL carries the attempt, as the answer URL does
    assert status_calls == Counter({"UpdateItem": 2})


def test_a_robot_call_answered_by_a_machine_makes_one_request(
    client: Client, counter: DynamoDBRequestCounter, telephony: FakeTelephony, open_hours: None
) -> None:
    task_id, call_sid = robot_call_placed(client, telephony)
    call = {"CallSid": call_sid, "From": SHOP_NUMBER, "To": CALLER, "AnsweredBy": "machine_start"}
    url = path_of(telephony.placed[-1]["answer_url"])
    answer, calls = requests_of(counter, lambda: signed_post(client, url, call))
    assert answer.status_code == 200 and b"<Hangup" in answer.body
    assert calls == Counter({"TransactWriteItems": 1})
    assert CallItem.get(call_sid).answered_by == "machine_start"
    assert not DialTaskItem.get(task_id).contacted


def test_a_webhook_url_without_the_attempt_reads_the_task_once_more(
    client: Client, counter: DynamoDBRequestCounter, telephony: FakeTelephony, open_hours: None
) -> None:
    """A call placed before the URLs carried the attempt: one read of the task, then the same."""
    task_id, call_sid = robot_call_placed(client, telephony)
    order = order_of_task(task_id)
    call = {"CallSid": call_sid, "From": SHOP_NUMBER, "To": CALLER}
    answer, answer_calls = requests_of(
        counter, lambda: signed_post(client, f"/twilio/voice/robot/{task_id}", {**call, "AnsweredBy": "human"})
    )
    assert answer.status_code == 200 and b"A-1" in answer.body
    keypress, keypress_calls = requests_of(
        counter, lambda: signed_post(client, f"/twilio/voice/robot/{task_id}/cancel", {**call, "Digits": "1"})
    )
    assert keypress.status_code == 200
    order.refresh()
    assert order.status == "cancelled"
    assert answer_calls == Counter({"GetItem": 1, "TransactWriteItems": 1, "BatchGetItem": 1})
    assert keypress_calls == Counter({"GetItem": 1, "TransactWriteItems": 1})


def test_a_keypress_url_of_an_earlier_attempt_changes_nothing(
    client: Client, counter: DynamoDBRequestCounter, telephony: FakeTelephony, open_hours: None
) -> None:
    task_id, call_sid = robot_call_placed(client, telephony)
    stale = path_of(telephony.placed[-1]["answer_url"]).replace("attempt=1", "attempt=0")
    call = {"CallSid": call_sid, "From": SHOP_NUMBER, "To": CALLER}
    answer = signed_post(client, stale, {**call, "AnsweredBy": "human"})
    assert answer.status_code == 200 and b"<Hangup" in answer.body
    keypress = signed_post(client, stale.replace(task_id, f"{task_id}/keypress"), {**call, "Digits": "1"})
    assert keypress.status_code == 200 and b"<Redirect" in keypress.body  # "unknown key", not a decision
    task = DialTaskItem.get(task_id)
    assert (task.state, task.result, task.contacted) == ("dialing", None, None)
    assert order_of_task(task_id).status == "queued"


def test_an_unanswered_robot_call_is_queued_for_its_retry_in_two_requests(
    client: Client, counter: DynamoDBRequestCounter, telephony: FakeTelephony, open_hours: None
) -> None:
    task_id, call_sid = robot_call_placed(client, telephony)
    final = {"CallSid": call_sid, "From": SHOP_NUMBER, "To": CALLER, "CallStatus": "no-answer", "SequenceNumber": "2"}
    status_url = path_of(telephony.placed[-1]["status_url"])
    status, calls = requests_of(counter, lambda: signed_post(client, status_url, final))
    assert status.status_code == 204
    task = DialTaskItem.get(task_id)
    assert (task.state, task.last_call_result, task.attempts) == ("queued", "no-answer", 1)
    assert task.due_at > datetime(2015, 11, 23, 10, 0, tzinfo=UTC) and task.queue_key == "demo#robot"
    assert CallItem.get(call_sid).status == "no-answer"
    assert calls == Counter({"UpdateItem": 2})
    # Twilio's retry of the same callback: the attempt is over, nothing more changes
    again = signed_post(client, status_url, final)
    assert again.status_code == 204
    assert DialTaskItem.get(task_id).due_at == task.due_at


def test_a_status_url_without_the_attempt_reads_the_task(
    client: Client, counter: DynamoDBRequestCounter, telephony: FakeTelephony, open_hours: None
) -> None:
    """A call placed before the status URL carried the attempt: the task is read, then the same."""
    task_id, call_sid = robot_call_placed(client, telephony)
    final = {"CallSid": call_sid, "From": SHOP_NUMBER, "To": CALLER, "CallStatus": "busy", "SequenceNumber": "2"}
    status, calls = requests_of(counter, lambda: signed_post(client, f"/twilio/voice/status?task_id={task_id}", final))
    assert status.status_code == 204
    assert (DialTaskItem.get(task_id).state, DialTaskItem.get(task_id).last_call_result) == ("queued", "busy")
    assert calls == Counter({"GetItem": 1, "UpdateItem": 2})
