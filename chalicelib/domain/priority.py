"""Which due dial task goes first (O6, the seeds' two variants).

Variant 1: new orders, then tasks with one attempt, then callbacks whose agreed time has come,
then retries where nobody has talked to us yet. Variant 2: new orders, then fewest attempts.
Ties go to the task that has waited longest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class DueTask:
    task_id: str
    attempts: int
    due_at: datetime
    callback_at: datetime | None = None  # a time the customer agreed to
    contacted: bool = False  # someone answered on an earlier attempt


def priority_key(task: DueTask, variant: Literal[1, 2]) -> tuple[int, int, datetime]:
    if task.attempts == 0 and task.callback_at is None:
        return (0, 0, task.due_at)
    if variant == 2:
        return (1, task.attempts, task.due_at)
    if task.attempts == 1 and task.callback_at is None:
        return (1, 0, task.due_at)
    if task.callback_at is not None:
        return (2, 0, task.callback_at)
    return (3 if not task.contacted else 4, task.attempts, task.due_at)


def in_dial_order(tasks: list[DueTask], variant: Literal[1, 2]) -> list[DueTask]:
    return sorted(tasks, key=lambda task: priority_key(task, variant))
