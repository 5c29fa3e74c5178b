"""The outcomes stream: a saved outcome goes to the shop's CRM and, for some, to its managers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib import wiring
from chalicelib.clock import current_clock
from chalicelib.events.batch import process_stream
from chalicelib.observability import tracer
from chalicelib.services import outcomes

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord


def outcome_stream(event: dict[str, Any], context: Any) -> Any:
    return process_stream(event, context, after_outcome)


@tracer.capture_method
def after_outcome(record: DynamoDBRecord) -> None:
    # Cold start: only the stream consumers load the record's classes.
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecordEventName

    if record.event_name is not DynamoDBRecordEventName.INSERT or not record.dynamodb:
        return  # outcomes are only ever added
    keys = record.dynamodb.keys or {}
    outcomes.after_outcome_saved(
        keys["call_sid"],
        keys["saved_key"],
        store=wiring.outcome_saves(),
        outbox=wiring.crm_outbox(),
        now=current_clock().now(),
        notify=wiring.notify_managers(),
    )
