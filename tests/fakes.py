"""In-memory stand-ins for the services' ports, with the same conditional semantics as the
DynamoDB repository (a transition from the wrong state does nothing and says so)."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime
from typing import Any

from chalicelib.domain.dedup import DedupClaim
from chalicelib.domain.entities import Call, DialTask, Order, TextMessage
from chalicelib.domain.priority import DueTask
from chalicelib.domain.robot_call_ref import RobotCallRef
from chalicelib.domain.routing import Agent
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.ports import CallState, OutboundCall
from chalicelib.voice.links import PredictiveLinks, PublicUrls


class FakeStore:
    def __init__(self, shops: list[ShopSettings] | None = None) -> None:
        self.shops = {shop.shop_id: shop for shop in shops or []}
        self.numbers: dict[str, tuple[str, str]] = {}
        self.api_keys: dict[str, str] = {}
        self.agents: dict[tuple[str, str], dict[str, Any]] = {}
        self.agent_tokens: dict[str, tuple[str, str]] = {}
        self.orders: dict[tuple[str, str], Order] = {}
        self.claims: dict[str, tuple[str, datetime | None]] = {}
        self.tasks: dict[str, DialTask] = {}
        self.calls: dict[str, Call] = {}
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

    def save_agent(self, shop_id: str, agent: dict[str, Any]) -> None:
        self.agents[(shop_id, agent["agent_id"])] = agent

    def has_agent(self, shop_id: str, agent_id: str) -> bool:
        return (shop_id, agent_id) in self.agents

    def save_agent_token(self, shop_id: str, agent_id: str, token: str, token_id: str, now: datetime) -> None:
        self.agent_tokens[token] = (shop_id, agent_id)

    def revoke_agent_tokens(self, shop_id: str, agent_id: str) -> int:
        mine = [token for token, owner in self.agent_tokens.items() if owner == (shop_id, agent_id)]
        for token in mine:
            del self.agent_tokens[token]
        return len(mine)

    def agent_for_token(self, token: str) -> tuple[ShopSettings, str] | None:
        owner = self.agent_tokens.get(token)
        return (self.shops[owner[0]], owner[1]) if owner else None

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
            self.mark_orders(ref.shop_id, [o for o in ref.order_ids if (ref.shop_id, o) in self.orders], reached=True)
        return True

    def decide_robot_call(
        self, ref: RobotCallRef, call_sid: str, decision: str, *, order_status: str | None, now: datetime
    ) -> list[str] | None:
        if not self._on_attempt_call(ref, call_sid):
            return None
        self.set_task_result(ref.task_id, call_sid, decision)
        self.update_call(call_sid, result=decision)
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
            if task is None or task.attempts != seen.attempts or task.result != seen.result:
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

    def drop_orders_from_task(self, task_id: str, order_ids: list[str]) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        task.order_ids = [o for o in task.order_ids if o not in order_ids]
        if not task.order_ids and task.state == "queued":
            task.state, task.result = "done", "decided-by-sms"

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


class FakeTelephony:
    def __init__(self, fail: bool | Exception = False) -> None:
        self.placed: list[dict[str, Any]] = []
        self.texts: list[dict[str, str]] = []
        self.call_states: dict[str, CallState] = {}  # what Twilio would say of a call (reconciliation)
        self.redirects: list[tuple[str, str]] = []  # live calls sent to new TwiML
        self.ended: list[str] = []  # live calls hung up through the REST API
        self.fail = fail
        self._sids = itertools.count(1)

    def fetch_call(self, call_sid: str) -> CallState:
        return self.call_states.get(call_sid, CallState("in-progress", 0, None))

    def send_sms(self, *, to: str, from_: str, body: str) -> str:
        if self.fail:
            raise ConnectionError("Twilio unreachable")
        self.texts.append({"to": to, "from_": from_, "body": body})
        return f"SM{next(self._sids):032x}"

    def redirect_call(self, call_sid: str, url: str) -> None:
        self.redirects.append((call_sid, url))

    def end_call(self, call_sid: str) -> None:
        self.ended.append(call_sid)

    def place_call(self, call: OutboundCall) -> str:
        if isinstance(self.fail, Exception):
            raise self.fail
        if self.fail:
            raise ConnectionError("Twilio unreachable")
        self.placed.append(dataclasses.asdict(call))
        return f"CA{next(self._sids):032x}"


class FakeUrls(PublicUrls):
    """The app's own robot and status links (pure string building) on a test host."""

    def __init__(self) -> None:
        super().__init__("https://calls.example.test")


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


