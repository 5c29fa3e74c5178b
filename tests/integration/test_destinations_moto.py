"""Toll fraud and SMS pumping (issue 18): the public doors where a phone number enters
(``POST /v1/orders``, ``POST /v1/callbacks``) refuse premium-rate and other non-customer
numbers and numbers outside the shop's countries (422 naming ``phone``), and a new number past
the shop's daily limit (429 naming ``phone``, one alert to the managers that day). On moto,
through the API as the shop's site calls it; the limit is set with the operator's CLI."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib import wiring
from chalicelib.adapters.dynamo.schema import DialTaskItem, OrderItem
from chalicelib.clock import FixedClock
from chalicelib.wiring import repository
from cli.admin import main as admin_cli
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import API_KEY, NOW, REGION, post_order

pytestmark = pytest.mark.integration
KEY = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
UA_MOBILE = "+380671234567"
SENDER = "reports@kvitka.example"  # the demo shop's report sender, verified in (moto) SES below

# Numbers a stranger could type into the checkout, and what the shop's developer reads back.
REFUSED = [
    pytest.param("+19005550123", "premium-rate numbers are never called", id="US premium 900"),
    pytest.param("+44 909 876 5432", "premium-rate numbers are never called", id="UK premium 09xx"),
    pytest.param("+49 180 1234567", "shared-cost numbers are never called", id="DE shared-cost 0180"),
    pytest.param("+44 70 1234 5678", "personal (forwarding) numbers are never called", id="UK personal 070"),
    pytest.param("+44 55 1234 5678", "universal access (company) numbers are never called", id="UK UAN 055"),
    pytest.param(
        "0 800 123 456", "toll-free numbers are never called: give the customer's own number", id="UA toll-free 0800"
    ),
    pytest.param(
        "+1 201 555 0123", "calls to US are not allowed for this shop: it calls UA", id="US number for a UA shop"
    ),
]


@pytest.fixture
def telephony(monkeypatch: pytest.MonkeyPatch) -> FakeTelephony:
    fake = FakeTelephony()
    monkeypatch.setattr(wiring, "telephony", lambda: fake)
    return fake


@pytest.fixture
def ses(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    monkeypatch.delenv("SES_REGION", raising=False)
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
    yield ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages


def read(message: Any) -> tuple[str, str]:
    """The email's subject and plain text as the owner's mail program shows them."""
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    return str(parsed["Subject"]), body.get_content()


def ask_callback(client: Client, phone: str) -> Any:
    return client.http.post("/v1/callbacks", headers=KEY, body=json.dumps({"phone": phone, "customer_name": "Olena"}))


def order(phone: str, number: str = "K-1") -> dict[str, Any]:
    return {"order_number": number, "phone": phone, "customer_name": "Olena", "total": "500"}


def callback_tasks() -> list[DialTaskItem]:
    return [task for task in DialTaskItem.scan() if task.kind == "callback"]


def set_daily_limit(capsys: pytest.CaptureFixture[str], limit: int) -> None:
    capsys.readouterr()
    settings = json.dumps({"destinations": {"new_numbers_per_day": limit}})
    assert admin_cli(["create-shop", "--id", "demo", "--name", "Kvitka Flowers", "--settings", settings]) == 0
    assert capsys.readouterr().out == "shop demo saved\n"


@pytest.mark.parametrize(("phone", "message"), REFUSED)
def test_an_order_for_a_number_the_shop_never_calls_is_refused_naming_phone(
    client: Client, clock: FixedClock, phone: str, message: str
) -> None:
    response = post_order(client, order(phone))
    assert response.status_code == 422
    assert response.json_body["error"] == "validation_failed"
    assert response.json_body["fields"] == [{"field": "phone", "message": message}]
    assert response.json_body["message"] == f"phone: {message}"
    assert list(OrderItem.scan()) == []  # nothing stored, nothing queued for the robot


@pytest.mark.parametrize(("phone", "message"), REFUSED)
def test_a_callback_request_for_a_number_the_shop_never_calls_is_refused_naming_phone(
    client: Client, clock: FixedClock, phone: str, message: str
) -> None:
    response = ask_callback(client, phone)
    assert response.status_code == 422
    assert response.json_body["fields"] == [{"field": "phone", "message": message}]
    assert callback_tasks() == []


def test_a_ukrainian_mobile_is_taken_at_both_doors(client: Client, clock: FixedClock) -> None:
    placed = post_order(client, order("067 123 45 67"))
    asked = ask_callback(client, "067 123 45 67")
    assert (placed.status_code, asked.status_code) == (201, 201)
    assert placed.json_body["phone"] == asked.json_body["phone"] == UA_MOBILE
    assert [task.phone for task in callback_tasks()] == [UA_MOBILE]


def test_a_shop_that_lists_its_countries_takes_their_numbers_and_no_others(
    client: Client, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    settings = json.dumps({"destinations": {"countries": ["ua", "PL"]}})
    assert admin_cli(["create-shop", "--id", "demo", "--name", "Kvitka Flowers", "--settings", settings]) == 0
    assert post_order(client, order("+48 512 345 678")).status_code == 201
    refused = post_order(client, order("+49 1512 3456789", "K-2"))
    assert refused.status_code == 422
    assert refused.json_body["fields"][0]["message"] == "calls to DE are not allowed for this shop: it calls UA, PL"


def test_an_unknown_country_in_the_settings_is_refused_by_the_cli_and_changes_nothing(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    settings = json.dumps({"destinations": {"countries": ["XX"]}})
    assert admin_cli(["create-shop", "--id", "demo", "--name", "Kvitka Flowers", "--settings", settings]) != 0
    assert "destinations.countries" in capsys.readouterr().err
    shop = repository().get_shop("demo")
    assert shop is not None and shop.destination_regions == ("UA",)


def test_past_the_daily_limit_new_numbers_get_429_and_the_managers_one_alert(
    client: Client,
    clock: FixedClock,
    telephony: FakeTelephony,
    ses: list[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the demo shop limited to 3 new numbers a day
    set_daily_limit(capsys, 3)

    # WHEN three customers order, one of them twice, and one asks for a callback
    taken = [
        post_order(client, order("+380671234561", "K-1")),
        post_order(client, order("+380671234562", "K-2")),
        post_order(client, order("+380671234561", "K-3")),  # the same customer: not a new number
        ask_callback(client, "+380671234563"),
    ]
    # THEN all are taken, and no alert has gone
    assert [response.status_code for response in taken] == [201, 201, 201, 201]
    assert list(ses) == [] and telephony.texts == []

    # WHEN a fourth new number comes, and more after it, at both doors
    refused = [
        post_order(client, order("+380671234564", "K-4")),
        post_order(client, order("+380671234565", "K-5")),
        ask_callback(client, "+380671234566"),
        post_order(client, order("+380671234564", "K-6")),
    ]
    # THEN each is refused naming phone, with when to try again (the shop's next local day)
    assert [response.status_code for response in refused] == [429, 429, 429, 429]
    body = refused[0].json_body
    assert body["error"] == "too_many_new_numbers"
    assert body["fields"][0]["field"] == "phone"
    assert "3 new phone numbers today" in body["message"] and "new_numbers_per_day" in body["message"]
    assert refused[0].headers["Retry-After"] == str(12 * 3600)  # NOW is 12:00 in Kyiv
    assert {o.phone for o in OrderItem.scan()} == {"+380671234561", "+380671234562"}

    # AND the managers got exactly one email and one text about it
    [message] = list(ses)
    assert set(message.destinations) == {"owner@kvitka.example"}
    subject, text_body = read(message)
    assert subject == "Kvitka Flowers: досягнуто денного ліміту в 3 нових номерів телефону"  # the shop speaks Ukrainian
    assert f"Сьогодні ({NOW.date().isoformat()}) магазин прийняв 3 нових номерів" in text_body
    [text] = telephony.texts
    assert text["to"] == "+380661234500" and "3" in text["body"]

    # AND numbers already taken today are still taken
    assert post_order(client, order("+380671234562", "K-7")).status_code == 201
    assert ask_callback(client, "+380671234563").status_code == 200

    # AND the next local day the count starts again, and the alert may go again
    clock.advance(hours=12)
    assert post_order(client, order("+380671234564", "K-8")).status_code == 201
    assert len(list(ses)) == 1
