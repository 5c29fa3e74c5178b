"""Every port the services depend on, each declared once: the DynamoDB repositories, Twilio,
SES and the CRM's HTTP sender implement them in production (``chalicelib.wiring`` builds
those), in-memory fakes in unit tests (``tests/fakes/``). A service names the narrowest port
it needs; a wider one is composed from narrower ones, never restated."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from chalicelib.domain.call_rate import Slot
from chalicelib.domain.crm import OutboxEvent
from chalicelib.domain.dedup import DedupClaim
from chalicelib.domain.desk import DeskAgent
from chalicelib.domain.email import OutgoingEmail
from chalicelib.domain.entities import Call, DialTask, Order, TextMessage
from chalicelib.domain.erasure import Erased
from chalicelib.domain.geo_permissions import CountryPermission
from chalicelib.domain.live_counts import CountEntry
from chalicelib.domain.outcomes import SavedOutcome
from chalicelib.domain.predictive import DayCounts, DialLine
from chalicelib.domain.priority import DueTask
from chalicelib.domain.recording_media import MediaAnswer
from chalicelib.domain.report.facts import AgentStatusFact, CallFact, OrderFact
from chalicelib.domain.report.runs import ReportRun
from chalicelib.domain.robot_call_ref import RobotCallRef
from chalicelib.domain.routing import Agent
from chalicelib.domain.text_outbox import OutgoingText
from chalicelib.domain.twilio_numbers import AccountNumber

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings  # cold start: pydantic, never at import

A = TypeVar("A")
B = TypeVar("B")


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
    def drop_orders_from_task(self, task_id: str, order_ids: list[str], result: str = ...) -> None: ...


class OrderChangeStore(OrderStore, TaskStore, Protocol):
    """The shop's changes to its orders after posting them (#16 item 14)."""

    def orders_by_number(self, shop_id: str, order_number: str) -> list[Order]: ...
    def edit_open_order(
        self, seen: Order, from_statuses: set[str], fields: dict[str, Any], *, forget_caller_slot: bool
    ) -> Order | None: ...
    def set_task_language(self, task_id: str, language: str) -> None: ...


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


class MessageNotSentError(Exception):
    """Twilio did not take the text: refused (4xx, ``temporary`` False: an invalid number...),
    or unreachable or failing (5xx, 429, no connection: ``temporary``, a later try may send it)."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.temporary = temporary


@dataclass(frozen=True)
class CallState:
    status: str
    duration_seconds: int
    answered_by: str | None
    from_: str = ""  # the caller, as Twilio has it
    to: str = ""  # the number called


@dataclass(frozen=True)
class OutboundCall:
    """A call to place, as the dialers fill Twilio's Calls resource. With ``async_amd_url``
    the answer TwiML runs at once and the machine-detection verdict is posted there."""

    to: str
    from_: str
    answer_url: str
    status_url: str
    ring_timeout_seconds: int
    detect_machine: bool
    async_amd_url: str | None = None


class Telephony(Protocol):
    def place_call(self, call: OutboundCall) -> str:
        """Start an outbound call; returns its CallSid. Raises CallNotPlacedError or
        CallOutcomeUnknownError when it cannot say the call was placed."""
        ...

    def fetch_call(self, call_sid: str) -> CallState: ...


class CallControl(Protocol):
    """Changing a live call: what the predictive dialer does once the verdict on an answer is in."""

    def redirect_call(self, call_sid: str, url: str) -> None: ...
    def end_call(self, call_sid: str) -> None: ...


class Messenger(Protocol):
    def send_sms(self, *, to: str, from_: str, body: str) -> str:
        """Send a text message; returns its MessageSid. Raises MessageNotSentError or
        MessageOutcomeUnknownError when it cannot say the text was taken."""
        ...


class SentTexts(Protocol):
    def find_sent_text(self, *, to: str, from_: str, body: str, since: datetime) -> str | None:
        """The MessageSid of this very text if Twilio took it since ``since`` (after a timeout)."""
        ...


class TextStore(Protocol):
    """What a sent text changes in the store: a customer's timeline, the orders it asked about."""

    def is_do_not_call(self, shop_id: str, phone: str) -> bool: ...
    def log_message(self, message: TextMessage) -> None: ...
    def mark_orders(self, shop_id: str, order_ids: list[str], **fields: Any) -> list[Order]: ...


