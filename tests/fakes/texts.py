"""The text outbox (adapters/dynamo/text_outbox.py) in memory, with the DynamoDB one's conditions."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from chalicelib.domain.text_outbox import OutgoingText
from chalicelib.services.text_outbox import TextLine


class FakeTextOutbox:
    def __init__(self) -> None:
        self.texts: dict[str, OutgoingText] = {}

    def _set(self, text_id: str, **changes: Any) -> None:
        self.texts[text_id] = dataclasses.replace(self.texts[text_id], **changes)

    def add(self, text: OutgoingText) -> bool:
        if text.text_id in self.texts:
            return False
        self.texts[text.text_id] = dataclasses.replace(
            text, state="pending", attempts=0, retrying_since=text.created_at, next_attempt_at=text.created_at
        )
        return True

    def get(self, text_id: str) -> OutgoingText | None:
        return self.texts.get(text_id)

    def claim(self, text_id: str, attempts: int, lease_until: datetime) -> bool:
        text = self.texts.get(text_id)
        if text is None or text.state != "pending" or text.attempts != attempts:
            return False
        self._set(text_id, attempts=attempts + 1, next_attempt_at=lease_until)
        return True

    def sent(self, text_id: str, now: datetime, message_sid: str) -> None:
        self._finish(text_id, state="sent", sent_at=now, message_sid=message_sid, last_error=None)

    def failed(self, text_id: str, now: datetime, error: str) -> None:
        self._finish(text_id, state="failed", last_error=error)

    def _finish(self, text_id: str, **changes: Any) -> None:
        if self.texts[text_id].state == "pending":
            self._set(text_id, next_attempt_at=None, uncertain=False, **changes)

    def retry_at(self, text_id: str, at: datetime, error: str, *, uncertain: bool) -> None:
        self._set(text_id, next_attempt_at=at, last_error=error, uncertain=uncertain)

    def park(self, text_id: str, shop_id: str, now: datetime, error: str) -> None:
        self._set(text_id, state="parked", parked_at=now, last_error=error, next_attempt_at=None)

    def replay(self, text_id: str, now: datetime) -> bool:
        text = self.texts.get(text_id)
        if text is None or text.state != "parked":
            return False
        self._set(text_id, state="pending", attempts=0, retrying_since=now, next_attempt_at=now, parked_at=None)
        return True

    def due(self, now: datetime, limit: int) -> list[str]:
        due = [t for t in self.texts.values() if t.state == "pending" and (t.next_attempt_at or now) <= now]
        return [t.text_id for t in sorted(due, key=lambda t: t.next_attempt_at or now)][:limit]

    def pending_before(self, shop_id: str, to: str, created_at: datetime) -> bool:
        return any(
            t.shop_id == shop_id and t.to == to and t.state == "pending" and t.created_at < created_at
            for t in self.texts.values()
        )

    def parked(self, shop_id: str) -> list[OutgoingText]:
        return [t for t in self.texts.values() if t.shop_id == shop_id and t.state == "parked"]


def text_line(store: Any, messenger: Any, outbox: FakeTextOutbox | None = None) -> TextLine:
    """Texts through an in-memory outbox, logged in ``store`` (shops by ``store.get_shop``)."""
    return TextLine(outbox or FakeTextOutbox(), messenger, messenger, store, store.get_shop)
