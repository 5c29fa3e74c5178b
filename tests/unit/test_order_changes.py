"""What a shop's change does to a stored order, and what a customer whose key was overruled
hears (#16 item 14): pure rules, no storage."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chalicelib.domain.entities import Order
from chalicelib.domain.order_changes import OrderChangeIn, PhoneRefused, order_edit, overruled_reply

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
SLOT = {"start": "2015-11-24T10:00:00+02:00", "end": "2015-11-24T12:00:00+02:00"}


def order(status: str = "queued", **fields: object) -> Order:
    payload = {"customer_name": "Olena", "comment": "", "delivery": {"address": "Kyiv, Khreshchatyk 1", "slot": None}}
    base = Order("demo", "o1", "+380671234567", True, Decimal(100), "UAH", NOW, "2015-11-23", "A-1", None, "Olena")
    base.status, base.payload = status, payload
    for name, value in fields.items():
        setattr(base, name, value)
    return base


def change(**body: object) -> OrderChangeIn:
    return OrderChangeIn.model_validate(body)


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "067 123-45-67"},
        {"phone": "+380 (67) 1234567"},
        {"customer_name": "Olena"},
        {"delivery": {"address": "Kyiv, Khreshchatyk 1"}},
        {"comment": ""},
    ],
)
def test_a_change_that_says_what_the_order_says_changes_nothing(body: dict[str, object]) -> None:
    assert not order_edit(order(), change(**body), "UA").changed


def test_a_new_phone_is_stored_in_e164_and_moves_the_order() -> None:
    edit = order_edit(order(), change(phone="050 111 22 33"), "UA")
    assert edit.fields == {"phone": "+380501112233", "phone_valid": True, "phone_problem": None}
    assert edit.phone_changed


def test_a_phone_that_is_no_number_is_refused() -> None:
    with pytest.raises(PhoneRefused, match="not a valid number"):
        order_edit(order(), change(phone="12"), "UA")


def test_delivery_is_merged_and_the_shops_slot_replaces_the_callers_pick() -> None:
    picked = {"start": "2015-11-24T14:00:00+02:00", "end": "2015-11-24T16:00:00+02:00"}
    edit = order_edit(order(delivery_slot=picked), change(delivery={"slot": SLOT}), "UA")
    assert edit.fields["payload"]["delivery"] == {"address": "Kyiv, Khreshchatyk 1", "slot": SLOT}
    assert edit.forget_caller_slot
    # an address alone keeps the caller's pick
    address = order_edit(order(delivery_slot=picked), change(delivery={"address": "Lviv"}), "UA")
    assert (address.fields["payload"]["delivery"]["address"], address.forget_caller_slot) == ("Lviv", False)


def test_nulls_and_empty_changes_are_named() -> None:
    assert change().problems() == [("body", "send at least one of phone, customer_name, delivery, comment, language")]
    assert change(comment=None, phone="0671234567").problems() == [("comment", "may not be null")]


@pytest.mark.parametrize(
    ("pressed", "statuses", "prompt"),
    [
        ("confirmed", ["cancelled"], "robot_order_cancelled"),
        ("cancelled", ["cancelled"], None),  # already as the customer asked: the usual reply is true
        ("confirmed", ["confirmed"], None),
        ("confirmed", ["queued"], "robot_order_changed"),  # moved to another phone's task
        ("confirmed", ["cancelled", "queued"], "robot_order_changed"),
    ],
)
def test_what_a_customer_hears_when_the_shop_decided_first(pressed: str, statuses: list[str], prompt: str) -> None:
    assert overruled_reply(pressed, [order(status) for status in statuses]) == prompt
