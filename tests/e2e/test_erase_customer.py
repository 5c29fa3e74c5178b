"""Erasing a customer (#18) through the local stack and the Twilio stand-in: a caller who left a
voicemail (a recorded call, a callback task in the queue), ordered (a delivery notice texted) and
opted out is erased by the shop's API with the number in the body: the recording is deleted at
Twilio, the order keeps its amount and status but not the person, the timeline is empty, and the
customer is still never called. A second erasure, an unknown number and the CLI say so; a bad
number is 422 naming ``phone``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests

from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem, DoNotCallItem
from chalicelib.adapters.dynamo.store import store as dynamo_store
from devtools.simclock import SimClock
from devtools.stack import LocalStack
from devtools.twilio_standin import CallerScript, HangUp, Press, Speak
from tests.e2e.conftest import ShopApi
from tests.e2e.test_delivery_notice import texts_to
from tests.e2e.test_voicemail import SHOP, nobody_at_work  # noqa: F401 (autouse: agents offline)

CUSTOMER = "+380671290001"
NATIONAL = "067 129 00 01"  # the same customer as the shop's form may send it


def erase(shop_api: ShopApi, body: Any) -> requests.Response:
    return shop_api.session.post(f"{shop_api.base_url}/v1/customers/erase", json=body, timeout=30)


def timeline(shop_api: ShopApi, phone: str) -> list[dict[str, Any]]:
    response = shop_api.session.post(f"{shop_api.base_url}/v1/customers/timeline", json={"phone": phone}, timeout=15)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def test_an_erased_customer_leaves_figures_only_and_is_still_never_called(
    stack: LocalStack, shop_api: ShopApi, clock: SimClock
) -> None:
    # GIVEN a caller who left a voicemail (recorded; a callback task waits in the queue)
    call = stack.standin.place_inbound_call(
        CUSTOMER, SHOP, CallerScript([Press("3"), Press("2"), Speak("Call me back please."), HangUp()])
    )
    assert stack.wait_quiet(timeout=30)
    record = CallItem.get(call.call_sid)
    recording_sid, task_id = record.recording_sid, record.callback_task_id
    assert recording_sid and stack.standin.engine.recordings.get(recording_sid) is not None
    # AND who then ordered (the delivery notice was texted) and opted out
    order = shop_api.post_order(
        {
            "order_number": "ER-1",
            "phone": CUSTOMER,
            "customer_name": "Olena Petrenko",
            "total": "300",
            "prepaid": True,
            "delivery": {"address": "Kyiv, Khreshchatyk 22"},
            "comment": "ring twice",
        }
    ).json()
    assert stack.wait_quiet(timeout=60)
    assert len(texts_to(stack, CUSTOMER)) == 1
    assert shop_api.session.post(f"{shop_api.base_url}/v1/do-not-call", json={"phone": CUSTOMER}, timeout=15).ok
    assert {e["type"] for e in timeline(shop_api, CUSTOMER)} >= {"call", "order", "sms", "opt_out"}

    # WHEN the shop erases them, naming the number in the body as its form had it
    response = erase(shop_api, {"phone": NATIONAL})

    # THEN the answer counts what went
    assert response.status_code == 200, response.text
    erased = response.json()["erased"]
    assert erased["orders"] == 1 and erased["calls"] >= 1 and erased["recordings"] == 1
    assert erased["texts"] == 1 and erased["outbox_texts"] == 1 and erased["dedup_claims"] >= 1
    assert erased["callback_tasks"] >= 1 and erased["queue_entries"] >= 1 and erased["do_not_call_hashed"] == 1
    # AND the recording is gone at Twilio, the call keeps its figures without the number
    assert stack.standin.engine.recordings.get(recording_sid) is None
    record = CallItem.get(call.call_sid)
    assert (record.customer_phone, record.recording_sid, record.result) == ("erased", None, "voicemail")
    # AND the order keeps its amount and status but not the person
    kept = shop_api.order(order["id"])
    assert (kept["status"], kept["total"]) == ("confirmed", "300")
    assert CUSTOMER not in str(kept) and "Olena" not in str(kept) and "Khreshchatyk" not in str(kept)
    # AND the timeline, the callback task and the queue entry are gone; the opt-out is a hash only
    assert timeline(shop_api, CUSTOMER) == []
    assert DialTaskItem.count(task_id) == 0
    assert [e for e in dynamo_store().queue_entries("demo", "sales") if e.phone == CUSTOMER] == []
    assert DoNotCallItem.count(f"demo#{CUSTOMER}") == 0
    assert all(CUSTOMER not in item.shop_phone for item in DoNotCallItem.scan())

    # WHEN the shop erases them again, or a number it never knew
    again, unknown = erase(shop_api, {"phone": CUSTOMER}), erase(shop_api, {"phone": "+380671290099"})
    # THEN nothing is erased, and the answer says so
    for answer in (again, unknown):
        assert answer.status_code == 200 and answer.json()["total"] == 0
        assert answer.json()["message"] == "nothing known about this number: nothing erased"

    # WHEN the erased customer orders again (not prepaid: a call would be due)
    clock.advance(timedelta(minutes=1))
    calls_before = len([c for c in stack.standin.calls if c.to == CUSTOMER])
    again_order = shop_api.post_order({"order_number": "ER-2", "phone": CUSTOMER, "total": "150"}).json()
    assert stack.wait_quiet(timeout=60)
    # THEN the hashed opt-out still holds: no call, no text
    assert len([c for c in stack.standin.calls if c.to == CUSTOMER]) == calls_before
    assert shop_api.order(again_order["id"])["status"] == "unreachable"
    assert len(texts_to(stack, CUSTOMER)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12"}, "phone"),
        ({}, "phone"),
        ({"phone": 380671290001}, "phone"),
        ({"phone": CUSTOMER, "name": "x"}, "name"),
    ],
)
def test_a_bad_erasure_request_is_422_naming_the_field(shop_api: ShopApi, body: dict[str, Any], field: str) -> None:
    response = erase(shop_api, body)
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["fields"]] == [field]


def test_the_cli_erases_by_shop_and_phone_and_says_when_there_is_nothing(
    stack: LocalStack, shop_api: ShopApi, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.admin import main

    customer = "+380671290002"
    order = shop_api.post_order(
        {"order_number": "ER-3", "phone": customer, "customer_name": "Ivan", "total": "90", "prepaid": True}
    ).json()
    assert stack.wait_quiet(timeout=60)

    assert main(["erase-customer", "--shop", "demo", "--phone", customer]) == 0
    out = capsys.readouterr().out
    assert "orders               1" in out and "kept: amounts and statuses for the reports" in out
    assert "Ivan" not in str(shop_api.order(order["id"]))

    assert main(["erase-customer", "--shop", "demo", "--phone", customer]) == 0
    assert capsys.readouterr().out == "nothing known about this number in demo: nothing erased\n"
    assert main(["erase-customer", "--shop", "demo", "--phone", "12"]) == 2
    assert "--phone" in capsys.readouterr().err
