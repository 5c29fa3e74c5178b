"""A short simulated shop day on the local stack ends in one emailed report whose figures are
exactly what the day did (the demo's path, smaller and faster)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

import pytest

from devtools.demo import SHOP_ZONE, compare, plan_day, play_day
from devtools.simclock import SimClock
from devtools.stack import LocalStack, StackOptions

DAY = date(2026, 11, 24)  # a Tuesday
SPEED = 1500.0


@pytest.fixture(scope="module")
def day_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    clock = SimClock(datetime.combine(DAY, day_time(9, 30), tzinfo=SHOP_ZONE).astimezone(UTC), speed=SPEED)
    outbox = Path(tmp_path_factory.mktemp("day-outbox"))
    with LocalStack(StackOptions(clock=clock, outbox_dir=outbox, standin_speed=SPEED)) as stack:
        yield stack


def test_the_report_email_matches_the_simulated_day_and_goes_once(day_stack: LocalStack) -> None:
    clock = day_stack.options.clock
    assert isinstance(clock, SimClock)
    plan = plan_day(DAY, orders=14, seed=3, last=day_time(17, 0))
    expected = plan.expected()
    assert int(expected["Confirmed"]) > 0 and int(expected["Duplicates"]) > 0 and int(expected["Fakes"]) > 0

    result = play_day(day_stack, clock, plan, progress=False)

    assert result.report_html is not None and result.report_html.is_file()
    mismatches = [row for row in compare(expected, result.report_figures) if not row[3]]
    assert mismatches == []
    html = result.report_html.read_text()
    assert "Kvitka Flowers" in html and "2026-11-24" in html
    assert set(result.posts) == {201}

    # Later hourly runs the same morning send nothing more for that day.
    clock.advance(timedelta(hours=2))
    time.sleep(1.0)
    reports = [m for m in day_stack.ses.messages() if DAY.isoformat() in str(m.message["Subject"])]
    assert len(reports) == 1
    assert list(reports[0].destinations) == ["owner@kvitka.example"]
    assert day_stack.poller is not None and day_stack.poller.stats()["failures"] == 0
    assert all(not call.transcript.application_errors for call in day_stack.standin.calls)
