"""The CRM push (A6) and the managers' email (A5) on moto, fed the tables' real stream records:
an outcome saved twice is one CRM event and one email (also when the stream redelivers), a CRM
that keeps failing gets the same signed body with backoff for a day, then the event is parked,
listed and replayed by the admin CLI, and delivered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import CrmEventItem
from chalicelib.clock import FixedClock, wall_now
from chalicelib.config import reload_settings
from chalicelib.domain.crm import verify_signature
from chalicelib.services import admin
from chalicelib.wiring import repository
from cli.admin import main as admin_cli
from devtools.crm_receiver import CrmReceiver
from tests.integration.conftest import StreamReader
from tests.integration.test_outcomes_moto import agent_dialed_call, body_of, desk, post, sent  # noqa: F401

pytestmark = pytest.mark.integration
SECRET = b"crm-secret-for-tests"


@pytest.fixture
def crm(desk: Client, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[CrmReceiver]:  # noqa: F811 (desk)
    monkeypatch.setenv("CALLCENTER_LOCAL", "1")
    monkeypatch.setenv("CRM_SECRET_KVITKA_CRM", SECRET.decode())
    reload_settings()
    with CrmReceiver(SECRET) as receiver:  # checks signatures against the real clock, as a CRM does
        shop = repository().get_shop("demo")
        assert shop is not None
        settings = shop.model_dump(mode="json") | {"crm": {"url": receiver.url, "secret_name": "kvitka-crm"}}
        admin.create_shop(settings, store=repository(), now=clock.now())
        yield receiver
    reload_settings()


def run(client: Client, function: str, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = client.lambda_.invoke(function, event).payload
    return result


def sweep(client: Client) -> None:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    client.lambda_.invoke("crm_retry", event)


def test_an_outcome_saved_twice_is_one_email_and_one_crm_event_even_when_redelivered(
    desk: Client,  # noqa: F811
    crm: CrmReceiver,
) -> None:
    # GIVEN the agent saved "needs a manager" twice (a double click)
    agent_dialed_call()
    outcomes, outbox = StreamReader("callcenter-call_outcomes"), StreamReader("callcenter-crm_outbox")
    body = {"agent_id": "anna", "outcome": "needs_manager", "comment": "wants a discount"}
    assert [post(desk, "CA100", body).status_code for _ in range(2)] == [201, 200]
    assert sent() == []  # nothing from the request itself

    # WHEN the outcomes stream delivers both saves, and then the same batch again
    batch = outcomes.next_event()
    assert len(batch["Records"]) == 2
    assert run(desk, "outcome_stream", batch) == {"batchItemFailures": []}
    assert run(desk, "outcome_stream", batch) == {"batchItemFailures": []}

    # THEN the managers got one email, and the CRM one event
    [message] = sent()
    subject, text = body_of(message)
    assert "потребує менеджера" in subject and "wants a discount" in text and "A-7" in text
    [event] = list(CrmEventItem.scan())
    assert run(desk, "crm_stream", outbox.next_event()) == {"batchItemFailures": []}
    [received] = crm.delivered()
    assert received.event_id == event.event_id
    document = received.json()
    assert (document["type"], document["data"]["outcome"], document["data"]["comment"]) == (
        "call.outcome",
        "needs_manager",
        "wants a discount",
    )
    assert document["data"]["orders"] == [{"id": "o1", "order_number": "A-7"}]
    assert document["data"]["handled_by"] == ["anna"]  # nobody else talked to the caller
    assert CrmEventItem.get(event.event_id).state == "delivered"


def test_the_crm_event_names_every_agent_who_talked_to_the_caller_in_order(
    desk: Client,  # noqa: F811
    crm: CrmReceiver,
) -> None:
    # GIVEN a call oleh took and transferred to anna, who saves the outcome
    agent_dialed_call()
    repository().update_call("CA100", handled_by=["oleh", "anna"], transfers=1)
    outcomes, outbox = StreamReader("callcenter-call_outcomes"), StreamReader("callcenter-crm_outbox")
    assert post(desk, "CA100", {"agent_id": "anna", "outcome": "confirmed"}).status_code == 201

    # WHEN the outcome's event is made and delivered
    assert run(desk, "outcome_stream", outcomes.next_event()) == {"batchItemFailures": []}
    assert run(desk, "crm_stream", outbox.next_event()) == {"batchItemFailures": []}

    # THEN the CRM hears who handled the call, in order, and who saved the outcome
    [received] = crm.delivered()
    data = received.json()["data"]
    assert (data["agent_id"], data["handled_by"]) == ("anna", ["oleh", "anna"])


def test_a_failing_crm_gets_retries_for_a_day_then_the_event_is_parked_and_replayed(
    desk: Client,  # noqa: F811
    crm: CrmReceiver,
    clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a CRM that answers 503 to everything, and an agent's "confirmed"
    crm.answer_with(503)
    agent_dialed_call()
    outcomes, outbox = StreamReader("callcenter-call_outcomes"), StreamReader("callcenter-crm_outbox")
    orders = StreamReader("callcenter-order_lanes")
    assert post(desk, "CA100", {"agent_id": "anna", "outcome": "confirmed"}).status_code == 201
    run(desk, "outcome_stream", outcomes.next_event())
    modified = [r for r in orders.next_event()["Records"] if r["eventName"] == "MODIFY"]
    assert run(desk, "order_stream", {"Records": modified}) == {"batchItemFailures": []}
    events = {e.kind: e.event_id for e in CrmEventItem.scan()}
    assert set(events) == {"call.outcome", "order.status_changed"}

    # WHEN the outbox stream tries both at once, and the sweep retries them as they come due
    assert run(desk, "crm_stream", outbox.next_event()) == {"batchItemFailures": []}
    start = clock.now()
    while any(CrmEventItem.get(i).state == "pending" for i in events.values()):
        due = min(
            CrmEventItem.get(i).next_attempt_at for i in events.values() if CrmEventItem.get(i).state == "pending"
        )
        clock.instant = max(due, clock.now())
        sweep(desk)
        assert clock.now() - start <= timedelta(days=1, minutes=1)

    # THEN every try carried the same signed body, further and further apart, and both are parked
    for kind, event_id in events.items():
        tries = [r for r in crm.received if r.event_id == event_id]
        assert len(tries) == 13, kind
        assert len({r.body for r in tries}) == 1 and all(r.signature_ok and r.answered == 503 for r in tries)
        record = CrmEventItem.get(event_id)
        assert (record.state, record.attempts, record.last_status) == ("parked", 13, 503)
    assert crm.delivered() == []
    sweep(desk)  # parked events are not retried
    assert len(crm.received) == 26

    # WHEN an operator lists the parked events and replays them once the CRM is back
    capsys.readouterr()  # what the handlers logged so far
    assert admin_cli(["crm-parked", "--shop", "demo"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {item["event_id"] for item in listed} == set(events.values())
    assert all("gave up after 13 tries: HTTP 503" in item["last_error"] for item in listed)
    crm.answer_with(200)
    clock.advance(hours=1)
    assert admin_cli(["crm-replay", "--all-parked"]) == 0
    assert run(desk, "crm_stream", outbox.next_event()) == {"batchItemFailures": []}

    # THEN the CRM has each event once, signed at the real instant it was sent (the CRM compares
    # the signature's time with its own clock, whatever the business clock says)
    delivered = crm.delivered()
    assert sorted(r.event_id for r in delivered) == sorted(events.values())
    for received in delivered:
        verify_signature(received.signature, received.body, SECRET, wall_now())
    assert {CrmEventItem.get(i).state for i in events.values()} == {"delivered"}
    assert admin_cli(["crm-replay", events["call.outcome"]]) == 1  # delivered: nothing to replay


def test_a_crm_url_that_is_not_allowed_in_the_cloud_is_refused_naming_the_field(desk: Client) -> None:  # noqa: F811
    shop = repository().get_shop("demo")
    assert shop is not None
    settings = shop.model_dump(mode="json") | {"crm": {"url": "http://127.0.0.1:9/crm", "secret_name": "kvitka-crm"}}
    with pytest.raises(admin.AdminError, match=r"crm\.url: must not point at a loopback address"):
        admin.create_shop(settings, store=repository(), now=shop_now(), local=False)
    assert repository().get_shop("demo").crm is None  # type: ignore[union-attr]


def shop_now() -> Any:
    from chalicelib.clock import current_clock

    return current_clock().now()


def test_a_failed_manager_email_fails_the_record_and_the_stream_retry_sends_it_once(
    desk: Client,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib import wiring

    real = wiring.mailer

    class SesDown:
        def send(self, email: Any) -> str:
            raise ConnectionError("SES endpoint unreachable")

    monkeypatch.setattr(wiring, "mailer", SesDown)
    agent_dialed_call()
    outcomes = StreamReader("callcenter-call_outcomes")
    assert post(desk, "CA100", {"agent_id": "anna", "outcome": "needs_manager"}).status_code == 201
    batch = outcomes.next_event()
    # WHEN SES is down the record fails (its only record: the whole invocation fails, and
    # Lambda retries the batch), and nothing is sent
    with pytest.raises(BatchProcessingError, match="All records failed"):
        run(desk, "outcome_stream", batch)
    assert sent() == []
    # THEN the retry, and any redelivery after it, send one email
    monkeypatch.setattr(wiring, "mailer", real)
    assert run(desk, "outcome_stream", batch) == {"batchItemFailures": []}
    assert run(desk, "outcome_stream", batch) == {"batchItemFailures": []}
    assert len(sent()) == 1
