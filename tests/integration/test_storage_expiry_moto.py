"""Storage expiry is stamped from the wall clock, business expiry from the business clock.

DynamoDB deletes an item once its TTL attribute is past by DynamoDB's own clock. A TTL stamped
from the business clock (a simulation, or a test clock years in the past) made DynamoDB Local
delete live dial lines and dedup claims at once. Here the business clock sits in 2001: every
TTL stamp must still lie ahead of the real instant by the item's lifetime, while the business
fields the code compares keep business time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib.adapters import idempotency as once
from chalicelib.adapters.dynamo.crm_outbox import DELIVERED_KEPT_FOR, crm_outbox
from chalicelib.adapters.dynamo.dialer_lines import LINE_KEPT
from chalicelib.adapters.dynamo.schema import CrmEventItem, DedupClaimItem, DialLineItem, idempotency_table_name
from chalicelib.adapters.dynamo.store import store as dynamo_store
from chalicelib.clock import FixedClock, use_clock, use_wall_clock, wall_now
from chalicelib.domain.crm import OutboxEvent
from chalicelib.domain.dedup import DedupClaim
from chalicelib.wiring import repository

pytestmark = pytest.mark.integration

LONG_AGO = datetime(2001, 3, 5, 10, 0, tzinfo=UTC)  # business time, far from any real date
SLACK = timedelta(minutes=5)  # the test's own run time between the stamp and the check


@pytest.fixture
def long_ago(aws: None) -> Iterator[FixedClock]:
    clock = FixedClock(LONG_AGO)
    use_clock(clock)
    yield clock
    use_wall_clock()


def assert_kept_for(stamp: datetime, kept_for: timedelta) -> None:
    """``stamp`` lies ``kept_for`` after the real instant of the write (within the test's run)."""
    real = wall_now()
    assert real + kept_for - SLACK <= stamp <= real + kept_for + SLACK, (stamp, real)


def test_a_dedup_claim_keeps_its_business_expiry_and_lives_in_storage_for_as_long_in_real_time(
    long_ago: FixedClock,
) -> None:
    window = timedelta(hours=24)
    claim = DedupClaim("demo#phone#+380671112233", expires_at=LONG_AGO + window)

    assert repository().claim_dedup(claim, "order-1", LONG_AGO) == "order-1"

    record = DedupClaimItem.get(claim.key, consistent_read=True)
    assert record.expires_at == LONG_AGO + window  # what the dedup condition compares
    assert_kept_for(record.expires_ttl, window)  # what DynamoDB's sweep compares
    # Within the business window a near-duplicate still finds the first order.
    assert repository().claim_dedup(claim, "order-2", LONG_AGO + timedelta(hours=23)) == "order-1"
    # After it, the claim is free again, whatever the wall clock says.
    assert repository().claim_dedup(claim, "order-3", LONG_AGO + timedelta(hours=25)) == "order-3"


def test_a_dial_line_is_kept_two_real_days_whatever_the_business_date(long_ago: FixedClock) -> None:
    key = dynamo_store().add_line("demo", "task-1", placed_at=LONG_AGO)

    record = DialLineItem.get("demo", key, consistent_read=True)
    assert record.placed_at == LONG_AGO
    assert_kept_for(record.expires, LINE_KEPT)


def test_a_delivered_crm_event_is_kept_two_real_weeks(long_ago: FixedClock) -> None:
    outbox = crm_outbox()
    event = OutboxEvent("evt_1", "demo", "call.outcome", "CA1", "{}", created_at=LONG_AGO)
    assert outbox.add(event)
    assert outbox.claim("evt_1", attempts=0, lease_until=LONG_AGO + timedelta(minutes=1))

    outbox.delivered("evt_1", LONG_AGO, 200)

    record = CrmEventItem.get("evt_1", consistent_read=True)
    assert record.delivered_at == LONG_AGO
    assert_kept_for(record.expires_ttl, DELIVERED_KEPT_FOR)


def test_a_send_once_claim_and_its_record_expire_by_real_time(long_ago: FixedClock) -> None:
    assert once.run_once("report#demo#2001-03-05", lambda: "sent") == "sent"

    item = boto3.client("dynamodb").get_item(
        TableName=idempotency_table_name(), Key={"id": {"S": "once#report#demo#2001-03-05"}}, ConsistentRead=True
    )["Item"]
    expiration = datetime.fromtimestamp(int(item["expiration"]["N"]), UTC)
    assert_kept_for(expiration, timedelta(seconds=once.ONE_WEEK))
    assert item["status"]["S"] == "COMPLETED"
    assert once.run_once("report#demo#2001-03-05", lambda: "sent again") == "sent"
