"""One call leg (a Twilio Call resource): its virtual clock, status, party and interruptions."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any

from devtools.twilio_standin.errors import (
    Dequeued,
    HungUpByApi,
    PartyHungUp,
    RedirectedByApi,
    StandInStopping,
    TimeLimitReached,
)
from devtools.twilio_standin.parties import Party
from devtools.twilio_standin.transcript import Transcript

API_VERSION = "2010-04-01"
FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
DEFAULT_TIME_LIMIT_SECONDS = 4 * 3600  # Twilio's default TimeLimit

# Virtual durations of what a caller hears or does.
SAY_CHARACTERS_PER_SECOND = 14.0
SPEECH_CHARACTERS_PER_SECOND = 12.0
PLAY_SECONDS = 5.0
DTMF_SECONDS = 0.3
PACE_POLL_REAL_SECONDS = 0.02  # how often audio paced by a clock looks at it

Pace = Callable[[], datetime]  # a clock whose time paced audio takes (speed 0)


def say_seconds(text: str) -> float:
    return max(0.5, round(len(text.strip()) / SAY_CHARACTERS_PER_SECOND, 2))


def speech_seconds(text: str) -> float:
    return max(0.5, round(len(text.strip()) / SPEECH_CHARACTERS_PER_SECOND, 2))


def whole_seconds(seconds: float) -> int:
    """Seconds as Twilio reports them: whole, rounded up (float noise aside)."""
    return max(0, math.ceil(seconds - 1e-9))


def rfc2822(instant: datetime) -> str:
    """Twilio's date format: ``Tue, 31 Aug 2010 20:36:28 +0000``."""
    return format_datetime(instant.replace(microsecond=0), usegmt=False)


class VirtualClock:
    """A leg's own time: advancing it sleeps ``seconds / speed`` for real (never at speed 0)."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._now = 0.0

    @property
    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float, wake: threading.Event, pace: Pace | None = None) -> float:
        """Let up to ``seconds`` pass; returns the virtual seconds that passed (less when woken).

        ``pace`` (speed 0 only): let them pass on that clock instead (the local stack's simulated
        clock), so what plays for minutes (hold music) lasts minutes of the clock tests move."""
        if seconds <= 0:
            return 0.0
        if self.speed <= 0 and pace is not None:
            return self._sleep_paced(seconds, wake, pace)
        if self.speed <= 0:
            self._now += seconds
            return seconds
        started = time.monotonic()
        if wake.wait(seconds / self.speed):
            seconds = min(seconds, (time.monotonic() - started) * self.speed)
        self._now += seconds
        return seconds

    def _sleep_paced(self, seconds: float, wake: threading.Event, pace: Pace) -> float:
        started = pace()
        while True:
            passed = (pace() - started).total_seconds()
            if passed >= seconds:
                break
            if wake.wait(PACE_POLL_REAL_SECONDS):
                break
        passed = min(seconds, max(0.0, (pace() - started).total_seconds()))
        self._now += passed
        return passed

    def jump(self, seconds: float) -> None:
        """Advance without sleeping: the time already passed in real life on another leg's clock."""
        self._now += max(0.0, seconds)


@dataclass(frozen=True)
class RingPlan:
    """What happens when a number is rung: answer, busy, no-answer or failed, after how long."""

    result: str
    after_seconds: float


@dataclass
class StatusCallbackConfig:
    url: str
    method: str = "POST"
    events: frozenset[str] = frozenset({"completed"})


@dataclass
class PendingRedirect:
    url: str | None
    method: str
    twiml: str | None


