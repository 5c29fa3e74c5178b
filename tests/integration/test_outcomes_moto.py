"""Agents' outcomes (A4, A5) through the HTTP API on moto: orders updated, callbacks scheduled,
corrections audited, manager emails sent exactly once."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib import wiring
from chalicelib.adapters.dynamo.schema import DialTaskItem, OutcomeItem
from chalicelib.clock import FixedClock
from chalicelib.domain.entities import Call, DialTask, Order
from chalicelib.wiring import repository
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import StreamReader

pytestmark = pytest.mark.integration
REGION = "eu-central-1"
TOKENS = {"anna": "demo-agent-anna-0001", "oleh": "demo-agent-oleh-0001"}  # config/demo.toml
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
PHONE = "+380671234567"


@pytest.fixture
def desk(client: Client, clock: FixedClock) -> Iterator[Client]:
    wiring.forget_clients()
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress="reports@kvitka.example")
    yield client
    wiring.forget_clients()


def sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def body_of(message: Any) -> tuple[str, str]:
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
    text = next(part for part in parsed.walk() if part.get_content_type() == "text/plain")
    payload = text.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return str(parsed["Subject"]), payload.decode()


def order(order_id: str, number: str, status: str = "queued") -> Order:
    return Order(
        shop_id="demo",
        order_id=order_id,
        phone=PHONE,
        phone_valid=True,
        total=Decimal("1250.00"),
        currency="UAH",
        received_at=NOW - timedelta(hours=1),
        day="2015-11-23",
        order_number=number,
        customer_name="Olena Petrenko",
        status=status,
        route="agent",
    )


def agent_dialed_call(call_sid: str = "CA100", agent_id: str = "anna", orders: tuple[str, ...] = ("o1",)) -> None:
    """An agent-first call as the agent dialer leaves it: the task done with ``agent-talked``,
    its orders still queued for the agent's outcome."""
    store = repository()
    for number, order_id in enumerate(orders, start=7):
        store.insert_order(order(order_id, f"A-{number}"))
    store.insert_task(
        DialTask(
            task_id="t1",
            shop_id="demo",
            phone=PHONE,
            order_ids=list(orders),
            language="uk",
            created_at=NOW - timedelta(hours=1),
            kind="agent",
            state="done",
        )
    )
    DialTaskItem("t1").update(
        actions=[
            DialTaskItem.result.set("agent-talked"),
            DialTaskItem.last_call_sid.set(call_sid),
            DialTaskItem.call_order_ids.set(set(orders)),
            DialTaskItem.queue_key.remove(),
        ]
    )
    store.upsert_call(
        Call(
            call_sid=call_sid,
            shop_id="demo",
            direction="outbound-agent",
            customer_phone=PHONE,
            shop_number="+380441234567",
            created_at=NOW - timedelta(minutes=5),
            day="2015-11-23",
            task_id="t1",
        )
    )
    store.update_call(call_sid, agent_id=agent_id, result="agent-talked", status="completed")


def post(client: Client, call_sid: str, body: dict[str, Any]) -> Any:
    """POST as the agent the body names, with that agent's own token."""
    headers = {"Authorization": f"Bearer {TOKENS[body['agent_id']]}", "Content-Type": "application/json"}
    return client.http.post(f"/v1/calls/{call_sid}/outcome", headers=headers, body=json.dumps(body))


def test_confirmed_moves_the_calls_orders_and_keeps_the_outcome(desk: Client) -> None:
    # GIVEN an agent-dialed call about two queued orders, and another queued order of the customer
    agent_dialed_call(orders=("o1", "o2"))
    repository().insert_order(order("o3", "A-99"))

    # WHEN the agent records "confirmed"
    response = post(desk, "CA100", {"agent_id": "anna", "outcome": "confirmed", "comment": "all fine"})

    # THEN the call's orders are confirmed, the other one is untouched, the outcome is stored
    assert response.status_code == 201
    assert response.json_body["orders_updated"] == ["o1", "o2"]
    assert response.json_body["corrected"] is False
    statuses = {o: repository().get_order("demo", o).status for o in ("o1", "o2", "o3")}  # type: ignore[union-attr]
    assert statuses == {"o1": "confirmed", "o2": "confirmed", "o3": "queued"}
    [record] = OutcomeItem.query("CA100")
    assert (record.outcome, record.agent_id, record.comment, record.saved_at) == ("confirmed", "anna", "all fine", NOW)
    assert sent() == []  # nothing to tell a manager


