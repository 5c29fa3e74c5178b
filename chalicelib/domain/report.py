"""The owner's report figures (R1-R4) and when a shop's report or digest is due.

Pure: the facts come in as plain dataclasses from whatever read the period's records, and the
figures are tallied in one pass (``ReportTally``) so a busy shop's day never has to fit in
memory: every figure is a counter, a sum, a per-hour or per-agent row, or a histogram of whole
seconds (medians and percentiles from a bounded histogram, not a list of every value).
"""

from __future__ import annotations

import calendar
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

ROBOT_DIRECTION = "outbound-robot"
INBOUND_DIRECTION = "inbound"
AGENT_DIAL_DIRECTION = "outbound-agent"  # agent dialing (O8): counted for the drop rate once it exists
SERVICE_LEVEL_SECONDS = 20
_ANSWERED_CALL_STATUSES = frozenset({"in-progress", "completed"})
_NOT_A_PERSON_PREFIXES = ("machine", "fax")
_WORKING_STATUSES = frozenset({"busy", "wrap-up"})
_MISSED_OFFER_STATUSES = frozenset({"missed", "away"})  # set by the system when an offered call rang out
_CENTS = Decimal("0.01")
_TENTH = Decimal("0.1")
SURVEY_ANSWERS: dict[str, str] = {
    "1": "solved the first time",
    "2": "called several times",
    "3": "not solved",
}


@dataclass(frozen=True, slots=True)
class OrderFact:
    """What the report needs of one order record."""

    order_id: str
    status: str  # received | duplicate | fake | queued | confirmed | cancelled | unreachable
    total: Decimal
    reached: bool  # a call reached the customer about this order
    received_at: datetime
    currency: str | None = None  # None: the shop's currency
    first_dial_at: datetime | None = None  # the first call about it was placed
    decided_at: datetime | None = None
    phone: str = ""
    order_number: str | None = None


@dataclass(frozen=True, slots=True)
class CallFact:
    """What the report needs of one call record (inbound fields are None on robot calls)."""

    call_sid: str
    direction: str  # inbound | outbound-robot | outbound-agent
    status: str  # Twilio's CallStatus
    answered_by: str | None  # Twilio's AnsweredBy (human, machine_start, fax, unknown, ...)
    answered_at: datetime | None
    created_at: datetime
    customer_phone: str = ""
    duration_seconds: int = 0
    result: str | None = None
    ended_at: datetime | None = None
    recording_sid: str | None = None
    recording_url: str | None = None
    task_id: str | None = None
    after_hours: bool | None = None
    queued_at: datetime | None = None
    wait_seconds: int | None = None
    agent_id: str | None = None
    abandoned: bool | None = None
    callback_task_id: str | None = None
    survey: str | None = None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None or self.status in _ANSWERED_CALL_STATUSES

    @property
    def answered_by_person(self) -> bool:
        # Without answering-machine detection AnsweredBy is absent: an answered call counts as a person.
        return self.answered and not (self.answered_by or "").startswith(_NOT_A_PERSON_PREFIXES)

    @property
    def reached_agent(self) -> bool:
        return bool(self.agent_id)

    @property
    def lost(self) -> bool:
        """Hung up before reaching an agent and got no callback task (I7): the call center's failure."""
        return bool(self.abandoned) and not self.reached_agent and not self.callback_task_id

    @property
    def talk_seconds(self) -> int:
        """Time with the agent: from the agent's answer (queue entry + wait) to the end, else the duration."""
        if self.agent_id and self.queued_at and self.wait_seconds is not None and self.ended_at:
            talk = (self.ended_at - self.queued_at).total_seconds() - self.wait_seconds
            return max(0, round(talk))
        return max(0, int(self.duration_seconds or 0))


@dataclass(frozen=True, slots=True)
class AgentStatusFact:
    """One change of an agent's status (the agent status log)."""

    agent_id: str
    status: str  # available | busy | wrap-up | break | away | offline (| missed)
    changed_at: datetime
    previous_status: str | None = None
    source: str = "api"  # api | sms | system


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