class TextMessenger(Messenger, SentTexts, Protocol):
    """Twilio's Messages resource: send, and find a text sent before."""


class TextOutbox(Protocol):
    """The text outbox (#18): written before any text is sent."""

    def add(self, text: OutgoingText) -> bool: ...
    def get(self, text_id: str) -> OutgoingText | None: ...
    def claim(self, text_id: str, attempts: int, lease_until: datetime) -> bool: ...
    def sent(self, text_id: str, now: datetime, message_sid: str) -> None: ...
    def retry_at(self, text_id: str, at: datetime, error: str, *, uncertain: bool) -> None: ...
    def failed(self, text_id: str, now: datetime, error: str) -> None: ...
    def park(self, text_id: str, shop_id: str, now: datetime, error: str) -> None: ...
    def replay(self, text_id: str, now: datetime) -> bool: ...
    def due(self, now: datetime, limit: int) -> list[str]: ...
    def pending_before(self, shop_id: str, to: str, created_at: datetime) -> bool: ...
    def parked(self, shop_id: str) -> list[OutgoingText]: ...


class MessagingStore(Protocol):
    def is_do_not_call(self, shop_id: str, phone: str) -> bool: ...
    def add_do_not_call(self, shop_id: str, phone: str, source: str, now: datetime) -> None: ...
    def remove_do_not_call(self, shop_id: str, phone: str) -> None: ...
    def log_message(self, message: TextMessage) -> None: ...
    def open_orders_of(self, shop_id: str, phone: str) -> list[Order]: ...
    def transition_order(
        self, shop_id: str, order_id: str, from_statuses: set[str], to_status: str, **fields: Any
    ) -> Order | None: ...
    def mark_orders(self, shop_id: str, order_ids: list[str], **fields: Any) -> list[Order]: ...
    def drop_orders_from_task(self, task_id: str, order_ids: list[str], result: str = ...) -> None: ...


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


class FullTelephony(Telephony, CallControl, TextMessenger, Protocol):
    """Everything the account does: what the paced wrapper passes through."""


class CallSlots(Protocol):
    def reserve_call_slot(
        self, account_sid: str, now: float, calls_per_second: float, max_wait: float
    ) -> Slot | None: ...


class PredictiveTelephony(Telephony, CallControl, Protocol):
    pass


# ---- webhook URLs ---------------------------------------------------------------------------
class WebhookUrls(Protocol):
    def robot_answer(self, task_id: str, params: Mapping[str, str] | None = None) -> str: ...
    def call_status(self, task_id: str, params: Mapping[str, str] | None = None) -> str: ...


class AgentDialUrls(Protocol):
    def agent_answer(self, task_id: str, agent_id: str, reservation: str) -> str: ...
    def agent_status(self, task_id: str, agent_id: str, reservation: str) -> str: ...


class PredictiveUrls(Protocol):
    def answer(self, task_id: str, line: str) -> str: ...
    def amd(self, task_id: str, line: str) -> str: ...
    def status(self, task_id: str, line: str) -> str: ...
    def connect(self, task_id: str, line: str) -> str: ...
    def bridge_done(self, task_id: str, line: str) -> str: ...


# ---- dialing --------------------------------------------------------------------------------
class AttemptStore(OrderStore, TaskStore, Protocol):
    """Ending a dial attempt and deciding its orders."""


class DialerStore(OrderStore, TaskStore, CallStore, Protocol):
    def get_shop(self, shop_id: str) -> ShopSettings | None: ...
    def is_do_not_call(self, shop_id: str, phone: str) -> bool: ...
    def release_claim(self, task_id: str, due_at: datetime) -> bool: ...
    def stale_dialing_task_ids(self, shop_id: str, kind: str, dialing_before: datetime) -> list[str]: ...
    def hand_attempt_to_agents(self, seen: DialTask, call_sid: str, now: datetime) -> DialTask | None: ...


class RobotCallStore(DialerStore, Protocol):
    def answer_robot_call(self, ref: RobotCallRef, call_sid: str, *, person: bool, **call_fields: Any) -> bool: ...
    def decide_robot_call(
        self,
        ref: RobotCallRef,
        call_sid: str,
        decision: str,
        *,
        order_status: str | None,
        now: datetime,
        agent_reason: str | None = None,
    ) -> list[str] | None: ...


