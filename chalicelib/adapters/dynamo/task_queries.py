"""Finding the dial tasks to work on: a shop's due and active tasks of one kind (its queue and
capacity indexes), and across shops the ``work_shard`` spreads the minute's ``dial_due`` reads."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.dynamo.items import count
from chalicelib.adapters.dynamo.schema import DialTaskItem
from chalicelib.adapters.dynamo.task_state import WORK_SHARDS, task_queue, update_task, work_shard
from chalicelib.domain.priority import DueTask


class TaskQueries:
    def stale_dialing_task_ids(self, shop_id: str, kind: str, dialing_before: datetime) -> list[str]:
        query = DialTaskItem.by_active.query(task_queue(shop_id, kind), DialTaskItem.dialing_at <= dialing_before)
        return [item.task_id for item in query]

    def count_active_tasks(self, shop_id: str, kind: str) -> int:
        return DialTaskItem.by_active.count(task_queue(shop_id, kind))

    def due_tasks(self, shop_id: str, kind: str, now: datetime, limit: int) -> list[DueTask]:
        query = DialTaskItem.by_queue_due.query(task_queue(shop_id, kind), DialTaskItem.due_at <= now, limit=limit)
        return [
            DueTask(
                task_id=item.task_id,
                attempts=count(item.attempts),
                due_at=item.due_at or now,
                callback_at=item.callback_at,
                contacted=bool(item.contacted),
            )
            for item in query
        ]

    def shops_with_tasks_due(self, now: datetime, dialing_before: datetime) -> dict[str, set[str]]:
        """Shop id -> the kinds of task it has due by ``now`` or dialing since before
        ``dialing_before`` (stuck calls to settle): a Query per spread of each cross-shop
        index, reading keys, shop and kind only, never an idle shop's tables."""
        found: dict[str, set[str]] = {}
        for shard in map(str, range(WORK_SHARDS)):
            for index, key in (
                (DialTaskItem.by_shard_due, DialTaskItem.due_at <= now),
                (DialTaskItem.by_shard_dialing, DialTaskItem.dialing_at <= dialing_before),
            ):
                for item in index.query(shard, key, attributes_to_get=["shop_id", "kind"]):
                    if item.shop_id:
                        found.setdefault(item.shop_id, set()).add(item.kind or "robot")
        return found

    def index_open_tasks(self) -> int:
        """Give the open tasks stored before the cross-shop indexes their ``work_shard``: a one-off
        Scan after upgrading (``cli.admin index-dial-tasks``), safe to repeat. Without it such a
        task is never found by the minute's ``dial_due``. How many tasks it keyed."""
        keyed = 0
        open_task = DialTaskItem.due_at.exists() | DialTaskItem.dialing_at.exists()
        for stored in DialTaskItem.scan(open_task & DialTaskItem.work_shard.does_not_exist()):
            item = DialTaskItem(stored.task_id)
            condition = DialTaskItem.task_id.exists() & DialTaskItem.work_shard.does_not_exist()
            if update_task(
                item, actions=[DialTaskItem.work_shard.set(work_shard(stored.task_id))], condition=condition
            ):
                keyed += 1
        return keyed
