"""Twilio's Voice Geo Permissions (the account's "Voice Dialing Geographic Permissions") against
the countries the shops call: each shop's countries must be open to ordinary ("low-risk")
numbers, or its calls fail; high-risk special-service and toll-fraud ranges must stay closed;
a country no shop calls is better closed too (toll fraud goes where the account may call)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CountryPermission:
    iso_code: str
    low_risk_numbers_enabled: bool
    high_risk_special_numbers_enabled: bool = False
    high_risk_tollfraud_numbers_enabled: bool = False


@dataclass(frozen=True)
class GeoFinding:
    failed: bool  # the operator must change it (a shop's calls fail, or high-risk ranges are open)
    text: str


def geo_findings(
    permissions: Iterable[CountryPermission], shops_by_country: Mapping[str, list[str]]
) -> list[GeoFinding]:
    """What the operator should know of the account's permissions, given which shops call
    which countries (ISO codes); countries in alphabetical order."""
    by_code = {permission.iso_code: permission for permission in permissions}
    findings: list[GeoFinding] = []
    for country in sorted(shops_by_country):
        shops = ", ".join(sorted(shops_by_country[country]))
        permission = by_code.get(country)
        if permission is None or not permission.low_risk_numbers_enabled:
            findings.append(
                GeoFinding(True, f"{country}  CLOSED: shop(s) {shops} call it; enable it, or their calls fail")
            )
        else:
            findings.append(GeoFinding(False, f"{country}  ok (shop(s) {shops})"))
    for code in sorted(by_code):
        permission = by_code[code]
        risky = [
            name
            for name, enabled in (
                ("high-risk special services", permission.high_risk_special_numbers_enabled),
                ("high-risk toll-fraud numbers", permission.high_risk_tollfraud_numbers_enabled),
            )
            if enabled
        ]
        if risky:
            findings.append(GeoFinding(True, f"{code}  HIGH RISK OPEN: {' and '.join(risky)}; disable them"))
        if permission.low_risk_numbers_enabled and code not in shops_by_country:
            findings.append(GeoFinding(False, f"{code}  open, but no shop calls it: consider disabling it"))
    return findings