class SecondsHistogram:
    """Whole seconds -> how many: exact nearest-rank quantiles at one-second resolution in
    memory bounded by the spread of the values (a day has 86,400 seconds), not their number."""

    def __init__(self) -> None:
        self._counts: Counter[int] = Counter()
        self.count = 0
        self.total = 0
        self.largest: int | None = None

    def add(self, seconds: float) -> None:
        value = max(0, round(seconds))
        self._counts[value] += 1
        self.count += 1
        self.total += value
        self.largest = value if self.largest is None else max(self.largest, value)

    def quantile(self, q: float) -> int | None:
        """The nearest-rank quantile: the smallest value with at least ``q`` of all at or below it."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for value in sorted(self._counts):
            seen += self._counts[value]
            if seen >= rank:
                return value
        return self.largest

    @property
    def mean(self) -> int | None:
        return None if self.count == 0 else round(self.total / self.count)


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

    @property
    def drop_rate(self) -> Share:
        return Share(self.dropped_live_answers, self.live_answers, "live answers")


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

    @property
    def lost_share(self) -> Share:
        return Share(self.lost, self.calls, "inbound calls")

    @property
    def answered_share(self) -> Share:
        return Share(self.answered, self.calls, "inbound calls")

    @property
    def service_level(self) -> Share:
        return Share(self.answered_within_service_level, self.queued, "calls queued for an agent")

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

    @property
    def duplicates_share(self) -> Share:
        return Share(self.duplicates, self.orders_received, "orders received")

    @property
    def fakes_share(self) -> Share:
        return Share(self.fakes, self.orders_received, "orders received")

    @property
    def reached_share(self) -> Share:
        return Share(self.reached, self.unique, "unique orders")

    @property
    def confirmed_share(self) -> Share:
        return Share(self.confirmed, self.unique, "unique orders")

    @property
    def cancelled_share(self) -> Share:
        return Share(self.cancelled, self.unique, "unique orders")

    @property
    def unreachable_share(self) -> Share:
        return Share(self.unreachable, self.unique, "unique orders")

    @property
    def still_open_share(self) -> Share:
        return Share(self.still_open, self.unique, "unique orders")

    @property
    def answered_by_person_share(self) -> Share:
        return Share(self.robot_calls_answered_by_person, self.robot_calls, "robot calls")

    @property
    def funnel(self) -> tuple[tuple[str, int], ...]:
        """Received -> unique -> reached -> confirmed: the orders funnel chart's bars."""
        return (
            ("Received", self.orders_received),
            ("Unique", self.unique),
            ("Reached", self.reached),
            ("Confirmed", self.confirmed),
        )


class _AgentTally:
    __slots__ = ("calls", "last_at", "last_status", "missed", "status_seconds", "talk")

    def __init__(self) -> None:
        self.calls = 0
        self.talk = 0
        self.missed = 0
        self.status_seconds: Counter[str] = Counter()
        self.last_status: str | None = None
        self.last_at: datetime | None = None


