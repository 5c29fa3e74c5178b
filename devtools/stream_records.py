"""The shape of what Lambda hands a DynamoDB stream consumer, for the local stream poller and the
tests that call stream handlers directly: the event's records, the context object, and how a
``ReportBatchItemFailures`` answer reads."""

from __future__ import annotations

import base64
import copy
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

DEFAULT_ACCOUNT_ID = "123456789012"


class LambdaContext:
    """The attributes and method of Lambda's Python context object that handlers use."""

    def __init__(
        self,
        function_name: str,
        *,
        region: str = "us-east-1",
        account_id: str = DEFAULT_ACCOUNT_ID,
        memory_limit_in_mb: int = 256,
        timeout_seconds: float = 60.0,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def sequence_number(record: Mapping[str, Any]) -> str:
    sequence: str = record["dynamodb"]["SequenceNumber"]
    return sequence


def first_failed_index(response: Any, batch: list[dict[str, Any]]) -> tuple[int | None, str | None]:
    """Read a handler's response as Lambda does with ReportBatchItemFailures.

    Success: None, an empty dict, a missing/None/empty ``batchItemFailures``. An identifier
    that is missing, empty, or not in the batch fails the whole batch. Otherwise the batch
    failed from the lowest reported sequence number on.
    """
    if not isinstance(response, Mapping):
        return None, None
    failures = response.get("batchItemFailures")
    if not failures:
        return None, None
    positions = {sequence_number(record): index for index, record in enumerate(batch)}
    failed: list[int] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier or identifier not in positions:
            return 0, f"reported an unusable itemIdentifier {identifier!r}: whole batch failed"
        failed.append(positions[identifier])
    lowest = min(failed, key=lambda index: int(sequence_number(batch[index])))
    return lowest, f"reported {len(failed)} failed record(s), first {sequence_number(batch[lowest])}"


def to_lambda_record(raw: Mapping[str, Any], *, region: str, stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as it appears in a Lambda event (a fresh copy per delivery)."""
    dynamodb = copy.deepcopy(dict(raw["dynamodb"]))
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    for image_key in ("Keys", "NewImage", "OldImage"):
        if image_key in dynamodb:
            image = dynamodb[image_key]
            dynamodb[image_key] = {name: _json_attribute(value) for name, value in image.items()}
    record: dict[str, Any] = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": raw.get("eventSource", "aws:dynamodb"),
        "awsRegion": region,  # DynamoDB Local says "ddblocal"; Lambda gives the table's region
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in raw:  # TTL deletions carry it
        record["userIdentity"] = copy.deepcopy(raw["userIdentity"])
    return record


def _json_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """boto3 decodes binary attributes to bytes; Lambda events carry them base64-encoded."""
    (type_name, inner), *_ = value.items()
    if type_name == "B" and isinstance(inner, bytes | bytearray):
        return {"B": base64.b64encode(inner).decode("ascii")}
    if type_name == "BS":
        return {"BS": [base64.b64encode(item).decode("ascii") for item in inner]}
    if type_name == "M":
        return {"M": {name: _json_attribute(item) for name, item in inner.items()}}
    if type_name == "L":
        return {"L": [_json_attribute(item) for item in inner]}
    return value
