"""Races that only the real engine can judge: moto checks a condition and writes in two steps, so
threads racing on moto can both win. On DynamoDB Local, as on DynamoDB, a conditional write is
atomic: two callers never get one agent, two placements never get one call slot."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.adapters.dynamo.schema import AgentItem
from chalicelib.adapters.dynamo.store import DynamoStore
from tests.integration.conftest import dynamodb_local_tables

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-central-1"
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine() -> Iterator[None]:
    with dynamodb_local_tables(demo_config_at=NOW):
        yield


def test_two_callers_racing_for_one_agent_get_it_once(engine: None) -> None:
    store = DynamoStore()
    AgentItem("demo", "anna").update(actions=[AgentItem.status.set("available")])
    anna = store.get_agent("demo", "anna")
    assert anna is not None

    def reserve(call_sid: str) -> bool:
        return store.reserve_agent(anna, call_sid, NOW, wrap_up_seconds=30, timezone="Europe/Kyiv")

    with ThreadPoolExecutor(4) as pool:
        won = list(pool.map(reserve, ["CA1", "CA2", "CA3", "CA4"]))
    assert won.count(True) == 1
    reserved = store.get_agent("demo", "anna")
    assert reserved is not None and reserved.status == "busy"
    assert reserved.reserved_call_sid == ["CA1", "CA2", "CA3", "CA4"][won.index(True)]
    # releasing for another call does nothing; for the right one ends in wrap-up
    assert not store.release_agent("demo", "anna", "CA-other", "wrap-up", NOW, timezone="Europe/Kyiv")
    assert store.release_agent("demo", "anna", reserved.reserved_call_sid, "wrap-up", NOW, timezone="Europe/Kyiv")
    assert not reserve("CA5")  # wrap-up is not over yet
    fresh = store.get_agent("demo", "anna")
    assert fresh is not None
    assert store.reserve_agent(fresh, "CA6", NOW + timedelta(seconds=31), wrap_up_seconds=30, timezone="Europe/Kyiv")


def test_parallel_placements_each_get_their_own_call_slot(engine: None) -> None:
    # GIVEN one call per second on an account, and eight placements at the same instant
    store = DynamoStore()
    now = NOW.timestamp()
    # WHEN they all ask for a slot at once
    with ThreadPoolExecutor(max_workers=4) as pool:
        slots = list(pool.map(lambda _: store.reserve_call_slot("AC1", now, 1.0, 5.0), range(8)))
    # THEN the first six get distinct slots a second apart, the others none (beyond 5 s of waiting)
    granted = sorted(slot.at - now for slot in slots if slot is not None)
    assert granted == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    # and another account has its own timeline
    other = store.reserve_call_slot("AC2", now, 1.0, 5.0)
    assert other is not None and other.at == now


def test_orders_racing_for_a_shops_last_new_numbers_are_counted_exactly(engine: None) -> None:
    # Toll fraud (issue 18): a shop's cap of new numbers a day holds however many orders race.
    from chalicelib.adapters.dynamo.schema import DedupClaimItem

    store = DynamoStore()
    numbers = [f"+38067{1_000_000 + index:07d}" for index in range(12)]

    def claim(number: str) -> bool:
        return store.claim_destination("race", "2015-11-23", number, 5, NOW)

    with ThreadPoolExecutor(6) as pool:
        taken = list(pool.map(claim, numbers))
    assert taken.count(True) == 5
    # The same number from several requests at once is one new number (a repeat, not a new one).
    with ThreadPoolExecutor(6) as pool:
        again = list(pool.map(lambda _: store.claim_destination("race", "2015-11-24", numbers[0], 5, NOW), range(6)))
    assert again == [True] * 6
    assert DedupClaimItem.get("race#dest#2015-11-23", consistent_read=True).new_numbers == 5
    assert DedupClaimItem.get("race#dest#2015-11-24", consistent_read=True).new_numbers == 1
    # Numbers taken that day still pass once the cap is reached; new ones do not.
    assert [claim(n) for n, won in zip(numbers, taken, strict=True) if won] == [True] * 5
    assert claim("+380672222222") is False


def test_many_placements_at_once_share_the_accounts_limit_window_by_window(engine: None) -> None:
    # GIVEN an account allowed 10 calls a second and 40 placements from many shops at once (#19)
    store = DynamoStore()
    now = NOW.timestamp()
    # WHEN they all ask for a slot, waiting at most 2 s
    with ThreadPoolExecutor(max_workers=8) as pool:
        slots = list(pool.map(lambda _: store.reserve_call_slot("AC10", now, 10.0, 2.0), range(40)))
    # THEN three windows of ten are granted (now, +1 s, +2 s), never more in one second, the rest none
    granted = [slot.at - now for slot in slots if slot is not None]
    assert len(granted) == 30
    assert [sum(1 for at in granted if second <= at < second + 1) for second in (0, 1, 2)] == [10, 10, 10]
    assert len(set(granted)) == 30  # each its own instant, a tenth of a second apart
