"""EventBridge schedule expressions and the local scheduler that fires handlers on them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.scheduler import (
    ScheduledJob,
    ScheduleExpressionError,
    Scheduler,
    next_fire_after,
    parse_schedule,
)
from devtools.simclock import SimClock


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- expressions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("rate(1 minute)", "2015-11-22 10:02:30", "2015-11-22 10:03:00"),
        ("rate(5 minutes)", "2015-11-22 10:02:30", "2015-11-22 10:05:00"),
        ("rate(5 minutes)", "2015-11-22 10:05:00", "2015-11-22 10:10:00"),  # strictly after
        ("rate(1 hour)", "2015-11-22 10:59:59", "2015-11-22 11:00:00"),
        ("rate(1 day)", "2015-12-31 23:00:00", "2016-01-01 00:00:00"),
        ("cron(0 8 * * ? *)", "2015-12-31 09:00:00", "2016-01-01 08:00:00"),
        ("cron(0 8 * * ? *)", "2015-11-22 07:59:59", "2015-11-22 08:00:00"),
        # day 31 skips the months that have no 31st
        ("cron(0 8 31 * ? *)", "2015-01-31 08:00:00", "2015-03-31 08:00:00"),
        ("cron(0 8 31 * ? *)", "2015-03-31 08:00:00", "2015-05-31 08:00:00"),
        # last day of the month, leap year and not
        ("cron(0 0 L * ? *)", "2015-01-31 00:00:00", "2015-02-28 00:00:00"),
        ("cron(0 0 L * ? *)", "2016-02-01 00:00:00", "2016-02-29 00:00:00"),
        # weekdays by name and by number (SUN=1): 2015-11-20 is a Friday
        ("cron(0 9 ? * MON-FRI *)", "2015-11-20 10:00:00", "2015-11-23 09:00:00"),
        ("cron(0 9 ? * 2-6 *)", "2015-11-20 10:00:00", "2015-11-23 09:00:00"),
        ("cron(0 12 ? * 1 *)", "2015-11-20 10:00:00", "2015-11-22 12:00:00"),
        ("cron(0 12 ? * SUN *)", "2015-11-20 10:00:00", "2015-11-22 12:00:00"),
        ("cron(0 12 ? * sat,sun *)", "2015-11-20 10:00:00", "2015-11-21 12:00:00"),
        # steps
        ("cron(*/15 * * * ? *)", "2015-11-22 10:07:00", "2015-11-22 10:15:00"),
        ("cron(5/20 * * * ? *)", "2015-11-22 10:26:00", "2015-11-22 10:45:00"),
        ("cron(0 8-18/5 * * ? *)", "2015-11-22 13:00:00", "2015-11-22 18:00:00"),
        ("cron(0 8-18/5 * * ? *)", "2015-11-22 18:00:00", "2015-11-23 08:00:00"),
        ("cron(0,30 9 1,15 * ? *)", "2015-11-15 09:30:00", "2015-12-01 09:00:00"),
        # months by name, nth weekday, last weekday, a year
        ("cron(0 6 1 JAN,JUL ? *)", "2015-02-01 00:00:00", "2015-07-01 06:00:00"),
        ("cron(0 10 ? * FRI#2 *)", "2015-11-14 00:00:00", "2015-12-11 10:00:00"),
        ("cron(0 10 ? * 6L *)", "2015-11-01 00:00:00", "2015-11-27 10:00:00"),
        ("cron(30 6 29 2 ? 2016)", "2015-01-01 00:00:00", "2016-02-29 06:30:00"),
    ],
)
def test_next_fire_time(expression: str, after: str, expected: str):
    assert next_fire_after(expression, at(after)) == at(expected)


def test_a_schedule_that_has_passed_never_fires_again():
    assert next_fire_after("cron(0 8 1 1 ? 2014)", at("2015-01-01 00:00:00")) is None


@pytest.mark.parametrize(
    ("expression", "instant", "expected"),
    [
        ("rate(1 hour)", "2015-11-22 10:59:59", "2015-11-22 10:00:00"),
        ("rate(1 hour)", "2015-11-22 11:00:00", "2015-11-22 11:00:00"),  # at counts
        ("cron(0 8 * * ? *)", "2015-11-22 07:59:00", "2015-11-21 08:00:00"),
        ("cron(0 0 L * ? *)", "2015-03-15 00:00:00", "2015-02-28 00:00:00"),
        ("cron(0 9 ? * MON-FRI *)", "2015-11-23 08:00:00", "2015-11-20 09:00:00"),
    ],
)
def test_latest_fire_at_or_before(expression: str, instant: str, expected: str):
    assert parse_schedule(expression).latest_at_or_before(at(instant)) == at(expected)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",  # EventBridge wants the singular for 1
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(30 seconds)",
        "cron(0 8 * * * *)",  # one day field must be ?
        "cron(0 8 ? * ? *)",
        "cron(0 8 * *)",
        "cron(60 8 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 8 ? * 8 *)",
        "cron(0 8 ? * XYZ *)",
        "cron(0 18-8 * * ? *)",
        "every day at 8",
    ],
)
def test_invalid_expressions_are_refused(expression: str):
    with pytest.raises(ScheduleExpressionError):
        parse_schedule(expression)


def test_a_bad_expression_fails_when_the_job_is_defined():
    with pytest.raises(ScheduleExpressionError, match="6 fields"):
        ScheduledJob("daily-report", "cron(0 8 * * ?)", lambda event, context: None)


# -- firing -------------------------------------------------------------------------------


class Calls:
    def __init__(self, fail_first: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.fail_first = fail_first
        self.done = threading.Event()

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        self.events.append(event)
        self.contexts.append(context)
        self.done.set()
        if self.fail_first and len(self.events) == 1:
            raise RuntimeError("SES is down")

    @property
    def times(self) -> list[str]:
        return [event["time"] for event in self.events]


def test_jumping_the_clock_fires_each_job_once_for_its_latest_instant():
    # GIVEN a paused simulated clock at 07:59:30 and an hourly and a minutely job
    clock = SimClock(at("2015-11-22 07:59:30"), speed=0)
    hourly, minutely = Calls(), Calls()
    scheduler = Scheduler(
        clock, [ScheduledJob("hourly", "rate(1 hour)", hourly), ScheduledJob("minutely", "rate(1 minute)", minutely)]
    )

    # WHEN the clock jumps three and a half hours
    clock.advance(timedelta(hours=3, minutes=30))
    fired = scheduler.run_due()

    # THEN each job fired once, for its latest due instant
    assert [(f.job, f.scheduled_time) for f in fired] == [
        ("hourly", at("2015-11-22 11:00:00")),
        ("minutely", at("2015-11-22 11:29:00")),
    ]
    assert hourly.times == ["2015-11-22T11:00:00Z"]
    assert minutely.times == ["2015-11-22T11:29:00Z"]

    # AND nothing fires twice for the same instant; the next minute fires the minutely job only
    assert scheduler.run_due() == []
    clock.advance(timedelta(minutes=1))
    scheduler.run_due()
    assert minutely.times == ["2015-11-22T11:29:00Z", "2015-11-22T11:30:00Z"]
    assert hourly.times == ["2015-11-22T11:00:00Z"]
    assert scheduler.fired_counts() == {"hourly": 1, "minutely": 2}


def test_instants_before_the_scheduler_started_do_not_fire():
    clock = SimClock(at("2015-11-22 07:59:30"), speed=0)
    report = Calls()
    scheduler = Scheduler(clock, [ScheduledJob("report", "cron(0 8 * * ? *)", report)])

    assert scheduler.run_due(at("2015-11-22 07:59:59")) == []
    assert [f.scheduled_time for f in scheduler.run_due(at("2015-11-22 08:00:00"))] == [at("2015-11-22 08:00:00")]
    assert scheduler.run_due(at("2015-11-22 08:00:40")) == []


def test_the_event_is_an_eventbridge_scheduled_event():
    clock = SimClock(at("2015-11-22 07:59:00"), speed=0)
    report = Calls()
    scheduler = Scheduler(
        clock,
        [ScheduledJob("daily-report", "cron(0 8 * * ? *)", report)],
        region="eu-west-1",
        account_id="111122223333",
    )
    scheduler.run_due(at("2015-11-22 08:00:07"))

    [event] = report.events
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert event["version"] == "0"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["account"] == "111122223333"
    assert event["time"] == "2015-11-22T08:00:00Z"  # the scheduled instant, not when it ran
    assert event["region"] == "eu-west-1"
    assert event["resources"] == ["arn:aws:events:eu-west-1:111122223333:rule/daily-report"]
    assert event["detail"] == {}
    assert report.contexts[0].function_name == "daily-report"


def test_a_failing_handler_is_logged_and_the_schedule_goes_on(caplog: pytest.LogCaptureFixture):
    clock = SimClock(at("2015-11-22 07:59:30"), speed=0)
    flaky, steady = Calls(fail_first=True), Calls()
    scheduler = Scheduler(
        clock, [ScheduledJob("flaky", "rate(1 minute)", flaky), ScheduledJob("steady", "rate(1 minute)", steady)]
    )

    first = scheduler.run_due(at("2015-11-22 08:00:00"))
    second = scheduler.run_due(at("2015-11-22 08:01:00"))

    assert [type(f.error) for f in first] == [RuntimeError, type(None)]
    assert "Scheduled job flaky failed" in caplog.text
    assert [f.error for f in second] == [None, None]
    assert flaky.times == ["2015-11-22T08:00:00Z", "2015-11-22T08:01:00Z"]
    assert steady.times == ["2015-11-22T08:00:00Z", "2015-11-22T08:01:00Z"]


def test_started_scheduler_fires_when_the_clock_gets_there():
    # GIVEN a running scheduler on a paused clock a minute before the report is due
    clock = SimClock(at("2015-11-22 07:59:00"), speed=0)
    report = Calls()
    scheduler = Scheduler(clock, [ScheduledJob("report", "cron(0 8 * * ? *)", report)], tick=0.01)
    with scheduler:
        assert report.events == []
        # WHEN the clock moves past 08:00
        clock.advance_to(at("2015-11-22 08:00:30"))
        # THEN the background thread fires it
        assert report.done.wait(10)
    assert report.times == ["2015-11-22T08:00:00Z"]