def test_a_correction_within_wrap_up_is_audited_and_later_ones_are_refused(desk: Client, clock: FixedClock) -> None:
    agent_dialed_call()
    assert post(desk, "CA100", {"agent_id": "anna", "outcome": "confirmed"}).status_code == 201

    # WHEN the agent corrects it to "cancelled" 20 s later (wrap-up is 30 s in the demo shop)
    clock.advance(seconds=20)
    corrected = post(desk, "CA100", {"agent_id": "anna", "outcome": "cancelled", "comment": "changed her mind"})

    # THEN the order is cancelled and both saves are kept with their times
    assert corrected.status_code == 200
    assert corrected.json_body["corrected"] is True
    assert repository().get_order("demo", "o1").status == "cancelled"  # type: ignore[union-attr]
    history = [(r.outcome, r.saved_at) for r in OutcomeItem.query("CA100")]
    assert history == [("confirmed", NOW), ("cancelled", NOW + timedelta(seconds=20))]

    # AND after the wrap-up window the outcome is final
    clock.advance(seconds=20)
    late = post(desk, "CA100", {"agent_id": "anna", "outcome": "confirmed"})
    assert late.status_code == 409
    assert late.json_body["error"] == "outcome_final"
    assert repository().get_order("demo", "o1").status == "cancelled"  # type: ignore[union-attr]
    assert len(list(OutcomeItem.query("CA100"))) == 2


def test_callback_schedules_a_callback_task_at_the_agreed_time(desk: Client) -> None:
    agent_dialed_call()
    at = "2015-11-24T15:30:00+02:00"
    response = post(desk, "CA100", {"agent_id": "anna", "outcome": "callback", "callback_at": at})
    assert response.status_code == 201
    task = DialTaskItem.get(response.json_body["callback"]["task_id"])
    assert (task.kind, task.state, task.phone, task.due_at) == (
        "callback",
        "waiting",
        PHONE,
        datetime.fromisoformat(at),
    )
    assert repository().get_order("demo", "o1").status == "queued"  # type: ignore[union-attr]


def run_outcome_stream(client: Client, outcomes: StreamReader) -> None:
    """The managers' email goes from the outcomes stream (A5), as Lambda would deliver it."""
    assert client.lambda_.invoke("outcome_stream", outcomes.next_event()).payload == {"batchItemFailures": []}


def test_needs_manager_emails_the_managers_once_however_often_it_is_saved(desk: Client) -> None:
    agent_dialed_call()
    outcomes = StreamReader("callcenter-call_outcomes")
    body = {"agent_id": "anna", "outcome": "needs_manager", "comment": "wants a discount"}

    first, again = post(desk, "CA100", body), post(desk, "CA100", body)
    run_outcome_stream(desk, outcomes)

    assert (first.status_code, again.status_code) == (201, 200)
    assert (first.json_body["manager_notified"], again.json_body["manager_notified"]) == (True, False)
    [message] = sent()
    assert set(message.destinations) == {"owner@kvitka.example"}
    subject, text = body_of(message)
    assert "потребує менеджера" in subject  # the demo shop speaks Ukrainian first
    for expected in (
        "A-7",
        "Olena Petrenko",
        PHONE,
        "Мета дзвінка: підтвердження замовлення оператором",
        "wants a discount",
    ):
        assert expected in text
    assert not set("{}[]'") & set(subject + text) and "None" not in text
    assert len(list(OutcomeItem.query("CA100"))) == 2


