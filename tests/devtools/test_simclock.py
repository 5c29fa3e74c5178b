"""The simulated clock: scaled real time, forward jumps, never backward."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.clock import Clock
from devtools import simclock
from devtools.simclock import SimClock

START = datetime(2015, 11, 22, 8, 0, tzinfo=UTC)


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def real_time(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    fake = FakeMonotonic()
    monkeypatch.setattr(simclock.time, "monotonic", fake)
    return fake


def test_virtual_time_is_real_elapsed_times_speed(real_time: FakeMonotonic):
    clock = SimClock(START, speed=500)
    real_time.now += 2.0
    assert clock.now() == START + timedelta(seconds=1000)


def test_changing_speed_keeps_the_time_reached(real_time: FakeMonotonic):
    clock = SimClock(START, speed=60)
    real_time.now += 10  # 10 virtual minutes
    clock.set_speed(1)
    real_time.now += 30
    assert clock.now() == START + timedelta(minutes=10, seconds=30)
    assert clock.speed == 1


def test_jumps_go_forward_only(real_time: FakeMonotonic):
    clock = SimClock(START, speed=1)
    assert clock.advance(timedelta(hours=2)) == START + timedelta(hours=2)
    assert clock.advance_to(START + timedelta(hours=1)) == START + timedelta(hours=2)  # already passed
    assert clock.now() == START + timedelta(hours=2)
    clock.advance_to(START + timedelta(days=1))
    real_time.now += 5
    assert clock.now() == START + timedelta(days=1, seconds=5)
    with pytest.raises(ValueError, match="backward"):
        clock.advance(timedelta(seconds=-1))


def test_now_is_utc_and_aware():
    kyiv_winter = timezone(timedelta(hours=2))
    clock: Clock = SimClock(datetime(2015, 11, 22, 10, 0, tzinfo=kyiv_winter), speed=0)
    assert clock.now() == START
    assert clock.now().tzinfo == UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(datetime(2015, 11, 22, 8, 0))
    with pytest.raises(ValueError, match="speed"):
        SimClock(START, speed=-1)


def test_paused_clock_stands_still():
    clock = SimClock(START, speed=0)
    assert clock.now() == START
    assert clock.now() == START


def test_sleep_returns_when_the_clock_jumps_past_the_wake_time():
    # GIVEN a paused clock and a thread sleeping one virtual minute on it
    clock = SimClock(START, speed=0)
    woke = threading.Event()

    def sleep_a_minute() -> None:
        clock.sleep(60)
        woke.set()

    sleeper = threading.Thread(target=sleep_a_minute)
    sleeper.start()
    try:
        assert not woke.wait(0.05)
        # WHEN the clock jumps a minute ahead
        clock.advance(timedelta(minutes=1))
        # THEN the sleeper wakes
        assert woke.wait(10)
    finally:
        clock.set_speed(1e9)  # release the sleeper if an assertion failed
        sleeper.join(10)


def test_sleep_scales_real_time(real_time: FakeMonotonic, monkeypatch: pytest.MonkeyPatch):
    clock = SimClock(START, speed=100)
    waits: list[float | None] = []
    condition = clock._changed

    def fake_wait(timeout: float | None = None) -> bool:
        waits.append(timeout)
        real_time.now += timeout or 0
        return False

    monkeypatch.setattr(condition, "wait", fake_wait)
    clock.sleep(50)
    assert waits == [pytest.approx(0.5)]
    assert clock.now() == START + timedelta(seconds=50)
