"""Side effects that must happen once per business event even when the event is delivered
again (stream redelivery, retried invocations), recorded in the idempotency table.

A run claims the event's key with a random owner token before acting. When DynamoDB applied the
claim but its answer was lost, botocore sends the claim again and the condition recognises the
token: the claim is still ours. (Powertools' idempotency cannot tell its own lost write from a
concurrent run: it would report the event "in progress" until the record expires, and every
redelivery would fail until the record was given up: the text never sent. The soak found it.)
"""

from __future__ import annotations

import contextlib
import functools
import json
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.dynamo.schema import idempotency_table_name
from chalicelib.clock import wall_now

ONE_WEEK = 7 * 24 * 3600
CLAIM_SECONDS = 15 * 60  # a run that died holding a claim (Lambda's longest run) is taken over after this
_NAMES = {"#status": "status", "#owner": "owner"}


class AlreadyInProgressError(RuntimeError):
    """Another run holds the claim right now: the event is retried later."""


@functools.cache
def _client() -> Any:
    # Created on first use, never at import: moto, DynamoDB Local and the cloud each need their own.
    import boto3

    return boto3.client("dynamodb")


def forget_persistence() -> None:
    """Tests and the local stack switch endpoints: build the client again next time."""
    _client.cache_clear()


def run_once(key: str, action: Callable[[], Any]) -> Any:
    """``action()``'s result, from the first run for ``key``; later calls return the stored result.
    If ``action`` raises, the claim is dropped and the next delivery tries again."""
    from botocore.exceptions import ClientError

    table, item_id, token = idempotency_table_name(), {"S": f"once#{key}"}, uuid.uuid4().hex
    # Real seconds, not business time: the claim outlives a dead Lambda run by its real length,
    # and DynamoDB deletes the record ("expiration", its TTL) by its own clock.
    now = int(wall_now().timestamp())
    try:
        _client().put_item(
            TableName=table,
            Item={
                "id": item_id,
                "status": {"S": "INPROGRESS"},
                "owner": {"S": token},
                "claim_expires": {"N": str(now + CLAIM_SECONDS)},
                "expiration": {"N": str(now + ONE_WEEK)},
            },
            ConditionExpression="attribute_not_exists(id) OR #owner = :token"
            " OR (#status = :in_progress AND claim_expires < :now)",
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={
                ":token": {"S": token},
                ":in_progress": {"S": "INPROGRESS"},
                ":now": {"N": str(now)},
            },
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        stored = _client().get_item(TableName=table, Key={"id": item_id}, ConsistentRead=True).get("Item", {})
        if stored.get("status", {}).get("S") == "COMPLETED":
            return json.loads(stored.get("data", {}).get("S", "null"))
        raise AlreadyInProgressError(key) from error
    mine = {"ConditionExpression": "#owner = :token", "ExpressionAttributeValues": {":token": {"S": token}}}
    try:
        result = action()
    except BaseException:
        with contextlib.suppress(ClientError):  # already gone, or taken over: the next delivery decides
            _client().delete_item(
                TableName=table, Key={"id": item_id}, ExpressionAttributeNames={"#owner": "owner"}, **mine
            )
        raise
    try:
        _client().update_item(
            TableName=table,
            Key={"id": item_id},
            UpdateExpression="SET #status = :completed, #data = :data",
            ExpressionAttributeNames={**_NAMES, "#data": "data"},
            ConditionExpression="#owner = :token",
            ExpressionAttributeValues={
                ":token": {"S": token},
                ":completed": {"S": "COMPLETED"},
                ":data": {"S": json.dumps(result, default=str)},
            },
        )
    except ClientError as error:  # taken over after CLAIM_SECONDS: that run records its own result
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
    return result
