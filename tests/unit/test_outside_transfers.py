"""Which outside numbers a call may be transferred to (#17): only the shop's listed ones, in
E.164, and only where the shop's destinations allow."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.domain.shop import DeskPolicy, ShopSettings
from chalicelib.services.outside_transfers import number_problem

WORKSHOP = "+380442345678"
UK_PREMIUM = "+448712345678"


def _shop(*numbers: str) -> ShopSettings:
    return ShopSettings(shop_id="kvitka", name="Kvitka", desk=DeskPolicy(transfer_numbers=list(numbers)))


def test_the_shops_transfer_numbers_are_kept_in_e164_and_must_be_international() -> None:
    assert _shop("+380 44 234 56 78", WORKSHOP).desk.transfer_numbers == [WORKSHOP]
    with pytest.raises(ValidationError, match="international form"):
        _shop("044 234 56 78")


def test_a_listed_number_is_allowed_however_the_agent_writes_it() -> None:
    assert number_problem(_shop(WORKSHOP), "044 234 5678") == (WORKSHOP, None)


def test_a_number_the_shop_does_not_list_is_refused_naming_the_list() -> None:
    number, problem = number_problem(_shop(WORKSHOP), "+380671112233")
    assert number == "+380671112233"
    assert problem == f"not one of the shop's transfer numbers (desk.transfer_numbers: {WORKSHOP})"
    assert (
        number_problem(_shop(), WORKSHOP)[1] == "not one of the shop's transfer numbers (desk.transfer_numbers: none)"
    )


def test_a_listed_number_the_shops_destinations_forbid_is_refused() -> None:
    number, problem = number_problem(_shop(UK_PREMIUM), UK_PREMIUM)
    assert number == UK_PREMIUM
    assert problem is not None and problem.startswith("the shop does not call this number (")
