"""Dial tasks: one customer of one shop to reach about their open orders (O4), through robot
attempts, agent-first calls and callbacks (I6, I7). A task's state changes are conditional on
the state the writer saw, and recognise their own write when its answer was lost."""

from __future__ import annotations

import secrets
import zlib
from datetime import datetime
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamo.items import condition_failed, count, from_item, saved, sorted_set, updated
from chalicelib.adapters.dynamo.schema import DialTaskItem
from chalicelib.domain.entities import DialTask
from chalicelib.domain.priority import DueTask

# A callback task waits in this state until an agent is free for it. The robot dialer serves
# only "queued" tasks, so it never robot-dials a callback.
CALLBACK_WAITING = "waiting"
# The kinds of task that exist for their orders: one left queued with none is closed, so no
# dialer claims it (or tries to, every minute) about nothing.
ORDER_KINDS = ("robot", "agent")
NO_ORDERS_LEFT = "no-orders-left"


def task_entity(item: DialTaskItem) -> DialTask:
    return from_item(
        DialTask,
        item,
        order_ids=sorted_set(item.order_ids),
        call_order_ids=sorted_set(item.call_order_ids),
        contacted=bool(item.contacted),
        state=item.state or "new",
        attempts=count(item.attempts),
    )


# How many spreads the cross-shop indexes (``by_shard_due``, ``by_shard_dialing``) have: a
# minute's search costs one Query per spread however many shops there are, and each spread
# takes its share of the writes (a GSI partition takes about 1,000 writes a second).
# Changing it means rewriting every open task's ``work_shard``.
WORK_SHARDS = 4


def work_shard(task_id: str) -> str:
    return str(zlib.crc32(task_id.encode("utf-8")) % WORK_SHARDS)


def task_queue(shop_id: str, kind: str) -> str:
    """The key of a shop's tasks of one kind in the due and active indexes."""
    return f"{shop_id}#{kind}"


def update_task(item: DialTaskItem, *, actions: list[Action], condition: Condition) -> bool:
    """A dial task's conditional state change that recognises its own write. When DynamoDB
    applied the update but the answer was lost, botocore sends it again and the condition fails
    on the state just written; the token written with it tells that the write was ours, so the
    caller goes on (sets the index keys) instead of leaving the task in a state no queue or
    sweep finds. On success (or our own lost write) ``item`` holds the task's new state."""
    token = secrets.token_hex(8)
    try:
        item.update(actions=[*actions, DialTaskItem.write_token.set(token)], condition=condition)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        try:
            item.refresh(consistent_read=True)
        except DoesNotExist:
            return False
        return item.write_token == token
    return True


def dialing_call(call_sid: str) -> Condition:
    """The task is dialing, and this call is its current one (or no call is attached yet)."""
    return (DialTaskItem.state == "dialing") & (
        DialTaskItem.last_call_sid.does_not_exist() | (DialTaskItem.last_call_sid == call_sid)
    )


def _sets(action: Action, attribute: Attribute[Any]) -> bool:
    return str(action.values[0]) == attribute.attr_name


def _key_from_read_back(item: DialTaskItem, index_key: Attribute[str]) -> None:
    """Set an index key (due or active) that needs the shop and kind the state change read back."""
    item.update(actions=[index_key.set(task_queue(item.shop_id, item.kind))])


def _claim(task_id: str, now: datetime, states: tuple[str, ...], *, with_orders: bool) -> DialTask | None:
    """``states`` and due -> dialing, counting the attempt and fixing which orders (if any:
    callbacks may have none) the call is about; None if another dialer took it."""
    item = DialTaskItem(task_id)
    actions: list[Action] = [
        DialTaskItem.state.set("dialing"),
        DialTaskItem.attempts.add(1),
        DialTaskItem.dialing_at.set(now),
        DialTaskItem.queue_key.remove(),
        DialTaskItem.due_at.remove(),
        DialTaskItem.last_call_sid.remove(),
        DialTaskItem.result.remove(),
    ]
    condition = DialTaskItem.state.is_in(*states) & (DialTaskItem.due_at <= now)
    if with_orders:
        actions.append(DialTaskItem.call_order_ids.set(DialTaskItem.order_ids))
        condition &= DialTaskItem.order_ids.exists()
    if not update_task(item, actions=actions, condition=condition):
        return None
    _key_from_read_back(item, DialTaskItem.active_key)  # the capacity index
    return task_entity(item)


