"""The ``TwilioNumbers`` and ``VoiceGeoPermissions`` ports over Twilio's IncomingPhoneNumbers and
Voice Dialing Permissions resources (the real SDK;
``TWILIO_API_BASE_URL`` points it at the stand-in locally, as for calls)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.adapters.twilio_rest import twilio_client
from chalicelib.domain.geo_permissions import CountryPermission
from chalicelib.domain.twilio_numbers import MANAGED_FIELDS, AccountNumber


class TwilioAccountNumbers:
    def __init__(self, account_sid: str, auth_token: Callable[[], str], api_base_url: str | None) -> None:
        self.account_sid = account_sid
        self._auth_token, self._api_base_url = auth_token, api_base_url

    def _numbers(self) -> Any:
        return twilio_client(self.account_sid, self._auth_token(), self._api_base_url).incoming_phone_numbers

    def find(self, phone_number: str) -> AccountNumber | None:
        # Twilio's PhoneNumber filter also matches partial numbers: keep the exact one only.
        listed = self._numbers().list(phone_number=phone_number, limit=50)
        exact = [instance for instance in listed if instance.phone_number == phone_number]
        return _number(exact[0]) if exact else None

    def update(self, sid: str, fields: Mapping[str, str]) -> AccountNumber:
        return _number(self._numbers()(sid).update(**fields))

    def voice_countries(self) -> list[CountryPermission]:
        """Every country of the account's Voice Dialing Permissions (voice.twilio.com)."""
        client = twilio_client(self.account_sid, self._auth_token(), self._api_base_url)
        return [
            CountryPermission(
                iso_code=str(country.iso_code),
                low_risk_numbers_enabled=bool(country.low_risk_numbers_enabled),
                high_risk_special_numbers_enabled=bool(country.high_risk_special_numbers_enabled),
                high_risk_tollfraud_numbers_enabled=bool(country.high_risk_tollfraud_numbers_enabled),
            )
            for country in client.voice.v1.dialing_permissions.countries.list(page_size=250)
        ]


def _number(instance: Any) -> AccountNumber:
    return AccountNumber(
        sid=str(instance.sid),
        phone_number=str(instance.phone_number),
        fields={name: getattr(instance, name, None) for name in MANAGED_FIELDS},
    )
