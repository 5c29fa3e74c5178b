"""The store as the agent and predictive dialers see it: the person tasks, the agents' reservations
and the predictive lines, over FakeStore."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from chalicelib.domain.entities import DialTask
from chalicelib.domain.priority import DueTask
from chalicelib.domain.routing import Agent
from chalicelib.domain.shop import ShopSettings
from tests.fakes.store import FakeStore


class FakeAgentDialStore(FakeStore):
    """``FakeStore`` plus agents, the inbound queue and the agent dialer's task transitions, with
    the repository's conditions (a reservation or claim that lost the race says so)."""

    def __init__(self, shops: list[ShopSettings] | None = None) -> None:
        super().__init__(shops)
        self.agent_list: dict[tuple[str, str], Agent] = {}
        self.agent_log: list[tuple[str, str, str]] = []  # (agent_id, status, reservation)
        self.queue: dict[tuple[str, str], list[Any]] = {}

    def add_agent(self, agent: Agent) -> None:
        self.agent_list[(agent.shop_id, agent.agent_id)] = agent

    def customer_lines_in_flight(self, shop_id: str, now: datetime) -> int:
        return 0  # no customer-first dialer here (FakePredictiveStore has one)

    def list_agents(self, shop_id: str) -> list[Agent]:
        return [dataclasses.replace(a) for (shop, _), a in self.agent_list.items() if shop == shop_id]

    def get_agent(self, shop_id: str, agent_id: str) -> Agent | None:
        agent = self.agent_list.get((shop_id, agent_id))
        return dataclasses.replace(agent) if agent else None

    def reserve_agent(self, agent: Agent, call_sid: str, now: datetime, *, wrap_up_seconds: int, timezone: str) -> bool:
        from chalicelib.domain.routing import is_free

        held = self.agent_list[(agent.shop_id, agent.agent_id)]
        if not is_free(held, now, wrap_up_seconds):
            return False
        held.status, held.status_since, held.reserved_call_sid = "busy", now, call_sid
        self.agent_log.append((agent.agent_id, "busy", call_sid))
        return True

    def release_agent(
        self,
        shop_id: str,
        agent_id: str,
        call_sid: str,
        status: str,
        now: datetime,
        *,
        timezone: str,
        talked: bool = False,
        missed: bool = False,
    ) -> bool:
        held = self.agent_list.get((shop_id, agent_id))
        if held is None or held.reserved_call_sid != call_sid:
            return False
        held.status, held.status_since, held.reserved_call_sid = status, now, None
        if talked:
            held.last_call_ended_at = now
        if missed:
            held.missed_calls += 1
        self.agent_log.append((agent_id, status, call_sid))
        return True

    def add_queue_entry(self, entry: Any) -> None:
        entries = self.queue.setdefault((entry.shop_id, entry.group), [])
        entries[:] = sorted([e for e in entries if e.ref != entry.ref] + [entry], key=lambda e: (e.queued_at, e.ref))

    def queue_entries(self, shop_id: str, group: str, limit: int = 50) -> list[Any]:
        return list(self.queue.get((shop_id, group), []))[:limit]

    def remove_queue_entry(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> bool:
        entries = self.queue.get((shop_id, group), [])
        kept = [e for e in entries if not (e.ref == ref and e.queued_at == queued_at)]
        self.queue[(shop_id, group)] = kept
        return len(kept) != len(entries)

    def due_tasks(self, shop_id: str, kind: str, now: datetime, limit: int) -> list[DueTask]:
        due = [
            t
            for t in self.tasks.values()
            if t.shop_id == shop_id
            and t.kind == kind
            and t.state in ("queued", "waiting")
            and t.due_at
            and t.due_at <= now
        ]
        return [
            DueTask(t.task_id, t.attempts, t.due_at or now, t.callback_at, t.contacted)
            for t in sorted(due, key=lambda t: t.due_at or now)[:limit]
        ]

    def claim_person_task(self, task_id: str, now: datetime, *, with_orders: bool) -> DialTask | None:
        task = self.tasks.get(task_id)
        if task is None or task.state not in ("queued", "waiting") or task.due_at is None or task.due_at > now:
            return None
        if with_orders and not task.order_ids:
            return None
        task.state, task.attempts, task.due_at = "dialing", task.attempts + 1, None
        task.last_call_sid, task.result = None, None
        task.call_order_ids = list(task.order_ids) if with_orders else []
        self.dialing_since[task_id] = now
        return dataclasses.replace(task)

    def return_person_task(self, task_id: str, call_sid: str | None, state: str, due_at: datetime) -> bool:
        task = self.tasks.get(task_id)
        if task is None or task.state != "dialing" or task.last_call_sid not in (None, call_sid):
            return False
        task.state, task.attempts, task.due_at = state, task.attempts - 1, due_at
        task.call_order_ids, task.last_call_sid = [], None
        self.dialing_since.pop(task_id, None)
        return True

    def defer_person_task(self, task_id: str, due_at: datetime) -> None:
        task = self.tasks[task_id]
        if task.state in ("queued", "waiting"):
            task.due_at = due_at


class FakePredictiveStore(FakeAgentDialStore):
    """``FakeAgentDialStore`` plus the predictive dialer's lines and day counters."""

    def __init__(self, shops: list[ShopSettings] | None = None) -> None:
        super().__init__(shops)
        self.lines: dict[tuple[str, str], Any] = {}
        self.days: dict[tuple[str, str], dict[str, int]] = {}

    def add_line(self, shop_id: str, task_id: str, placed_at: datetime) -> str:
        from chalicelib.adapters.dynamo.dialer_lines import line_key
        from chalicelib.domain.predictive import DialLine

        key = line_key(placed_at, task_id)
        self.lines[(shop_id, key)] = DialLine(task_id, placed_at, "ringing", line_key=key)
        return key

    def get_line(self, shop_id: str, key: str) -> Any:
        return self.lines.get((shop_id, key))

    def recent_lines(self, shop_id: str, limit: int) -> list[Any]:
        keys = sorted((key for shop, key in self.lines if shop == shop_id), reverse=True)
        return [self.lines[(shop_id, key)] for key in keys[:limit]]

    def update_line(self, shop_id: str, key: str, **fields: Any) -> None:
        self.lines[(shop_id, key)] = dataclasses.replace(self.lines[(shop_id, key)], **fields)

    def move_line(self, shop_id: str, key: str, from_phases: set[str], to_phase: str, **fields: Any) -> bool:
        line = self.lines.get((shop_id, key))
        if line is None or line.phase not in from_phases:
            return False
        self.lines[(shop_id, key)] = dataclasses.replace(line, phase=to_phase, **fields)
        return True

    def customer_lines_in_flight(self, shop_id: str, now: datetime) -> int:
        from chalicelib.domain.predictive import is_in_flight

        return sum(1 for (shop, _), line in self.lines.items() if shop == shop_id and is_in_flight(line, now))

    def day_counts(self, shop_id: str, day: str) -> Any:
        from chalicelib.domain.predictive import DayCounts

        return DayCounts(**self.days.get((shop_id, day), {}))

    def count_day(self, shop_id: str, day: str, **increments: int) -> None:
        counts = self.days.setdefault((shop_id, day), {})
        for name, value in increments.items():
            counts[name] = counts.get(name, 0) + value
