"""Delivery slots offered to a caller (I4): windows per weekday in the shop's zone, a lead
time, closed days, daylight-saving days, and the digit a caller presses mapped back to the
slot that was read out. The clock is always passed in."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.delivery_slots import WEEKDAYS, DeliverySlot, day_word, offered_slots, wall_clock
from chalicelib.domain.entities import Call
from chalicelib.domain.shop import DeliverySlotPolicy, DeliveryWindow, ShopSettings
from chalicelib.services import inbound
from chalicelib.voice import inbound_twiml as tw
from chalicelib.voice.catalog import load_catalog

KYIV = ZoneInfo("Europe/Kyiv")


def policy(**changes: object) -> DeliverySlotPolicy:
    weekdays = {
        day: [DeliveryWindow(start=time(10), end=time(14)), DeliveryWindow(start=time(14), end=time(18))]
        for day in ("mon", "tue", "wed", "thu", "fri")
    }
    values: dict[str, object] = {"weekly": weekdays, "lead_minutes": 120, "days_offered": 3, "max_offered": 8}
    return DeliverySlotPolicy.model_validate(values | changes)


def kyiv(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=KYIV)


def starts(slots: list[DeliverySlot]) -> list[str]:
    return [slot.start.astimezone(KYIV).strftime("%a %H:%M") for slot in slots]


def test_a_slot_starting_within_the_lead_time_is_not_offered() -> None:
    # GIVEN Monday 09:00 in Kyiv and a two-hour lead; WHEN slots are offered
    slots = offered_slots(policy(), KYIV, kyiv(2015, 11, 23, 9).astimezone(UTC))
    # THEN 10:00 today is too soon (11:00 is the earliest start), 14:00 today is fine
    assert starts(slots) == ["Mon 14:00", "Tue 10:00", "Tue 14:00", "Wed 10:00", "Wed 14:00"]


def test_a_slot_exactly_at_the_lead_time_is_offered() -> None:
    slots = offered_slots(policy(), KYIV, kyiv(2015, 11, 23, 8))
    assert starts(slots)[0] == "Mon 10:00"


def test_days_without_windows_and_closed_days_are_skipped_but_still_count_as_days() -> None:
    # GIVEN Friday evening: Saturday and Sunday have no windows, Monday is closed
    closed = policy(closed_on=[date(2015, 11, 30)], days_offered=4)
    # WHEN offered on Friday 20:00 (today's windows are past)
    slots = offered_slots(closed, KYIV, kyiv(2015, 11, 27, 20))
    # THEN nothing: Fri (past), Sat, Sun (no windows), Mon (closed) are the four days
    assert slots == []
    # AND a fifth day brings Tuesday
    assert starts(offered_slots(closed.model_copy(update={"days_offered": 5}), KYIV, kyiv(2015, 11, 27, 20))) == [
        "Tue 10:00",
        "Tue 14:00",
    ]


def test_at_most_max_offered_earliest_first() -> None:
    slots = offered_slots(policy(max_offered=2), KYIV, kyiv(2015, 11, 23, 6))
    assert starts(slots) == ["Mon 10:00", "Mon 14:00"]


def test_windows_keep_their_wall_clock_times_across_the_spring_change() -> None:
    # GIVEN Kyiv goes from +02:00 to +03:00 at 03:00 on Sunday 29 March 2015; windows every day
    every_day = policy(weekly={day: [DeliveryWindow(start=time(10), end=time(14))] for day in WEEKDAYS})
    # WHEN offered on Saturday morning
    slots = offered_slots(every_day, KYIV, kyiv(2015, 3, 28, 6))
    # THEN 10:00 local both days, which is 08:00 UTC before the change and 07:00 UTC after
    assert [slot.start.astimezone(UTC).strftime("%d %H:%M") for slot in slots] == ["28 08:00", "29 07:00", "30 07:00"]
    assert all(slot.end - slot.start == timedelta(hours=4) for slot in slots)


def test_a_window_starting_in_the_spring_gap_starts_when_the_clock_resumes() -> None:
    sunday = policy(
        weekly={"sun": [DeliveryWindow(start=time(3, 30), end=time(6)), DeliveryWindow(start=time(3), end=time(4))]},
        lead_minutes=0,
    )
    slots = offered_slots(sunday, KYIV, kyiv(2015, 3, 29, 0))
    # 03:30 does not exist: the window runs from 04:30 (+03:00) to 06:00; 03:00-04:00 is empty
    assert [slot.as_record(KYIV) for slot in slots] == [
        {"start": "2015-03-29T04:30:00+03:00", "end": "2015-03-29T06:00:00+03:00"}
    ]


def test_an_ambiguous_autumn_time_is_its_first_occurrence() -> None:
    # Kyiv goes back from 04:00 (+03:00) to 03:00 (+02:00) on Sunday 25 October 2015
    start = wall_clock(date(2015, 10, 25), time(3, 30), KYIV)
    assert start == datetime(2015, 10, 25, 0, 30, tzinfo=UTC)
    sunday = policy(weekly={"sun": [DeliveryWindow(start=time(2), end=time(6))]}, lead_minutes=0)
    [slot] = offered_slots(sunday, KYIV, kyiv(2015, 10, 25, 0))
    assert slot.end - slot.start == timedelta(hours=5)  # the repeated hour makes the window longer
    assert slot.as_record(KYIV) == {"start": "2015-10-25T02:00:00+03:00", "end": "2015-10-25T06:00:00+02:00"}


def test_the_shops_local_date_decides_today_and_tomorrow() -> None:
    # 23:30 UTC on Sunday is 01:30 on Monday in Kyiv
    now = datetime(2015, 11, 22, 23, 30, tzinfo=UTC)
    slots = offered_slots(policy(max_offered=8), KYIV, now)
    assert [day_word(slot, now, KYIV) for slot in slots] == ["today", "today", "tomorrow", "tomorrow", "wed", "wed"]


def test_no_windows_no_slots() -> None:
    assert offered_slots(DeliverySlotPolicy(), KYIV, kyiv(2015, 11, 23, 6)) == []


def test_a_window_must_start_before_it_ends() -> None:
    with pytest.raises(ValueError, match="start before"):
        DeliveryWindow(start=time(14), end=time(10))


@pytest.mark.parametrize("days", [0, 8])
def test_days_offered_stays_within_a_week(days: int) -> None:
    # More than 7 days would make "on Monday" ambiguous.
    with pytest.raises(ValueError):
        DeliverySlotPolicy(days_offered=days)


@pytest.mark.parametrize("language", ["uk", "ru", "en"])
def test_every_day_word_is_in_every_catalog(language: str) -> None:
    catalog = load_catalog(language)
    for word in ("today", "tomorrow", *WEEKDAYS):
        assert catalog.text(f"inbound_day_{word}").strip()


# ---- the digit a caller presses -------------------------------------------------------------
def context(slot_policy: DeliverySlotPolicy) -> inbound.CallContext:
    shop = ShopSettings(shop_id="demo", name="Kvitka", timezone="Europe/Kyiv")
    shop = shop.model_copy(update={"inbound": shop.inbound.model_copy(update={"delivery_slots": slot_policy})})
    call = Call("CA1", "demo", "inbound", "+380671112233", "+380441234567", kyiv(2015, 11, 23, 9), "2015-11-23")
    return inbound.CallContext(shop, call)


def test_a_digit_maps_to_the_slot_read_out_at_that_instant_even_when_time_moved_on() -> None:
    ctx = context(policy())
    read_at = kyiv(2015, 11, 23, 7, 59)  # 10:00 still offered (lead 2 h)
    later = kyiv(2015, 11, 23, 8, 1)  # a fresh list would start at 14:00
    slot = inbound.offered_slot(ctx, read_at, "1", later)
    assert slot is not None and slot.start == kyiv(2015, 11, 23, 10)
    assert inbound.delivery_slots(ctx, later)[0].start == kyiv(2015, 11, 23, 14)


@pytest.mark.parametrize("digits", [None, "", "0", "9", "*", "x"])
def test_a_digit_with_no_slot_behind_it_is_none(digits: str | None) -> None:
    assert (
        inbound.offered_slot(context(policy(max_offered=3)), kyiv(2015, 11, 23, 6), digits, kyiv(2015, 11, 23, 6))
        is None
    )


def test_a_slot_that_has_started_is_no_longer_taken() -> None:
    ctx = context(policy(lead_minutes=0))
    assert inbound.offered_slot(ctx, kyiv(2015, 11, 23, 9), "1", kyiv(2015, 11, 23, 10)) is None


# ---- what the caller hears ------------------------------------------------------------------
def test_the_order_menu_offers_3_for_a_slot_only_when_there_are_slots() -> None:
    catalog = load_catalog("en")
    with_slots = ET.fromstring(tw.orders_menu(catalog, [], "https://x/a", "https://x/a", choose=False, slots=True))
    without = ET.fromstring(tw.orders_menu(catalog, [], "https://x/a", "https://x/a", choose=False))
    assert "To choose a delivery time, press 3." in with_slots.findtext("./Gather/Say", "")
    assert "delivery" in with_slots.find("./Gather").get("hints", "")  # type: ignore[union-attr]
    assert "press 3" not in without.findtext("./Gather/Say", "")


def test_the_slot_menu_reads_each_slot_with_its_digit_then_the_agent() -> None:
    catalog = load_catalog("en")
    lines: list[tuple[str, dict[str, object]]] = [
        ("inbound_slot_intro", {}),
        ("inbound_slot_option", {"day": "tomorrow", "start": "10:00", "end": "14:00", "digit": 1}),
    ]
    root = ET.fromstring(tw.slot_menu(catalog, lines, "https://x/slot", "https://x/slot"))
    said = [say.text for say in root.findall("./Gather/Say")]
    assert said == [
        "We can deliver at these times.",
        "For delivery tomorrow from 10:00 to 14:00, press 1.",
        "To speak to an agent, press 0.",
    ]
    assert root.find("./Gather").get("numDigits") == "1"  # type: ignore[union-attr]
    assert root.find("./Redirect").text == "https://x/slot"  # type: ignore[union-attr]