class ReportTally:
    """One pass over a period's orders, calls and agent status changes; ``figures()`` at the end.

    ``zone`` is the shop's (calls by hour are its local hours); ``start``/``end`` bound the
    period in UTC, so the time an agent spent in a status is cut at the period's edges.
    ``currency`` is the shop's: confirmed orders in another currency are counted but kept out
    of the sum and the average check, since adding hryvnias to dollars would be wrong.
    """

    def __init__(
        self,
        *,
        currency: str | None = None,
        zone: str | tzinfo | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        self.currency = currency
        self.zone: tzinfo = ZoneInfo(zone) if isinstance(zone, str) else (zone or UTC)
        self.start, self.end = start, end
        self.received = self.duplicates = self.fakes = self.reached = 0
        self.confirmed = self.cancelled = self.unreachable = self.other_currency = 0
        self.confirmed_total = Decimal(0)
        self.first_dial = SecondsHistogram()
        self.calls = self.robot_calls = self.robot_person = 0
        self.live_answers = self.dropped = 0
        self.inbound = self.inbound_answered = self.lost = self.queued = self.within_sl = 0
        self.after_hours = 0
        self.waits = SecondsHistogram()
        self.survey: Counter[str] = Counter()
        self.hours = [[0, 0, 0] for _ in range(24)]
        self.callback_task_ids: set[str] = set()
        self.agents: dict[str, _AgentTally] = {}

    # -- orders
    def add_order(self, order: OrderFact) -> None:
        self.received += 1
        if order.status == "duplicate":
            self.duplicates += 1
            return
        if order.status == "fake":
            self.fakes += 1
            return
        if order.reached:
            self.reached += 1
        if order.first_dial_at is not None:
            self.first_dial.add((order.first_dial_at - order.received_at).total_seconds())
        if order.status == "confirmed":
            self.confirmed += 1
            if self.currency is None or order.currency in (None, self.currency):
                self.confirmed_total += order.total
            else:
                self.other_currency += 1
        elif order.status == "cancelled":
            self.cancelled += 1
        elif order.status == "unreachable":
            self.unreachable += 1
        # Anything else (received, queued, a status added later) is still open: see still_open.

    # -- calls
    def add_call(self, call: CallFact) -> None:
        self.calls += 1
        if call.direction == ROBOT_DIRECTION:
            self.robot_calls += 1
            if call.answered_by_person:
                self.robot_person += 1
        elif call.direction == AGENT_DIAL_DIRECTION and call.answered_by_person:
            self.live_answers += 1
            if call.result == "dropped":
                self.dropped += 1
        elif call.direction == INBOUND_DIRECTION:
            self._add_inbound(call)
        if call.agent_id:
            agent = self._agent(call.agent_id)
            agent.calls += 1
            agent.talk += call.talk_seconds

    def _add_inbound(self, call: CallFact) -> None:
        self.inbound += 1
        hour = self.hours[call.created_at.astimezone(self.zone).hour]
        if call.reached_agent:
            self.inbound_answered += 1
            hour[0] += 1
        elif call.lost:
            self.lost += 1
            hour[1] += 1
        else:
            hour[2] += 1
        if call.queued_at is not None:
            self.queued += 1
            if call.reached_agent and call.wait_seconds is not None and call.wait_seconds <= SERVICE_LEVEL_SECONDS:
                self.within_sl += 1
        if call.wait_seconds is not None:
            self.waits.add(call.wait_seconds)
        if call.after_hours:
            self.after_hours += 1
        if call.callback_task_id:
            self.callback_task_ids.add(call.callback_task_id)
        if call.survey:
            self.survey[call.survey] += 1

    def add_dialer_day(self, live_answers: int, drops: int) -> None:
        """A day's customer-first dialing as the dialer stored it: live answers and drops (O8)."""
        self.live_answers += live_answers
        self.dropped += drops

    # -- agents' statuses (in ``changed_at`` order, as the day index returns them)
    def add_status(self, change: AgentStatusFact) -> None:
        agent = self._agent(change.agent_id)
        if agent.last_status is None:
            # Before its first change of the period the agent was in the previous status since the start.
            if change.previous_status and self.start is not None:
                agent.status_seconds[change.previous_status] += _seconds(self.start, change.changed_at)
        elif agent.last_at is not None:
            agent.status_seconds[agent.last_status] += _seconds(agent.last_at, change.changed_at)
        agent.last_status, agent.last_at = change.status, change.changed_at
        if change.source == "system" and change.status in _MISSED_OFFER_STATUSES:
            agent.missed += 1

    def _agent(self, agent_id: str) -> _AgentTally:
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = self.agents[agent_id] = _AgentTally()
        return agent

    # -- the result
    def figures(self, *, callbacks_completed: int | None = None) -> DailyFigures:
        survey_order = [answer for answer in SURVEY_ANSWERS if self.survey[answer]]
        survey_order += sorted(answer for answer in self.survey if answer not in SURVEY_ANSWERS)
        return DailyFigures(
            orders_received=self.received,
            duplicates=self.duplicates,
            fakes=self.fakes,
            reached=self.reached,
            confirmed=self.confirmed,
            cancelled=self.cancelled,
            unreachable=self.unreachable,
            confirmed_total=self.confirmed_total,
            confirmed_in_other_currency=self.other_currency,
            calls=self.calls,
            robot_calls=self.robot_calls,
            robot_calls_answered_by_person=self.robot_person,
            outbound=OutboundFigures(
                dial_attempts=self.robot_calls,
                contacts=self.robot_person,
                orders_dialed=self.first_dial.count,
                first_dial_median_seconds=self.first_dial.quantile(0.5),
                first_dial_p95_seconds=self.first_dial.quantile(0.95),
                live_answers=self.live_answers,
                dropped_live_answers=self.dropped,
            ),
            inbound=InboundFigures(
                calls=self.inbound,
                answered=self.inbound_answered,
                lost=self.lost,
                queued=self.queued,
                answered_within_service_level=self.within_sl,
                waits=self.waits.count,
                average_wait_seconds=self.waits.mean,
                longest_wait_seconds=self.waits.largest,
                after_hours=self.after_hours,
                callbacks_asked=len(self.callback_task_ids),
                callbacks_completed=callbacks_completed,
                survey=tuple((answer, self.survey[answer]) for answer in survey_order),
                by_hour=tuple(HourCalls(hour, *counts) for hour, counts in enumerate(self.hours)),
            ),
            agents=tuple(self._agent_day(agent_id, tally) for agent_id, tally in sorted(self.agents.items())),
        )

    def _agent_day(self, agent_id: str, tally: _AgentTally) -> AgentDay:
        seconds = Counter(tally.status_seconds)
        if tally.last_status is not None and tally.last_at is not None and self.end is not None:
            seconds[tally.last_status] += _seconds(tally.last_at, self.end)
        return AgentDay(
            agent_id=agent_id,
            calls=tally.calls,
            talk_seconds=tally.talk,
            status_seconds=tuple(sorted(((s, n) for s, n in seconds.items() if n > 0), key=lambda p: (-p[1], p[0]))),
            missed_offers=tally.missed,
        )


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, round((end - start).total_seconds()))


