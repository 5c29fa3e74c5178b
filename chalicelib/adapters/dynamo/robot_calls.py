"""The robot call's webhooks as transactions over its task, its call and its orders: the
answer and the keypress each write all of them or none (O3, O6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamo.items import Write, setting, transact
from chalicelib.adapters.dynamo.orders import order_ref
from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem, OrderItem
from chalicelib.adapters.dynamo.tasks import dialing_call
from chalicelib.domain.robot_call_ref import RobotCallRef


def _attempt_call(ref: RobotCallRef, call_sid: str) -> Condition:
    """The task is dialing this call (or none attached yet) on the attempt the webhook belongs to."""
    return dialing_call(call_sid) & (DialTaskItem.attempts == ref.attempt)


class RobotCallRepository:
    def answer_robot_call(self, ref: RobotCallRef, call_sid: str, *, person: bool, **call_fields: Any) -> bool:
        """The answer webhook's writes as one TransactWriteItems: the task attaches the call (and
        notes the customer reached if a person answered) only while it is dialing this call on
        this attempt; the call item takes ``call_fields``; when a person answered, the orders
        the call is about are marked reached and asked by the robot (a text reply may then decide
        them, O10). All or nothing: False (nothing written) when the
        task is not dialing this call.

        The call item is not required to exist: a webhook may outrun the dialer's
        ``upsert_call``, which then adds the identity (if_not_exists) to what is written here."""
        if not call_sid:
            return False  # no call to attach (and DynamoDB refuses an empty key)
        task_actions: list[Action] = [DialTaskItem.last_call_sid.set(call_sid)]
        if person:
            task_actions.append(DialTaskItem.contacted.set(True))
        writes: list[Write] = [
            (DialTaskItem(ref.task_id), task_actions, _attempt_call(ref, call_sid)),
            (CallItem(call_sid), setting(CallItem, call_fields), None),
        ]
        if person:
            writes += [
                (
                    order_ref(ref.shop_id, order_id),
                    [OrderItem.reached.set(True), OrderItem.asked_by.set("robot")],
                    OrderItem.order_id.exists(),
                )
                for order_id in ref.order_ids
            ]
        while True:
            failed = transact(writes)
            if not failed:
                return True
            if 0 in failed:
                return False
            writes = [write for i, write in enumerate(writes) if i not in failed]  # an order gone: skip it

    def decide_robot_call(
        self,
        ref: RobotCallRef,
        call_sid: str,
        decision: str,
        *,
        order_status: str | None,
        now: datetime,
        agent_reason: str | None = None,
    ) -> list[str] | None:
        """The keypress webhook's writes as one TransactWriteItems: the task takes the customer's
        decision only while it is dialing this call on this attempt; the call item its result;
        with ``order_status``, each order the call is about moves queued -> ``order_status``
        (decided_at ``now``); with ``agent_reason`` (the customer asked for a person), each
        queued order takes the route ``agent`` for that reason and is no longer one a text may
        decide. The orders that changed, or None (nothing written) when the task is not dialing
        this call. An order no longer queued (decided meanwhile, e.g. by a text reply or the
        shop's cancel) or no longer on this task (the shop gave it another phone) is left as it
        is: the transaction is made again without it."""
        if not call_sid:
            return None  # no call to decide on (and DynamoDB refuses an empty key)
        writes: list[Write] = [
            (
                DialTaskItem(ref.task_id),
                [DialTaskItem.last_call_sid.set(call_sid), DialTaskItem.result.set(decision)],
                _attempt_call(ref, call_sid),
            ),
            (CallItem(call_sid), [CallItem.result.set(decision)], None),
        ]
        order_actions: list[Action] = []
        if order_status:
            order_actions = [OrderItem.status.set(order_status), OrderItem.decided_at.set(now)]
        elif agent_reason:
            order_actions = [
                OrderItem.route.set("agent"),
                OrderItem.route_reason.set(agent_reason),
                OrderItem.asked_by.remove(),
            ]
        orders = list(ref.order_ids) if order_actions else []
        writes += [
            (
                order_ref(ref.shop_id, order_id),
                order_actions,
                # Still queued, and still on this call's task: an order the shop moved to another
                # phone meanwhile is not this customer's to decide (#16 item 14).
                OrderItem.order_id.exists()
                & OrderItem.status.is_in("queued")
                & (OrderItem.task_id.does_not_exist() | (OrderItem.task_id == ref.task_id)),
            )
            for order_id in orders
        ]
        while True:
            failed = transact(writes)
            if not failed:
                return orders
            if 0 in failed:
                return None
            orders = [order_id for i, order_id in enumerate(orders, start=2) if i not in failed]
            writes = [write for i, write in enumerate(writes) if i not in failed]