class Together(Protocol):
    """Run two independent calls (to the store) and return both results; whether one after the
    other or at the same time is the caller's choice (``wiring.together`` overlaps them)."""

    def __call__(self, first: Callable[[], A], second: Callable[[], B], /) -> tuple[A, B]: ...


class AgentDialStore(AgentQueueStore, OrderStore, TaskStore, CallStore, Protocol):
    def get_agent(self, shop_id: str, agent_id: str) -> Agent | None: ...
    def customer_lines_in_flight(self, shop_id: str, now: datetime) -> int: ...
    def claim_person_task(self, task_id: str, now: datetime, *, with_orders: bool) -> DialTask | None: ...
    def return_person_task(self, task_id: str, call_sid: str | None, state: str, due_at: datetime) -> bool: ...
    def defer_person_task(self, task_id: str, due_at: datetime) -> None: ...
    def is_do_not_call(self, shop_id: str, phone: str) -> bool: ...
    def stale_dialing_task_ids(self, shop_id: str, kind: str, dialing_before: datetime) -> list[str]: ...


class PredictiveStore(AgentDialStore, Protocol):
    def add_line(self, shop_id: str, task_id: str, placed_at: datetime) -> str: ...
    def get_line(self, shop_id: str, key: str) -> DialLine | None: ...
    def recent_lines(self, shop_id: str, limit: int) -> list[DialLine]: ...
    def update_line(self, shop_id: str, key: str, **fields: Any) -> None: ...
    def move_line(self, shop_id: str, key: str, from_phases: set[str], to_phase: str, **fields: Any) -> bool: ...
    def day_counts(self, shop_id: str, day: str) -> DayCounts: ...
    def count_day(self, shop_id: str, day: str, **increments: int) -> None: ...


# ---- destinations: whom a shop's calls and texts may reach ----------------------------------
class NewDestinations(Protocol):
    def claim_destination(self, shop_id: str, day: str, number: str, cap: int, now: datetime) -> bool:
        """True when ``number`` may be contacted on the shop's local ``day``: claimed already that
        day, or new and counted while under ``cap``; False when the day has counted ``cap``."""
        ...


# ---- inbound calls, agents, callbacks -------------------------------------------------------
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


# ---- outcomes, the customer's timeline, the agent's desk ------------------------------------
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


class CustomerErasure(Protocol):
    """Erasing one customer of a shop (#18): every table, by the customer indexes."""

    def recordings_of(self, shop_id: str, phone: str) -> list[tuple[str, str]]: ...
    def forget_recording(self, call_sid: str) -> None: ...
    def order_answer_keys(self, shop_id: str, phone: str) -> list[str]: ...
    def erase(self, shop_id: str, phone: str, groups: set[str], now: datetime) -> Erased: ...


# Delete the stored answers to a shop's Idempotency-Keys; how many there were.
ForgetOrderAnswers = Callable[[str, list[str]], int]


class RecordingDeletion(Protocol):
    def delete_recording(self, recording_sid: str) -> bool:
        """Delete it at Twilio; False when Twilio has none (deleted before)."""
        ...


class RecordingMedia(Protocol):
    def fetch(self, recording_sid: str) -> MediaAnswer:
        """Ask Twilio, with the account's credentials, for the recording's media."""
        ...


class CallLookup(Protocol):
    def get_call(self, call_sid: str) -> object | None: ...


# ---- the shop's CRM (A6) --------------------------------------------------------------------
class Outbox(Protocol):
    def add(self, event: OutboxEvent) -> bool: ...
    def get(self, event_id: str) -> OutboxEvent | None: ...
    def claim(self, event_id: str, attempts: int, lease_until: datetime) -> bool: ...
    def delivered(self, event_id: str, now: datetime, status: int) -> None: ...
    def retry_at(self, event_id: str, at: datetime, error: str, status: int | None) -> None: ...
    def park(self, event_id: str, shop_id: str, now: datetime, error: str, status: int | None) -> None: ...
    def replay(self, event_id: str, now: datetime) -> bool: ...
    def due(self, shop_id: str, now: datetime, limit: int) -> list[str]: ...
    def parked(self, shop_id: str) -> list[OutboxEvent]: ...