def _unclaim(task_id: str, call_sid: str | None, state: str, due_at: datetime) -> bool:
    """dialing -> ``state`` due at ``due_at`` for a call never placed (``call_sid`` None) or
    never taken: the attempt is not counted."""
    item = DialTaskItem(task_id)
    condition = (DialTaskItem.state == "dialing") & (
        DialTaskItem.last_call_sid.does_not_exist()
        if call_sid is None
        else (DialTaskItem.last_call_sid.does_not_exist() | (DialTaskItem.last_call_sid == call_sid))
    )
    if not update_task(
        item,
        actions=[
            DialTaskItem.state.set(state),
            DialTaskItem.attempts.add(-1),
            DialTaskItem.due_at.set(due_at),
            DialTaskItem.active_key.remove(),
            DialTaskItem.dialing_at.remove(),
            DialTaskItem.call_order_ids.remove(),
            DialTaskItem.last_call_sid.remove(),
        ],
        condition=condition,
    ):
        return False
    _key_from_read_back(item, DialTaskItem.queue_key)
    _close_if_empty(item)  # its orders were withdrawn while it was being dialed
    return True


def _close_if_empty(item: DialTaskItem, result: str = NO_ORDERS_LEFT) -> None:
    """A queued task of orders (``item`` as just stored) that has none left is done."""
    if item.state != "queued" or item.order_ids or item.kind not in ORDER_KINDS:
        return
    updated(
        item,
        actions=[
            DialTaskItem.state.set("done"),
            DialTaskItem.result.set(result),
            DialTaskItem.queue_key.remove(),
            DialTaskItem.due_at.remove(),
        ],
        condition=(DialTaskItem.state == "queued")
        & DialTaskItem.order_ids.does_not_exist()
        & DialTaskItem.kind.is_in(*ORDER_KINDS),
    )


def _defer(task_id: str, due_at: datetime, *states: str) -> None:
    updated(
        DialTaskItem(task_id), actions=[DialTaskItem.due_at.set(due_at)], condition=DialTaskItem.state.is_in(*states)
    )


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


class TaskRepository:
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
            _key_from_read_back(item, DialTaskItem.queue_key)
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

    def claim_task_for_dial(self, task_id: str, now: datetime) -> DialTask | None:
        """queued and due -> dialing, counting the attempt and fixing which orders this call is
        about; None if another dialer took it."""
        return _claim(task_id, now, ("queued",), with_orders=True)

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
        _defer(task_id, due_at, "queued")

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
            _key_from_read_back(item, DialTaskItem.queue_key)
            _close_if_empty(item)  # its orders were withdrawn during the call
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
        if not updated(item, actions=actions, condition=condition):
            return None
        if requeue_at is None and seen.call_order_ids and item.order_ids:
            # Orders came in during the call: a new round at once (rare, so read back after).
            self._queue_again(seen.task_id, now, from_states=("done", "failed"))
            return self.get_task(seen.task_id)
        if requeue_at is not None and not item.order_ids:
            _close_if_empty(item)  # its orders were withdrawn during the call
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
        return _unclaim(task_id, None, "queued", due_at)

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

    def drop_orders_from_task(self, task_id: str, order_ids: list[str], result: str = "decided-by-sms") -> None:
        """Orders decided outside a call (a text reply) or withdrawn by the shop leave the
        customer's task; a waiting task left with nothing to ask about is done (``result``). A
        task being dialed keeps its call: the attempt's end closes it if nothing is left."""
        item = DialTaskItem(task_id)
        if not updated(
            item, actions=[DialTaskItem.order_ids.delete(set(order_ids))], condition=DialTaskItem.task_id.exists()
        ):
            return
        _close_if_empty(item, result)

    def set_task_language(self, task_id: str, language: str) -> None:
        """The customer's language as the shop last gave it (the robot's next call speaks it)."""
        updated(
            DialTaskItem(task_id),
            actions=[DialTaskItem.language.set(language)],
            condition=DialTaskItem.task_id.exists(),
        )

    # ---- tasks for people (agent dialer): agent tasks and callbacks ------------------------
    def claim_person_task(self, task_id: str, now: datetime, *, with_orders: bool) -> DialTask | None:
        """queued/waiting and due -> dialing for an agent-first call; None if another dialer took it."""
        return _claim(task_id, now, ("queued", CALLBACK_WAITING), with_orders=with_orders)

    def return_person_task(self, task_id: str, call_sid: str | None, state: str, due_at: datetime) -> bool:
        """dialing -> ``state`` (queued or waiting) due at ``due_at`` when the agent never took
        the call (or it was never placed): the attempt is not counted."""
        return _unclaim(task_id, call_sid, state, due_at)

    def defer_person_task(self, task_id: str, due_at: datetime) -> None:
        """Keep a waiting agent task or callback until ``due_at`` (outside calling hours)."""
        _defer(task_id, due_at, "queued", CALLBACK_WAITING)

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
