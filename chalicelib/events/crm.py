"""The shop's CRM (A6): the outbox stream delivers each new event; the minute sweep retries the
due ones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib import wiring
from chalicelib.clock import current_clock
from chalicelib.events.batch import process_stream
from chalicelib.observability import metrics
from chalicelib.services import crm_push

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord


def crm_stream(event: dict[str, Any], context: Any) -> Any:
    # One breaker per batch: after a shop's CRM fails, or when time runs short, the other
    # events wait for the sweep.
    breaker = crm_push.Breaker(seconds_left=crm_push.run_budget())
    return process_stream(event, context, lambda record: deliver_new(record, breaker))


def deliver_new(record: DynamoDBRecord, breaker: crm_push.Breaker) -> None:
    image = (record.dynamodb.new_image if record.dynamodb else None) or {}
    old = (record.dynamodb.old_image if record.dynamodb else None) or {}
    if image.get("state") != "pending" or old.get("state") == "pending":
        return  # only a new or replayed event; the claims and retries of one are the sweep's
    shop = wiring.repository().get_shop(image["shop_id"])
    result = crm_push.deliver(
        shop, image["event_id"], line=wiring.crm_line(), now=current_clock().now(), breaker=breaker
    )
    metrics.add_metric(name=f"CrmEvents_{result}", unit="Count", value=1)  # parked ones alarm (infra)


def crm_retry(event: Any) -> None:
    counts = crm_push.sweep_due(
        [shop for shop in wiring.repository().list_shops() if shop.crm is not None],
        line=wiring.crm_line(),
        now=current_clock().now(),
        seconds_left=crm_push.run_budget(),
    )
    for result, count in counts.items():
        metrics.add_metric(name=f"CrmEvents_{result}", unit="Count", value=count)