class FakeAgentDialUrls:
    def agent_answer(self, task_id: str, agent_id: str, reservation: str) -> str:
        return f"https://calls.example.test/twilio/voice/agent-dial/answer?agent={agent_id}&res={reservation}&task={task_id}"

    def agent_status(self, task_id: str, agent_id: str, reservation: str) -> str:
        return f"https://calls.example.test/twilio/voice/agent-dial/status?agent={agent_id}&res={reservation}&task={task_id}"


class FakeCrmOutbox:
    """The CRM outbox in memory, with the DynamoDB one's conditions (``DynamoCrmOutbox``)."""

    def __init__(self) -> None:
        from chalicelib.domain.crm import OutboxEvent

        self.events: dict[str, OutboxEvent] = {}

    def _set(self, event_id: str, **changes: Any) -> None:
        self.events[event_id] = dataclasses.replace(self.events[event_id], **changes)

    def add(self, event: Any) -> bool:
        if event.event_id in self.events:
            return False
        self.events[event.event_id] = dataclasses.replace(
            event, state="pending", attempts=0, retrying_since=event.created_at, next_attempt_at=event.created_at
        )
        return True

    def get(self, event_id: str) -> Any:
        return self.events.get(event_id)

    def claim(self, event_id: str, attempts: int, lease_until: datetime) -> bool:
        event = self.events.get(event_id)
        if event is None or event.state != "pending" or event.attempts != attempts:
            return False
        self._set(event_id, attempts=attempts + 1, next_attempt_at=lease_until)
        return True

    def delivered(self, event_id: str, now: datetime, status: int) -> None:
        self._set(event_id, state="delivered", delivered_at=now, last_status=status, next_attempt_at=None)

    def retry_at(self, event_id: str, at: datetime, error: str, status: int | None) -> None:
        self._set(event_id, next_attempt_at=at, last_error=error, last_status=status)

    def park(self, event_id: str, shop_id: str, now: datetime, error: str, status: int | None) -> None:
        self._set(event_id, state="parked", parked_at=now, last_error=error, last_status=status, next_attempt_at=None)

    def replay(self, event_id: str, now: datetime) -> bool:
        event = self.events.get(event_id)
        if event is None or event.state != "parked":
            return False
        self._set(event_id, state="pending", attempts=0, retrying_since=now, next_attempt_at=now, parked_at=None)
        return True

    def due(self, shop_id: str, now: datetime, limit: int) -> list[str]:
        due = [
            e
            for e in self.events.values()
            if e.shop_id == shop_id
            and e.state == "pending"
            and e.next_attempt_at is not None
            and e.next_attempt_at <= now
        ]
        return [e.event_id for e in sorted(due, key=lambda e: e.next_attempt_at or now)][:limit]

    def parked(self, shop_id: str) -> list[Any]:
        return [e for e in self.events.values() if e.shop_id == shop_id and e.state == "parked"]


class ScriptedCrm:
    """A CRM sender answering from a script: an HTTP status, or an exception to raise."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, bytes, dict[str, str]]] = []

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.requests.append((url, body, headers))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


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


class FakePredictiveUrls(PredictiveLinks):
    """The app's own customer-first links (pure string building) on a test host."""

    def __init__(self) -> None:
        super().__init__("https://calls.example.test")
