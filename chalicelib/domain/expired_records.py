"""Records DynamoDB's TTL removed (#18: a shop's retention): told apart on a table's stream from
the app's own deletes by the stream record's ``userIdentity``, which DynamoDB sets only on TTL
removals. Pure: reads the stream record as Lambda delivers it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def removed_by_ttl(record: Mapping[str, Any]) -> bool:
    identity = record.get("userIdentity") or {}
    return (
        record.get("eventName") == "REMOVE"
        and identity.get("type") == "Service"
        and identity.get("principalId") == TTL_PRINCIPAL
    )


def expired_recording_sid(record: Mapping[str, Any]) -> str | None:
    """The RecordingSid of a call record the shop's retention removed, None for anything else
    (an erasure's or the app's own delete keeps the recording's fate to that code)."""
    if not removed_by_ttl(record):
        return None
    old = (record.get("dynamodb") or {}).get("OldImage") or {}
    sid = (old.get("recording_sid") or {}).get("S")
    return str(sid) if sid else None
