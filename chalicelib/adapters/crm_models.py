"""The CRM outbox (A6): one item per event for a shop's CRM, written before anything is sent.
Its stream delivers a new (or replayed) event at once; failed ones wait in the sparse
``by_due`` index for the retry sweep, parked ones in ``by_parked`` for an operator."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.adapters.agent_models import OutcomeRecord, OutcomeRepository
from chalicelib.adapters.models import _Meta, _table
from chalicelib.clock import storage_expiry
from chalicelib.domain.crm import OutboxEvent
from chalicelib.domain.outcomes import SavedOutcome

DELIVERED_KEPT_FOR = timedelta(days=14)  # real time: then DynamoDB's TTL removes a delivered event


class CrmDueIndex(GlobalSecondaryIndex["CrmEventRecord"]):
    """Events of a shop waiting to be (re)tried, by when (sparse: only pending ones)."""

    class Meta:
        index_name = "by_due"
        projection = AllProjection()

    due_key = UnicodeAttribute(hash_key=True)
    next_attempt_at = UTCDateTimeAttribute(range_key=True)


class CrmParkedIndex(GlobalSecondaryIndex["CrmEventRecord"]):
    """Events of a shop given up after a day of failures or refused by the CRM (sparse)."""

    class Meta:
        index_name = "by_parked"
        projection = AllProjection()

    parked_key = UnicodeAttribute(hash_key=True)
    parked_at = UTCDateTimeAttribute(range_key=True)


class CrmEventRecord(Model):
    class Meta(_Meta):
        table_name = _table("crm_outbox")
        stream_view_type = "NEW_AND_OLD_IMAGES"

    event_id = UnicodeAttribute(hash_key=True)
    shop_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # call.outcome | order.status_changed
    subject = UnicodeAttribute()  # the call sid or order id it is about
    body = UnicodeAttribute()  # the exact JSON sent, the same on every try
    state = UnicodeAttribute()  # pending | delivered | parked
    attempts = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    retrying_since = UTCDateTimeAttribute()  # the day of retries counts from here
    next_attempt_at = UTCDateTimeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)  # shop id while pending
    parked_key = UnicodeAttribute(null=True)  # shop id while parked
    parked_at = UTCDateTimeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)
    last_status = NumberAttribute(null=True)  # the CRM's last HTTP status
    last_error = UnicodeAttribute(null=True)
    expires_ttl = TTLAttribute(null=True)

    by_due = CrmDueIndex()
    by_parked = CrmParkedIndex()


CRM_MODELS: tuple[type[Model], ...] = (CrmEventRecord,)


class DynamoCrmOutbox:
    def add(self, event: OutboxEvent) -> bool:
        """Store a new event; False when one with its id is there already (a duplicate)."""
        record = CrmEventRecord(
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
        )
        try:
            record.save(condition=CrmEventRecord.event_id.does_not_exist())
        except PutError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def get(self, event_id: str) -> OutboxEvent | None:
        try:
            return _event(CrmEventRecord.get(event_id, consistent_read=True))
        except CrmEventRecord.DoesNotExist:
            return None

    def claim(self, event_id: str, attempts: int, lease_until: datetime) -> bool:
        """Take a pending event for one try (no other sweep or delivery takes it until the
        lease ends, which also retries it if this one dies half-way)."""
        return self._update(
            event_id,
            [CrmEventRecord.attempts.set(attempts + 1), CrmEventRecord.next_attempt_at.set(lease_until)],
            (CrmEventRecord.state == "pending") & (CrmEventRecord.attempts == attempts),
        )

    def delivered(self, event_id: str, now: datetime, status: int) -> None:
        self._update(
            event_id,
            [
                CrmEventRecord.state.set("delivered"),
                CrmEventRecord.delivered_at.set(now),
                CrmEventRecord.last_status.set(status),
                CrmEventRecord.last_error.remove(),
                CrmEventRecord.due_key.remove(),
                CrmEventRecord.next_attempt_at.remove(),
                CrmEventRecord.expires_ttl.set(storage_expiry(DELIVERED_KEPT_FOR)),
            ],
            CrmEventRecord.state == "pending",
        )

    def retry_at(self, event_id: str, at: datetime, error: str, status: int | None) -> None:
        actions = [CrmEventRecord.next_attempt_at.set(at), CrmEventRecord.last_error.set(error)]
        actions.append(CrmEventRecord.last_status.set(status) if status else CrmEventRecord.last_status.remove())
        self._update(event_id, actions, CrmEventRecord.state == "pending")

    def park(self, event_id: str, shop_id: str, now: datetime, error: str, status: int | None) -> None:
        actions = [
            CrmEventRecord.state.set("parked"),
            CrmEventRecord.parked_key.set(shop_id),
            CrmEventRecord.parked_at.set(now),
            CrmEventRecord.last_error.set(error),
            CrmEventRecord.due_key.remove(),
            CrmEventRecord.next_attempt_at.remove(),
        ]
        actions.append(CrmEventRecord.last_status.set(status) if status else CrmEventRecord.last_status.remove())
        self._update(event_id, actions, CrmEventRecord.state == "pending")

    def replay(self, event_id: str, now: datetime) -> bool:
        """A parked event back to pending, with a fresh day of retries; its stream record
        delivers it at once."""
        event = self.get(event_id)
        if event is None:
            return False
        return self._update(
            event_id,
            [
                CrmEventRecord.state.set("pending"),
                CrmEventRecord.attempts.set(0),
                CrmEventRecord.retrying_since.set(now),
                CrmEventRecord.next_attempt_at.set(now),
                CrmEventRecord.due_key.set(event.shop_id),
                CrmEventRecord.parked_key.remove(),
                CrmEventRecord.parked_at.remove(),
            ],
            CrmEventRecord.state == "parked",
        )

    def due(self, shop_id: str, now: datetime, limit: int) -> list[str]:
        """Ids of the shop's pending events due by ``now``, oldest due first (Query, no Scan)."""
        query = CrmEventRecord.by_due.query(shop_id, CrmEventRecord.next_attempt_at <= now, limit=limit)
        return [record.event_id for record in query]

    def parked(self, shop_id: str) -> list[OutboxEvent]:
        return [_event(record) for record in CrmEventRecord.by_parked.query(shop_id)]

    @staticmethod
    def _update(event_id: str, actions: list[Any], condition: Any) -> bool:
        try:
            CrmEventRecord(event_id).update(actions=actions, condition=condition)
        except UpdateError as error:
            if _condition_failed(error):
                return False
            raise
        return True


class OutcomeSaves(OutcomeRepository):
    """The outcomes' store plus the saves of a call with their keys (the outbox needs to tell
    a repeated save from a correction)."""

    def saves_of(self, call_sid: str) -> list[tuple[str, SavedOutcome]]:
        from chalicelib.adapters.agent_models import _saved

        return [(record.saved_key, _saved(record)) for record in OutcomeRecord.query(call_sid, consistent_read=True)]


@functools.cache
def crm_outbox() -> DynamoCrmOutbox:
    return DynamoCrmOutbox()


@functools.cache
def outcome_saves() -> OutcomeSaves:
    return OutcomeSaves()


def _condition_failed(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def _event(record: CrmEventRecord) -> OutboxEvent:
    return OutboxEvent(
        event_id=record.event_id,
        shop_id=record.shop_id,
        kind=record.kind,
        subject=record.subject,
        body=record.body,
        created_at=record.created_at,
        state=record.state,
        attempts=int(record.attempts or 0),
        retrying_since=record.retrying_since,
        next_attempt_at=record.next_attempt_at,
        parked_at=record.parked_at,
        delivered_at=record.delivered_at,
        last_status=int(record.last_status) if record.last_status is not None else None,
        last_error=record.last_error,
    )
