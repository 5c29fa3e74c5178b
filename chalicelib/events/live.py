"""The live counters' stream handlers (#19): the calls stream's consumer, and the orders
stream's counting step (``events.orders`` calls it first, so a record retried after a later
step failed is not counted twice: the record's marker says it was). The calls stream also
deletes at Twilio the recording of a call the shop's retention removed (#18), after counting:
a Twilio failure retries the record, whose count its marker keeps from doubling."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib import wiring
from chalicelib.domain.expired_records import expired_recording_sid
from chalicelib.domain.order_lanes import shop_of_order_key
from chalicelib.events.batch import process_stream
from chalicelib.observability import tracer
from chalicelib.services import live_counting
from chalicelib.services.recording_expiry import delete_expired_recording

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from chalicelib.domain.shop import ShopSettings


def _images(record: DynamoDBRecord) -> tuple[Any, Any]:
    raw = record.raw_event.get("dynamodb") or {}
    return raw.get("OldImage"), raw.get("NewImage")


def record_id(record: DynamoDBRecord) -> str:
    """The stream record's own id: the same on every redelivery of the record, unique otherwise."""
    if not record.event_id:
        raise ValueError("a stream record without its eventID cannot be counted once")
    return record.event_id


def count_order(record: DynamoDBRecord, shop: ShopSettings) -> None:
    counters = wiring.live_counters()
    change = counters.order_change(*_images(record))
    live_counting.count_order_change(record_id(record), change, currency=shop.currency, counters=counters)


def count_orders(event: dict[str, Any], shop_of: Callable[[str], ShopSettings | None]) -> None:
    """An orders stream batch's records counted together (one transaction per shop-day and up
    to about 30 records, instead of one each), before any is decided: a record retried after a
    later step failed is not counted twice (its marker says it was). A record of no known shop
    or without its id is left to its own handling, which fails it."""
    counters, entries = wiring.live_counters(), []
    for raw in event.get("Records", []):
        dynamodb = raw.get("dynamodb") or {}
        order_key = ((dynamodb.get("Keys") or {}).get("order_key") or {}).get("S")
        shop_id = shop_of_order_key(order_key) if order_key else None
        shop = shop_of(shop_id) if shop_id and raw.get("eventID") else None
        if shop is not None:
            change = counters.order_change(dynamodb.get("OldImage"), dynamodb.get("NewImage"))
            entry = live_counting.order_count_entry(raw["eventID"], change, currency=shop.currency)
            entries += [entry] if entry else []
    counters.add_counts_together(entries)


def call_stream(event: dict[str, Any], context: Any) -> Any:
    return process_stream(event, context, count_call_and_expire)


def count_call_and_expire(record: DynamoDBRecord) -> None:
    count_call(record)
    recording_sid = expired_recording_sid(record.raw_event)
    if recording_sid:
        delete_expired_recording(recording_sid, recordings=wiring.twilio_recordings())


@tracer.capture_method
def count_call(record: DynamoDBRecord) -> None:
    counters = wiring.live_counters()
    live_counting.count_call_change(record_id(record), counters.call_change(*_images(record)), counters=counters)
