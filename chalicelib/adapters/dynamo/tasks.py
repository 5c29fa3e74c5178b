"""Dial tasks: one customer of one shop to reach about their open orders (O4), through robot
attempts, agent-first calls and callbacks (I6, I7). A task's state changes are conditional on
the state the writer saw, and recognise their own write when its answer was lost.

One repository in three parts: the customer's task here (opened by its orders, claimed, dialed,
ended), ``person_tasks`` (agent tasks and callbacks), ``task_queries`` (due and active tasks,
per shop and across shops); ``task_state`` holds what they share."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamo.items import condition_failed, saved, updated
from chalicelib.adapters.dynamo.person_tasks import PersonTasks
from chalicelib.adapters.dynamo.schema import DialTaskItem
from chalicelib.adapters.dynamo.task_queries import TaskQueries
from chalicelib.adapters.dynamo.task_state import (
    claim_task,
    close_if_empty,
    defer_due,
    dialing_call,
    key_from_read_back,
    task_entity,
    task_queue,
    unclaim_task,
    update_task,
    work_shard,
)
from chalicelib.domain.entities import DialTask


def _sets(action: Action, attribute: Attribute[Any]) -> bool:
    return str(action.values[0]) == attribute.attr_name


def _attempt_ended(call_result: str, requeue_at: datetime | None, final_result: str | None) -> list[Action]:
    """An attempt's end: queued again at ``requeue_at``, or finished with ``final_result``."""
    actions: list[Action] = [
        DialTaskItem.active_key.remove(),
        DialTaskItem.dialing_at.remove(),
        DialTaskItem.last_call_result.set(call_result),
    ]
    if requeue_at is not None:
        return [*actions, DialTaskItem.state.set("queued"), DialTaskItem.due_at.set(requeue_at)]
    return [
        *actions,
        DialTaskItem.state.set("done" if final_result != "unreachable" else "failed"),
        DialTaskItem.result.set(final_result or "done"),
    ]


