"""Counting: one pass over a period's facts, ``figures()`` at the end.

Every figure is a counter, a sum, a per-hour or per-agent row, or a histogram of whole seconds
(medians and percentiles from a bounded histogram, not a list of every value), so a busy
shop's day never has to fit in memory.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from chalicelib.domain.report.facts import (
    AGENT_DIAL_DIRECTION,
    INBOUND_DIRECTION,
    ROBOT_DIRECTION,
    SURVEY_ANSWERS,
    AgentStatusFact,
    CallFact,
    OrderFact,
)
from chalicelib.domain.report.figures import (
    SERVICE_LEVEL_SECONDS,
    AgentDay,
    DailyFigures,
    HourCalls,
    InboundFigures,
    OutboundFigures,
)


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


class _AgentTally:
    __slots__ = ("calls", "last_at", "last_status", "missed", "status_seconds", "talk", "transferred")

    def __init__(self) -> None:
        self.calls = 0
        self.transferred = 0  # calls the agent handed to another agent (#17)
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
    ``wrap_up_seconds`` is the shop's: wrap-up ends by itself after it (A1) while the stored
    status stays until the agent's next change, so only that much of a wrap-up counts as
    wrap-up and the rest as available.
    """

    def __init__(
        self,
        *,
        currency: str | None = None,
        zone: str | tzinfo | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        wrap_up_seconds: int | None = None,
    ) -> None:
        self.currency = currency
        self.wrap_up_seconds = wrap_up_seconds
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
        self.voicemails = 0
        self.voicemail_task_ids: set[str] = set()  # the voicemails' callback tasks
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
            if call.transferred_to_number:  # handed to an outside number the shop allows
                agent.transferred += 1
        for earlier in dict.fromkeys(call.handled_by):  # agents who transferred the call on
            if earlier != call.agent_id:
                handed = self._agent(earlier)
                handed.calls += 1
                handed.transferred += 1

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
        if call.result == "voicemail":
            self.voicemails += 1
            if call.callback_task_id:
                self.voicemail_task_ids.add(call.callback_task_id)
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
                self._credit(agent.status_seconds, change.previous_status, _seconds(self.start, change.changed_at))
        elif agent.last_at is not None:
            self._credit(agent.status_seconds, agent.last_status, _seconds(agent.last_at, change.changed_at))
        agent.last_status, agent.last_at = change.status, change.changed_at
        if change.missed_offer:
            agent.missed += 1

    def _credit(self, seconds: Counter[str], status: str, spent: int) -> None:
        if status == "wrap-up" and self.wrap_up_seconds is not None and spent > self.wrap_up_seconds:
            seconds["wrap-up"] += self.wrap_up_seconds
            seconds["available"] += spent - self.wrap_up_seconds
        else:
            seconds[status] += spent

    def _agent(self, agent_id: str) -> _AgentTally:
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = self.agents[agent_id] = _AgentTally()
        return agent

    # -- the result
    def figures(
        self, *, callbacks_completed: int | None = None, voicemails_called_back: int | None = None
    ) -> DailyFigures:
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
                voicemails=self.voicemails,
                voicemails_called_back=voicemails_called_back,
                survey=tuple((answer, self.survey[answer]) for answer in survey_order),
                by_hour=tuple(HourCalls(hour, *counts) for hour, counts in enumerate(self.hours)),
            ),
            agents=tuple(self._agent_day(agent_id, tally) for agent_id, tally in sorted(self.agents.items())),
        )

    def _agent_day(self, agent_id: str, tally: _AgentTally) -> AgentDay:
        seconds = Counter(tally.status_seconds)
        if tally.last_status is not None and tally.last_at is not None and self.end is not None:
            self._credit(seconds, tally.last_status, _seconds(tally.last_at, self.end))
        return AgentDay(
            agent_id=agent_id,
            calls=tally.calls,
            talk_seconds=tally.talk,
            status_seconds=tuple(sorted(((s, n) for s, n in seconds.items() if n > 0), key=lambda p: (-p[1], p[0]))),
            missed_offers=tally.missed,
            transferred=tally.transferred,
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
    wrap_up_seconds: int | None = None,
) -> DailyFigures:
    """Tally a day's orders, calls and agent status changes in one pass each."""
    tally = ReportTally(currency=currency, zone=zone, start=start, end=end, wrap_up_seconds=wrap_up_seconds)
    for order in orders:
        tally.add_order(order)
    for call in calls:
        tally.add_call(call)
    for change in statuses:
        tally.add_status(change)
    return tally.figures(callbacks_completed=callbacks_completed)
