"""What the services need from the outside world, as protocols: the DynamoDB repository and
Twilio adapter implement them in production, in-memory fakes in unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from chalicelib.domain.dedup import DedupClaim
from chalicelib.domain.email import OutgoingEmail
from chalicelib.domain.entities import Call, DialTask, Order, TextMessage
from chalicelib.domain.priority import DueTask
from chalicelib.domain.report.facts import AgentStatusFact, CallFact, OrderFact
from chalicelib.domain.report.runs import ReportRun
from chalicelib.domain.routing import Agent
from chalicelib.domain.shop import ShopSettings


class OrderStore(Protocol):
    def insert_order(self, order: Order) -> bool: ...
    def get_order(self, shop_id: str, order_id: str) -> Order | None: ...
    def transition_order(
        self, shop_id: str, order_id: str, from_statuses: set[str], to_status: str, **fields: Any
    ) -> Order | None: ...
    def orders_by_ids(self, shop_id: str, order_ids: list[str]) -> list[Order]: ...
    def mark_orders(self, shop_id: str, order_ids: list[str], **fields: Any) -> list[Order]: ...
    def note_first_dial(self, shop_id: str, order_ids: list[str], now: datetime) -> None: ...
    def claim_dedup(self, claim: DedupClaim, order_id: str, received_at: datetime) -> str: ...


class TaskStore(Protocol):
    def open_customer_task(self, task: DialTask, order_id: str, now: datetime) -> DialTask: ...
    def insert_task(self, task: DialTask) -> bool: ...
    def get_task(self, task_id: str) -> DialTask | None: ...
    def claim_task_for_dial(self, task_id: str, now: datetime) -> DialTask | None: ...
    def attach_call(self, task_id: str, call_sid: str) -> bool: ...
    def answer_task(self, task_id: str, call_sid: str, *, contacted: bool) -> DialTask | None: ...
    def mark_contacted(self, task_id: str) -> None: ...
    def defer_task(self, task_id: str, due_at: datetime) -> None: ...
    def set_task_result(self, task_id: str, call_sid: str, result: str) -> DialTask | None: ...
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
    ) -> DialTask | None: ...
    def count_active_tasks(self, shop_id: str, kind: str) -> int: ...
    def due_tasks(self, shop_id: str, kind: str, now: datetime, limit: int) -> list[DueTask]: ...


class CallStore(Protocol):
    def upsert_call(self, call: Call, **fields: Any) -> Call: ...
    def get_call(self, call_sid: str) -> Call | None: ...
    def update_call(self, call_sid: str, **fields: Any) -> None: ...
    def apply_call_status(self, call_sid: str, sequence: int, **fields: Any) -> bool: ...
    def upsert_call_with_status(self, call: Call, sequence: int, **fields: Any) -> tuple[bool, Call]: ...


class Store(OrderStore, TaskStore, CallStore, Protocol):
    def get_shop(self, shop_id: str) -> ShopSettings | None: ...
    def shop_for_number(self, number: str) -> tuple[ShopSettings, str] | None: ...
    def shop_for_api_key(self, api_key: str) -> ShopSettings | None: ...


class CallNotPlacedError(Exception):
    """Twilio did not place the call (refused, throttled, failed before the request was sent)."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.temporary = temporary


class CallOutcomeUnknownError(Exception):
    """The request may have reached Twilio (a read timeout): the call may be ringing."""


class MessageOutcomeUnknownError(Exception):
    """The request may have reached Twilio (a read timeout): the text may be on its way."""


@dataclass(frozen=True)
class CallState:
    status: str
    duration_seconds: int
    answered_by: str | None


class Telephony(Protocol):
    def place_call(
        self,
        *,
        to: str,
        from_: str,
        answer_url: str,
        status_url: str,
        ring_timeout_seconds: int,
        detect_machine: bool,
        async_amd_url: str | None = None,
    ) -> str:
        """Start an outbound call; returns its CallSid. Raises CallNotPlacedError or
        CallOutcomeUnknownError when it cannot say the call was placed. With ``async_amd_url``
        the answer TwiML runs at once and the machine-detection verdict is posted there."""
        ...

    def fetch_call(self, call_sid: str) -> CallState: ...


class CallControl(Protocol):
    """Changing a live call: what the predictive dialer does once the verdict on an answer is in."""

    def redirect_call(self, call_sid: str, url: str) -> None: ...
    def end_call(self, call_sid: str) -> None: ...


class Messenger(Protocol):
    def send_sms(self, *, to: str, from_: str, body: str) -> str:
        """Send a text message; returns its MessageSid."""
        ...


class MessagingStore(Protocol):
    def is_do_not_call(self, shop_id: str, phone: str) -> bool: ...
    def add_do_not_call(self, shop_id: str, phone: str, source: str, now: datetime) -> None: ...
    def remove_do_not_call(self, shop_id: str, phone: str) -> None: ...
    def log_message(self, message: TextMessage) -> None: ...
    def open_orders_of(self, shop_id: str, phone: str) -> list[Order]: ...
    def transition_order(
        self, shop_id: str, order_id: str, from_statuses: set[str], to_status: str, **fields: Any
    ) -> Order | None: ...
    def drop_orders_from_task(self, task_id: str, order_ids: list[str]) -> None: ...


class AgentQueueStore(Protocol):
    """Agents and the per-group queue, as inbound calls and the agent dialer both use them."""

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
    def queue_entries(self, shop_id: str, group: str, limit: int = 50) -> list[Any]: ...
    def add_queue_entry(self, entry: Any) -> None: ...
    def remove_queue_entry(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> bool: ...


class WebhookUrls(Protocol):
    def robot_answer(self, task_id: str) -> str: ...
    def call_status(self, task_id: str) -> str: ...


# ---- the owner's reports (services.reports) -------------------------------------------------
class EmailSender(Protocol):
    def send(self, email: OutgoingEmail) -> str:
        """Send the message; return the provider's message id. Raises EmailRejected when the
        provider refuses it for good (most often: the sender is not a verified identity)."""
        ...


class EmailRejected(Exception):
    """SES refused the message (most often: the sender is not a verified identity)."""


class ReportQueries(Protocol):
    """Reads of one shop-day, each a Query on a ``by_shop_day`` index (or a BatchGet by key)."""

    def orders_of_day(self, shop_id: str, day: date) -> Iterable[OrderFact]: ...
    def calls_of_day(self, shop_id: str, day: date) -> Iterable[CallFact]: ...
    def agent_statuses_of_day(self, shop_id: str, day: date) -> Iterable[AgentStatusFact]: ...
    def dialer_day(self, shop_id: str, day: date) -> tuple[int, int]: ...  # (live answers, drops), O8
    def callbacks_completed(self, task_ids: Iterable[str]) -> int: ...


class ReportRunLog(Protocol):
    """Where each run notes what it did with a shop's report (the admin CLI reads it)."""

    def record(self, run: ReportRun) -> None: ...
    def latest_runs(self, shop_id: str, limit: int = 10) -> Iterable[ReportRun]: ...


class ReportOnce(Protocol):
    """Sends a shop's report for a period at most once, however often the schedule fires or the
    function is retried (today: a Powertools idempotency record per key)."""

    def __call__(self, key: dict[str, str], action: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """``action()``'s result (JSON) the first time for ``key``; on a later call the stored
        result with ``"replayed": True``; None while another run is doing it right now. When
        ``action`` raises, nothing is stored and the next call tries again."""
        ...
