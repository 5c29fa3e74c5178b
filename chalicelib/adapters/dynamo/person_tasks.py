"""Tasks for people (the agent dialer): agent tasks and callbacks (I6, I7), claimed for an
agent-first call and returned when the agent never took it."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.dynamo.items import saved, updated
from chalicelib.adapters.dynamo.schema import DialTaskItem
from chalicelib.adapters.dynamo.task_state import (
    CALLBACK_WAITING,
    claim_task,
    defer_due,
    task_queue,
    unclaim_task,
    work_shard,
)
from chalicelib.domain.entities import DialTask


class PersonTasks:
    def claim_person_task(self, task_id: str, now: datetime, *, with_orders: bool) -> DialTask | None:
        """queued/waiting and due -> dialing for an agent-first call; None if another dialer took it."""
        return claim_task(task_id, now, ("queued", CALLBACK_WAITING), with_orders=with_orders)

    def return_person_task(self, task_id: str, call_sid: str | None, state: str, due_at: datetime) -> bool:
        """dialing -> ``state`` (queued or waiting) due at ``due_at`` when the agent never took
        the call (or it was never placed): the attempt is not counted."""
        return unclaim_task(task_id, call_sid, state, due_at)

    def defer_person_task(self, task_id: str, due_at: datetime) -> None:
        """Keep a waiting agent task or callback until ``due_at`` (outside calling hours)."""
        defer_due(task_id, due_at, "queued", CALLBACK_WAITING)

    def insert_callback_task(
        self, task_id: str, shop_id: str, phone: str, language: str, arrived_at: datetime, now: datetime
    ) -> bool:
        """A callback (I6, I7) keeping the caller's original arrival time as its due time."""
        item = DialTaskItem(
            task_id,
            shop_id=shop_id,
            phone=phone,
            kind="callback",
            language=language,
            state=CALLBACK_WAITING,
            attempts=0,
            created_at=now,
            queue_key=task_queue(shop_id, "callback"),
            due_at=arrived_at,
            work_shard=work_shard(task_id),
        )
        if not DialTaskItem.order_ids.null:  # a required list in older schemas
            item.order_ids = []  # type: ignore[assignment]
        return saved(item, DialTaskItem.task_id.does_not_exist())

    def claim_callback(self, task_id: str, agent_id: str, now: datetime) -> bool:
        return updated(
            DialTaskItem(task_id),
            actions=[
                DialTaskItem.state.set("dialing"),
                DialTaskItem.attempts.add(1),
                DialTaskItem.dialing_at.set(now),
                DialTaskItem.result.set(f"agent:{agent_id}"),
            ],
            condition=DialTaskItem.state == CALLBACK_WAITING,
        )

    def finish_callback(self, task_id: str, result: str) -> None:
        DialTaskItem(task_id).update(
            actions=[
                DialTaskItem.state.set("done"),
                DialTaskItem.result.set(result),
                DialTaskItem.queue_key.remove(),
                DialTaskItem.due_at.remove(),
                DialTaskItem.dialing_at.remove(),
            ],
            condition=DialTaskItem.task_id.exists(),
        )
