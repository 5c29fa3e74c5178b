"""The report's figures (R1-R4) as the tally yields them, and the shares they state: every
percentage says what it is a share of."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

SERVICE_LEVEL_SECONDS = 20
_WORKING_STATUSES = frozenset({"busy", "wrap-up"})
_CENTS = Decimal("0.01")
_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class Share:
    """A count out of a stated whole: the report always says what a percentage is of."""

    count: int
    whole: int
    of: str  # what the whole counts, e.g. "orders received" or "unique orders"

    @property
    def percent(self) -> Decimal | None:
        """The share in percent to one decimal place, or None when the whole is zero."""
        if self.whole == 0:
            return None
        return (Decimal(self.count) * 100 / Decimal(self.whole)).quantize(_TENTH, rounding=ROUND_HALF_UP)


class ShareOf:
    """A figure's share, declared once: the figure named ``count`` out of the one named ``whole``,
    saying what the whole counts (``of``)."""

    def __init__(self, count: str, whole: str, of: str) -> None:
        self.count, self.whole, self.of = count, whole, of

    def __get__(self, figures: object, owner: type | None = None) -> Share:
        return Share(getattr(figures, self.count), getattr(figures, self.whole), self.of)


@dataclass(frozen=True, slots=True)
class HourCalls:
    hour: int  # the shop's local hour of the day, 0-23
    answered: int  # reached an agent
    lost: int  # hung up before an agent, no callback
    other: int  # self-service, voicemail, callback asked, still in progress


@dataclass(frozen=True, slots=True)
class OutboundFigures:
    dial_attempts: int  # robot calls placed
    contacts: int  # of them answered by a person
    orders_dialed: int  # unique orders with a first dial time
    first_dial_median_seconds: int | None
    first_dial_p95_seconds: int | None
    live_answers: int  # agent-dialed calls answered by a person (O8)
    dropped_live_answers: int  # of them hung up by the system: no agent within 2 s

    @property
    def attempts_per_contact(self) -> Decimal | None:
        if self.contacts == 0:
            return None
        return (Decimal(self.dial_attempts) / Decimal(self.contacts)).quantize(_TENTH, rounding=ROUND_HALF_UP)

    drop_rate = ShareOf("dropped_live_answers", "live_answers", "live answers")


@dataclass(frozen=True, slots=True)
class InboundFigures:
    calls: int
    answered: int  # reached an agent
    lost: int  # abandoned, no callback
    queued: int  # entered the agent queue
    answered_within_service_level: int  # reached an agent within SERVICE_LEVEL_SECONDS of queueing
    waits: int  # calls with a recorded wait
    average_wait_seconds: int | None
    longest_wait_seconds: int | None
    after_hours: int
    callbacks_asked: int
    callbacks_completed: int | None  # None: not looked up (the tasks were not read)
    survey: tuple[tuple[str, int], ...]  # (answer, count) in SURVEY_ANSWERS order, then others
    by_hour: tuple[HourCalls, ...]  # the 24 local hours
    voicemails: int = 0  # callers who left a message (each gets a callback task)
    voicemails_called_back: int | None = None  # of them, reached by their callback (None: not looked up)

    lost_share = ShareOf("lost", "calls", "inbound calls")
    answered_share = ShareOf("answered", "calls", "inbound calls")
    service_level = ShareOf("answered_within_service_level", "queued", "calls queued for an agent")

    @property
    def survey_answers(self) -> int:
        return sum(count for _, count in self.survey)


@dataclass(frozen=True, slots=True)
class AgentDay:
    agent_id: str
    calls: int
    talk_seconds: int
    status_seconds: tuple[tuple[str, int], ...]  # (status, seconds), longest first
    missed_offers: int
    transferred: int = 0  # calls handed to another agent (their talk counts for the last agent)

    def seconds_in(self, status: str) -> int:
        return dict(self.status_seconds).get(status, 0)

    @property
    def handle_seconds(self) -> int:
        """Talk time plus wrap-up: what average handle time averages."""
        return self.talk_seconds + self.seconds_in("wrap-up")

    @property
    def average_handle_seconds(self) -> int | None:
        return None if self.calls == 0 else round(self.handle_seconds / self.calls)

    @property
    def logged_in_seconds(self) -> int:
        return sum(seconds for status, seconds in self.status_seconds if status != "offline")

    @property
    def occupancy(self) -> Share:
        working = sum(seconds for status, seconds in self.status_seconds if status in _WORKING_STATUSES)
        return Share(working, self.logged_in_seconds, "seconds logged in")


@dataclass(frozen=True, slots=True)
class DailyFigures:
    orders_received: int  # every order record of the day
    duplicates: int
    fakes: int
    reached: int  # unique orders whose customer a call reached
    confirmed: int
    cancelled: int
    unreachable: int
    confirmed_total: Decimal  # in the shop's currency
    confirmed_in_other_currency: int  # confirmed orders left out of the sum: another currency
    calls: int
    robot_calls: int
    robot_calls_answered_by_person: int
    outbound: OutboundFigures | None = None
    inbound: InboundFigures | None = None
    agents: tuple[AgentDay, ...] = ()

    @property
    def unique(self) -> int:
        return self.orders_received - self.duplicates - self.fakes

    @property
    def still_open(self) -> int:
        """Unique orders with no final outcome yet (received or queued for a call)."""
        return self.unique - self.confirmed - self.cancelled - self.unreachable

    @property
    def average_check(self) -> Decimal | None:
        counted = self.confirmed - self.confirmed_in_other_currency
        if counted <= 0:
            return None
        return (self.confirmed_total / counted).quantize(_CENTS, rounding=ROUND_HALF_UP)

    @property
    def has_activity(self) -> bool:
        return self.orders_received > 0 or self.calls > 0

    duplicates_share = ShareOf("duplicates", "orders_received", "orders received")
    fakes_share = ShareOf("fakes", "orders_received", "orders received")
    reached_share = ShareOf("reached", "unique", "unique orders")
    confirmed_share = ShareOf("confirmed", "unique", "unique orders")
    cancelled_share = ShareOf("cancelled", "unique", "unique orders")
    unreachable_share = ShareOf("unreachable", "unique", "unique orders")
    still_open_share = ShareOf("still_open", "unique", "unique orders")
    answered_by_person_share = ShareOf("robot_calls_answered_by_person", "robot_calls", "robot calls")

    @property
    def funnel(self) -> tuple[tuple[str, int], ...]:
        """Received -> unique -> reached -> confirmed: the orders funnel chart's bars."""
        return (
            ("Received", self.orders_received),
            ("Unique", self.unique),
            ("Reached", self.reached),
            ("Confirmed", self.confirmed),
        )
