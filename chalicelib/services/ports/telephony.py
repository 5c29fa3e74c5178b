"""Twilio's voice side: placing and changing calls, the account's numbers and recordings, the
browser softphone's tokens and conference rooms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from chalicelib.domain.call_rate import Slot
from chalicelib.domain.geo_permissions import CountryPermission
from chalicelib.domain.recording_media import MediaAnswer
from chalicelib.domain.twilio_numbers import AccountNumber
from chalicelib.services.ports.messaging import TextMessenger

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings  # cold start: pydantic, never at import


class CallNotPlacedError(Exception):
    """Twilio did not place the call (refused, throttled, failed before the request was sent)."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.temporary = temporary


class CallOutcomeUnknownError(Exception):
    """The request may have reached Twilio (a read timeout): the call may be ringing."""


@dataclass(frozen=True)
class CallState:
    status: str
    duration_seconds: int
    answered_by: str | None
    from_: str = ""  # the caller, as Twilio has it
    to: str = ""  # the number called


@dataclass(frozen=True)
class OutboundCall:
    """A call to place, as the dialers fill Twilio's Calls resource. With ``async_amd_url``
    the answer TwiML runs at once and the machine-detection verdict is posted there."""

    to: str
    from_: str
    answer_url: str
    status_url: str
    ring_timeout_seconds: int
    detect_machine: bool
    async_amd_url: str | None = None


class Telephony(Protocol):
    def place_call(self, call: OutboundCall) -> str:
        """Start an outbound call; returns its CallSid. Raises CallNotPlacedError or
        CallOutcomeUnknownError when it cannot say the call was placed."""
        ...

    def fetch_call(self, call_sid: str) -> CallState: ...


class CallControl(Protocol):
    """Changing a live call: what the predictive dialer does once the verdict on an answer is in."""

    def redirect_call(self, call_sid: str, url: str) -> None: ...
    def end_call(self, call_sid: str) -> None: ...


class FullTelephony(Telephony, CallControl, TextMessenger, Protocol):
    """Everything the account does: what the paced wrapper passes through."""


class CallSlots(Protocol):
    def reserve_call_slot(
        self, account_sid: str, now: float, calls_per_second: float, max_wait: float
    ) -> Slot | None: ...


class PredictiveTelephony(Telephony, CallControl, Protocol):
    pass


# ---- recordings (services.recordings, services.erasure) -------------------------------------
class RecordingDeletion(Protocol):
    def delete_recording(self, recording_sid: str) -> bool:
        """Delete it at Twilio; False when Twilio has none (deleted before)."""
        ...


class RecordingMedia(Protocol):
    def fetch(self, recording_sid: str) -> MediaAnswer:
        """Ask Twilio, with the account's credentials, for the recording's media."""
        ...


# ---- the shop's Twilio numbers (services.twilio_numbers) ------------------------------------
class TwilioNumbers(Protocol):
    """The account's phone numbers (Twilio's IncomingPhoneNumbers resource)."""

    @property
    def account_sid(self) -> str: ...
    def find(self, phone_number: str) -> AccountNumber | None:
        """The account's number exactly ``phone_number`` (E.164), or None when it has none."""
        ...

    def update(self, sid: str, fields: Mapping[str, str]) -> AccountNumber: ...


class VoiceGeoPermissions(Protocol):
    """Twilio's Voice Dialing Permissions: which countries the account may call."""

    def voice_countries(self) -> list[CountryPermission]: ...


class NumberRoutes(Protocol):
    def routed_numbers(self) -> list[tuple[str, str, str]]:
        """Every (number, shop id, group) the numbers table routes."""
        ...


class ShopsAndRoutes(NumberRoutes, Protocol):
    """What the operator's Twilio check reads: the routed numbers and every shop (its countries)."""

    def list_shops(self) -> list[ShopSettings]: ...


# ---- the agents' browser softphone (services.softphone) -------------------------------------
class VoiceTokens(Protocol):
    """Signs access tokens for Twilio's Voice JavaScript SDK: the browser of ``identity`` may take
    calls to ``client:<identity>`` and place calls through the deployment's TwiML App."""

    def voice_token(self, identity: str, *, now: datetime, ttl_seconds: int) -> str: ...


# ---- conference calls (services.conference_calls, #17) --------------------------------------
class ConferenceParticipant(Protocol):
    """Twilio's Conferences and Participants resources, by the conference's name (a call's SID)."""

    def hold(self, room: str, call_sid: str, *, on: bool, music_url: str | None) -> bool:
        """Put a participant on hold (with ``music_url``) or back; False when not in the room."""
        ...

    def set_end_on_exit(self, room: str, call_sid: str, *, end: bool) -> bool: ...

    def remove(self, room: str, call_sid: str) -> bool:
        """Take a participant out of the room; False when not in it (already gone)."""
        ...

    def end(self, room: str) -> None:
        """End the room (every participant's call goes on after its Dial); nothing when gone."""
        ...

    def add(self, room: str, *, to: str, from_: str, label: str, status_url: str, ring_seconds: int) -> str:
        """Dial ``to`` into the room (it joins once answered, the room going on without it);
        returns the new call's SID. Raises CallNotPlacedError when Twilio refuses."""
        ...