class Sender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


SecretOf = Callable[[str], bytes]


# ---- email, alerts, "once" ------------------------------------------------------------------
class DoNotCallList(Protocol):
    def is_do_not_call(self, shop_id: str, phone: str) -> bool: ...


# once(key, send): runs ``send`` (returning the provider's message id) unless a message with this
# key went before; True when this call sent it.
SendOnce = Callable[[dict[str, str], Callable[[], str]], bool]

# once(key, action): ``action()``'s result from the first run for ``key``; later runs return it.
Once = Callable[[str, Callable[[], Any]], Any]

# idempotent(request, action, lambda_context): ``action()``'s answer for the first request with
# its key; the same key again gets the stored answer (another body for it is refused).
Idempotent = Callable[[dict[str, Any], Callable[[], dict[str, Any]], Any], dict[str, Any]]


# ---- live figures (R7) ----------------------------------------------------------------------
class AgentNowLike(Protocol):
    @property
    def agent_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def status_since(self) -> datetime | None: ...


class DayQueries(Protocol):
    """Reads of one shop-day, each a Query on a ``by_shop_day`` index (or a BatchGet by key)."""

    def orders_of_day(self, shop_id: str, day: date) -> Iterable[OrderFact]: ...
    def calls_of_day(self, shop_id: str, day: date) -> Iterable[CallFact]: ...
    def agent_statuses_of_day(self, shop_id: str, day: date) -> Iterable[AgentStatusFact]: ...
    def dialer_day(self, shop_id: str, day: date) -> tuple[int, int]: ...  # (live answers, drops), O8


class LiveQueries(DayQueries, Protocol):
    def calls_waiting(self, shop_id: str, day: date, since: datetime) -> Iterable[CallFact]: ...
    def agents_of_shop(self, shop_id: str) -> Iterable[AgentNowLike]: ...
    # The day's running counters (domain.live_counts) and the dialer's (live answers, drops).
    def live_day(self, shop_id: str, day: date) -> tuple[Mapping[str, int], tuple[int, int]]: ...


class LiveCounters(Protocol):
    """The shops' running day counters, kept by the stream consumers (#19)."""

    def add_counts(
        self, record_id: str, shop_id: str, day: str, counts: Mapping[str, int], *, active: bool = False
    ) -> bool: ...
    # A stream batch's entries added together (each once); the ids of those counted before.
    def add_counts_together(self, entries: Sequence[CountEntry]) -> set[str]: ...
    # The day's counters replaced by ``counts`` (the backfill: cli.admin rebuild-live-counts).
    def set_counts(self, shop_id: str, day: str, counts: Mapping[str, int], *, active: bool) -> None: ...


# ---- administration -------------------------------------------------------------------------
class AdminStore(Protocol):
    def save_shop(self, shop: ShopSettings, now: datetime) -> None: ...
    def get_shop(self, shop_id: str) -> ShopSettings | None: ...
    def save_number(self, number: str, shop_id: str, group: str) -> None: ...
    def save_api_key(self, shop_id: str, api_key: str, key_id: str, now: datetime) -> None: ...
    def save_agent(self, shop_id: str, agent: dict[str, Any]) -> tuple[str, str] | None:
        """Save the agent and claim their softphone identity (freeing the one they had) at once;
        None when saved, else (shop id, agent id) of the identity's holder (nothing saved)."""
        ...

    def delete_agent(self, shop_id: str, agent_id: str) -> bool:
        """Delete the agent and free their softphone identity at once; False when unknown."""
        ...

    def claim_identity(self, shop_id: str, agent_id: str, identity: str) -> tuple[str, str] | None:
        """Claim the identity of an agent saved before claims existed; None, or its holder."""
        ...

    def has_agent(self, shop_id: str, agent_id: str) -> bool: ...
    def list_agents(self, shop_id: str) -> list[Agent]: ...
    def agents_with_identity(self, identity: str) -> list[Agent]: ...
    def save_agent_token(
        self, shop_id: str, agent_id: str, token: str, token_id: str, now: datetime, *, supervisor: bool = False
    ) -> None: ...
    def revoke_agent_tokens(self, shop_id: str, agent_id: str) -> int: ...
    def list_shops(self) -> list[ShopSettings]: ...


