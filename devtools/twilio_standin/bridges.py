"""Two call legs connected in conversation, until one side hangs up."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from devtools.twilio_standin.errors import PartyHungUp
from devtools.twilio_standin.legs import CallLeg

# When neither side says how long it talks (two scripted callers), they talk this long.
DEFAULT_TALK_SECONDS = 60.0


@dataclass(frozen=True)
class BridgeOutcome:
    seconds: float
    ended_by: CallLeg  # the leg whose party (or app, or TimeLimit) ended the conversation
    reason: str  # hangup, time-limit, api or cancelled

    def party_hung_up(self, leg: CallLeg) -> bool:
        return self.ended_by is leg and self.reason == "hangup"


def _talk_bound(leg: CallLeg) -> tuple[float, str] | None:
    """How long this leg stays in a conversation, and why it would end it."""
    bounds: list[tuple[float, str]] = []
    if leg.party.talk_seconds is not None:
        bounds.append((leg.party.talk_seconds, "hangup"))
    deadline = leg.deadline()
    if deadline is not None:
        instant, cause = deadline
        bounds.append((max(0.0, instant - leg.clock.now), "hangup" if cause is PartyHungUp else "time-limit"))
    return min(bounds, key=lambda bound: bound[0]) if bounds else None


class Bridge:
    """Runs in the dialing leg's thread; the other leg (if it has a thread) waits for ``done``."""

    def __init__(self, dialer: CallLeg, other: CallLeg) -> None:
        self.dialer = dialer
        self.other = other
        self.wake = threading.Event()
        self.ready = threading.Event()  # the other side is ready to talk (its whisper is over)
        self.done = threading.Event()
        self.whisper_seconds = 0.0
        self.cancelled_reason: str | None = None
        self.outcome: BridgeOutcome | None = None

    def mark_ready(self, whisper_seconds: float = 0.0) -> None:
        self.whisper_seconds = whisper_seconds
        self.ready.set()

    def cancel(self, reason: str) -> None:
        """The other side left before the conversation began."""
        self.cancelled_reason = reason
        self.ready.set()

    def abort(self, reason: str) -> None:
        """The dialing side left before the conversation began."""
        self.outcome = BridgeOutcome(0.0, self.dialer, reason)
        self.done.set()

    def run(self, time_limit: float | None = None) -> BridgeOutcome:
        """Let the two parties talk; ``time_limit`` is the Dial's timeLimit (Twilio ends the talk)."""
        legs = (self.dialer, self.other)
        for leg in legs:
            leg.party.mark_bridged()
            leg.bridge_wake = self.wake
        try:
            bounds = [(leg, _talk_bound(leg)) for leg in legs]
            limited = [(leg, bound) for leg, bound in bounds if bound is not None]
            if limited:
                ender, (talk, reason) = min(limited, key=lambda item: item[1][0])
            else:
                ender, talk, reason = self.other, DEFAULT_TALK_SECONDS, "hangup"
            if time_limit is not None and time_limit < talk:
                ender, talk, reason = self.dialer, time_limit, "dial-time-limit"
            passed = 0.0
            interrupted: CallLeg | None = self._interrupted_leg()
            while passed < talk and interrupted is None:
                self.wake.clear()
                passed += self.dialer.clock.sleep(talk - passed, self.wake)
                interrupted = self._interrupted_leg()
            if interrupted is not None:
                ender, reason = interrupted, "api"
            self.outcome = BridgeOutcome(round(passed, 3), ender, reason)
        finally:
            for leg in legs:
                leg.bridge_wake = None
            self.done.set()
        return self.outcome

    def _interrupted_leg(self) -> CallLeg | None:
        for leg in (self.dialer, self.other):
            if leg.hangup_requested is not None or leg.redirect_pending:
                return leg
        return None
