"""The agent's desk: outcomes, the customer's timeline and screen pop, calls from the browser,
call control, transfers and bridging a waiting caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.desk import DeskAgent
from chalicelib.domain.entities import Call, DialTask, Order, TextMessage
from chalicelib.domain.outcomes import SavedOutcome
from chalicelib.domain.routing import Agent
from chalicelib.services.ports.inbound import (
    AgentLookup,
    AgentReservations,
    AgentStore,
    CallbackRequests,
    CallbackTasks,
    InboundStore,
)
from chalicelib.services.ports.stores import CallStore, DoNotCallList

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings  # cold start: pydantic, never at import


class OutcomeStore(CallbackTasks, Protocol):
    def get_call(self, call_sid: str) -> Call | None: ...
    def get_task(self, task_id: str) -> DialTask | None: ...
    def orders_by_ids(self, shop_id: str, order_ids: list[str]) -> list[Order]: ...
    def open_orders_of(self, shop_id: str, phone: str) -> list[Order]: ...
    def transition_order(
        self, shop_id: str, order_id: str, from_statuses: set[str], to_status: str, **fields: Any
    ) -> Order | None: ...
    def finish_callback(self, task_id: str, result: str) -> None: ...
    def outcomes_of(self, call_sid: str) -> list[SavedOutcome]: ...
    def save_outcome(self, saved: SavedOutcome) -> None: ...


class SavedOutcomes(Protocol):
    def saves_of(self, call_sid: str) -> list[tuple[str, SavedOutcome]]: ...
    def get_shop(self, shop_id: str) -> ShopSettings | None: ...
    def get_call(self, call_sid: str) -> Call | None: ...
    def get_task(self, task_id: str) -> DialTask | None: ...
    def orders_by_ids(self, shop_id: str, order_ids: list[str]) -> list[Order]: ...


class TimelineStore(Protocol):
    """Each method yields newest first, from ``until`` (inclusive) back when given."""

    def orders_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[Order]: ...
    def calls_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[Call]: ...
    def messages_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[TextMessage]: ...
    def outcomes_newest_first(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[SavedOutcome]: ...
    def opted_out_since(self, shop_id: str, phone: str) -> tuple[datetime, str] | None: ...
    def outcomes_of(self, call_sid: str) -> list[SavedOutcome]: ...


class CustomerAccess(Protocol):
    """Whose customers an agent may read (A7): the ones of their own calls."""

    def agent_spoke_with(self, shop_id: str, agent_id: str, phone: str, since: datetime) -> bool: ...


class ScreenPopStore(TimelineStore, OutcomeStore, Protocol):
    # The orders on the screen are the ones an outcome would move: the outcomes' own rule.
    def desk_agent(self, shop_id: str, agent_id: str) -> DeskAgent | None: ...


# A call -> an expiring link to its recording, or None (no recording, or no link maker yet).
# The recordings' signed links (SPEC I9) plug in here; never a raw Twilio URL.
RecordingLink = Callable[[Call], str | None]


# ---- calls from the browser, conference calls and transfers (#17) ---------------------------
class BrowserCallStore(AgentReservations, DoNotCallList, CallStore, Protocol):
    """What an agent's call from the browser reads and writes (services.browser_calls,
    browser_call_legs)."""

    def agents_with_identity(self, identity: str) -> list[Agent]:
        """Every agent, of any shop, whose softphone identity is ``identity``."""
        ...

    def get_shop(self, shop_id: str) -> ShopSettings | None: ...
    def get_agent(self, shop_id: str, agent_id: str) -> Agent | None: ...
    def note_desk_call(self, shop_id: str, agent_id: str, call_sid: str, now: datetime) -> None:
        """The agent, reserved for the browser call ``call_sid``, is found by
        ``desk_calls_unchecked_since`` until released."""
        ...

    def desk_calls_unchecked_since(self, before: datetime) -> list[tuple[str, str]]:
        """(shop id, agent id) of agents busy on a browser call last looked at before ``before``."""
        ...

    def recheck_desk_call_later(self, shop_id: str, agent_id: str, now: datetime) -> None: ...


class ConferenceCallStore(Protocol):
    """What the desk's control of a live call reads and writes (services.call_control)."""

    def desk_agent(self, shop_id: str, agent_id: str) -> DeskAgent | None: ...
    def get_call(self, call_sid: str) -> Call | None: ...
    def update_call(self, call_sid: str, **fields: Any) -> None: ...


class TransferStore(ConferenceCallStore, AgentLookup, AgentReservations, Protocol):
    """What a transfer reads and writes beyond the desk's call control (services.transfers)."""


class TransferEndStore(TransferStore, CallbackRequests, Protocol):
    """A transfer that found nobody with the first agent gone: an outbound call's customer is
    called back (services.conference_calls.call_back_after_transfer)."""


class BridgeUrls(Protocol):
    """Where a waiting caller taken out of the queue through the REST API goes (services.bridging)."""

    def bridge(self, lang: str) -> str: ...


class BridgingStore(InboundStore, AgentStore, Protocol):
    """Statuses that free an agent, and the queue they take a caller from (services.bridging)."""
