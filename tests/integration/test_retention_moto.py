"""Retention (#18): a customer's orders, calls (with their recordings' metadata), texts and
outcomes carry a TTL of the shop's ``privacy.retention_days`` (default 365) from the real instant
they are written, whatever the business date; a shop may not keep less than the reports read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.schema import CallItem, MessageItem, OrderItem, OutcomeItem
from chalicelib.clock import FixedClock, use_clock, use_wall_clock, wall_now
from chalicelib.domain.entities import Call, TextMessage
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.outcomes import SavedOutcome
from chalicelib.services import admin, intake
from chalicelib.wiring import repository

pytestmark = pytest.mark.integration

LONG_AGO = datetime(2001, 3, 5, 10, 0, tzinfo=UTC)  # business time, far from any real date
SLACK = timedelta(minutes=5)
PHONE = "+380671112299"


@pytest.fixture
def long_ago(aws: None) -> Iterator[FixedClock]:
    clock = FixedClock(LONG_AGO)
    use_clock(clock)
    yield clock
    use_wall_clock()


def write_a_customers_records(tag: str) -> dict[str, datetime]:
    """An order, a recorded call, a text and an outcome of the demo shop's customer; their TTLs."""
    store = repository()
    shop = store.get_shop("demo")
    assert shop is not None
    order_id = f"ord_{tag}"
    intake.accept_order(shop, OrderIn(phone=PHONE, total=Decimal("120")), store=store, now=LONG_AGO, order_id=order_id)
    call = Call(f"CA{tag}", "demo", "inbound", PHONE, "+380441234567", LONG_AGO, "2001-03-05", recording_sid="RE1")
    store.upsert_call(call)
    store.log_message(TextMessage.of(shop, PHONE, f"SM{tag}", "outbound", "hello", LONG_AGO, purpose="test"))
    store.save_outcome(SavedOutcome(f"CA{tag}", "demo", PHONE, "anna", "confirmed", LONG_AGO))
    return {
        "order": OrderItem.get(*order_keys("demo", order_id)).expires_ttl,
        "call": CallItem.get(f"CA{tag}").expires_ttl,
        "text": next(m for m in MessageItem.query(f"demo#{PHONE}") if m.message_sid == f"SM{tag}").expires_ttl,
        "outcome": next(iter(OutcomeItem.query(f"CA{tag}"))).expires_ttl,
    }


def assert_kept_for(stamps: dict[str, datetime], kept_for: timedelta) -> None:
    real = wall_now()
    for kind, stamp in stamps.items():
        assert stamp is not None, kind
        assert real + kept_for - SLACK <= stamp <= real + kept_for + SLACK, (kind, stamp, real)


def test_a_customers_records_expire_after_the_shops_retention_days_by_the_wall_clock(long_ago: FixedClock) -> None:
    # GIVEN the demo shop with no privacy settings: kept 365 days
    assert_kept_for(write_a_customers_records("1"), timedelta(days=365))
    # WHEN the shop keeps its customers' records 90 days
    admin.create_shop({"shop_id": "demo", "privacy": {"retention_days": 90}}, store=repository(), now=LONG_AGO)
    # THEN what is written from then on is kept 90 real days, whatever the business date
    assert_kept_for(write_a_customers_records("2"), timedelta(days=90))
    assert OrderItem.get(*order_keys("demo", "ord_2")).received_at == LONG_AGO  # business time stays business time


def test_a_retention_shorter_than_the_reports_read_is_refused_naming_the_setting(aws: None) -> None:
    with pytest.raises(ValueError, match=r"privacy\.retention_days"):
        admin.create_shop({"shop_id": "demo", "privacy": {"retention_days": 30}}, store=repository(), now=LONG_AGO)
