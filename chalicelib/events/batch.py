"""Powertools' batch processing for the DynamoDB stream consumers: each record is handled on its
own and only the failed ones are reported back (``batchItemFailures``), so Lambda retries those
and not the whole batch.

A consumer whose records are independent but for some keys (the orders stream: an order's own
records, and a customer's orders, whose dedup and task depend on which came first) gives
``lanes``: records sharing a lane key are handled in stream order, one after the other, and the
batch's separate lanes at the same time (one shop's orders share a partition key, so Lambda
hands its whole stream to one invocation at a time: without lanes a shop's orders would be
decided one by one, each waiting for the one before to finish its requests)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

LANE_WORKERS = 8  # a batch's lanes handled at once: its requests wait on DynamoDB, not the CPU


def process_stream(
    event: dict[str, Any],
    context: Any,
    record_handler: Callable[[DynamoDBRecord], Any],
    *,
    lanes: Callable[[dict[str, Any]], Iterable[str]] | None = None,
) -> Any:
    groups = lane_groups(event.get("Records", []), lanes) if lanes else []
    if len(groups) <= 1:
        return _process(event, context, record_handler)
    # Each lane runs in a copy of the invocation's context variables, as the invocation's own thread.
    lanes_in_context = [(contextvars.copy_context(), group) for group in groups]
    with ThreadPoolExecutor(min(LANE_WORKERS, len(groups)), thread_name_prefix="stream-lane") as pool:
        answers = list(
            pool.map(lambda lane: lane[0].run(_process_lane, lane[1], context, record_handler), lanes_in_context)
        )
    failures = [failure for answer in answers for failure in answer]
    if len(failures) == len(event["Records"]):
        # As Powertools does when every record failed: the invocation fails, Lambda retries it.
        raise RuntimeError(f"all {len(failures)} records of the batch failed")
    return {"batchItemFailures": failures}


def lane_groups(records: list[dict[str, Any]], lanes: Callable[[dict[str, Any]], Iterable[str]]) -> list[list[Any]]:
    """The records in groups that share no lane key with another group, each in stream order."""
    parent = list(range(len(records)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first_with: dict[str, int] = {}
    for index, record in enumerate(records):
        for key in lanes(record):
            if key in first_with:
                parent[root(index)] = root(first_with[key])
            else:
                first_with[key] = index
    groups: dict[int, list[Any]] = {}
    for index, record in enumerate(records):
        groups.setdefault(root(index), []).append(record)
    return list(groups.values())


def _process_lane(records: list[Any], context: Any, record_handler: Callable[..., Any]) -> list[dict[str, str]]:
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    try:
        answer = _process({"Records": records}, context, record_handler)
    except BatchProcessingError:  # every record of the lane failed
        return [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]} for record in records]
    failures: list[dict[str, str]] = answer.get("batchItemFailures", [])
    return failures


def _process(event: dict[str, Any], context: Any, record_handler: Callable[..., Any]) -> Any:
    # Cold start: only the stream consumers load the batch utility, never the webhooks.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    # A processor per invocation and lane: lanes (and the local stack) run handlers on several threads.
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
