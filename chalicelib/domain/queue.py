"""A place in a group's queue: a caller waiting on the line or a callback waiting for an agent
(I5, I6), in arrival order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass
class QueueEntry:
    shop_id: str
    group: str
    kind: str  # caller | callback
    ref: str
    phone: str
    language: str
    queued_at: datetime
    announced_position: int | None = None

    @property
    def queue_key(self) -> str:
        return queue_key(self.shop_id, self.group)

    @property
    def entry_key(self) -> str:
        return entry_key(self.queued_at, self.ref)


def queue_key(shop_id: str, group: str) -> str:
    return f"{shop_id}#{group}"


def entry_key(queued_at: datetime, ref: str) -> str:
    """Sorts by arrival: UTC, fixed width, then the id to keep equal instants apart."""
    return f"{queued_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{ref}"
