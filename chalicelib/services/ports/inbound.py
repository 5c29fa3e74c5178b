"""Inbound calls, the agents they reach and the callbacks they leave: the agents' reservations,
the groups' queues."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.entities import Order
from chalicelib.domain.routing import Agent
from chalicelib.services.ports.stores import Store

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings  # cold start: pydantic, never at import


class AgentReservations(Protocol):
    """A shop's agents, reserved for a call and released from it (inbound, agent dialer, transfers)."""

    def list_agents(self, shop_id: str) -> list[Agent]: ...
    def reserve_agent(
        self, agent: Agent, call_sid: str, now: datetime, *, wrap_up_seconds: int, timezone: str
    ) -> bool: ...
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
    ) -> bool: ...


class AgentQueueStore(AgentReservations, Protocol):
    """Agents and the per-group queue, as inbound calls and the agent dialer both use them."""

    def queue_entries(self, shop_id: str, group: str, limit: int = 50) -> list[Any]: ...
    def add_queue_entry(self, entry: Any) -> None: ...
    def remove_queue_entry(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> bool: ...


class CallbackTasks(Protocol):
    def insert_callback_task(
        self, task_id: str, shop_id: str, phone: str, language: str, arrived_at: datetime, now: datetime
    ) -> bool: ...


class CallbackRequests(CallbackTasks, Protocol):
    """What a callback made for a call writes: the task, its place in the group's queue, the call."""

    def add_queue_entry(self, entry: Any) -> None: ...
    def update_call(self, call_sid: str, **fields: Any) -> None: ...


class InboundStore(Store, AgentQueueStore, CallbackTasks, Protocol):
    """What inbound calls need beyond the shared store (``InboundRepository``)."""

    def get_agent(self, shop_id: str, agent_id: str) -> Agent | None: ...
    def queue_position(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> tuple[int, int]: ...
    def announced_position(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> int | None: ...
    def note_announced_position(
        self, shop_id: str, group: str, queued_at: datetime, ref: str, position: int
    ) -> None: ...
    def recent_handle_seconds(self, shop_id: str, group: str) -> list[float]: ...
    def remember_handle_seconds(self, shop_id: str, group: str, seconds: float) -> None: ...
    def active_orders(self, shop_id: str, phone: str) -> list[Order]: ...
    def choose_delivery_slot(self, shop_id: str, order_id: str, slot: dict[str, str]) -> Order | None: ...
    def customer_lines_in_flight(self, shop_id: str, now: datetime) -> int: ...
    def claim_queued_call(self, call_sid: str, agent_id: str, result: str) -> bool: ...
    def claim_agent_leg(self, call_sid: str, reservation: str) -> bool:
        """The agent's leg for ``reservation`` is to be placed now; False when it was already."""
        ...


class CallbackStore(CallbackTasks, Protocol):
    def shop_for_number(self, number: str) -> tuple[ShopSettings, str] | None: ...
    def add_queue_entry(self, entry: Any) -> None: ...


class AgentLookup(Protocol):
    def get_agent(self, shop_id: str, agent_id: str) -> Agent | None: ...


class AgentStore(AgentLookup, Protocol):
    def list_agents(self, shop_id: str) -> list[Agent]: ...
    def set_agent_status(
        self,
        shop_id: str,
        agent_id: str,
        status: str,
        now: datetime,
        *,
        source: str,
        timezone: str,
        only_from: set[str] | None = None,
    ) -> Agent | None: ...
