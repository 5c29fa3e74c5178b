"""A customer's timeline (A7): entries of several kinds (orders, calls, text messages, outcomes,
opt-outs) merged newest first and cut into pages with an opaque cursor. Pure: the sources are
iterators the adapters fill from DynamoDB Queries, each already newest first."""

from __future__ import annotations

import base64
import binascii
import heapq
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

KINDS = ("order", "call", "sms", "outcome", "opt_out")
MAX_PAGE = 100


class CursorRefused(ValueError):
    """The cursor was not made by us (or is damaged)."""


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # one of KINDS
    ref: str  # unique within its kind (order id, CallSid, MessageSid, ...)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def entry_id(self) -> str:
        return f"{self.kind}:{self.ref}"

    @property
    def position(self) -> Position:
        return Position(self.at.astimezone(UTC), self.entry_id)

    def public_view(self) -> dict[str, Any]:
        return {"id": self.entry_id, "type": self.kind, "at": self.at.isoformat(), **self.data}


@dataclass(frozen=True, order=True)
class Position:
    """Where an entry sits: newer entries have larger positions (time, then id breaks ties)."""

    at: datetime
    entry_id: str


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str | None  # None: this was the last page

    def public_view(self) -> dict[str, Any]:
        return {"entries": [entry.public_view() for entry in self.entries], "next_cursor": self.next_cursor}


def encode_cursor(position: Position) -> str:
    raw = json.dumps({"at": position.at.isoformat(), "id": position.entry_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        at = datetime.fromisoformat(data["at"])
        entry_id = data["id"]
        # a naive time would be read as the server's; year 1 or 9999 with an offset is past
        # datetime's range in UTC (OverflowError)
        utc = at.astimezone(UTC) if at.tzinfo is not None else None
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError, RecursionError) as error:
        raise CursorRefused("not a cursor this API gave") from error
    if utc is None or not isinstance(entry_id, str):
        raise CursorRefused("not a cursor this API gave")
    return Position(utc, entry_id)


def page_of(sources: Iterable[Iterator[TimelineEntry]], limit: int, after: Position | None = None) -> TimelinePage:
    """The ``limit`` newest entries older than ``after`` (the previous page's cursor).

    Each source yields its entries newest first by time; entries sharing a time are ordered by
    id here, so a page boundary never skips or repeats one. Sources are read lazily: only as
    far as the page needs.
    """
    merged = heapq.merge(*sources, key=lambda entry: entry.at.astimezone(UTC), reverse=True)
    taken: list[TimelineEntry] = []
    for entry in merged:
        if after is not None and entry.position >= after:
            continue
        if len(taken) > limit and entry.at.astimezone(UTC) < taken[-1].at.astimezone(UTC):
            break  # one more than the page, and every entry tied with the last one: enough
        taken.append(entry)
    taken.sort(key=lambda entry: entry.position, reverse=True)
    page = taken[:limit]
    more = len(taken) > limit
    return TimelinePage(page, encode_cursor(page[-1].position) if more and page else None)
