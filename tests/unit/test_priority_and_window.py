"""Dial priority (O6 variants 1 and 2) and the calling window, including a property test: no
instant we pick to dial is ever outside the window in the customer's local time."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.calling_hours import effective_window, next_calling_time
from chalicelib.domain.priority import DueTask, in_dial_order
from chalicelib.domain.shop import CallingWindow

T0 = datetime(2015, 11, 23, 8, 0, tzinfo=UTC)


def task(name: str, attempts: int, minutes: int, callback: bool = False, contacted: bool = False) -> DueTask:
    due = T0 + timedelta(minutes=minutes)
    return DueTask(name, attempts, due, callback_at=due if callback else None, contacted=contacted)


TASKS = [
    task("retry-3", 3, 0),
    task("callback", 1, 5, callback=True),
    task("one-attempt", 1, 10),
    task("new-late", 0, 30),
    task("new-early", 0, 20),
    task("retry-2-contacted", 2, 1, contacted=True),
    task("retry-2", 2, 2),
]


def test_variant_1_new_then_one_attempt_then_callbacks_then_retries_without_contact() -> None:
    assert [t.task_id for t in in_dial_order(TASKS, 1)] == [
        "new-early",
        "new-late",
        "one-attempt",
        "callback",
        "retry-2",
        "retry-3",
        "retry-2-contacted",
    ]


def test_variant_2_new_then_fewest_attempts() -> None:
    assert [t.task_id for t in in_dial_order(TASKS, 2)] == [
        "new-early",
        "new-late",
        "callback",
        "one-attempt",
        "retry-2-contacted",
        "retry-2",
        "retry-3",
    ]


def test_legal_hours_narrow_a_wider_shop_window() -> None:
    wide = CallingWindow(start=time(7), end=time(23), legal_hours_only=True)
    assert effective_window(wide) == (time(8), time(21))
    assert effective_window(CallingWindow(start=time(7), end=time(23))) == (time(7), time(23))


ZONES = ["Europe/Kyiv", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo", "UTC"]


@settings(max_examples=400, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2016, 12, 31), timezones=st.just(UTC)),
    zone_name=st.sampled_from(ZONES),
    start_hour=st.integers(min_value=6, max_value=12),
    end_hour=st.integers(min_value=17, max_value=23),
    legal=st.booleans(),
)
def test_the_chosen_dial_time_is_always_inside_the_customers_window(
    instant: datetime, zone_name: str, start_hour: int, end_hour: int, legal: bool
) -> None:
    window = CallingWindow(start=time(start_hour), end=time(end_hour), legal_hours_only=legal)
    zone = ZoneInfo(zone_name)
    chosen = next_calling_time(instant, zone, window)
    start, end = effective_window(window)
    local = chosen.astimezone(zone).time()
    assert chosen >= instant
    assert start <= local < end
    assert chosen - instant < timedelta(hours=25)  # the next opening, never a day late