def test_a_complaint_raises_the_complaint_alert_once(desk: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = FakeTelephony()  # the demo shop also texts its alerts to the owner's mobile
    monkeypatch.setattr(wiring, "telephony", lambda: texts)
    agent_dialed_call()
    outcomes = StreamReader("callcenter-call_outcomes")
    body = {"agent_id": "anna", "outcome": "complaint", "comment": "courier was rude"}
    post(desk, "CA100", body)
    run_outcome_stream(desk, outcomes)
    post(desk, "CA100", body)
    run_outcome_stream(desk, outcomes)
    [message] = sent()
    subject, text = body_of(message)
    assert "скарга" in subject
    assert "courier was rude" in text
    assert [text["to"] for text in texts.texts] == ["+380661234500"]


def test_an_inbound_call_confirms_the_callers_open_orders(desk: Client) -> None:
    store = repository()
    store.insert_order(order("o5", "B-1"))
    store.insert_order(order("o6", "B-2", status="confirmed"))
    store.upsert_call(
        Call(
            call_sid="CA200",
            shop_id="demo",
            direction="inbound",
            customer_phone=PHONE,
            shop_number="+380441234567",
            created_at=NOW,
            day="2015-11-23",
        )
    )
    store.update_call("CA200", agent_id="oleh")
    response = post(desk, "CA200", {"agent_id": "oleh", "outcome": "cancelled"})
    assert response.status_code == 201
    assert response.json_body["orders_updated"] == ["o5"]
    assert store.get_order("demo", "o5").status == "cancelled"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("call_sid", "body", "status", "field"),
    [
        ("CA100", {"agent_id": "oleh", "outcome": "confirmed"}, 403, "agent_id"),
        ("CA404", {"agent_id": "anna", "outcome": "confirmed"}, 404, "call_sid"),
        ("CA100", {"agent_id": "anna", "outcome": "maybe"}, 422, "outcome"),
        ("CA100", {"agent_id": "anna", "outcome": "callback"}, 422, "callback_at"),
        (
            "CA100",
            {"agent_id": "anna", "outcome": "callback", "callback_at": "2015-11-23T09:00:00+00:00"},
            422,
            "callback_at",
        ),
        (
            "CA100",
            {"agent_id": "anna", "outcome": "callback", "callback_at": "2015-11-24T09:00:00"},
            422,
            "callback_at",
        ),
        (
            "CA100",
            {"agent_id": "anna", "outcome": "callback", "callback_at": "2016-01-24T09:00:00+00:00"},
            422,
            "callback_at",
        ),
    ],
)
def test_refused_outcomes_change_nothing(
    desk: Client, call_sid: str, body: dict[str, Any], status: int, field: str
) -> None:
    agent_dialed_call()
    response = post(desk, call_sid, body)
    assert response.status_code == status
    assert response.json_body["fields"][0]["field"] == field
    assert repository().get_order("demo", "o1").status == "queued"  # type: ignore[union-attr]
    assert list(OutcomeItem.scan()) == []
    assert [t for t in DialTaskItem.scan() if t.kind == "callback"] == []


@pytest.mark.parametrize(
    ("authorization", "body", "status"),
    [
        (None, {"outcome": "confirmed"}, 401),
        ("Bearer demo-shop-key-0001", {"agent_id": "anna", "outcome": "confirmed"}, 401),  # not an agent
        ("Bearer not-a-token-at-all-0000", {"outcome": "confirmed"}, 401),
        ("Bearer demo-agent-oleh-0001", {"agent_id": "anna", "outcome": "confirmed"}, 403),  # speaks for Anna
    ],
)
def test_only_the_agents_own_token_saves_an_outcome(
    desk: Client, authorization: str | None, body: dict[str, Any], status: int
) -> None:
    agent_dialed_call()
    headers = {"Content-Type": "application/json"} | ({"Authorization": authorization} if authorization else {})
    response = desk.http.post("/v1/calls/CA100/outcome", headers=headers, body=json.dumps(body))
    assert response.status_code == status
    assert list(OutcomeItem.scan()) == []
    assert repository().get_order("demo", "o1").status == "queued"  # type: ignore[union-attr]


def test_the_agent_comes_from_the_token_when_the_body_names_none(desk: Client) -> None:
    agent_dialed_call()
    headers = {"Authorization": "Bearer demo-agent-anna-0001", "Content-Type": "application/json"}
    response = desk.http.post("/v1/calls/CA100/outcome", headers=headers, body=json.dumps({"outcome": "confirmed"}))
    assert response.status_code == 201
    assert response.json_body["agent_id"] == "anna"
    assert repository().get_order("demo", "o1").status == "confirmed"  # type: ignore[union-attr]
