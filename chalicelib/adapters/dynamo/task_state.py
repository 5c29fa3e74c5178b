"""A dial task's stored state, shared by the task repository's parts (``tasks``, ``person_tasks``,
``task_queries``): the item <-> entity mapping, the index keys, and the conditional state
changes that recognise their own write when its answer was lost."""

from __future__ import annotations

import secrets
import zlib
from datetime import datetime

from pynamodb.attributes import Attribute
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamo.items import condition_failed, count, from_item, sorted_set, updated
from chalicelib.adapters.dynamo.schema import DialTaskItem
from chalicelib.domain.entities import DialTask

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


def key_from_read_back(item: DialTaskItem, index_key: Attribute[str]) -> None:
    """Set an index key (due or active) that needs the shop and kind the state change read back."""
    item.update(actions=[index_key.set(task_queue(item.shop_id, item.kind))])


def claim_task(task_id: str, now: datetime, states: tuple[str, ...], *, with_orders: bool) -> DialTask | None:
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
    key_from_read_back(item, DialTaskItem.active_key)  # the capacity index
    return task_entity(item)


def unclaim_task(task_id: str, call_sid: str | None, state: str, due_at: datetime) -> bool:
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
    key_from_read_back(item, DialTaskItem.queue_key)
    close_if_empty(item)  # its orders were withdrawn while it was being dialed
    return True


def close_if_empty(item: DialTaskItem, result: str = NO_ORDERS_LEFT) -> None:
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


def defer_due(task_id: str, due_at: datetime, *states: str) -> None:
    updated(
        DialTaskItem(task_id), actions=[DialTaskItem.due_at.set(due_at)], condition=DialTaskItem.state.is_in(*states)
    )
