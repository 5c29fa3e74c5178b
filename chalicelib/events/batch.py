"""Powertools' batch processing for the DynamoDB stream consumers: each record is handled on its
own and only the failed ones are reported back (``batchItemFailures``), so Lambda retries those
and not the whole batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord


def process_stream(event: dict[str, Any], context: Any, record_handler: Callable[[DynamoDBRecord], Any]) -> Any:
    # Cold start: only the stream consumers load the batch utility, never the webhooks.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    # A processor per invocation: the local stack may run handlers on several threads.
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
