"""Business hours, menus, agent choice and the queue's estimated wait (I2-I5, I8), pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from chalicelib.domain.hours import is_open
from chalicelib.domain.ivr import choose, language_digits, next_attempt
from chalicelib.domain.queue_estimate import estimated_wait_minutes, remember
from chalicelib.domain.routing import Agent, candidates, staffed
from chalicelib.domain.shop import BusinessHours, OpenInterval

KYIV = "Europe/Kyiv"
NOON_MONDAY_KYIV = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
WEEKDAYS = BusinessHours(
    always_open=False,
    weekly={"mon": [OpenInterval(start=time(9), end=time(21))], "sat": [OpenInterval(start=time(10), end=time(14))]},
    holidays=[date(2015, 12, 25)],
)


def test_open_inside_the_weekly_schedule_in_the_shops_zone() -> None:
    assert is_open(WEEKDAYS, KYIV, NOON_MONDAY_KYIV)
    # 20:59 UTC is 22:59 in Kyiv: closed, though it is still Monday in UTC
    assert not is_open(WEEKDAYS, KYIV, NOON_MONDAY_KYIV.replace(hour=20, minute=59))
    assert not is_open(WEEKDAYS, KYIV, NOON_MONDAY_KYIV + timedelta(days=1))  # no Tuesday hours


def test_a_holiday_is_closed_and_24_7_is_always_open() -> None:
    christmas = datetime(2015, 12, 25, 10, 0, tzinfo=UTC)  # a Friday
    assert not is_open(WEEKDAYS, KYIV, christmas)
    assert is_open(BusinessHours(), KYIV, christmas)


def test_menus_take_a_digit_or_a_hinted_word() -> None:
    options = {"1": "callback", "2": "voicemail"}
    hints = {"callback": "call back, callback", "voicemail": "message"}
    assert choose("2", None, options, hints) == "voicemail"
    assert choose(None, "Please call back later", options, hints, confidence=0.9) == "callback"
    assert choose("7", None, options, hints) is None
    assert choose(None, "hmm", options, hints) is None
    assert language_digits(["uk", "ru", "en"]) == {"1": "uk", "2": "ru", "3": "en"}


def test_a_menu_is_repeated_at_most_the_configured_times() -> None:
    assert next_attempt(0, 3) == 1
    assert next_attempt(1, 3) == 2
    assert next_attempt(2, 3) is None


def agent(
    agent_id: str, status: str, idle_minutes: int, languages: list[str], groups: list[str] | None = None
) -> Agent:
    return Agent(
        "demo",
        agent_id,
        agent_id,
        groups=groups or ["sales"],
        languages=languages,
        status=status,
        status_since=NOON_MONDAY_KYIV - timedelta(minutes=idle_minutes),
    )


def test_the_longest_idle_agent_speaking_the_callers_language_comes_first() -> None:
    agents = [
        agent("short-idle-uk", "available", 1, ["uk"]),
        agent("long-idle-en", "available", 30, ["en"]),
        agent("long-idle-uk", "available", 20, ["uk"]),
        agent("on-break", "break", 60, ["uk"]),
        agent("other-group", "available", 90, ["uk"], ["support"]),
    ]
    order = [a.agent_id for a in candidates(agents, "sales", "uk", NOON_MONDAY_KYIV, wrap_up_seconds=30)]
    assert order == ["long-idle-uk", "short-idle-uk", "long-idle-en"]


def test_wrap_up_ends_by_itself_after_its_seconds() -> None:
    fresh = agent("fresh", "wrap-up", 0, ["uk"])
    done = agent("done", "wrap-up", 2, ["uk"])
    free = candidates([fresh, done], "sales", "uk", NOON_MONDAY_KYIV, wrap_up_seconds=60)
    assert [a.agent_id for a in free] == ["done"]
    assert staffed([fresh, done, agent("off", "offline", 0, [])], "sales") == 2


def test_estimated_wait_from_recent_handle_times_shared_among_staffed_agents() -> None:
    recent = [120.0, 240.0]  # average 3 minutes
    assert estimated_wait_minutes(1, recent, staffed_agents=1, default_seconds=60) == 3
    assert estimated_wait_minutes(3, recent, staffed_agents=2, default_seconds=60) == 6
    assert estimated_wait_minutes(2, [], staffed_agents=0, default_seconds=90) == 3  # no history, nobody staffed
    assert len(remember([1.0] * 20, 5)) == 20 and remember([1.0] * 20, 5)[-1] == 5.0
