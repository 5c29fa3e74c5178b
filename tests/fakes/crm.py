"""The CRM outbox (adapters/dynamo/crm_outbox.py) in memory, and a CRM that answers as scripted."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any


class FakeCrmOutbox:
    """The CRM outbox in memory, with the DynamoDB one's conditions (``DynamoCrmOutbox``)."""

    def __init__(self) -> None:
        from chalicelib.domain.crm import OutboxEvent

        self.events: dict[str, OutboxEvent] = {}

    def _set(self, event_id: str, **changes: Any) -> None:
        self.events[event_id] = dataclasses.replace(self.events[event_id], **changes)

    def add(self, event: Any) -> bool:
        if event.event_id in self.events:
            return False
        self.events[event.event_id] = dataclasses.replace(
            event, state="pending", attempts=0, retrying_since=event.created_at, next_attempt_at=event.created_at
        )
        return True

    def get(self, event_id: str) -> Any:
        return self.events.get(event_id)

    def claim(self, event_id: str, attempts: int, lease_until: datetime) -> bool:
        event = self.events.get(event_id)
        if event is None or event.state != "pending" or event.attempts != attempts:
            return False
        self._set(event_id, attempts=attempts + 1, next_attempt_at=lease_until)
        return True

    def delivered(self, event_id: str, now: datetime, status: int) -> None:
        self._set(event_id, state="delivered", delivered_at=now, last_status=status, next_attempt_at=None)

    def retry_at(self, event_id: str, at: datetime, error: str, status: int | None) -> None:
        self._set(event_id, next_attempt_at=at, last_error=error, last_status=status)

    def park(self, event_id: str, shop_id: str, now: datetime, error: str, status: int | None) -> None:
        self._set(event_id, state="parked", parked_at=now, last_error=error, last_status=status, next_attempt_at=None)

    def replay(self, event_id: str, now: datetime) -> bool:
        event = self.events.get(event_id)
        if event is None or event.state != "parked":
            return False
        self._set(event_id, state="pending", attempts=0, retrying_since=now, next_attempt_at=now, parked_at=None)
        return True

    def due(self, shop_id: str, now: datetime, limit: int) -> list[str]:
        due = [
            e
            for e in self.events.values()
            if e.shop_id == shop_id
            and e.state == "pending"
            and e.next_attempt_at is not None
            and e.next_attempt_at <= now
        ]
        return [e.event_id for e in sorted(due, key=lambda e: e.next_attempt_at or now)][:limit]

    def parked(self, shop_id: str) -> list[Any]:
        return [e for e in self.events.values() if e.shop_id == shop_id and e.state == "parked"]


class ScriptedCrm:
    """A CRM sender answering from a script: an HTTP status, or an exception to raise."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.requests.append((url, body, headers))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer
