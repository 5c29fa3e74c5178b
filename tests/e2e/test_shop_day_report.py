"""A short simulated shop day on the local stack ends in one emailed report whose figures are
exactly what the day did (the demo's path, smaller and faster)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

import pytest

from chalicelib.clock import wall_now
from devtools.demo import SHOP_ZONE, DayPlan, DayResult, compare, plan_day, play_day
from devtools.simclock import SimClock
from devtools.stack import LocalStack, StackOptions
from tests.mail_browser import assert_shows_its_charts, chromium
from tests.storage_stamps import assert_ttl_stamped_by_the_wall_clock

# Both tests read the one played day: one worker, so the day is played once.
pytestmark = pytest.mark.xdist_group("shop-day-report")
DAY = date(2015, 11, 24)  # a Tuesday
SPEED = 450.0  # the demo's own speed: faster days outran a busy 2-core machine (calls still ringing at report time)


@pytest.fixture(scope="module")
def day_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # Paused while the stack starts: on a busy machine that takes long enough to skip hours of the day.
    clock = SimClock(datetime.combine(DAY, day_time(9, 30), tzinfo=SHOP_ZONE).astimezone(UTC), speed=0)
    outbox = Path(tmp_path_factory.mktemp("day-outbox"))
    started = wall_now()
    with LocalStack(StackOptions(clock=clock, outbox_dir=outbox, standin_speed=SPEED)) as stack:
        yield stack
        assert_ttl_stamped_by_the_wall_clock(stack.dynamodb.client("dynamodb"), started)


@pytest.fixture(scope="module")
def played_day(day_stack: LocalStack) -> tuple[DayPlan, DayResult]:
    clock = day_stack.options.clock
    assert isinstance(clock, SimClock)
    plan = plan_day(DAY, orders=14, seed=3, last=day_time(17, 0))
    clock.set_speed(SPEED)
    return plan, play_day(day_stack, clock, plan, progress=False)


def test_the_report_email_matches_the_simulated_day_and_goes_once(
    day_stack: LocalStack, played_day: tuple[DayPlan, DayResult]
) -> None:
    clock = day_stack.options.clock
    assert isinstance(clock, SimClock)
    plan, result = played_day
    expected = plan.expected()
    assert int(expected["Confirmed"]) > 0 and int(expected["Duplicates"]) > 0 and int(expected["Fakes"]) > 0

    assert result.report_html is not None and result.report_html.is_file()
    mismatches = [row for row in compare(expected, result.report_figures) if not row[3]]
    assert mismatches == []
    html = result.report_html.read_text()
    assert "Kvitka Flowers" in html and "2015-11-24" in html
    assert set(result.posts) == {201}

    # Later hourly runs the same morning send nothing more for that day.
    clock.advance(timedelta(hours=2))
    time.sleep(1.0)
    reports = [m for m in day_stack.ses.messages() if DAY.isoformat() in str(m.message["Subject"])]
    assert len(reports) == 1
    assert list(reports[0].destinations) == ["owner@kvitka.example"]
    assert day_stack.poller is not None and day_stack.poller.stats()["failures"] == 0
    assert all(not call.transcript.application_errors for call in day_stack.standin.calls)


def test_the_days_report_opened_as_a_mail_client_does_shows_its_charts_in_chromium(
    day_stack: LocalStack, played_day: tuple[DayPlan, DayResult], tmp_path: Path
) -> None:
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (make test installs Debian's: target .local/.stamp-chromium)")
    _, result = played_day
    assert result.report_html is not None
    (sent,) = [m for m in day_stack.ses.messages() if m.html_path == result.report_html]
    email = sent.message  # the .eml in the outbox, as SES took it
    charts = [str(part["Content-ID"]).strip("<>") for part in email.walk() if part.get_content_maintype() == "image"]
    assert "orders-funnel" in charts  # this day has orders only; the inbound charts: test_report_dynamodb_local
    assert_shows_its_charts(browser, email, tmp_path / "demo-mail", charts)
