"""Every "once" the services are given, over the idempotency table (the services take them as
``ports.Once``, ``ports.SendOnce`` and ``ports.Idempotent``; ``chalicelib.wiring`` hands them out):

- ``run_once``: side effects that must happen once per business event even when the event is
  delivered again (stream redelivery, retried invocations): the order texts;
- ``KeyedOnce``, on ``run_once``: the owner's reports (once per shop and period) and, through
  ``send_once``, the alerts' messages (once per alert); a later call learns it was a replay;
- ``accept_once``: the order endpoint's ``Idempotency-Key`` (Powertools idempotency: the same
  key and body give the same response; the same key with another body is refused; an HTTP
  retry is a new request, so the lost-write case below leaves the client to retry, not a text
  unsent).

``run_once``: a run claims the event's key with a random owner token before acting. When DynamoDB applied the
claim but its answer was lost, botocore sends the claim again and the condition recognises the
token: the claim is still ours. (Powertools' idempotency cannot tell its own lost write from a
concurrent run: it would report the event "in progress" until the record expires, and every
redelivery would fail until the record was given up: the text never sent. The soak found it.)
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import uuid
import zlib
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.dynamo.schema import idempotency_table_name
from chalicelib.clock import wall_now

ALERT_IDEMPOTENCY_SECONDS = 7 * 24 * 60 * 60
ORDER_IDEMPOTENCY_HOURS = 24
# The order answers' record ids start with this, not with the Lambda's name (Powertools' default):
# erasure, from the API or the CLI, finds them by the same id.
ORDER_ANSWER_PREFIX = "orders.accept"

ONE_WEEK = 7 * 24 * 3600
CLAIM_SECONDS = 15 * 60  # a run that died holding a claim (Lambda's longest run) is taken over after this
_NAMES = {"#status": "status", "#owner": "owner"}


class AlreadyInProgressError(RuntimeError):
    """Another run holds the claim right now: the event is retried later."""


@functools.cache
def _client() -> Any:
    # Created on first use, never at import: moto, DynamoDB Local and the cloud each need their own.
    import boto3

    from chalicelib.adapters.dynamo.connection import fixed_user_agent

    return boto3.client("dynamodb", config=fixed_user_agent())


def run_once(key: str, action: Callable[[], Any], *, keep_for_seconds: int = ONE_WEEK) -> Any:
    """``action()``'s result, from the first run for ``key``; later calls return the stored result
    (kept ``keep_for_seconds``). If ``action`` raises, the claim is dropped and the next delivery
    tries again; while another run holds the claim, AlreadyInProgressError."""
    from botocore.exceptions import ClientError  # cold start: botocore on first claim

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
                "expiration": {"N": str(now + keep_for_seconds)},
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


# ---- once per key, told apart from a replay: the reports and the alerts' messages -----------
class KeyedOnce:
    """``once(key, action)``: ``action()``'s JSON result the first time for ``key`` (a dict of
    names: the shop, the period, the alert); later, the stored result with ``"replayed": True``;
    None while another run holds the key. The record keeps only what ``action`` returns."""

    def __init__(self, prefix: str, *, keep_for_seconds: int) -> None:
        self.prefix, self.keep_for_seconds = prefix, keep_for_seconds

    def __call__(self, key: dict[str, str], action: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        ran = False

        def act() -> dict[str, Any]:
            nonlocal ran
            result = action()
            ran = True
            return result

        name = json.dumps(key, sort_keys=True, separators=(",", ":"))
        try:
            result = run_once(f"{self.prefix}#{name}", act, keep_for_seconds=self.keep_for_seconds)
        except AlreadyInProgressError:
            return None
        return result if ran else {**result, "replayed": True}


_ALERT_ONCE = KeyedOnce("alert", keep_for_seconds=ALERT_IDEMPOTENCY_SECONDS)


def send_once(key: dict[str, str], send: Callable[[], str]) -> bool:
    """The alerts' ``SendOnce``: True when this call sent the message; False when it was sent
    before or another delivery of the same event is sending it right now. The record holds the
    provider's message id only, no address or number."""
    result = _ALERT_ONCE(key, lambda: {"message_id": send()})
    return result is not None and not result.get("replayed")


# ---- Powertools idempotency: the order endpoint's key ---------------------------------------
def _order_answer_config() -> Any:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="[shop_id, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=ORDER_IDEMPOTENCY_HOURS * 3600,
    )


@functools.cache
def _idempotent_accept() -> tuple[Callable[..., dict[str, Any]], Any]:
    # Built on first use: the persistence layer creates a boto3 client, never at import.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    persistence = DynamoDBPersistenceLayer(table_name=idempotency_table_name())
    config = _order_answer_config()

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=persistence,
        config=config,
        output_serializer=_compact_answer(),
        key_prefix=ORDER_ANSWER_PREFIX,
    )
    def accept(request: dict[str, Any], action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return action()

    return accept, config


def _compact_answer() -> Any:
    """Powertools stores the answer as ASCII JSON, six bytes for each Cyrillic character: the
    answer to an order near the 256 kB body limit would not fit DynamoDB's 400 KB item (the
    order stored, then a 500 and a key stuck "in progress"). Stored instead as UTF-8 JSON,
    compressed, base64: never over 4/3 of the answer's UTF-8 size. An answer stored the old
    way (a plain object) reads as before."""
    from aws_lambda_powertools.utilities.idempotency.serialization.base import BaseIdempotencySerializer

    class CompactAnswer(BaseIdempotencySerializer):
        def to_dict(self, data: Any) -> dict[str, Any]:
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
            return {_PACKED: base64.b64encode(zlib.compress(text.encode())).decode()}

        def from_dict(self, data: dict[str, Any]) -> Any:
            if set(data) != {_PACKED}:
                return data
            return json.loads(zlib.decompress(base64.b64decode(data[_PACKED])))

    return CompactAnswer()


_PACKED = "utf8_json_zlib_base64"


def accept_once(request: dict[str, Any], action: Callable[[], dict[str, Any]], lambda_context: Any) -> dict[str, Any]:
    """The order endpoint's ``Idempotent``: ``action()``'s answer, stored under the request's
    shop and key; raises Powertools' ``IdempotencyValidationError`` for the same key with another
    body and ``IdempotencyAlreadyInProgressError`` while the first request still runs."""
    accept, config = _idempotent_accept()
    if lambda_context is not None:  # lets Powertools expire an in-progress record with the invocation
        config.register_lambda_context(lambda_context)
    return accept(request=request, action=action)


def forget_order_answers(shop_id: str, keys: list[str]) -> int:
    """Delete the stored answers to the shop's ``Idempotency-Key``s ``keys`` (an erased
    customer's orders: the answer holds the order, phone and all); how many were there. The
    record id is Powertools' own hash of ``[shop_id, key]``, asked of its persistence layer."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    persistence = DynamoDBPersistenceLayer(table_name=idempotency_table_name(), boto3_client=_client())
    persistence.configure(_order_answer_config(), key_prefix=ORDER_ANSWER_PREFIX)
    deleted = 0
    for key in keys:
        record_id = persistence._get_hashed_idempotency_key({"shop_id": shop_id, "key": key})
        answer = _client().delete_item(
            TableName=idempotency_table_name(), Key={"id": {"S": record_id}}, ReturnValues="ALL_OLD"
        )
        deleted += 1 if answer.get("Attributes") else 0
    return deleted


_CACHED = (_client, _idempotent_accept)  # the caches themselves, even while a test stands in


def forget_idempotency_stores() -> None:
    """Tests and the local stack switch endpoints: build every client and layer again next time."""
    for cached in _CACHED:
        cached.cache_clear()
