"""Exceptions of the stand-in: REST API errors, webhook faults and call interruptions.

Call interruptions are exceptions because they cut through whatever TwiML verb a call
is executing (a caller hanging up in the middle of a ``<Say>``), exactly where the real
call would be cut.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devtools.twilio_standin.queues import DequeueOffer

TWILIO_DOCS_ERRORS = "https://www.twilio.com/docs/errors/"


class ApiError(Exception):
    """A REST request the stand-in refuses, rendered as Twilio's error JSON."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"{TWILIO_DOCS_ERRORS}{self.code}",
            "status": self.status,
        }


class ApplicationError(Exception):
    """A TwiML webhook that failed: Twilio says the application-error sentence and hangs up."""

    def __init__(self, url: str, reason: str, status: int | None = None, snippet: str = "") -> None:
        super().__init__(f"{reason} ({url}, status {status})")
        self.url = url
        self.reason = reason
        self.status = status
        self.snippet = snippet

    def to_event_data(self) -> dict[str, Any]:
        return {"url": self.url, "reason": self.reason, "status": self.status, "snippet": self.snippet}


class CallInterrupted(Exception):
    """Something ended or diverted the TwiML a call leg was executing."""


class PartyHungUp(CallInterrupted):
    """The person (or machine) on this leg hung up."""


class HungUpByApi(CallInterrupted):
    """The app ended the call through the REST API (Status=completed|canceled)."""


class StandInStopping(HungUpByApi):
    """The stand-in is shutting down: every live call ends at once."""


class TimeLimitReached(CallInterrupted):
    """The call reached its TimeLimit (4 hours by default): Twilio hangs up."""


class RedirectedByApi(CallInterrupted):
    """The app redirected the live call to new TwiML through the REST API."""

    def __init__(self, url: str | None, method: str, twiml: str | None) -> None:
        super().__init__(url or "inline TwiML")
        self.url = url
        self.method = method
        self.twiml = twiml


class Dequeued(CallInterrupted):
    """Another call's ``<Dial><Queue>`` took this caller out of its queue."""

    def __init__(self, offer: DequeueOffer) -> None:
        super().__init__("dequeued")
        self.offer = offer


class HangupVerb(Exception):
    """The TwiML said ``<Hangup/>`` or ``<Reject/>``."""

    def __init__(self, reject_reason: str | None = None) -> None:
        super().__init__(reject_reason or "hangup")
        self.reject_reason = reject_reason


class LeaveVerb(Exception):
    """A queue's wait TwiML said ``<Leave/>``."""