@dataclass(eq=False)  # a leg is itself: identity equality and hashing
class CallLeg:
    """A call as Twilio keeps it, plus the live state the stand-in needs to run it."""

    sid: str
    account_sid: str
    direction: str  # inbound, outbound-api or outbound-dial
    from_: str
    to: str
    party: Party
    speed: float
    wall_start: datetime
    parent_call_sid: str | None = None
    status: str = "queued"
    time_limit: float = DEFAULT_TIME_LIMIT_SECONDS
    status_callback: StatusCallbackConfig | None = None
    answered_by: str | None = None
    phone_number_sid: str | None = None
    application_sid: str | None = None  # a Voice SDK call's TwiML App (its Voice URL answered it)
    record_call: bool = False
    recording_status_callback: StatusCallbackConfig | None = None

    clock: VirtualClock = field(init=False)
    transcript: Transcript = field(init=False)
    attention: threading.Event = field(init=False, default_factory=threading.Event)
    ended: threading.Event = field(init=False, default_factory=threading.Event)
    answered_at: float | None = field(init=False, default=None)
    ended_at: float | None = field(init=False, default=None)
    sequence_number: int = field(init=False, default=0)
    recording_sids: list[str] = field(init=False, default_factory=list)
    # Wakes the thread that runs a bridge this leg is in, when something happens to this leg.
    bridge_wake: threading.Event | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.clock = VirtualClock(self.speed)
        self.transcript = Transcript(
            self.sid, self.from_, self.to, self.direction, parent_call_sid=self.parent_call_sid
        )
        self._lock = threading.Lock()
        self._hangup_requested: str | None = None  # "completed", "canceled" or "stopping"
        self._redirect: PendingRedirect | None = None
        self._dequeue_offer: Any = None
        self._timers: list[tuple[float, Callable[[], None]]] = []

    # -- what happened ------------------------------------------------------------------------
    def record(self, kind: str, **data: Any) -> None:
        self.transcript.add(self.clock.now, kind, **data)

    def set_status(self, status: str) -> None:
        with self._lock:
            self.status = status
        self.record("status", status=status)

    def answer(self) -> None:
        if self.answered_at is None:
            self.answered_at = self.clock.now
            self.set_status("in-progress")

    @property
    def is_live(self) -> bool:
        return self.status not in FINAL_STATUSES

    @property
    def duration(self) -> int:
        """Whole virtual seconds from answer to end (0 when never answered)."""
        if self.answered_at is None:
            return 0
        end = self.ended_at if self.ended_at is not None else self.clock.now
        return whole_seconds(end - self.answered_at)

    def wall_time(self, virtual: float | None = None) -> datetime:
        return self.wall_start + timedelta(seconds=self.clock.now if virtual is None else virtual)

    def next_sequence_number(self) -> int:
        with self._lock:
            number = self.sequence_number
            self.sequence_number += 1
            return number

    # -- interruptions from other threads -------------------------------------------------------
    def request_hangup(self, status: str) -> None:
        with self._lock:
            self._hangup_requested = status
        self._wake()

    def request_redirect(self, url: str | None, method: str, twiml: str | None) -> None:
        with self._lock:
            self._redirect = PendingRedirect(url, method, twiml)
        self._wake()

    def offer_dequeue(self, offer: Any) -> None:
        with self._lock:
            self._dequeue_offer = offer
        self._wake()

    def _wake(self) -> None:
        self.attention.set()
        wake = self.bridge_wake
        if wake is not None:
            wake.set()

    def withdraw_dequeue_offer(self) -> None:
        with self._lock:
            self._dequeue_offer = None

    @property
    def hangup_requested(self) -> str | None:
        return self._hangup_requested

    @property
    def redirect_pending(self) -> bool:
        return self._redirect is not None

    def check_interrupts(self) -> None:
        """Raise whatever another thread asked of this leg since the last check."""
        with self._lock:
            self.attention.clear()
            hangup = self._hangup_requested
            redirect = self._redirect
            offer = self._dequeue_offer
            if hangup is None and redirect is not None:
                self._redirect = None
            if hangup is None and redirect is None and offer is not None:
                self._dequeue_offer = None
        if hangup == "stopping":
            raise StandInStopping("the stand-in is stopping")
        if hangup is not None:
            raise HungUpByApi(hangup)
        if redirect is not None:
            raise RedirectedByApi(redirect.url, redirect.method, redirect.twiml)
        if offer is not None:
            raise Dequeued(offer)

    # -- the passing of virtual time -----------------------------------------------------------
    def deadline(self) -> tuple[float, type[Exception]] | None:
        """The next virtual instant the call ends by itself: the party's patience or TimeLimit."""
        candidates: list[tuple[float, type[Exception]]] = []
        start = self.answered_at if self.answered_at is not None else 0.0
        candidates.append((start + self.time_limit, TimeLimitReached))
        if self.answered_at is not None and self.party.hangup_after_seconds is not None:
            candidates.append((self.answered_at + self.party.hangup_after_seconds, PartyHungUp))
        return min(candidates, key=lambda candidate: candidate[0]) if candidates else None

    def remaining_patience(self) -> float | None:
        deadline = self.deadline()
        return None if deadline is None else max(0.0, deadline[0] - self.clock.now)

    def schedule(self, at: float, action: Callable[[], None]) -> None:
        """Run ``action`` in this leg's thread once its virtual clock reaches ``at``."""
        with self._lock:
            self._timers.append((at, action))
            self._timers.sort(key=lambda timer: timer[0])

    def _fire_due_timers(self) -> None:
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > self.clock.now + 1e-9:
                    return
                _, action = self._timers.pop(0)
            action()

    def _next_timer_at(self) -> float | None:
        with self._lock:
            return self._timers[0][0] if self._timers else None

    def spend(self, seconds: float, *, sleep: bool = True, pace: Pace | None = None) -> None:
        """Let ``seconds`` of this call's time pass, unless the call is cut short first.

        ``sleep=False`` catches up on time that already passed for real elsewhere (another leg);
        ``pace``: see ``VirtualClock.sleep``.
        """
        deadline = self.deadline()
        cut_short: type[Exception] | None = None
        if deadline is not None and self.clock.now + seconds >= deadline[0]:
            seconds = max(0.0, deadline[0] - self.clock.now)
            cut_short = deadline[1]
        target = self.clock.now + seconds
        while True:
            self._fire_due_timers()
            self.check_interrupts()
            remaining = target - self.clock.now
            if remaining <= 1e-9:
                break
            next_timer = self._next_timer_at()
            chunk = remaining if next_timer is None else max(0.0, min(remaining, next_timer - self.clock.now))
            if sleep:
                # A wake-up with nothing to act on (an offer already withdrawn) just sleeps on.
                self.clock.sleep(chunk, self.attention, pace)
            else:
                self.clock.jump(chunk)
        if cut_short is PartyHungUp:
            self.record("input", what="hangup", reason="hangup_after_seconds")
            raise PartyHungUp("the party's hangup_after_seconds passed")
        if cut_short is TimeLimitReached:
            raise TimeLimitReached("TimeLimit reached")

    # -- Twilio's view --------------------------------------------------------------------------
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    def to_json(self) -> dict[str, Any]:
        """The Call resource as Twilio's REST API renders it."""
        started = self.wall_time(self.answered_at) if self.answered_at is not None else None
        ended = self.wall_time(self.ended_at) if self.ended_at is not None else None
        base = self.uri()[: -len(".json")]
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": self.answered_by,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": rfc2822(self.wall_start),
            "date_updated": rfc2822(ended or started or self.wall_start),
            "direction": self.direction,
            "duration": str(self.duration) if not self.is_live else None,
            "end_time": rfc2822(ended) if ended else None,
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": self.from_,
            "group_sid": None,
            "parent_call_sid": self.parent_call_sid,
            "phone_number_sid": self.phone_number_sid,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": self.sid,
            "start_time": rfc2822(started) if started else None,
            "status": self.status,
            "subresource_uris": {
                "notifications": f"{base}/Notifications.json",
                "recordings": f"{base}/Recordings.json",
                "events": f"{base}/Events.json",
            },
            "to": self.to,
            "to_formatted": self.to,
            "trunk_sid": None,
            "uri": self.uri(),
        }
