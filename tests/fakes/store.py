"""In-memory stand-in for the one store (adapters/dynamo/store.py), with the same conditional
semantics as DynamoDB: a transition from the wrong state does nothing and says so."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from chalicelib.domain.dedup import DedupClaim
from chalicelib.domain.desk import AgentToken
from chalicelib.domain.entities import Call, DialTask, Order, TextMessage
from chalicelib.domain.priority import DueTask
from chalicelib.domain.robot_call_ref import RobotCallRef
from chalicelib.domain.routing import Agent
from chalicelib.domain.shop import ShopSettings


class FakeStore:
    def __init__(self, shops: list[ShopSettings] | None = None) -> None:
        self.shops = {shop.shop_id: shop for shop in shops or []}
        self.numbers: dict[str, tuple[str, str]] = {}
        self.api_keys: dict[str, str] = {}
        self.agents: dict[tuple[str, str], dict[str, Any]] = {}
        self.agent_tokens: dict[str, tuple[str, str]] = {}
        self.agent_token_issues: dict[str, AgentToken] = {}
        self.orders: dict[tuple[str, str], Order] = {}
        self.claims: dict[str, tuple[str, datetime | None]] = {}
        self.tasks: dict[str, DialTask] = {}
        self.calls: dict[str, Call] = {}
        self.agent_legs: dict[str, str] = {}  # call -> the reservation whose agent's leg was placed
        self.call_sequences: dict[str, int] = {}
        self.do_not_call: dict[tuple[str, str], str] = {}
        self.dialing_since: dict[str, datetime] = {}
        self.messages: list[TextMessage] = []

    # shops
    def get_shop(self, shop_id: str) -> ShopSettings | None:
        return self.shops.get(shop_id)

    def list_shops(self) -> list[ShopSettings]:
        return list(self.shops.values())

    def save_shop(self, shop: ShopSettings, now: datetime) -> None:
        self.shops[shop.shop_id] = shop

    def shop_for_number(self, number: str) -> tuple[ShopSettings, str] | None:
        route = self.numbers.get(number)
        return (self.shops[route[0]], route[1]) if route else None

    def save_number(self, number: str, shop_id: str, group: str) -> None:
        self.numbers[number] = (shop_id, group)

    def shop_for_api_key(self, api_key: str) -> ShopSettings | None:
        shop_id = self.api_keys.get(api_key)
        return self.shops.get(shop_id) if shop_id else None

    def save_api_key(self, shop_id: str, api_key: str, key_id: str, now: datetime) -> None:
        self.api_keys[api_key] = shop_id

    def save_agent(self, shop_id: str, agent: dict[str, Any]) -> tuple[str, str] | None:
        identity = agent.get("client_identity")
        for key, other in self.agents.items():
            if identity and other.get("client_identity") == identity and key != (shop_id, agent["agent_id"]):
                return key
        self.agents[(shop_id, agent["agent_id"])] = agent
        return None

    def delete_agent(self, shop_id: str, agent_id: str) -> bool:
        return self.agents.pop((shop_id, agent_id), None) is not None

    def claim_identity(self, shop_id: str, agent_id: str, identity: str) -> tuple[str, str] | None:
        return None

    def list_agents(self, shop_id: str) -> list[Agent]:
        return [
            Agent(shop, agent_id, agent["name"], client_identity=agent.get("client_identity"))
            for (shop, agent_id), agent in self.agents.items()
            if shop == shop_id
        ]

    def has_agent(self, shop_id: str, agent_id: str) -> bool:
        return (shop_id, agent_id) in self.agents

    def agents_with_identity(self, identity: str) -> list[Agent]:
        return [
            Agent(shop_id, agent_id, agent["name"], client_identity=identity)
            for (shop_id, agent_id), agent in self.agents.items()
            if agent.get("client_identity") == identity
        ]

    def save_agent_token(
        self, shop_id: str, agent_id: str, token: str, token_id: str, now: datetime, *, supervisor: bool = False
    ) -> None:
        self.agent_tokens[token] = (shop_id, agent_id)
        self.agent_token_issues[token] = AgentToken(shop_id, agent_id, now, supervisor)

    def revoke_agent_tokens(self, shop_id: str, agent_id: str) -> int:
        mine = [token for token, owner in self.agent_tokens.items() if owner == (shop_id, agent_id)]
        for token in mine:
            del self.agent_tokens[token]
        return len(mine)

    def agent_for_token(self, token: str) -> tuple[ShopSettings, str] | None:
        owner = self.agent_tokens.get(token)
        return (self.shops[owner[0]], owner[1]) if owner else None

    def agent_token(self, token: str) -> tuple[ShopSettings, AgentToken] | None:
        issued = self.agent_token_issues.get(token) if token in self.agent_tokens else None
        return (self.shops[issued.shop_id], issued) if issued else None

    # orders
    def insert_order(self, order: Order) -> bool:
        key = (order.shop_id, order.order_id)
        if key in self.orders:
            return False
        self.orders[key] = dataclasses.replace(order)
        return True

    def get_order(self, shop_id: str, order_id: str) -> Order | None:
        order = self.orders.get((shop_id, order_id))
        return dataclasses.replace(order) if order else None

    def transition_order(
        self, shop_id: str, order_id: str, from_statuses: set[str], to_status: str, **fields: Any
    ) -> Order | None:
        order = self.orders.get((shop_id, order_id))
        if order is None or order.status not in from_statuses:
            return None
        order.status = to_status
        for name, value in fields.items():
            setattr(order, name, value)
        return dataclasses.replace(order)

    def mark_orders(self, shop_id: str, order_ids: list[str], **fields: Any) -> list[Order]:
        for order_id in order_ids:
            for name, value in fields.items():
                setattr(self.orders[(shop_id, order_id)], name, value)
        return [dataclasses.replace(self.orders[(shop_id, order_id)]) for order_id in order_ids]

    def note_first_dial(self, shop_id: str, order_ids: list[str], now: datetime) -> None:
        for order_id in order_ids:
            order = self.orders[(shop_id, order_id)]
            order.first_dial_at = order.first_dial_at or now

    def orders_by_ids(self, shop_id: str, order_ids: list[str]) -> list[Order]:
        return [dataclasses.replace(self.orders[(shop_id, o)]) for o in order_ids if (shop_id, o) in self.orders]

    def claim_dedup(self, claim: DedupClaim, order_id: str, received_at: datetime) -> str:
        held = self.claims.get(claim.key)
        if held is None or held[0] == order_id or (held[1] is not None and held[1] < received_at):
            self.claims[claim.key] = (order_id, claim.expires_at)
            return order_id
        return held[0]

    # tasks
    def open_customer_task(self, task: DialTask, order_id: str, now: datetime) -> DialTask:
        held = self.tasks.get(task.task_id)
        if held is None:
            held = self.tasks[task.task_id] = dataclasses.replace(task, order_ids=[], state="new", attempts=0)
        if order_id not in held.order_ids:
            held.order_ids = sorted([*held.order_ids, order_id])
        if task.kind == "agent":
            held.kind = "agent"
        if held.state in ("new", "done", "failed"):
            self._queue_again(held, now)
        return dataclasses.replace(held)

    @staticmethod
    def _queue_again(task: DialTask, now: datetime) -> None:
        task.state, task.attempts, task.due_at = "queued", 0, now
        task.contacted, task.result, task.last_call_result, task.call_order_ids = False, None, None, []

    def mark_contacted(self, task_id: str) -> None:
        self.tasks[task_id].contacted = True

    def insert_task(self, task: DialTask) -> bool:
        if task.task_id in self.tasks:
            return False
        self.tasks[task.task_id] = dataclasses.replace(task, due_at=task.due_at or task.created_at)
        return True

    def get_task(self, task_id: str) -> DialTask | None:
        task = self.tasks.get(task_id)
        return dataclasses.replace(task) if task else None

    def claim_task_for_dial(self, task_id: str, now: datetime) -> DialTask | None:
        task = self.tasks.get(task_id)
        if task is None or task.state != "queued" or task.due_at is None or task.due_at > now or not task.order_ids:
            return None
        task.state, task.attempts, task.due_at = "dialing", task.attempts + 1, None
        task.last_call_sid, task.result, task.call_order_ids = None, None, list(task.order_ids)
        self.dialing_since[task_id] = now
        return dataclasses.replace(task)

    def attach_call(self, task_id: str, call_sid: str) -> bool:
        task = self.tasks.get(task_id)
        if task is None or task.state != "dialing" or task.last_call_sid not in (None, call_sid):
            return False
        task.last_call_sid = call_sid
        return True

    def defer_task(self, task_id: str, due_at: datetime) -> None:
        task = self.tasks[task_id]
        if task.state == "queued":
            task.due_at = due_at

    def answer_task(self, task_id: str, call_sid: str, *, contacted: bool) -> DialTask | None:
        if not self.attach_call(task_id, call_sid):
            return None
        task = self.tasks[task_id]
        task.contacted = task.contacted or contacted
        return dataclasses.replace(task)

    def _on_attempt_call(self, ref: RobotCallRef, call_sid: str) -> bool:
        task = self.tasks.get(ref.task_id)
        return (
            bool(call_sid)
            and task is not None
            and task.state == "dialing"
            and task.last_call_sid in (None, call_sid)
            and task.attempts == ref.attempt
        )

    def answer_robot_call(self, ref: RobotCallRef, call_sid: str, *, person: bool, **call_fields: Any) -> bool:
        """All or nothing, as the repository's transaction."""
        if not self._on_attempt_call(ref, call_sid):
            return False
        self.answer_task(ref.task_id, call_sid, contacted=person)
        self.update_call(call_sid, **call_fields)
        if person:
            known = [o for o in ref.order_ids if (ref.shop_id, o) in self.orders]
            self.mark_orders(ref.shop_id, known, reached=True, asked_by="robot")
        return True

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
        if not self._on_attempt_call(ref, call_sid):
            return None
        self.set_task_result(ref.task_id, call_sid, decision)
        self.update_call(call_sid, result=decision)
        if order_status is None and agent_reason:
            queued = [o for o in ref.order_ids if (ref.shop_id, o) in self.orders]
            queued = [o for o in queued if self.orders[(ref.shop_id, o)].status == "queued"]
            self.mark_orders(ref.shop_id, queued, route="agent", route_reason=agent_reason, asked_by=None)
            return queued
        if order_status is None:
            return []
        return [
            order_id
            for order_id in ref.order_ids
            if self.transition_order(ref.shop_id, order_id, {"queued"}, order_status, decided_at=now)
        ]

    def set_task_result(self, task_id: str, call_sid: str, result: str) -> DialTask | None:
        if not self.attach_call(task_id, call_sid):
            return None
        task = self.tasks[task_id]
        task.result = result
        return dataclasses.replace(task)

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
        task = self.tasks.get(task_id)
        if seen is not None and call_sid is not None:  # the repository attaches a call seen that way
            if task is None or task.attempts != seen.attempts or task.result != seen.result or task.kind != seen.kind:
                return None
            self.attach_call(task_id, call_sid)
        if task is None or task.state != "dialing" or (call_sid is not None and task.last_call_sid != call_sid):
            return None
        task.last_call_result = call_result
        if requeue_at is not None:
            task.state, task.due_at = "queued", requeue_at
        else:
            task.state = "failed" if final_result == "unreachable" else "done"
            task.result = final_result or "done"
            task.order_ids = [o for o in task.order_ids if o not in task.call_order_ids]
            if task.order_ids:  # orders that came in during the call: a new round at once
                self._queue_again(task, now)
        return dataclasses.replace(task)

    def hand_attempt_to_agents(self, seen: DialTask, call_sid: str, now: datetime) -> DialTask | None:
        task = self.tasks.get(seen.task_id)
        if task is None or task.state != "dialing" or task.attempts != seen.attempts or not task.order_ids:
            return None
        if task.result != (seen.result or "agent") or task.last_call_sid not in (None, call_sid):
            return None
        task.kind, task.state, task.attempts, task.due_at = "agent", "queued", 0, now
        task.last_call_sid, task.last_call_result, task.result, task.call_order_ids = call_sid, task.result, None, []
        self.dialing_since.pop(task.task_id, None)
        return dataclasses.replace(task)

    def release_claim(self, task_id: str, due_at: datetime) -> bool:
        task = self.tasks.get(task_id)
        if task is None or task.state != "dialing" or task.last_call_sid is not None:
            return False
        task.state, task.attempts, task.due_at, task.call_order_ids = "queued", task.attempts - 1, due_at, []
        self.dialing_since.pop(task_id, None)
        return True

    def stale_dialing_task_ids(self, shop_id: str, kind: str, dialing_before: datetime) -> list[str]:
        return [
            task_id
            for task_id, since in self.dialing_since.items()
            if since <= dialing_before and self.tasks[task_id].state == "dialing" and self.tasks[task_id].kind == kind
        ]

    def count_active_tasks(self, shop_id: str, kind: str) -> int:
        return sum(1 for t in self.tasks.values() if t.shop_id == shop_id and t.kind == kind and t.state == "dialing")

    def due_tasks(self, shop_id: str, kind: str, now: datetime, limit: int) -> list[DueTask]:
        due = [
            t
            for t in self.tasks.values()
            if t.shop_id == shop_id and t.kind == kind and t.state == "queued" and t.due_at and t.due_at <= now
        ]
        return [
            DueTask(t.task_id, t.attempts, t.due_at or now, t.callback_at, t.contacted)
            for t in sorted(due, key=lambda t: t.due_at or now)[:limit]
        ]

    def drop_orders_from_task(self, task_id: str, order_ids: list[str], result: str = "decided-by-sms") -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        task.order_ids = [o for o in task.order_ids if o not in order_ids]
        if not task.order_ids and task.state == "queued" and task.kind in ("robot", "agent"):
            task.state, task.result = "done", result

    # do-not-call and texts
    def is_do_not_call(self, shop_id: str, phone: str) -> bool:
        return (shop_id, phone) in self.do_not_call

    def add_do_not_call(self, shop_id: str, phone: str, source: str, now: datetime) -> None:
        self.do_not_call[(shop_id, phone)] = source

    def remove_do_not_call(self, shop_id: str, phone: str) -> None:
        self.do_not_call.pop((shop_id, phone), None)

    def log_message(self, message: TextMessage) -> None:
        self.messages.append(message)

    def open_orders_of(self, shop_id: str, phone: str) -> list[Order]:
        return [
            dataclasses.replace(o)
            for (shop, _), o in self.orders.items()
            if shop == shop_id and o.phone == phone and o.status in ("queued", "unreachable")
        ]

    # calls
    def upsert_call(self, call: Call, **fields: Any) -> Call:
        stored = self.calls.setdefault(call.call_sid, dataclasses.replace(call))
        for name, value in fields.items():
            setattr(stored, name, value)
        return dataclasses.replace(stored)

    def get_call(self, call_sid: str) -> Call | None:
        call = self.calls.get(call_sid)
        return dataclasses.replace(call) if call else None

    def update_call(self, call_sid: str, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self.calls[call_sid], name, value)

    def claim_agent_leg(self, call_sid: str, reservation: str) -> bool:
        if self.agent_legs.get(call_sid) == reservation:
            return False
        self.agent_legs[call_sid] = reservation
        return True

    def claim_queued_call(self, call_sid: str, agent_id: str, result: str) -> bool:
        call = self.calls.get(call_sid)
        if call is None or call.result != "queued":
            return False
        self.update_call(call_sid, agent_id=agent_id, result=result)
        return True

    def apply_call_status(self, call_sid: str, sequence: int, **fields: Any) -> bool:
        if self.call_sequences.get(call_sid, -1) >= sequence:
            return False
        self.call_sequences[call_sid] = sequence
        self.update_call(call_sid, **fields)
        return True

    def upsert_call_with_status(self, call: Call, sequence: int, **fields: Any) -> tuple[bool, Call]:
        self.upsert_call(call)
        applied = self.apply_call_status(call.call_sid, sequence, **fields)
        return applied, dataclasses.replace(self.calls[call.call_sid])