class TaskRepository(TaskQueries, PersonTasks):
    """A customer's dial task through its rounds of attempts; with the person tasks and queries."""

    def open_customer_task(self, task: DialTask, order_id: str, now: datetime) -> DialTask:
        """Add an open order to the customer's task, creating the task or reopening a finished
        one. Safe under redelivery and races: adding to a set is idempotent, and only one writer
        can move the task from 'no state'/'finished' to 'queued'."""
        item = DialTaskItem(task.task_id)
        identity: list[Action] = [
            DialTaskItem.order_ids.add({order_id}),
            DialTaskItem.shop_id.set(DialTaskItem.shop_id | task.shop_id),
            DialTaskItem.phone.set(DialTaskItem.phone | task.phone),
            DialTaskItem.language.set(DialTaskItem.language | task.language),
            DialTaskItem.created_at.set(DialTaskItem.created_at | now),
            DialTaskItem.attempts.set(DialTaskItem.attempts | 0),
            DialTaskItem.work_shard.set(work_shard(task.task_id)),
        ]
        # A person is needed if any open order needs one; never downgraded while orders are open.
        identity.append(
            DialTaskItem.kind.set(task.kind)
            if task.kind == "agent"
            else DialTaskItem.kind.set(DialTaskItem.kind | task.kind)
        )
        opened, token = self._open_new_or_finished(task, identity, now)
        if opened is not None:
            return task_entity(opened)
        item.update(actions=identity)
        if item.write_token == token:  # the one write above was applied after all
            return task_entity(item)
        if item.state in (None, "done", "failed"):
            # The identity update returned the shop and kind: one write queues the task.
            queued = self._queue_again(
                task.task_id, now, from_states=("done", "failed"), queue_key=task_queue(item.shop_id, item.kind)
            )
            if queued is not None:
                return task_entity(queued)
        elif item.state == "queued" and task.kind == "agent":
            self._move_queue(task.task_id, f"{task.shop_id}#agent")
        return task_entity(DialTaskItem.get(task.task_id, consistent_read=True))

    def _open_new_or_finished(
        self, task: DialTask, identity: list[Action], now: datetime
    ) -> tuple[DialTaskItem | None, str]:
        """The common case in one write (#19, ingest): no task yet, or a finished one whose kind
        stays as it is, is created or reopened queued; the task and the write's token. No task
        when it is open (or its kind would change): the caller's two-step path then, whose first
        write shows by the token whether this one was applied after all (its answer lost)."""
        item = DialTaskItem(task.task_id)
        token = secrets.token_hex(8)
        # attempts start again at 0 (the identity's "if not there yet" would keep a finished round's)
        actions = [action for action in identity if not _sets(action, DialTaskItem.attempts)]
        actions += [
            DialTaskItem.attempts.set(0),
            DialTaskItem.state.set("queued"),
            DialTaskItem.due_at.set(now),
            DialTaskItem.queue_key.set(task_queue(task.shop_id, task.kind)),
            DialTaskItem.contacted.remove(),
            DialTaskItem.result.remove(),
            DialTaskItem.last_call_result.remove(),
            DialTaskItem.call_order_ids.remove(),
            DialTaskItem.write_token.set(token),
        ]
        kind_kept = DialTaskItem.kind.does_not_exist() | (DialTaskItem.kind == task.kind)
        condition = (DialTaskItem.state.does_not_exist() | DialTaskItem.state.is_in("done", "failed")) & kind_kept
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            if not condition_failed(error):
                raise
            return None, token
        return item, token

    def _queue_again(
        self, task_id: str, now: datetime, *, from_states: tuple[str, ...], queue_key: str | None = None
    ) -> DialTaskItem | None:
        """A new round of attempts for a task that has open orders and no call going on; the
        task as stored, or None if it was not in ``from_states``. ``queue_key`` when the caller
        knows it (else a second write sets it from the shop and kind read back)."""
        item = DialTaskItem(task_id)
        actions: list[Action] = [
            DialTaskItem.state.set("queued"),
            DialTaskItem.attempts.set(0),
            DialTaskItem.due_at.set(now),
            DialTaskItem.contacted.remove(),
            DialTaskItem.result.remove(),
            DialTaskItem.last_call_result.remove(),
            DialTaskItem.call_order_ids.remove(),
        ]
        if queue_key is not None:
            actions.append(DialTaskItem.queue_key.set(queue_key))
        if not update_task(
            item,
            actions=actions,
            condition=(DialTaskItem.state.does_not_exist() | DialTaskItem.state.is_in(*from_states))
            & DialTaskItem.order_ids.exists(),
        ):
            return None
        if queue_key is None:
            key_from_read_back(item, DialTaskItem.queue_key)
        return item

    def _move_queue(self, task_id: str, queue_key: str) -> None:
        updated(
            DialTaskItem(task_id),
            actions=[DialTaskItem.queue_key.set(queue_key)],
            condition=DialTaskItem.state == "queued",
        )

    def insert_task(self, task: DialTask) -> bool:
        """Store a task made whole elsewhere (callbacks); False when that id exists."""
        item = DialTaskItem(
            task.task_id,
            shop_id=task.shop_id,
            phone=task.phone,
            order_ids=set(task.order_ids) or None,
            kind=task.kind,
            language=task.language,
            state=task.state,
            attempts=task.attempts,
            created_at=task.created_at,
            queue_key=task_queue(task.shop_id, task.kind),
            due_at=task.due_at or task.created_at,
            callback_at=task.callback_at,
            work_shard=work_shard(task.task_id),
        )
        return saved(item, DialTaskItem.task_id.does_not_exist())

    def get_task(self, task_id: str) -> DialTask | None:
        if not task_id:
            return None
        try:
            return task_entity(DialTaskItem.get(task_id, consistent_read=True))
        except DoesNotExist:
            return None

    def claim_task_for_dial(self, task_id: str, now: datetime) -> DialTask | None:
        """queued and due -> dialing, counting the attempt and fixing which orders this call is
        about; None if another dialer took it."""
        return claim_task(task_id, now, ("queued",), with_orders=True)

    def attach_call(self, task_id: str, call_sid: str) -> bool:
        """Tie the call to its dialing task; safe to repeat, and from whichever side sees it first
        (the dialer after Calls.create, or a webhook that outran it)."""
        return updated(
            DialTaskItem(task_id), actions=[DialTaskItem.last_call_sid.set(call_sid)], condition=dialing_call(call_sid)
        )

    def answer_task(self, task_id: str, call_sid: str, *, contacted: bool) -> DialTask | None:
        """``attach_call`` for the answer webhook, marking the customer reached when a person
        answered, and returning the task as stored (ALL_NEW: no read before or after); None if
        the task is not dialing this call."""
        item = DialTaskItem(task_id)
        actions: list[Action] = [DialTaskItem.last_call_sid.set(call_sid)]
        if contacted:
            actions.append(DialTaskItem.contacted.set(True))
        if not updated(item, actions=actions, condition=dialing_call(call_sid)):
            return None
        return task_entity(item)

    def mark_contacted(self, task_id: str) -> None:
        DialTaskItem(task_id).update(actions=[DialTaskItem.contacted.set(True)])

    def defer_task(self, task_id: str, due_at: datetime) -> None:
        """Keep a queued task waiting until ``due_at`` (outside calling hours)."""
        defer_due(task_id, due_at, "queued")

    def set_task_result(self, task_id: str, call_sid: str, result: str) -> DialTask | None:
        """Remember the customer's decision during the call it was made on (attaching the call
        if the webhook outran the dialer); the task as stored, or None if it is not dialing
        this call."""
        item = DialTaskItem(task_id)
        if not updated(
            item,
            actions=[DialTaskItem.last_call_sid.set(call_sid), DialTaskItem.result.set(result)],
            condition=dialing_call(call_sid),
        ):
            return None
        return task_entity(item)

    def end_attempt(
        self,
        task_id: str,
        call_sid: str | None,
        *,
        call_result: str,
        requeue_at: datetime | None,
        final_result: str | None,
        now: datetime,
        seen: DialTask | None = None,
    ) -> DialTask | None:
        """dialing -> queued (retry at ``requeue_at``) or finished with ``final_result``, the orders
        the call was about leaving the task; a task that still has open orders (they came in
        during the call) starts a new round at once. None if the attempt was already ended.

        ``seen``: the task as the caller read it during this attempt. Its shop, kind and call
        orders let one conditional UpdateItem do all of it (also attaching the call if the
        status callback outran the dialer), instead of an update, a follow-up and a read."""
        if seen is not None:
            return self._end_seen_attempt(seen, call_sid, call_result, requeue_at, final_result, now)
        item = DialTaskItem(task_id)
        actions = _attempt_ended(call_result, requeue_at, final_result)
        condition = DialTaskItem.state == "dialing"
        if call_sid is not None:
            condition &= DialTaskItem.last_call_sid == call_sid
        if not update_task(item, actions=actions, condition=condition):
            return None
        if requeue_at is not None:
            key_from_read_back(item, DialTaskItem.queue_key)
            close_if_empty(item)  # its orders were withdrawn during the call
        elif item.call_order_ids:
            item.update(actions=[DialTaskItem.order_ids.delete(set(item.call_order_ids))])
            if item.order_ids:
                self._queue_again(task_id, now, from_states=("done", "failed"))
        return task_entity(DialTaskItem.get(task_id, consistent_read=True))

    def _end_seen_attempt(
        self,
        seen: DialTask,
        call_sid: str | None,
        call_result: str,
        requeue_at: datetime | None,
        final_result: str | None,
        now: datetime,
    ) -> DialTask | None:
        item = DialTaskItem(seen.task_id)
        actions = _attempt_ended(call_result, requeue_at, final_result)
        if requeue_at is not None:
            actions.append(DialTaskItem.queue_key.set(task_queue(seen.shop_id, seen.kind)))
        elif seen.call_order_ids:
            actions.append(DialTaskItem.order_ids.delete(set(seen.call_order_ids)))
        # The same attempt as seen (attempts and call orders are fixed when a claim starts one),
        # with no decision made since, of the kind seen (its queue; an agent order may come in).
        condition = (DialTaskItem.state == "dialing") & (DialTaskItem.attempts == seen.attempts)
        condition &= DialTaskItem.kind == seen.kind
        condition &= DialTaskItem.result.does_not_exist() if seen.result is None else DialTaskItem.result == seen.result
        if call_sid is not None:
            actions.append(DialTaskItem.last_call_sid.set(call_sid))
            condition &= dialing_call(call_sid)
        if not update_task(item, actions=actions, condition=condition):  # recognises our own lost answer
            return None
        if requeue_at is None and seen.call_order_ids and item.order_ids:
            # Orders came in during the call: a new round at once (rare, so read back after).
            self._queue_again(seen.task_id, now, from_states=("done", "failed"))
            return self.get_task(seen.task_id)
        if requeue_at is not None and not item.order_ids:
            close_if_empty(item)  # its orders were withdrawn during the call
        return task_entity(item)

    def hand_attempt_to_agents(self, seen: DialTask, call_sid: str, now: datetime) -> DialTask | None:
        """The robot's attempt ``seen`` ended with the customer asking for a person (key 3): the
        task becomes an agent task, due at once in the agent queue with a new round of attempts,
        its orders (and any that came in during the call) kept. One conditional UpdateItem on
        the attempt as seen, with that decision; None if it was already ended."""
        item = DialTaskItem(seen.task_id)
        actions: list[Action] = [
            DialTaskItem.active_key.remove(),
            DialTaskItem.dialing_at.remove(),
            DialTaskItem.call_order_ids.remove(),
            DialTaskItem.result.remove(),
            DialTaskItem.last_call_result.set(seen.result or "agent"),
            DialTaskItem.last_call_sid.set(call_sid),
            DialTaskItem.kind.set("agent"),
            DialTaskItem.state.set("queued"),
            DialTaskItem.attempts.set(0),
            DialTaskItem.due_at.set(now),
            DialTaskItem.queue_key.set(task_queue(seen.shop_id, "agent")),
        ]
        condition = (DialTaskItem.state == "dialing") & (DialTaskItem.attempts == seen.attempts)
        condition &= (DialTaskItem.result == (seen.result or "agent")) & dialing_call(call_sid)
        condition &= DialTaskItem.order_ids.exists()
        if not update_task(item, actions=actions, condition=condition):
            return None
        return task_entity(item)

    def release_claim(self, task_id: str, due_at: datetime) -> bool:
        """dialing -> queued for a call that was never placed: the attempt is not counted."""
        return unclaim_task(task_id, None, "queued", due_at)

    def drop_orders_from_task(self, task_id: str, order_ids: list[str], result: str = "decided-by-sms") -> None:
        """Orders decided outside a call (a text reply) or withdrawn by the shop leave the
        customer's task; a waiting task left with nothing to ask about is done (``result``). A
        task being dialed keeps its call: the attempt's end closes it if nothing is left."""
        item = DialTaskItem(task_id)
        if not updated(
            item, actions=[DialTaskItem.order_ids.delete(set(order_ids))], condition=DialTaskItem.task_id.exists()
        ):
            return
        close_if_empty(item, result)

    def set_task_language(self, task_id: str, language: str) -> None:
        """The customer's language as the shop last gave it (the robot's next call speaks it)."""
        updated(
            DialTaskItem(task_id),
            actions=[DialTaskItem.language.set(language)],
            condition=DialTaskItem.task_id.exists(),
        )