class KeyStore(Protocol):
    def api_key_ids(self) -> list[tuple[str, str]]: ...
    def revoke_api_key(self, key_id: str) -> str | None: ...


class UsagePlan(Protocol):
    """API Gateway's per-key limits (the usage-plan adapter); None locally."""

    def register(self, shop_id: str, key_id: str) -> str: ...
    def revoke(self, shop_id: str, key_id: str) -> bool: ...


# ---- the owner's reports (services.reports) -------------------------------------------------
class EmailSender(Protocol):
    def send(self, email: OutgoingEmail) -> str:
        """Send the message; return the provider's message id. Raises EmailRejected when the
        provider refuses it for good (most often: the sender is not a verified identity)."""
        ...


class EmailRejected(Exception):
    """SES refused the message (most often: the sender is not a verified identity)."""


class ReportQueries(DayQueries, Protocol):
    def callbacks_completed(self, task_ids: Iterable[str]) -> int: ...


class ReportRunLog(Protocol):
    """Where each run notes what it did with a shop's report (the admin CLI reads it)."""

    def record(self, run: ReportRun) -> None: ...
    def latest_runs(self, shop_id: str, limit: int = 10) -> Iterable[ReportRun]: ...


class ReportOnce(Protocol):
    """Sends a shop's report for a period at most once, however often the schedule fires or the
    function is retried (adapters.idempotency.KeyedOnce: a claimed record per key)."""

    def __call__(self, key: dict[str, str], action: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """``action()``'s result (JSON) the first time for ``key``; on a later call the stored
        result with ``"replayed": True``; None while another run is doing it right now. When
        ``action`` raises, nothing is stored and the next call tries again."""
        ...


# ---- the shop's Twilio numbers (services.twilio_numbers) ------------------------------------
class TwilioNumbers(Protocol):
    """The account's phone numbers (Twilio's IncomingPhoneNumbers resource)."""

    @property
    def account_sid(self) -> str: ...
    def find(self, phone_number: str) -> AccountNumber | None:
        """The account's number exactly ``phone_number`` (E.164), or None when it has none."""
        ...

    def update(self, sid: str, fields: Mapping[str, str]) -> AccountNumber: ...


class VoiceGeoPermissions(Protocol):
    """Twilio's Voice Dialing Permissions: which countries the account may call."""

    def voice_countries(self) -> list[CountryPermission]: ...


class NumberRoutes(Protocol):
    def routed_numbers(self) -> list[tuple[str, str, str]]:
        """Every (number, shop id, group) the numbers table routes."""
        ...


class ShopsAndRoutes(NumberRoutes, Protocol):
    """What the operator's Twilio check reads: the routed numbers and every shop (its countries)."""

    def list_shops(self) -> list[ShopSettings]: ...


# ---- the agents' browser softphone (services.softphone) --------------------------------------
class VoiceTokens(Protocol):
    """Signs access tokens for Twilio's Voice JavaScript SDK: the browser of ``identity`` may take
    calls to ``client:<identity>`` and place calls through the deployment's TwiML App."""

    def voice_token(self, identity: str, *, now: datetime, ttl_seconds: int) -> str: ...


# ---- conference calls (services.conference_calls, #17) -------------------------------------
class ConferenceParticipant(Protocol):
    """Twilio's Conferences and Participants resources, by the conference's name (a call's SID)."""

    def hold(self, room: str, call_sid: str, *, on: bool, music_url: str | None) -> bool:
        """Put a participant on hold (with ``music_url``) or back; False when not in the room."""
        ...

    def set_end_on_exit(self, room: str, call_sid: str, *, end: bool) -> bool: ...

    def remove(self, room: str, call_sid: str) -> bool:
        """Take a participant out of the room; False when not in it (already gone)."""
        ...

    def end(self, room: str) -> None:
        """End the room (every participant's call goes on after its Dial); nothing when gone."""
        ...

    def add(self, room: str, *, to: str, from_: str, label: str, status_url: str, ring_seconds: int) -> str:
        """Dial ``to`` into the room (it joins once answered, the room going on without it);
        returns the new call's SID. Raises CallNotPlacedError when Twilio refuses."""
        ...


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
