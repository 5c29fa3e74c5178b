"""The account's calls-per-second limit (O8) around the Telephony port: every placement path
(robot, agent-first, customer-first) takes a slot from the account's shared timeline
(:mod:`chalicelib.domain.call_rate`, stored with a conditional write) and waits for it.

Only calls created through the REST API take a slot. The legs TwiML's ``<Dial>`` places (the
bridge from an answered customer or an inbound caller to an agent) are not limited by CPS on
Twilio ("Inbound calls and <Dial> calls are not limited by CPS", twilio.com/docs/glossary/cps;
"There is no rate limit for outgoing <Dial> calls for forwarding, conferencing, or Client",
Twilio support article 223180028), so they do not wait: pacing them would only delay the agent
past the 2 s a live answer has before it counts as dropped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.clock import Clock
from chalicelib.services.ports import CallNotPlacedError, CallSlots, CallState, FullTelephony, OutboundCall

MAX_WAIT_SECONDS = 5.0  # further than this, the call is left for the next trigger


class CallRateLimitedError(CallNotPlacedError):
    """No call slot within the wait allowed: nothing was placed; try at the next trigger."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, temporary=True)


class PacedTelephony:
    def __init__(
        self,
        inner: FullTelephony,
        *,
        slots: CallSlots,
        account_sid: str,
        calls_per_second: float,
        clock: Clock,
        sleep: Callable[[float], None],
        max_wait_seconds: float = MAX_WAIT_SECONDS,
    ) -> None:
        self.inner, self.slots, self.account_sid = inner, slots, account_sid
        self.calls_per_second, self.clock, self.sleep = calls_per_second, clock, sleep
        self.max_wait_seconds = max_wait_seconds

    def place_call(self, call: OutboundCall) -> str:
        now = self.clock.now().timestamp()
        slot = self.slots.reserve_call_slot(self.account_sid, now, self.calls_per_second, self.max_wait_seconds)
        if slot is None:
            raise CallRateLimitedError(f"{self.calls_per_second:g} calls per second: no slot within the wait allowed")
        wait = slot.wait_seconds(now)
        if wait > 0:
            self.sleep(wait)
        return self.inner.place_call(call)

    def fetch_call(self, call_sid: str) -> CallState:
        return self.inner.fetch_call(call_sid)

    def redirect_call(self, call_sid: str, url: str) -> None:
        self.inner.redirect_call(call_sid, url)

    def end_call(self, call_sid: str) -> None:
        self.inner.end_call(call_sid)

    def send_sms(self, *, to: str, from_: str, body: str) -> str:
        return self.inner.send_sms(to=to, from_=from_, body=body)

    def find_sent_text(self, *, to: str, from_: str, body: str, since: datetime) -> str | None:
        return self.inner.find_sent_text(to=to, from_=from_, body=body, since=since)