def daily_figures(
    orders: Iterable[OrderFact],
    calls: Iterable[CallFact],
    *,
    currency: str | None = None,
    zone: str | tzinfo | None = None,
    statuses: Iterable[AgentStatusFact] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    callbacks_completed: int | None = None,
) -> DailyFigures:
    """Tally a day's orders, calls and agent status changes in one pass each."""
    tally = ReportTally(currency=currency, zone=zone, start=start, end=end)
    for order in orders:
        tally.add_order(order)
    for call in calls:
        tally.add_call(call)
    for change in statuses:
        tally.add_status(change)
    return tally.figures(callbacks_completed=callbacks_completed)


# ----------------------------------------------------------------------------- periods

PeriodKind = Literal["day", "week", "month"]


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """A run of the shop's local calendar days the report covers (both ends included)."""

    kind: PeriodKind
    first: date
    last: date

    @classmethod
    def day(cls, day: date) -> ReportPeriod:
        return cls("day", day, day)

    def days(self) -> Iterator[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)

    def bounds(self, zone: str | tzinfo) -> tuple[datetime, datetime]:
        """The period's start and end instants in UTC (a local day may be 23 or 25 hours)."""
        tz = ZoneInfo(zone) if isinstance(zone, str) else zone
        start = datetime.combine(self.first, time(0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        return start, end

    @property
    def label(self) -> str:
        if self.kind == "day":
            return f"{self.first.isoformat()} ({self.first:%A})"
        if self.kind == "month":
            return f"{self.first:%B %Y}"
        return f"{self.first.isoformat()} – {self.last.isoformat()}"

    @property
    def title(self) -> str:
        return {"day": "Daily report", "week": "Weekly digest", "month": "Monthly digest"}[self.kind]

    @property
    def key(self) -> dict[str, str]:
        """What makes the period unique for a shop (the idempotency key, with the shop id)."""
        if self.kind == "day":
            return {"day": self.first.isoformat()}  # the daily report's key since its first release
        return {"period": self.kind, "first": self.first.isoformat()}


def report_due(now_utc: datetime, shop_zone: str | tzinfo, report_hour: int) -> date | None:
    """The local day whose report is due now: yesterday, once the shop's clock reads its report hour.

    The hour is compared on the shop's wall clock, so DST changes move it with the shop: on a
    spring-forward day a skipped hour is caught by the first run after it, and on a fall-back
    day the repeated hour fires twice (sending stays once per day: the caller's job).
    """
    local_now = _local(now_utc, shop_zone)
    if local_now.hour < report_hour:
        return None
    return local_now.date() - timedelta(days=1)


def digests_due(
    now_utc: datetime, shop_zone: str | tzinfo, report_hour: int, *, weekly_on: int | None, monthly: bool
) -> list[ReportPeriod]:
    """The digests due now: last week (Monday to Sunday) on the shop's ``weekly_on`` weekday
    (0 = Monday), last month on the 1st, once the shop's clock reads its report hour."""
    local_now = _local(now_utc, shop_zone)
    if local_now.hour < report_hour:
        return []
    today = local_now.date()
    due: list[ReportPeriod] = []
    if weekly_on is not None and today.weekday() == weekly_on:
        last_sunday = today - timedelta(days=today.weekday() + 1)
        due.append(ReportPeriod("week", last_sunday - timedelta(days=6), last_sunday))
    if monthly and today.day == 1:
        last = today - timedelta(days=1)
        due.append(
            ReportPeriod("month", last.replace(day=1), last.replace(day=calendar.monthrange(last.year, last.month)[1]))
        )
    return due


RunStatus = Literal["sent", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class ReportRun:
    """What the last run did with a shop's report for a period, for the operator (admin CLI)."""

    shop_id: str
    period: PeriodKind
    first_day: date
    status: RunStatus  # skipped: nothing to retry until the shop's settings change; failed: retried
    at: datetime
    reason: str | None = None  # why skipped or failed
    message_id: str | None = None
    recipients: int = 0


def _local(now_utc: datetime, shop_zone: str | tzinfo) -> datetime:
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    zone = ZoneInfo(shop_zone) if isinstance(shop_zone, str) else shop_zone
    return now_utc.astimezone(zone)


__all__ = [
    "AgentDay",
    "AgentStatusFact",
    "CallFact",
    "DailyFigures",
    "HourCalls",
    "InboundFigures",
    "OrderFact",
    "OutboundFigures",
    "ReportPeriod",
    "ReportRun",
    "ReportTally",
    "SecondsHistogram",
    "Share",
    "daily_figures",
    "digests_due",
    "report_due",
]
