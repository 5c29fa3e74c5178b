"""Erasing a customer (#18) on fakes: recordings go at Twilio first, each call forgetting its own
once Twilio has deleted it, so a Twilio failure stops the erasure and a second run finishes it;
an order keeps only its figures; the do-not-call hash is the shop's own and holds no digits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.erasure import Erased, anonymised_payload, do_not_call_hash
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.erasure import erase_customer

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
PHONE = "+380671234599"


class FakeErasure:
    def __init__(self, recordings: dict[str, str]) -> None:
        self.recordings = dict(recordings)  # call sid -> recording sid
        self.erased_with: list[tuple[str, str, set[str]]] = []

    def recordings_of(self, shop_id: str, phone: str) -> list[tuple[str, str]]:
        return sorted(self.recordings.items())

    def forget_recording(self, call_sid: str) -> None:
        del self.recordings[call_sid]

    def order_answer_keys(self, shop_id: str, phone: str) -> list[str]:
        return [] if self.erased_with else ["checkout-41"]  # the orders lose their keys when erased

    def erase(self, shop_id: str, phone: str, groups: set[str], now: datetime) -> Erased:
        self.erased_with.append((shop_id, phone, groups))
        return Erased(orders=1, calls=2)


class FakeTwilio:
    def __init__(self, *, failing: frozenset[str] = frozenset(), gone: frozenset[str] = frozenset()) -> None:
        self.failing, self.gone = failing, gone
        self.deleted: list[str] = []

    def delete_recording(self, recording_sid: str) -> bool:
        if recording_sid in self.failing:
            raise ConnectionError("Twilio unreachable")
        self.deleted.append(recording_sid)
        return recording_sid not in self.gone


SHOP = ShopSettings.model_validate({"shop_id": "demo", "name": "Kvitka"})


class FakeAnswers:
    """The stored answers to the shop's Idempotency-Keys."""

    def __init__(self) -> None:
        self.forgotten: list[tuple[str, list[str]]] = []

    def __call__(self, shop_id: str, keys: list[str]) -> int:
        self.forgotten.append((shop_id, keys))
        return len(keys)


def test_recordings_go_at_twilio_before_the_rest_and_a_failure_leaves_them_for_a_second_run() -> None:
    store, answers = FakeErasure({"CA1": "RE1", "CA2": "RE2"}), FakeAnswers()
    # WHEN Twilio fails on the second recording
    with pytest.raises(ConnectionError):
        erase_customer(
            SHOP,
            PHONE,
            store=store,
            recordings=FakeTwilio(failing=frozenset({"RE2"})),
            order_answers=answers,
            groups={"sales"},
            now=NOW,
        )
    # THEN the first is gone and forgotten, the second kept, and nothing else erased yet
    assert store.recordings == {"CA2": "RE2"} and store.erased_with == [] and answers.forgotten == []
    # WHEN the operator runs it again (RE2 deleted at Twilio meanwhile: 404)
    twilio = FakeTwilio(gone=frozenset({"RE2"}))
    erased = erase_customer(
        SHOP, PHONE, store=store, recordings=twilio, order_answers=answers, groups={"sales"}, now=NOW
    )
    # THEN it finishes: the recording forgotten, the order's stored answer deleted (while the
    # order still named its key), the rest erased, counted
    assert (twilio.deleted, store.recordings) == (["RE2"], {})
    assert answers.forgotten == [("demo", ["checkout-41"])]
    assert store.erased_with == [("demo", PHONE, {"sales"})]
    assert (erased.recordings, erased.order_answers, erased.orders, erased.calls, erased.total()) == (1, 1, 1, 2, 5)


def test_an_order_keeps_only_its_figures() -> None:
    payload = {
        "order_number": "A-1",
        "phone": PHONE,
        "customer_name": "Olena",
        "items": [{"sku": "R-1", "name": "Roses for Olena", "quantity": 3, "price": "100"}],
        "total": "300",
        "currency": "UAH",
        "delivery": {"address": "Kyiv, Khreshchatyk 22"},
        "comment": "ring twice",
        "prepaid": True,
    }
    assert anonymised_payload(payload) == {
        "order_number": "A-1",
        "items": [{"sku": "R-1", "quantity": 3, "price": "100"}],
        "total": "300",
        "currency": "UAH",
        "prepaid": True,
    }


def test_the_do_not_call_hash_is_per_shop_and_holds_no_digits_of_the_number() -> None:
    hashed = do_not_call_hash("demo", PHONE)
    assert hashed == do_not_call_hash("demo", PHONE) != do_not_call_hash("other", PHONE)
    assert hashed.startswith("sha256:") and "1234599" not in hashed
