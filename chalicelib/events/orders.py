"""The orders stream: a new order is decided (dial, duplicate, fake...) and may raise the large
order alert; a changed one goes to the shop's CRM and may send the customer a text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib import wiring
from chalicelib.clock import current_clock
from chalicelib.domain.order_lanes import shop_of_order_key
from chalicelib.events.batch import process_stream
from chalicelib.events.live import count_orders, record_id
from chalicelib.observability import logger, metrics, tracer
from chalicelib.services import crm_push

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from chalicelib.domain.entities import Order
    from chalicelib.domain.shop import ShopSettings


def order_stream(event: dict[str, Any], context: Any) -> Any:
    # The live counters first, the whole batch in one write: a retry of a later step counts
    # nothing twice (each record's marker).
    count_orders(event, wiring.repository().get_shop)
    return process_stream(event, context, decide_order, lanes=order_lanes)


def order_lanes(raw: dict[str, Any]) -> set[str]:
    """An order's records in order, and a customer's orders (by every phone the record shows):
    dedup keeps the first, one task gathers them."""
    dynamodb = raw.get("dynamodb") or {}
    keys = {"order#" + str(((dynamodb.get("Keys") or {}).get("order_id") or {}).get("S"))}
    for image in (dynamodb.get("OldImage") or {}, dynamodb.get("NewImage") or {}):
        if "S" in (image.get("phone") or {}):
            keys.add("phone#" + image["phone"]["S"])
    return keys


@tracer.capture_method
def decide_order(record: DynamoDBRecord) -> None:
    # Cold start: only this consumer needs them, not the webhooks that import the app.
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecordEventName

    from chalicelib.services import intake, order_events

    keys = record.dynamodb.keys if record.dynamodb else {}
    shop_id = shop_of_order_key(keys["order_key"])  # the keys hold the lane's key, not shop_id (#19)
    shop = wiring.repository().get_shop(shop_id)
    if shop is None:
        raise LookupError(f"order of unknown shop {shop_id!r}")
    record_id(record)  # a record without its id was not counted (count_orders): it fails here
    store, now = wiring.repository(), current_clock().now()
    if record.event_name is DynamoDBRecordEventName.INSERT:
        outcome = intake.decide_new_order(shop, keys["order_id"], store=store, tasks=store, now=now)
        metrics.add_metric(name=f"Orders_{outcome}", unit="Count", value=1)
        logger.info("order decided", extra={"order_id": keys["order_id"], "outcome": outcome})
        if shop.alerts.order_total_above is not None:  # the order is read only for that alert
            order_events.after_new_order(shop, store.get_order(shop.shop_id, keys["order_id"]), alert=_alert)
    elif record.event_name is DynamoDBRecordEventName.MODIFY and record.dynamodb:
        old_image = record.dynamodb.old_image or {}
        previous = old_image.get("status")
        order = store.get_order(shop.shop_id, keys["order_id"])
        if order is not None:
            texts = order_events.OrderTexts(store, wiring.telephony(), wiring.run_once(), wiring.text_outbox())
            # The CRM's event first: it never fails on Twilio, so a text that keeps failing
            # cannot take it down with the record.
            crm_push.queue_order_event(shop, previous, order, outbox=wiring.crm_outbox(), now=now)
            crm_push.queue_route_event(shop, old_image.get("route"), order, outbox=wiring.crm_outbox(), now=now)
            order_events.after_status_change(shop, previous, order, texts=texts, now=now)
            previous_slot = order_events.stored_slot_start(old_image.get("delivery_slot"))
            order_events.after_slot_change(shop, previous, previous_slot, order, texts=texts, now=now)


def _alert(shop: ShopSettings, order: Order) -> None:
    from chalicelib.services.alerts import alert_on_new_order  # cold start: as wiring.alert_channels

    alert_on_new_order(shop, order, channels=wiring.alert_channels())
