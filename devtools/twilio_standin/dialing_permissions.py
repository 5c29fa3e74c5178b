"""Twilio's Voice Dialing Permissions Countries resource (``GET
https://voice.twilio.com/v1/DialingPermissions/Countries``, read only): which countries the
account may call, by risk class, filtered and paged as Twilio's v1 APIs do (``content`` and
``meta``). The stand-in knows a handful of countries and starts with the ones the local demo
calls (Ukraine) and a new account's home (US/Canada) open to ordinary numbers, high-risk ranges
closed; tests change ``engine.voice_countries`` to see the operator's check react."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

from devtools.twilio_standin.errors import ApiError

FormParams = dict[str, list[str]]
VOICE_BASE = "https://voice.twilio.com/v1"
COUNTRIES_PATH = "/v1/DialingPermissions/Countries"
FILTERS = {
    "LowRiskNumbersEnabled": "low_risk_numbers_enabled",
    "HighRiskSpecialNumbersEnabled": "high_risk_special_numbers_enabled",
    "HighRiskTollfraudNumbersEnabled": "high_risk_tollfraud_numbers_enabled",
}


@dataclasses.dataclass
class VoiceCountry:
    iso_code: str
    name: str
    continent: str
    country_codes: list[str]
    low_risk_numbers_enabled: bool = False
    high_risk_special_numbers_enabled: bool = False
    high_risk_tollfraud_numbers_enabled: bool = False

    def to_json(self) -> dict[str, Any]:
        url = f"{VOICE_BASE}/DialingPermissions/Countries/{self.iso_code}"
        return {
            **dataclasses.asdict(self),
            "url": url,
            "links": {"highrisk_special_prefixes": f"{url}/HighRiskSpecialPrefixes"},
        }


def default_voice_countries() -> dict[str, VoiceCountry]:
    countries = [
        VoiceCountry("UA", "Ukraine", "EUROPE", ["+380"], low_risk_numbers_enabled=True),
        VoiceCountry("US", "United States/Canada", "NORTH_AMERICA", ["+1"], low_risk_numbers_enabled=True),
        VoiceCountry("GB", "United Kingdom", "EUROPE", ["+44"]),
        VoiceCountry("DE", "Germany", "EUROPE", ["+49"]),
        VoiceCountry("PL", "Poland", "EUROPE", ["+48"]),
        VoiceCountry("LV", "Latvia", "EUROPE", ["+371"]),
    ]
    return {country.iso_code: country for country in countries}


def list_countries(countries: dict[str, VoiceCountry], query: FormParams) -> dict[str, Any]:
    """One page of the countries matching the query's filters, in ISO code order."""
    listed = sorted(countries.values(), key=lambda country: country.iso_code)
    for param, attribute in FILTERS.items():
        if param in query:
            wanted = _boolean(query[param][-1], param)
            listed = [country for country in listed if getattr(country, attribute) == wanted]
    for param, pick in (
        ("IsoCode", lambda c, v: c.iso_code == v),
        ("Continent", lambda c, v: c.continent == v),
        ("CountryCode", lambda c, v: v in c.country_codes),
    ):
        if param in query:
            listed = [country for country in listed if pick(country, query[param][-1])]
    page_size = max(1, min(_integer(query, "PageSize", 50), 1000))
    page = max(0, _integer(query, "Page", 0))
    chunk = listed[page * page_size : (page + 1) * page_size]

    def page_url(number: int) -> str:
        return f"{VOICE_BASE}/DialingPermissions/Countries?{urlencode({'PageSize': page_size, 'Page': number})}"

    more = (page + 1) * page_size < len(listed)
    return {
        "content": [country.to_json() for country in chunk],
        "meta": {
            "page": page,
            "page_size": page_size,
            "first_page_url": page_url(0),
            "previous_page_url": page_url(page - 1) if page > 0 else None,
            "url": page_url(page),
            "next_page_url": page_url(page + 1) if more else None,
            "key": "content",
        },
    }


def _boolean(value: str, param: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise ApiError(400, 20001, f"Invalid {param}: {value!r} is not a boolean")
    return value.lower() == "true"


def _integer(query: FormParams, name: str, default: int) -> int:
    try:
        return int(query.get(name, [str(default)])[-1])
    except ValueError:
        raise ApiError(400, 20001, f"Invalid {name}") from None
