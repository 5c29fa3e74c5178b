"""The text outbox (#18): one item per text, written before it is sent. Texts Twilio could not
take yet wait in the sparse ``by_due`` index for the minute sweep; parked ones in ``by_parked``."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamo.items import count, from_item, saved, shop_phone, sorted_set, updated
from chalicelib.adapters.dynamo.schema import TextOutItem
from chalicelib.clock import storage_expiry
from chalicelib.domain.text_outbox import OutgoingText

DUE = "due"  # the one partition of pending texts: few, and only while Twilio fails
SENT_KEPT_FOR = timedelta(days=14)  # real time: then DynamoDB's TTL removes a finished record


def text_entity(item: TextOutItem) -> OutgoingText:
    return from_item(
        OutgoingText,
        item,
        attempts=count(item.attempts),
        order_ids=sorted_set(item.order_ids),
        uncertain=bool(item.uncertain),
    )


class DynamoTextOutbox:
    def add(self, text: OutgoingText) -> bool:
        """Store a new text; False when one with its id is there already (a retry, a redelivery)."""
        item = TextOutItem(
            text.text_id,
            shop_id=text.shop_id,
            shop_phone=shop_phone(text.shop_id, text.to),
            to=text.to,
            from_=text.from_,
            body=text.body,
            kind=text.kind,
            purpose=text.purpose,
            order_ids=set(text.order_ids) or None,
            state="pending",
            attempts=0,
            created_at=text.created_at,
            retrying_since=text.created_at,
            next_attempt_at=text.created_at,
            due_key=DUE,
        )
        return saved(item, TextOutItem.text_id.does_not_exist())

    def get(self, text_id: str) -> OutgoingText | None:
        try:
            return text_entity(TextOutItem.get(text_id, consistent_read=True))
        except DoesNotExist:
            return None

    def claim(self, text_id: str, attempts: int, lease_until: datetime) -> bool:
        """Take a pending text for one try; no other run takes it until the lease ends (which
        also retries it if this run dies half-way)."""
        return self._update(
            text_id,
            [TextOutItem.attempts.set(attempts + 1), TextOutItem.next_attempt_at.set(lease_until)],
            (TextOutItem.state == "pending") & (TextOutItem.attempts == attempts),
        )

    def sent(self, text_id: str, now: datetime, message_sid: str) -> None:
        state, at, sid = (
            TextOutItem.state.set("sent"),
            TextOutItem.sent_at.set(now),
            TextOutItem.message_sid.set(message_sid),
        )
        self._finish(text_id, [state, at, sid, TextOutItem.last_error.remove()])

    def failed(self, text_id: str, now: datetime, error: str) -> None:
        self._finish(text_id, [TextOutItem.state.set("failed"), TextOutItem.last_error.set(error)])

    def retry_at(self, text_id: str, at: datetime, error: str, *, uncertain: bool) -> None:
        actions = [TextOutItem.next_attempt_at.set(at), TextOutItem.last_error.set(error)]
        self._update(text_id, [*actions, TextOutItem.uncertain.set(uncertain)], TextOutItem.state == "pending")

    def park(self, text_id: str, shop_id: str, now: datetime, error: str) -> None:
        actions: list[Action] = [
            TextOutItem.state.set("parked"),
            TextOutItem.parked_key.set(shop_id),
            TextOutItem.parked_at.set(now),
            TextOutItem.last_error.set(error),
            TextOutItem.due_key.remove(),
            TextOutItem.next_attempt_at.remove(),
        ]
        self._update(text_id, actions, TextOutItem.state == "pending")

    def replay(self, text_id: str, now: datetime) -> bool:
        """A parked text back to pending with a fresh day of retries (the next sweep sends it)."""
        actions: list[Action] = [
            TextOutItem.state.set("pending"),
            TextOutItem.attempts.set(0),
            TextOutItem.retrying_since.set(now),
            TextOutItem.next_attempt_at.set(now),
            TextOutItem.due_key.set(DUE),
            TextOutItem.parked_key.remove(),
            TextOutItem.parked_at.remove(),
        ]
        return self._update(text_id, actions, TextOutItem.state == "parked")

    def due(self, now: datetime, limit: int) -> list[str]:
        """Ids of pending texts due by ``now``, oldest due first (one Query, no Scan)."""
        query = TextOutItem.by_due.query(DUE, TextOutItem.next_attempt_at <= now, limit=limit)
        return [item.text_id for item in query]

    def pending_before(self, shop_id: str, to: str, created_at: datetime) -> bool:
        """Whether an earlier text to this recipient still waits (a new one must not overtake it)."""
        query = TextOutItem.by_customer.query(
            shop_phone(shop_id, to),
            TextOutItem.created_at < created_at,
            filter_condition=TextOutItem.state == "pending",
        )
        return any(True for _ in query)

    def parked(self, shop_id: str) -> list[OutgoingText]:
        return [text_entity(item) for item in TextOutItem.by_parked.query(shop_id)]

    def _finish(self, text_id: str, actions: Sequence[Action]) -> None:
        finished: list[Action] = [
            TextOutItem.due_key.remove(),
            TextOutItem.next_attempt_at.remove(),
            TextOutItem.uncertain.set(False),
            TextOutItem.expires_ttl.set(storage_expiry(SENT_KEPT_FOR)),
        ]
        self._update(text_id, [*actions, *finished], TextOutItem.state == "pending")

    @staticmethod
    def _update(text_id: str, actions: list[Action], condition: Condition) -> bool:
        return updated(TextOutItem(text_id), actions=actions, condition=condition)


@functools.cache
def text_outbox() -> DynamoTextOutbox:
    return DynamoTextOutbox()
