"""The CRM outbox (A6): one item per event for a shop's CRM, written before anything is sent.
Its stream delivers a new (or replayed) event at once; failed ones wait in the sparse
``by_due`` index for the retry sweep, parked ones in ``by_parked`` for an operator."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamo.items import count, from_item, int_or_none, saved, updated
from chalicelib.adapters.dynamo.schema import CrmEventItem
from chalicelib.clock import storage_expiry
from chalicelib.domain.crm import OutboxEvent

DELIVERED_KEPT_FOR = timedelta(days=14)  # real time: then DynamoDB's TTL removes a delivered event


def event_entity(item: CrmEventItem) -> OutboxEvent:
    return from_item(OutboxEvent, item, attempts=count(item.attempts), last_status=int_or_none(item.last_status))


class DynamoCrmOutbox:
    def add(self, event: OutboxEvent) -> bool:
        """Store a new event; False when one with its id is there already (a duplicate)."""
        item = CrmEventItem(
            event.event_id,
            shop_id=event.shop_id,
            kind=event.kind,
            subject=event.subject,
            body=event.body,
            state="pending",
            attempts=0,
            created_at=event.created_at,
            retrying_since=event.created_at,
            next_attempt_at=event.created_at,
            due_key=event.shop_id,
            customer=event.customer,
        )
        return saved(item, CrmEventItem.event_id.does_not_exist())

    def get(self, event_id: str) -> OutboxEvent | None:
        try:
            return event_entity(CrmEventItem.get(event_id, consistent_read=True))
        except DoesNotExist:
            return None

    def claim(self, event_id: str, attempts: int, lease_until: datetime) -> bool:
        """Take a pending event for one try (no other sweep or delivery takes it until the
        lease ends, which also retries it if this one dies half-way)."""
        return self._update(
            event_id,
            [CrmEventItem.attempts.set(attempts + 1), CrmEventItem.next_attempt_at.set(lease_until)],
            (CrmEventItem.state == "pending") & (CrmEventItem.attempts == attempts),
        )

    def delivered(self, event_id: str, now: datetime, status: int) -> None:
        self._update(
            event_id,
            [
                CrmEventItem.state.set("delivered"),
                CrmEventItem.delivered_at.set(now),
                CrmEventItem.last_status.set(status),
                CrmEventItem.last_error.remove(),
                CrmEventItem.due_key.remove(),
                CrmEventItem.next_attempt_at.remove(),
                CrmEventItem.expires_ttl.set(storage_expiry(DELIVERED_KEPT_FOR)),
            ],
            CrmEventItem.state == "pending",
        )

    def retry_at(self, event_id: str, at: datetime, error: str, status: int | None) -> None:
        actions: list[Action] = [CrmEventItem.next_attempt_at.set(at), CrmEventItem.last_error.set(error)]
        actions.append(CrmEventItem.last_status.set(status) if status else CrmEventItem.last_status.remove())
        self._update(event_id, actions, CrmEventItem.state == "pending")

    def park(self, event_id: str, shop_id: str, now: datetime, error: str, status: int | None) -> None:
        actions: list[Action] = [
            CrmEventItem.state.set("parked"),
            CrmEventItem.parked_key.set(shop_id),
            CrmEventItem.parked_at.set(now),
            CrmEventItem.last_error.set(error),
            CrmEventItem.due_key.remove(),
            CrmEventItem.next_attempt_at.remove(),
        ]
        actions.append(CrmEventItem.last_status.set(status) if status else CrmEventItem.last_status.remove())
        self._update(event_id, actions, CrmEventItem.state == "pending")

    def replay(self, event_id: str, now: datetime) -> bool:
        """A parked event back to pending, with a fresh day of retries; its stream item
        delivers it at once."""
        event = self.get(event_id)
        if event is None:
            return False
        return self._update(
            event_id,
            [
                CrmEventItem.state.set("pending"),
                CrmEventItem.attempts.set(0),
                CrmEventItem.retrying_since.set(now),
                CrmEventItem.next_attempt_at.set(now),
                CrmEventItem.due_key.set(event.shop_id),
                CrmEventItem.parked_key.remove(),
                CrmEventItem.parked_at.remove(),
            ],
            CrmEventItem.state == "parked",
        )

    def due(self, shop_id: str, now: datetime, limit: int) -> list[str]:
        """Ids of the shop's pending events due by ``now``, oldest due first (Query, no Scan)."""
        query = CrmEventItem.by_due.query(shop_id, CrmEventItem.next_attempt_at <= now, limit=limit)
        return [item.event_id for item in query]

    def parked(self, shop_id: str) -> list[OutboxEvent]:
        return [event_entity(item) for item in CrmEventItem.by_parked.query(shop_id)]

    @staticmethod
    def _update(event_id: str, actions: list[Action], condition: Condition) -> bool:
        return updated(CrmEventItem(event_id), actions=actions, condition=condition)


@functools.cache
def crm_outbox() -> DynamoCrmOutbox:
    return DynamoCrmOutbox()
