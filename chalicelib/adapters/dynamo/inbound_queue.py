"""Who waits for an agent in which group, in arrival order (I5, I6), and each group's recent
handle times for the estimated wait (I8)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.adapters.dynamo.items import condition_failed, deleted, from_item, int_or_none, updated
from chalicelib.adapters.dynamo.schema import GroupStatsItem, QueueEntryItem
from chalicelib.domain.queue import QueueEntry, entry_key, queue_key
from chalicelib.domain.queue_estimate import remember

HANDLE_TIME_RETRIES = 5


def entry_entity(shop_id: str, group: str, item: QueueEntryItem) -> QueueEntry:
    return from_item(
        QueueEntry, item, shop_id=shop_id, group=group, announced_position=int_or_none(item.announced_position)
    )


def _entry(shop_id: str, group: str, queued_at: datetime, ref: str) -> QueueEntryItem:
    return QueueEntryItem(queue_key(shop_id, group), entry_key(queued_at, ref))


class QueueRepository:
    def add_queue_entry(self, entry: QueueEntry) -> None:
        """Put the entry in its group's queue (repeating it changes nothing)."""
        QueueEntryItem(
            entry.queue_key,
            entry.entry_key,
            kind=entry.kind,
            ref=entry.ref,
            phone=entry.phone,
            language=entry.language,
            queued_at=entry.queued_at,
        ).save()

    def remove_queue_entry(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> bool:
        """Take the entry out; False when it was gone already (someone else took it)."""
        return deleted(_entry(shop_id, group, queued_at, ref), QueueEntryItem.entry_key.exists())

    def queue_entries(self, shop_id: str, group: str, limit: int = 50) -> list[QueueEntry]:
        query = QueueEntryItem.query(queue_key(shop_id, group), consistent_read=True, limit=limit)
        return [entry_entity(shop_id, group, item) for item in query]

    def shops_with_callers_waiting(self) -> set[str]:
        """The shops with a caller on hold now (the minute's bridging sweep, issue 17): one Scan of
        the queue's keys and kinds; the table holds only the callers and callbacks waiting now."""
        shops: set[str] = set()
        for item in QueueEntryItem.scan(attributes_to_get=["queue_key", "kind"]):
            if item.kind == "caller":
                shops.add(item.queue_key.split("#", 1)[0])
        return shops

    def queue_position(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> tuple[int, int]:
        """(1-based position of the entry, queue size); position 0 when it is not queued."""
        mine = entry_key(queued_at, ref)
        keys = [item.entry_key for item in QueueEntryItem.query(queue_key(shop_id, group), consistent_read=True)]
        position = keys.index(mine) + 1 if mine in keys else 0
        return position, len(keys)

    def note_announced_position(self, shop_id: str, group: str, queued_at: datetime, ref: str, position: int) -> None:
        updated(
            _entry(shop_id, group, queued_at, ref),
            actions=[QueueEntryItem.announced_position.set(position)],
            condition=QueueEntryItem.entry_key.exists(),
        )

    def announced_position(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> int | None:
        try:
            item = QueueEntryItem.get(queue_key(shop_id, group), entry_key(queued_at, ref), consistent_read=True)
        except DoesNotExist:
            return None
        return int_or_none(item.announced_position)

    # ---- handle times ------------------------------------------------------------------------
    def recent_handle_seconds(self, shop_id: str, group: str) -> list[float]:
        try:
            item = GroupStatsItem.get(queue_key(shop_id, group))
        except DoesNotExist:
            return []
        return [float(value) for value in item.handle_seconds or []]  # type: ignore[arg-type]

    def remember_handle_seconds(self, shop_id: str, group: str, seconds: float) -> None:
        for _ in range(HANDLE_TIME_RETRIES):  # optimistic locking: retry when another call's end wrote meanwhile
            try:
                item = GroupStatsItem.get(queue_key(shop_id, group), consistent_read=True)
            except DoesNotExist:
                item = GroupStatsItem(queue_key(shop_id, group), handle_seconds=[])
            recent = [float(v) for v in item.handle_seconds or []]  # type: ignore[arg-type]
            item.handle_seconds = remember(recent, seconds)  # type: ignore[assignment]
            try:
                item.save()
                return
            except PutError as error:
                if not condition_failed(error):
                    raise
