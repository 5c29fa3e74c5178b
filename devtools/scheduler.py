"""Fire scheduled handlers locally on EventBridge ``rate(...)`` and ``cron(...)`` expressions.

The clock is any ``chalicelib.clock.Clock``; with a ``SimClock`` running 500 times real time
a day's reports fire within minutes. Expressions are parsed the way EventBridge reads them
(UTC, six cron fields, day-of-week 1-7 with SUN=1, one of the two day fields ``?``).

When the clock has passed several due instants of a job since it last fired (the clock
jumped, or the previous run took long), the job fires once, for the latest instant: an
hourly report is never skipped, and a minutely job never piles up.

``rate(...)`` instants are aligned to the Unix epoch (``rate(1 hour)`` fires on the hour,
``rate(1 day)`` at midnight UTC) where EventBridge counts from the rule's creation; this
keeps the local schedule reproducible.
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from chalicelib.clock import Clock
from devtools.stream_poller import DEFAULT_ACCOUNT_ID, LambdaContext

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_YEAR, MAX_YEAR = 1970, 2199  # EventBridge's range for the year field
MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
# EventBridge numbers days of the week from Sunday = 1 to Saturday = 7.
DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleExpressionError(ValueError):
    pass


class Schedule(Protocol):
    def next_after(self, instant: datetime) -> datetime | None:
        """The first firing strictly after ``instant`` (None: never again)."""
        ...

    def latest_at_or_before(self, instant: datetime) -> datetime | None:
        """The last firing at or before ``instant`` (None: none since 1970)."""
        ...


def parse_schedule(expression: str) -> Schedule:
    text = expression.strip()
    if match := _RATE.match(text):
        return _parse_rate(text, int(match.group(1)), match.group(2))
    if match := _CRON.match(text):
        return _parse_cron(text, match.group(1))
    raise ScheduleExpressionError(
        f"{expression!r} is not an EventBridge schedule: expected rate(N unit) or cron(6 fields)"
    )


def next_fire_after(expression: str, instant: datetime) -> datetime | None:
    return parse_schedule(expression).next_after(instant)


# -- rate ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateSchedule:
    period: timedelta

    def next_after(self, instant: datetime) -> datetime:
        periods = (_utc(instant) - EPOCH) // self.period
        return EPOCH + (periods + 1) * self.period

    def latest_at_or_before(self, instant: datetime) -> datetime:
        periods = (_utc(instant) - EPOCH) // self.period
        return EPOCH + periods * self.period


def _parse_rate(text: str, value: int, unit: str) -> RateSchedule:
    singular = unit.rstrip("s")
    # EventBridge rejects "rate(1 minutes)" and "rate(5 minute)"; so do we, so the cloud won't.
    if value < 1 or (value == 1) != (unit == singular):
        raise ScheduleExpressionError(
            f"{text!r}: use a positive whole number with a singular unit for 1 and plural otherwise "
            "(rate(1 minute), rate(5 minutes))"
        )
    return RateSchedule(timedelta(seconds=value * _UNIT_SECONDS[singular]))


# -- cron ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CronSchedule:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    day_matches: Callable[[date], bool] = field(compare=False)

    def next_after(self, instant: datetime) -> datetime | None:
        start = _utc(instant).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        while day.year <= MAX_YEAR:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = _first_of_next_month(day)
                continue
            if self.day_matches(day):
                earliest = (start.hour, start.minute) if day == start.date() else (0, 0)
                for hour in self.hours:
                    for minute in self.minutes:
                        if (hour, minute) >= earliest:
                            return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
            day += timedelta(days=1)
        return None

    def latest_at_or_before(self, instant: datetime) -> datetime | None:
        end = _utc(instant).replace(second=0, microsecond=0)
        day = end.date()
        while day.year >= MIN_YEAR:
            if day.year not in self.years:
                day = date(day.year - 1, 12, 31)
                continue
            if day.month not in self.months:
                day = day.replace(day=1) - timedelta(days=1)
                continue
            if self.day_matches(day):
                latest = (end.hour, end.minute) if day == end.date() else (23, 59)
                for hour in reversed(self.hours):
                    for minute in reversed(self.minutes):
                        if (hour, minute) <= latest:
                            return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
            day -= timedelta(days=1)
        return None


def _parse_cron(text: str, body: str) -> CronSchedule:
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleExpressionError(
            f"{text!r}: cron needs 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), got {len(fields)}"
        )
    minute_field, hour_field, dom_field, month_field, dow_field, year_field = fields
    if (dom_field == "?") == (dow_field == "?"):
        raise ScheduleExpressionError(
            f"{text!r}: exactly one of Day-of-month and Day-of-week must be '?' (EventBridge rule)"
        )
    try:
        minutes = _field_values(minute_field, 0, 59)
        hours = _field_values(hour_field, 0, 23)
        months = _field_values(month_field, 1, 12, MONTH_NAMES)
        years = _field_values(year_field, MIN_YEAR, MAX_YEAR)
        day_matches = _day_of_week_matcher(dow_field) if dom_field == "?" else _day_of_month_matcher(dom_field)
    except ScheduleExpressionError as exc:
        raise ScheduleExpressionError(f"{text!r}: {exc}") from None
    return CronSchedule(
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        months=frozenset(months),
        years=frozenset(years),
        day_matches=day_matches,
    )


def _field_values(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """Values of one cron field: ``*``, ``5``, ``1,15``, ``MON-FRI``, ``*/10``, ``5/15``, ``8-18/2``."""
    values: set[int] = set()
    for part in text.split(","):
        range_text, _, step_text = part.partition("/")
        step = _number(step_text, 1, high - low + 1) if step_text else 1
        if range_text == "*":
            first, last = low, high
        elif "-" in range_text:
            first_text, last_text = range_text.split("-", 1)
            first, last = _value(first_text, low, high, names), _value(last_text, low, high, names)
            if first > last:
                raise ScheduleExpressionError(f"range {range_text!r} runs backward")
        else:
            first = _value(range_text, low, high, names)
            last = high if step_text else first  # "5/15" means 5, 20, 35, 50
        values.update(range(first, last + 1, step))
    return values


def _value(text: str, low: int, high: int, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    return _number(text, low, high)


def _number(text: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise ScheduleExpressionError(f"{text!r} is not a value from {low} to {high}")
    return int(text)


def _day_of_month_matcher(text: str) -> Callable[[date], bool]:
    if text.upper() == "L":
        return lambda day: day.day == calendar.monthrange(day.year, day.month)[1]
    if "W" in text.upper():
        raise ScheduleExpressionError(f"day-of-month {text!r}: W (nearest weekday) is not supported locally")
    days = _field_values(text, 1, 31)
    return lambda day: day.day in days


def _day_of_week_matcher(text: str) -> Callable[[date], bool]:
    upper = text.upper()
    if "#" in upper:  # "FRI#2": the second Friday of the month
        weekday_text, nth_text = upper.split("#", 1)
        weekday, nth = _value(weekday_text, 1, 7, DAY_NAMES), _number(nth_text, 1, 5)
        return lambda day: _eventbridge_weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth
    if upper.endswith("L") and upper != "L":  # "6L" / "FRIL": the last Friday of the month
        weekday = _value(upper[:-1], 1, 7, DAY_NAMES)
        return lambda day: (
            _eventbridge_weekday(day) == weekday and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
        )
    weekdays = _field_values(upper, 1, 7, DAY_NAMES)
    return lambda day: _eventbridge_weekday(day) in weekdays


def _eventbridge_weekday(day: date) -> int:
    return day.isoweekday() % 7 + 1  # Monday 1 -> 2, ..., Sunday 7 -> 1


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError(f"schedules need timezone-aware instants, got naive {instant!r}")
    return instant.astimezone(UTC)


# -- the scheduler ------------------------------------------------------------------------


@dataclass
class ScheduledJob:
    name: str
    expression: str
    handler: Handler
    schedule: Schedule = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.schedule = parse_schedule(self.expression)  # a typo fails at start-up, not at 08:00


@dataclass
class Firing:
    job: str
    scheduled_time: datetime
    event: dict[str, Any]
    error: BaseException | None = None


@dataclass
class _JobState:
    job: ScheduledJob
    fired_through: datetime  # instants at or before this have fired or were coalesced
    running: bool = False
    fired: int = 0


class Scheduler:
    def __init__(
        self,
        clock: Clock,
        jobs: list[ScheduledJob],
        tick: float = 0.05,
        *,
        region: str = "us-east-1",
        account_id: str = DEFAULT_ACCOUNT_ID,
        start_at: datetime | None = None,
    ) -> None:
        """Jobs fire for instants from ``start_at`` (default: the clock's now) onward."""
        self.clock = clock
        self.tick = tick
        self.region = region
        self.account_id = account_id
        anchor = _utc(start_at or clock.now()) - timedelta(microseconds=1)
        self._states = [_JobState(job, anchor) for job in jobs]
        if len({job.name for job in jobs}) != len(jobs):
            raise ValueError("scheduled job names must be unique (they name the rules)")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runners: set[threading.Thread] = set()

    # -- deterministic use ----------------------------------------------------------------

    def run_due(self, now: datetime | None = None) -> list[Firing]:
        """Fire, in this thread, every job due at ``now`` (default: the clock's now)."""
        instant = _utc(now or self.clock.now())
        firings = []
        for state in self._states:
            scheduled = self._claim_due(state, instant)
            if scheduled is not None:
                firings.append(self._fire(state, scheduled))
        return firings

    def fired_counts(self) -> dict[str, int]:
        with self._lock:
            return {state.job.name: state.fired for state in self._states}

    # -- background use -------------------------------------------------------------------

    def start(self) -> Scheduler:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
            self._thread.start()
            logger.info("Scheduler started with %s", ", ".join(s.job.name for s in self._states))
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        for runner in list(self._runners):
            runner.join(timeout)

    def __enter__(self) -> Scheduler:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                instant = _utc(self.clock.now())
                for state in self._states:
                    scheduled = self._claim_due(state, instant)
                    if scheduled is not None:
                        # Each job runs in its own thread, as its own Lambda would: a slow
                        # report does not hold up the minutely dialer.
                        runner = threading.Thread(
                            target=self._fire,
                            args=(state, scheduled),
                            name=f"job-{state.job.name}",
                            daemon=True,
                        )
                        self._runners.add(runner)
                        runner.start()
                self._runners = {runner for runner in self._runners if runner.is_alive()}
            except Exception:
                logger.exception("Scheduler tick failed")
            self._stop.wait(self.tick)

    # -- internals ------------------------------------------------------------------------

    def _claim_due(self, state: _JobState, instant: datetime) -> datetime | None:
        """The latest instant due for this job, marked as taken; None if nothing is due."""
        with self._lock:
            if state.running:
                return None  # coalesce: it fires for the latest instant once it is done
            latest = state.job.schedule.latest_at_or_before(instant)
            if latest is None or latest <= state.fired_through:
                return None
            first_missed = state.job.schedule.next_after(state.fired_through)
            if first_missed is not None and first_missed < latest:
                logger.info(
                    "Job %s: instants from %s coalesced into %s",
                    state.job.name,
                    _iso(first_missed),
                    _iso(latest),
                )
            state.fired_through = latest
            state.running = True
            return latest

    def _fire(self, state: _JobState, scheduled: datetime) -> Firing:
        job = state.job
        event = scheduled_event(job.name, scheduled, region=self.region, account_id=self.account_id)
        context = LambdaContext(job.name, region=self.region, account_id=self.account_id)
        error: BaseException | None = None
        try:
            logger.info("Firing %s for %s", job.name, event["time"])
            job.handler(event, context)
        except Exception as exc:
            logger.exception("Scheduled job %s failed for %s", job.name, event["time"])
            error = exc
        finally:
            with self._lock:
                state.running = False
                state.fired += 1
        return Firing(job.name, scheduled, event, error)


def scheduled_event(
    rule_name: str, scheduled: datetime, *, region: str = "us-east-1", account_id: str = DEFAULT_ACCOUNT_ID
) -> dict[str, Any]:
    """The event EventBridge hands a Lambda target for a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": _iso(scheduled),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account_id}:rule/{rule_name}"],
        "detail": {},
    }


def _iso(instant: datetime) -> str:
    return _utc(instant).strftime("%Y-%m-%dT%H:%M:%SZ")
