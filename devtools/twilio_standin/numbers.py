"""Twilio's IncomingPhoneNumbers resource: the account's numbers as JSON, listed (filtered by
``PhoneNumber`` or ``FriendlyName``), fetched and updated the way Twilio's REST API does."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from devtools.twilio_standin.errors import ApiError
from devtools.twilio_standin.legs import API_VERSION, rfc2822

if TYPE_CHECKING:
    from devtools.twilio_standin.calls import CallEngine, NumberConfig

FormParams = dict[str, list[str]]

# Form parameter -> NumberConfig attribute, for what an update may change.
URL_PARAMS = {
    "VoiceUrl": "voice_url",
    "VoiceFallbackUrl": "voice_fallback_url",
    "StatusCallback": "status_callback_url",
    "SmsUrl": "sms_url",
    "SmsFallbackUrl": "sms_fallback_url",
}
METHOD_PARAMS = {
    "VoiceMethod": "voice_method",
    "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallbackMethod": "status_callback_method",
    "SmsMethod": "sms_method",
    "SmsFallbackMethod": "sms_fallback_method",
}
SID_PARAMS = {
    "VoiceApplicationSid": ("voice_application_sid", re.compile(r"^AP[0-9a-fA-F]{32}$")),
    "SmsApplicationSid": ("sms_application_sid", re.compile(r"^AP[0-9a-fA-F]{32}$")),
    "TrunkSid": ("trunk_sid", re.compile(r"^TK[0-9a-fA-F]{32}$")),
}
URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


def _first(form: FormParams, name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def number_json(config: NumberConfig, account_sid: str, now: datetime) -> dict[str, Any]:
    """The IncomingPhoneNumber instance as Twilio's API answers it (unset URLs are empty strings)."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers/{config.sid}.json"
    created = config.created or now
    return {
        "account_sid": account_sid,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": API_VERSION,
        "beta": False,
        "bundle_sid": None,
        "capabilities": {"fax": False, "mms": False, "sms": True, "voice": True},
        "date_created": rfc2822(created),
        "date_updated": rfc2822(config.updated or created),
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "emergency_status": "Inactive",
        "friendly_name": config.friendly_name,
        "identity_sid": None,
        "origin": "twilio",
        "phone_number": config.number,
        "sid": config.sid,
        "sms_application_sid": config.sms_application_sid or "",
        "sms_fallback_method": config.sms_fallback_method,
        "sms_fallback_url": config.sms_fallback_url or "",
        "sms_method": config.sms_method,
        "sms_url": config.sms_url or "",
        "status": "in-use",
        "status_callback": config.status_callback_url or "",
        "status_callback_method": config.status_callback_method,
        "subresource_uris": {"assigned_add_ons": uri.replace(".json", "/AssignedAddOns.json")},
        "trunk_sid": config.trunk_sid,
        "type": "local",
        "uri": uri,
        "voice_application_sid": config.voice_application_sid or "",
        "voice_caller_id_lookup": False,
        "voice_fallback_method": config.voice_fallback_method,
        "voice_fallback_url": config.voice_fallback_url or "",
        "voice_method": config.voice_method,
        "voice_receive_mode": "voice",
        "voice_url": config.voice_url or "",
    }


def phone_number_matches(pattern: str, number: str) -> bool:
    """Twilio's ``PhoneNumber`` filter: the digits given, anywhere in the number; ``*`` is any digit."""
    wanted = re.sub(r"[^\d*]", "", pattern)
    if not wanted:
        return True
    return re.search(re.escape(wanted).replace(r"\*", r"\d"), number) is not None


def listed_numbers(engine: CallEngine, query: FormParams) -> list[dict[str, Any]]:
    """The account's numbers matching the query's filters, oldest first (as Twilio lists them)."""
    now = engine.clock()
    with engine._lock:
        configs = list(engine.numbers.values())
    phone_number, friendly_name = _first(query, "PhoneNumber"), _first(query, "FriendlyName")
    if phone_number:
        configs = [c for c in configs if phone_number_matches(phone_number, c.number)]
    if friendly_name:
        configs = [c for c in configs if c.friendly_name == friendly_name]
    return [number_json(c, engine.account_sid, now) for c in configs]


def _find(engine: CallEngine, sid: str, path: str) -> NumberConfig:
    with engine._lock:
        found = next((c for c in engine.numbers.values() if c.sid == sid), None)
    if found is None:
        raise ApiError(404, 20404, f"The requested resource {path} was not found")
    return found


def fetch_number(engine: CallEngine, sid: str, path: str) -> dict[str, Any]:
    return number_json(_find(engine, sid, path), engine.account_sid, engine.clock())


def update_number(engine: CallEngine, sid: str, form: FormParams, path: str) -> dict[str, Any]:
    """POST to the instance: what is given changes (an empty value clears it); nothing is
    changed when any parameter is refused."""
    config = _find(engine, sid, path)
    changes: dict[str, Any] = {}
    for param, attribute in URL_PARAMS.items():
        value = _first(form, param)
        if value is None:
            continue
        if value and not URL.match(value):
            raise ApiError(400, 21402, f"{param} is not a valid URL: {value}")
        changes[attribute] = value or None
    for param, attribute in METHOD_PARAMS.items():
        value = _first(form, param)
        if value is None:
            continue
        if value.upper() not in ("GET", "POST"):
            raise ApiError(400, 21200, f"{param} must be GET or POST, got {value}")
        changes[attribute] = value.upper()
    for param, (attribute, shape) in SID_PARAMS.items():
        value = _first(form, param)
        if value is None:
            continue
        if value and not shape.match(value):
            raise ApiError(400, 21200, f"{param} is not a valid SID: {value}")
        changes[attribute] = value or None
    # A voice application and a trunk exclude each other: setting one removes the other.
    if changes.get("voice_application_sid"):
        changes["trunk_sid"] = None
    if changes.get("trunk_sid"):
        changes["voice_application_sid"] = None
    friendly_name = _first(form, "FriendlyName")
    if friendly_name is not None:
        if len(friendly_name) > 64:
            raise ApiError(400, 21200, "FriendlyName must be at most 64 characters")
        changes["friendly_name"] = friendly_name or config.number
    now = engine.clock()
    updated = dataclasses.replace(config, **changes, updated=now)
    with engine._lock:
        engine.numbers[config.number] = updated
    return number_json(updated, engine.account_sid, now)
