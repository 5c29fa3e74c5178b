"""Whom a shop's calls and texts may reach (issue 18, toll fraud and SMS pumping): the pure check
over every number type phonenumbers knows, the shop's setting, and the last line of defence
where calls are placed and texts sent (a number stored before the doors checked it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType
from pydantic import ValidationError

from chalicelib.domain.entities import DialTask
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.phones import destination_problem
from chalicelib.domain.routing import Agent
from chalicelib.domain.shop import ShopSettings, merged_settings
from chalicelib.services import agent_dialer, dialer, intake, messaging
from chalicelib.services.destinations import destination_refusal, seconds_to_next_day
from tests.fakes.dialing import FakeAgentDialStore
from tests.fakes.links import FakeAgentDialUrls, FakeUrls
from tests.fakes.store import FakeStore
from tests.fakes.texts import text_line
from tests.fakes.twilio import FakeTelephony

NOON = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv, inside calling hours
REFUSED_TYPES = {
    PhoneNumberType.PREMIUM_RATE: "premium-rate numbers are never called",
    PhoneNumberType.SHARED_COST: "shared-cost numbers are never called",
    PhoneNumberType.PERSONAL_NUMBER: "personal (forwarding) numbers are never called",
    PhoneNumberType.UAN: "universal access (company) numbers are never called",
    PhoneNumberType.TOLL_FREE: "toll-free numbers are never called: give the customer's own number",
    PhoneNumberType.PAGER: "pager numbers are never called",
    PhoneNumberType.VOICEMAIL: "voicemail access numbers are never called",
}
CALLED_TYPES = (
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.VOIP,
)
REGIONS = ("UA", "GB", "DE", "US", "FR", "PL", "IT", "AT")


def example(region: str, kind: int) -> str | None:
    number = phonenumbers.example_number_for_type(region, kind)
    return None if number is None else phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def examples(kinds: object) -> list[tuple[str, int, str]]:
    found = [(region, kind, example(region, kind)) for region in REGIONS for kind in kinds]  # type: ignore[attr-defined]
    return [(region, kind, number) for region, kind, number in found if number is not None]


@pytest.mark.parametrize(("region", "kind", "number"), examples(REFUSED_TYPES))
def test_every_number_type_that_is_no_customers_own_line_is_refused_in_words(
    region: str, kind: int, number: str
) -> None:
    # Even in the shop's own country.
    assert destination_problem(number, (region,)) == REFUSED_TYPES[kind]


@pytest.mark.parametrize(("region", "kind", "number"), examples(CALLED_TYPES))
def test_fixed_mobile_and_voip_lines_of_the_shops_countries_are_called(region: str, kind: int, number: str) -> None:
    assert destination_problem(number, (region,)) is None
    assert destination_problem(number, ("UA", region)) is None


def test_every_refused_type_phonenumbers_knows_has_an_example_here() -> None:
    assert {kind for _, kind, _ in examples(REFUSED_TYPES)} == set(REFUSED_TYPES)


def test_a_number_of_another_country_is_refused_naming_both() -> None:
    assert destination_problem("+12015550123", ("UA",)) == "calls to US are not allowed for this shop: it calls UA"
    assert destination_problem("+4915123456789", ("UA", "PL")) == (
        "calls to DE are not allowed for this shop: it calls UA, PL"
    )


def test_numbers_of_international_networks_name_their_code() -> None:
    satellite = phonenumbers.example_number_for_non_geo_entity(882)  # a mobile of an international network
    assert satellite is not None and phonenumbers.number_type(satellite) == PhoneNumberType.MOBILE
    number = phonenumbers.format_number(satellite, phonenumbers.PhoneNumberFormat.E164)
    assert destination_problem(number, ("UA",)) == (
        "calls to international networks (+882) are not allowed for this shop: it calls UA"
    )


@pytest.mark.parametrize("number", ["+380", "not a number", "+38067"])
def test_a_broken_number_is_never_called(number: str) -> None:
    assert destination_problem(number, ("UA",)) is not None


# ---- the shop's setting ---------------------------------------------------------------------
def shop(**settings: object) -> ShopSettings:
    return ShopSettings.model_validate({"shop_id": "demo", "name": "Kvitka", "caller_id": "+380441234567", **settings})


def test_a_shop_calls_its_own_region_unless_it_lists_countries() -> None:
    assert shop().destination_regions == ("UA",)
    assert shop(default_region="PL").destination_regions == ("PL",)
    listed = shop(destinations={"countries": ["ua", " pl ", "UA"], "new_numbers_per_day": 50})
    assert listed.destination_regions == ("UA", "PL")
    assert listed.destinations.new_numbers_per_day == 50


@pytest.mark.parametrize(
    "destinations",
    [{"countries": ["XX"]}, {"countries": ["Ukraine"]}, {"new_numbers_per_day": 0}, {"allow": True}],
)
def test_a_bad_destination_setting_names_its_field(destinations: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as error:
        shop(destinations=destinations)
    assert "destinations" in str(error.value)


def test_an_update_of_the_limit_keeps_the_countries() -> None:
    stored = shop(destinations={"countries": ["UA", "PL"]}).model_dump(mode="json")
    updated = ShopSettings.model_validate(merged_settings(stored, {"destinations": {"new_numbers_per_day": 3}}))
    assert (updated.destination_regions, updated.destinations.new_numbers_per_day) == (("UA", "PL"), 3)


def test_429s_retry_after_is_the_shops_next_local_midnight() -> None:
    assert seconds_to_next_day(shop(), NOON) == 12 * 3600
    # The night the clocks go back in Kyiv (25 hours): from 00:00 local, 25 hours to the next day.
    assert seconds_to_next_day(shop(), datetime(2015, 10, 24, 21, 0, tzinfo=UTC)) == 25 * 3600


class Ledger:
    def __init__(self) -> None:
        self.claims: list[str] = []

    def claim_destination(self, shop_id: str, day: str, number: str, cap: int, now: datetime) -> bool:
        self.claims.append(number)
        return False


def test_a_refused_number_is_never_counted_and_a_non_number_is_left_to_the_door() -> None:
    ledger, alerts = Ledger(), []
    refusal = destination_refusal(
        shop(), "+19005550123", ledger=ledger, now=NOON, alert=lambda *args: alerts.append(args)
    )
    assert refusal is not None and (refusal.status, refusal.message) == (422, "premium-rate numbers are never called")
    assert destination_refusal(shop(), "12", ledger=ledger, now=NOON, alert=lambda *args: None) is None
    assert ledger.claims == [] and alerts == []


def test_a_failed_alert_still_refuses_the_number() -> None:
    def failing(*args: object) -> None:
        raise ConnectionError("SES unreachable")

    refusal = destination_refusal(shop(), "+380671234567", ledger=Ledger(), now=NOON, alert=failing)
    assert refusal is not None and refusal.status == 429


# ---- the last line: a number stored before the doors checked it ----------------------------
def stored_order(store: FakeStore | FakeAgentDialStore, settings: ShopSettings, phone: str, **fields: object) -> str:
    """An order taken before the doors checked numbers (or by a way around them)."""
    body = {"phone": phone, "total": "100", "order_number": "A-1", "customer_name": "Olena", **fields}
    order_id = intake.new_order_id(NOON, "+380671234567")
    intake.accept_order(settings, OrderIn.model_validate(body), store=store, now=NOON, order_id=order_id)
    intake.decide_new_order(settings, order_id, store=store, tasks=store, now=NOON)
    return order_id


EVENING = datetime(2015, 11, 23, 18, 0, tzinfo=UTC)  # 20:00 in Kyiv, 13:00 in New Jersey: both may be called


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("+19005550123", "number refused: premium-rate numbers are never called"),
        ("+12015550123", "number refused: calls to US are not allowed for this shop: it calls UA"),
    ],
)
def test_the_robot_never_calls_nor_texts_a_refused_number_and_the_order_ends_unreachable(
    phone: str, reason: str
) -> None:
    settings = shop()
    store = FakeStore([settings])
    order_id = stored_order(store, settings, phone)
    order = store.get_order("demo", order_id)
    assert order is not None and order.status == "queued" and order.task_id
    telephony = FakeTelephony()

    assert (
        dialer.dial_task(settings, order.task_id, store=store, telephony=telephony, urls=FakeUrls(), now=EVENING)
        is None
    )

    assert telephony.placed == []
    ended = store.orders[("demo", order_id)]
    assert (ended.status, ended.route_reason) == ("unreachable", reason)
    task = store.get_task(order.task_id)
    assert task is not None and (task.state, task.last_call_result) == ("failed", "refused-number")
    assert messaging.ask_by_sms(settings, ended, line=text_line(store, telephony), now=EVENING) is None
    assert telephony.texts == [] and store.messages == []


def test_no_agent_is_rung_for_a_refused_customer_or_callback_number() -> None:
    settings = shop()
    store = FakeAgentDialStore([settings])
    store.add_agent(
        Agent(
            shop_id="demo",
            agent_id="oleh",
            name="Oleh",
            client_identity="oleh",
            groups=["sales"],
            languages=["uk"],
            status="available",
            status_since=NOON - timedelta(hours=1),
        )
    )
    order_id = stored_order(store, settings, "+447012345678", needs_call=True)
    store.insert_task(
        DialTask(
            task_id="cb_1",
            shop_id="demo",
            phone="+449098765432",
            order_ids=[],
            language="uk",
            created_at=NOON,
            kind="callback",
            state="waiting",
            due_at=NOON,
        )
    )
    telephony = FakeTelephony()

    placed = agent_dialer.dial_for_free_agents(
        settings, store=store, telephony=telephony, urls=FakeAgentDialUrls(), now=NOON
    )

    assert placed == [] and telephony.placed == []
    assert store.get_order("demo", order_id).status == "unreachable"  # type: ignore[union-attr]
    assert store.get_task("cb_1").state == "failed"  # type: ignore[union-attr]
    assert [a.status for a in store.list_agents("demo")] == ["available"]


def test_a_text_from_a_premium_rate_number_is_kept_but_never_answered() -> None:
    settings = shop()
    store = FakeStore([settings])
    assert messaging.receive_sms(settings, "+449098765432", "hello?", None, "SM1", store=store, now=NOON) == []
    assert [(m.phone, m.body) for m in store.messages] == [("+449098765432", "hello?")]
    # A customer of the shop's country still gets the answer.
    assert messaging.receive_sms(settings, "+380671234567", "hello?", None, "SM2", store=store, now=NOON) != []
