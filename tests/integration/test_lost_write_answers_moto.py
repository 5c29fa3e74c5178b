"""A dial task's state change whose answer was lost (DynamoDB applied it, botocore sent it again
and the second try met the new state) is still the writer's own: the task gets its index keys
and is neither stuck nor counted twice. The soak found tasks left 'dialing' with no capacity
key (no sweep could see them) and 'queued' with no queue key (never dialed again)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters.dynamo.schema import DialTaskItem
from chalicelib.domain.entities import DialTask
from chalicelib.wiring import repository

pytestmark = pytest.mark.integration
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
TASK = "tsk_lost_answer"


def open_task() -> None:
    task = DialTask(
        task_id=TASK,
        shop_id="demo",
        phone="+380671234567",
        order_ids=["ord_1"],
        language="uk",
        created_at=NOW,
        kind="robot",
    )
    repository().open_customer_task(task, "ord_1", NOW)


@pytest.fixture
def every_task_update_twice(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each DialTaskItem.update reaches DynamoDB twice; the caller sees the second answer."""
    update = DialTaskItem.update

    def twice(self: DialTaskItem, *args: Any, **kwargs: Any) -> Any:
        update(self, *args, **kwargs)
        return update(self, *args, **kwargs)

    open_task()
    monkeypatch.setattr(DialTaskItem, "update", twice)
    yield


def test_a_claim_whose_answer_was_lost_is_the_dialers_and_the_sweep_can_see_it(every_task_update_twice: None) -> None:
    claimed = repository().claim_task_for_dial(TASK, NOW)

    assert claimed is not None and claimed.state == "dialing"
    assert claimed.attempts == 1  # applied once: the retry's condition failed
    assert repository().count_active_tasks("demo", "robot") == 1
    assert repository().stale_dialing_task_ids("demo", "robot", NOW + timedelta(minutes=10)) == [TASK]


def test_a_requeue_whose_answer_was_lost_leaves_the_task_due(every_task_update_twice: None) -> None:
    repository().claim_task_for_dial(TASK, NOW)
    repository().attach_call(TASK, "CA1")
    retry_at = NOW + timedelta(minutes=10)

    ended = repository().end_attempt(TASK, "CA1", call_result="busy", requeue_at=retry_at, final_result=None, now=NOW)

    assert ended is not None and ended.state == "queued"
    assert [t.task_id for t in repository().due_tasks("demo", "robot", retry_at, limit=10)] == [TASK]
    assert repository().count_active_tasks("demo", "robot") == 0


@pytest.mark.parametrize("retry", [True, False], ids=["requeued", "last-attempt"])
def test_an_attempt_ended_as_seen_whose_answer_was_lost_is_still_ended(
    every_task_update_twice: None, retry: bool
) -> None:
    """The status callback's one-write ending (``seen``): the soak found a busy customer's last
    attempt ended by a write whose answer was lost, taken for another writer's, so the order
    stayed queued and the customer was never texted."""
    repository().claim_task_for_dial(TASK, NOW)
    repository().attach_call(TASK, "CA1")
    seen = repository().get_task(TASK)
    retry_at = NOW + timedelta(minutes=10) if retry else None

    ended = repository().end_attempt(
        TASK,
        "CA1",
        call_result="busy",
        requeue_at=retry_at,
        final_result=None if retry else "unreachable",
        now=NOW,
        seen=seen,
    )

    assert ended is not None and ended.state == ("queued" if retry else "failed")
    assert repository().count_active_tasks("demo", "robot") == 0


def test_a_released_claim_whose_answer_was_lost_is_due_again(every_task_update_twice: None) -> None:
    repository().claim_task_for_dial(TASK, NOW)

    assert repository().release_claim(TASK, NOW + timedelta(minutes=1))

    task = repository().get_task(TASK)
    assert task is not None and task.state == "queued" and task.attempts == 0
    assert [t.task_id for t in repository().due_tasks("demo", "robot", NOW + timedelta(minutes=1), limit=10)] == [TASK]


def test_another_writers_change_is_still_refused(aws: None) -> None:
    open_task()
    assert repository().claim_task_for_dial(TASK, NOW) is not None
    assert repository().claim_task_for_dial(TASK, NOW) is None  # a second dialer: not its write


def test_a_new_task_whose_answer_was_lost_is_opened_once(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    update = DialTaskItem.update

    def twice(self: DialTaskItem, *args: Any, **kwargs: Any) -> Any:
        update(self, *args, **kwargs)
        return update(self, *args, **kwargs)

    monkeypatch.setattr(DialTaskItem, "update", twice)
    open_task()

    task = repository().get_task(TASK)
    assert task is not None and (task.state, task.attempts, task.order_ids) == ("queued", 0, ["ord_1"])
    assert [t.task_id for t in repository().due_tasks("demo", "robot", NOW, limit=10)] == [TASK]


def test_orders_open_a_task_in_one_write_reopen_a_finished_one_and_join_an_open_one(aws: None) -> None:
    writes: list[str] = []
    update = DialTaskItem.update

    def counted(self: DialTaskItem, *args: Any, **kwargs: Any) -> Any:
        writes.append("UpdateItem")
        return update(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DialTaskItem, "update", counted)
        open_task()
    assert writes == ["UpdateItem"]  # a new customer's task: one write (#19, ingest)

    repository().claim_task_for_dial(TASK, NOW)
    repository().end_attempt(TASK, None, call_result="decided", requeue_at=None, final_result="confirmed", now=NOW)
    assert repository().get_task(TASK).state == "done"  # type: ignore[union-attr]
    later = NOW + timedelta(days=3)
    second = DialTask(TASK, "demo", "+380671234567", ["ord_2"], "uk", later, kind="robot")
    writes.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DialTaskItem, "update", counted)
        reopened = repository().open_customer_task(second, "ord_2", later)
    assert writes == ["UpdateItem"]
    assert (reopened.state, reopened.attempts, reopened.result, reopened.due_at) == ("queued", 0, None, later)

    third = DialTask(TASK, "demo", "+380671234567", ["ord_3"], "uk", later, kind="agent")
    joined = repository().open_customer_task(third, "ord_3", later)  # open: joins, and needs a person now
    assert (joined.state, joined.kind, joined.order_ids) == ("queued", "agent", ["ord_2", "ord_3"])
    assert [t.task_id for t in repository().due_tasks("demo", "agent", later, limit=10)] == [TASK]
