"""An outbound call handed to an outside number that does not answer (#17), through the signed
webhooks on moto: the customer's leg is sent to the apology (in their language, then hung up),
and a callback task waits in the group's queue at the call's place."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem
from chalicelib.adapters.dynamo.store import DynamoStore
from chalicelib.clock import FixedClock
from chalicelib.domain.entities import Call
from chalicelib.web import voice_conference
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import PUBLIC_BASE, signed_post

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
SID = "CA" + "7" * 32


@pytest.fixture
def rest(monkeypatch: pytest.MonkeyPatch) -> FakeTelephony:
    fake = FakeTelephony()
    monkeypatch.setattr(voice_conference, "telephony", lambda: fake)
    return fake


def test_an_outbound_customer_whose_outside_transfer_is_busy_hears_the_apology_and_is_called_back(
    client: Client, clock: FixedClock, rest: FakeTelephony
) -> None:
    # GIVEN a predictive call (the record is the customer's leg) sent cold to an outside number
    store = DynamoStore()
    store.upsert_call(
        Call(
            call_sid=SID,
            shop_id="demo",
            direction="outbound-predictive",
            customer_phone="+380671234567",
            shop_number="+380441234567",
            created_at=NOW - timedelta(minutes=2),
            day="2015-11-23",
            agent_id="oleh",
            result="agent",
            language="uk",
            group="main",
        )
    )
    store.update_call(
        SID,
        result="agent",
        group="main",
        transfer_number="+380442345678",
        transfer_mode="cold",
        transfer_call_sid="CAoutside",
        on_hold=True,
    )
    # WHEN the outside number is busy (its status callback), twice (Twilio retries)
    path = f"/twilio/voice/inbound/outside-leg/status?call={SID}"
    for _ in range(2):
        response = signed_post(client, path, {"CallSid": "CAoutside", "CallStatus": "busy"})
        assert response.status_code in (200, 204)
    # THEN the customer's leg goes to the apology in Ukrainian
    [(redirected, url)] = rest.redirects
    assert redirected == SID and url.startswith(f"{PUBLIC_BASE}/twilio/voice/inbound/transfer-failed?")
    document = ET.fromstring(signed_post(client, url[len(PUBLIC_BASE) :], {"CallSid": SID}).body)
    assert [say.text for say in document.iter("Say")] == [
        "Вибачте, зараз ніхто не зміг прийняти ваш дзвінок. Оператор вам передзвонить, ваше місце в черзі"
        " збережено. До побачення."
    ]
    assert [child.tag for child in document][-1] == "Hangup"
    # AND one callback task waits, due at the call's start, in the group's queue
    record = CallItem.get(SID, consistent_read=True)
    assert record.callback_task_id and record.transfer_number is None and record.result == "agent"
    task = DialTaskItem.get(record.callback_task_id, consistent_read=True)
    assert (task.kind, task.phone, task.due_at) == ("callback", "+380671234567", NOW - timedelta(minutes=2))
    assert [entry.ref for entry in store.queue_entries("demo", "main")] == [record.callback_task_id]


@pytest.mark.parametrize(
    ("language", "heard"),
    [
        ("en", "Sorry, nobody could take your call just now. Please call us again later. Goodbye."),
        (
            "uk",
            "Вибачте, зараз ніхто не зміг прийняти ваш дзвінок. Будь ласка, зателефонуйте нам пізніше. До побачення.",
        ),
        ("ru", "Извините, сейчас никто не смог принять ваш звонок. Пожалуйста, позвоните нам позже. До свидания."),
    ],
)
def test_a_customer_whose_number_takes_no_callback_is_asked_to_call_again_not_promised_a_callback(
    client: Client, clock: FixedClock, rest: FakeTelephony, language: str, heard: str
) -> None:
    # GIVEN a predictive call to a number the demo shop does not call back (not in its country)
    store = DynamoStore()
    store.upsert_call(
        Call(
            call_sid=SID,
            shop_id="demo",
            direction="outbound-predictive",
            customer_phone="+12025550123",
            shop_number="+380441234567",
            created_at=NOW - timedelta(minutes=2),
            day="2015-11-23",
            language=language,
        )
    )
    store.update_call(
        SID, result="agent", transfer_number="+380442345678", transfer_mode="cold", transfer_call_sid="CAoutside"
    )
    # WHEN the outside number does not answer
    path = f"/twilio/voice/inbound/outside-leg/status?call={SID}"
    signed_post(client, path, {"CallSid": "CAoutside", "CallStatus": "no-answer"})
    # THEN no callback is made, and the apology the customer hears promises none
    [(redirected, url)] = rest.redirects
    assert redirected == SID
    document = ET.fromstring(signed_post(client, url[len(PUBLIC_BASE) :], {"CallSid": SID}).body)
    assert [say.text for say in document.iter("Say")] == [heard]
    assert [child.tag for child in document][-1] == "Hangup"
    assert CallItem.get(SID, consistent_read=True).callback_task_id is None
