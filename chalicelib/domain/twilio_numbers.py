"""How each of a shop's Twilio numbers must be set for the deployed app: its webhooks (calls,
the call status callback every caller who hangs up depends on (I7), texts, the fallback) and
nothing that would take calls or texts away from them (a TwiML App or a SIP trunk)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

VOICE_PATH = "/twilio/voice/incoming"
# The static TwiML the stack serves when the app fails (infra/voice_fallback.py): an API Gateway mock.
VOICE_FALLBACK_PATH = "/twilio/fallback/voice"
STATUS_PATH = "/twilio/voice/status"
SMS_PATH = "/twilio/sms/incoming"

# The IncomingPhoneNumber fields the app owns, by the Twilio SDK's names, in the order reported.
MANAGED_FIELDS = (
    "voice_url",
    "voice_method",
    "voice_fallback_url",
    "voice_fallback_method",
    "status_callback",
    "status_callback_method",
    "sms_url",
    "sms_method",
    "voice_application_sid",
    "sms_application_sid",
    "trunk_sid",
)
# What Twilio's console calls them (the report names both, so the operator finds them there).
CONSOLE_NAMES = {
    "voice_url": "A call comes in",
    "voice_fallback_url": "Primary handler fails",
    "status_callback": "Call status changes",
    "sms_url": "A message comes in",
    "voice_application_sid": "Configure with: TwiML App",
    "sms_application_sid": "Messaging: TwiML App",
    "trunk_sid": "Configure with: SIP Trunk",
}


def wanted_settings(public_base_url: str, voice_fallback_url: str | None = None) -> dict[str, str]:
    """Every managed field's value for a deployment at ``public_base_url`` (the stack's
    ``PublicBaseUrl``). The voice fallback is the stack's static TwiML unless another URL is
    given: when a request fails (a timeout, a throttled or failed invocation) the caller hears
    an apology and may leave a message (no Lambda answers it) instead of "an application error
    has occurred"."""
    base = public_base_url.rstrip("/")
    voice_url = base + VOICE_PATH
    return {
        "voice_url": voice_url,
        "voice_method": "POST",
        "voice_fallback_url": voice_fallback_url or base + VOICE_FALLBACK_PATH,
        "voice_fallback_method": "POST",
        "status_callback": base + STATUS_PATH,
        "status_callback_method": "POST",
        "sms_url": base + SMS_PATH,
        "sms_method": "POST",
        "voice_application_sid": "",
        "sms_application_sid": "",
        "trunk_sid": "",
    }


@dataclass(frozen=True)
class AccountNumber:
    """One IncomingPhoneNumber of the Twilio account: its SID, number and managed fields."""

    sid: str
    phone_number: str
    fields: Mapping[str, str | None]


@dataclass(frozen=True)
class Difference:
    field: str
    found: str
    wanted: str

    def describe(self) -> str:
        console = f" ({CONSOLE_NAMES[self.field]})" if self.field in CONSOLE_NAMES else ""
        return f"{self.field}{console} is {self.found or 'empty'!r}, should be {self.wanted or 'empty'!r}"


def differences(found: Mapping[str, str | None], wanted: Mapping[str, str]) -> list[Difference]:
    """The wanted fields a number does not have; Twilio's null and "" are both empty, and
    HTTP methods are compared without case."""
    result = []
    for name, value in wanted.items():
        have = found.get(name) or ""
        same = have.upper() == value.upper() if name.endswith("_method") else have == value
        if not same:
            result.append(Difference(name, have, value))
    return result
