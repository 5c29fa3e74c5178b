from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from chalicelib.domain.calling_hours import next_calling_time
from chalicelib.domain.robot import keypress_action, next_attempt_at, unanswered_result
from chalicelib.domain.shop import CallingWindow, RobotPolicy

KYIV = ZoneInfo("Europe/Kyiv")
WINDOW = CallingWindow(start=time(10), end=time(22))


def test_inside_the_window_dial_now() -> None:
    now = datetime(2015, 11, 22, 12, 0, tzinfo=UTC)  # 14:00 in Kyiv
    assert next_calling_time(now, KYIV, WINDOW) == now


def test_late_evening_waits_for_next_morning_local_time() -> None:
    now = datetime(2015, 11, 22, 20, 30, tzinfo=UTC)  # 22:30 in Kyiv (UTC+2)
    assert next_calling_time(now, KYIV, WINDOW) == datetime(2015, 11, 23, 8, 0, tzinfo=UTC)


def test_early_morning_waits_for_opening_same_day() -> None:
    now = datetime(2015, 11, 22, 5, 0, tzinfo=UTC)  # 07:00 in Kyiv
    assert next_calling_time(now, KYIV, WINDOW) == datetime(2015, 11, 22, 8, 0, tzinfo=UTC)


def test_opening_after_the_spring_dst_change_uses_summer_offset() -> None:
    # Kyiv moves to UTC+3 on 2015-03-29; 10:00 local that morning is 07:00 UTC, not 08:00.
    night_before = datetime(2015, 3, 28, 21, 0, tzinfo=UTC)  # 23:00 local, still UTC+2
    assert next_calling_time(night_before, KYIV, WINDOW) == datetime(2015, 3, 29, 7, 0, tzinfo=UTC)


def test_the_window_is_read_in_the_customers_zone() -> None:
    now = datetime(2015, 11, 22, 12, 0, tzinfo=UTC)  # 14:00 in Kyiv, 07:00 in New York
    opening = next_calling_time(now, ZoneInfo("America/New_York"), WINDOW)
    assert opening == datetime(2015, 11, 22, 15, 0, tzinfo=UTC)


def test_keypresses() -> None:
    assert [keypress_action(d) for d in ("1", "2", "3", "9", "7", "", None)] == [
        "confirm",
        "cancel",
        "agent",
        "repeat",
        "unknown",
        "unknown",
        "unknown",
    ]


def test_why_a_call_ended_without_a_decision() -> None:
    assert unanswered_result("completed", "machine_start") == "machine"
    assert unanswered_result("busy", None) == "busy"
    assert unanswered_result("no-answer", None) == "no-answer"
    assert unanswered_result("completed", "human") == "no-input"


def test_retry_delay_by_result_until_attempts_run_out() -> None:
    policy = RobotPolicy(max_attempts=3, retry_minutes={"busy": 10, "no-answer": 30})
    now = datetime(2015, 11, 22, 12, 0, tzinfo=UTC)
    assert next_attempt_at(1, "busy", policy, now) == datetime(2015, 11, 22, 12, 10, tzinfo=UTC)
    assert next_attempt_at(2, "no-answer", policy, now) == datetime(2015, 11, 22, 12, 30, tzinfo=UTC)
    assert next_attempt_at(3, "busy", policy, now) is None
