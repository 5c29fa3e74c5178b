"""'Call me back' requests from a shop's site (O1) become callback tasks for its agents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import DialTaskItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from chalicelib.clock import FixedClock, use_clock, use_wall_clock

pytestmark = pytest.mark.integration
KEY = {"Authorization": "Bearer demo-shop-key-0001", "Content-Type": "application/json"}
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    use_clock(FixedClock(NOW))
    yield
    use_wall_clock()


def ask(client: Client, body: dict[str, object]) -> object:
    return client.http.post("/v1/callbacks", headers=KEY, body=json.dumps(body))


def test_a_callback_request_as_soon_as_possible_joins_the_queue_once(client: Client) -> None:
    first = ask(client, {"phone": "067 123 45 67", "customer_name": "Olena", "language": "ru"})
    again = ask(client, {"phone": "+380671234567", "customer_name": "Olena", "language": "ru"})
    assert (first.status_code, again.status_code) == (201, 200)  # type: ignore[attr-defined]
    assert first.json_body == again.json_body  # type: ignore[attr-defined]
    task = DialTaskItem.get(first.json_body["id"])  # type: ignore[attr-defined]
    assert (task.kind, task.phone, task.language, task.due_at) == ("callback", "+380671234567", "ru", NOW)
    [entry] = [e for e in dynamo_store().queue_entries("demo", "sales") if e.ref == task.task_id]
    assert (entry.kind, entry.queued_at) == ("callback", NOW)


def test_a_callback_at_a_chosen_time_is_due_then(client: Client) -> None:
    later = datetime(2015, 11, 23, 15, 30, tzinfo=UTC)
    response = ask(client, {"phone": "0671234567", "callback_at": later.isoformat()})
    assert response.status_code == 201  # type: ignore[attr-defined]
    assert DialTaskItem.get(response.json_body["id"]).due_at == later  # type: ignore[attr-defined]
    assert [e for e in dynamo_store().queue_entries("demo", "sales") if e.ref == response.json_body["id"]] == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({}, "phone"),
        ({"phone": "0671234567", "callback_at": "2015-11-20T10:00:00+00:00"}, "callback_at"),
        ({"phone": "0671234567", "callback_at": "2015-11-23T15:00:00"}, "callback_at"),
    ],
)
def test_bad_requests_name_the_field_and_create_nothing(client: Client, body: dict[str, object], field: str) -> None:
    response = ask(client, body)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert response.json_body["fields"][0]["field"] == field  # type: ignore[attr-defined]
    assert [t for t in DialTaskItem.scan() if t.kind == "callback"] == []
