"""The operator's ``cli.admin twilio-numbers``: each of the shops' Twilio numbers set to the
deployed app's webhooks through Twilio's API, then read back and checked (``check_only``: read
and report, change nothing). A number already right is not written to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from chalicelib.domain.geo_permissions import GeoFinding, geo_findings
from chalicelib.domain.shop import ShopSettings
from chalicelib.domain.twilio_numbers import Difference, differences
from chalicelib.services.ports import TwilioNumbers, VoiceGeoPermissions

State = Literal["ok", "updated", "wrong", "missing"]


@dataclass(frozen=True)
class NumberReport:
    number: str
    state: State  # ok: as wanted; updated: set now; wrong: differs (still, or not fixed); missing: not the account's
    differences: tuple[Difference, ...] = field(default=())

    @property
    def failed(self) -> bool:
        return self.state in ("wrong", "missing")


def configure_numbers(
    numbers: Iterable[str], wanted: Mapping[str, str], *, twilio: TwilioNumbers, check_only: bool = False
) -> list[NumberReport]:
    reports = []
    for number in dict.fromkeys(numbers):  # each once, in the order given
        found = twilio.find(number)
        if found is None:
            reports.append(NumberReport(number, "missing"))
            continue
        wrong = differences(found.fields, wanted)
        if not wrong:
            reports.append(NumberReport(number, "ok"))
        elif check_only:
            reports.append(NumberReport(number, "wrong", tuple(wrong)))
        else:
            changed = twilio.update(found.sid, {d.field: d.wanted for d in wrong})
            still = differences(changed.fields, wanted)  # Twilio's answer is what it now holds
            done = NumberReport(number, "updated", tuple(wrong))
            reports.append(NumberReport(number, "wrong", tuple(still)) if still else done)
    return reports


def geo_permissions(shops: Iterable[ShopSettings], *, twilio: VoiceGeoPermissions) -> list[GeoFinding]:
    """The account's Voice Geo Permissions against the countries the shops call (read only:
    changing them is the operator's choice, in the console)."""
    shops_by_country: dict[str, list[str]] = {}
    for shop in shops:
        for country in shop.destination_regions:
            shops_by_country.setdefault(country, []).append(shop.shop_id)
    return geo_findings(twilio.voice_countries(), shops_by_country)


def describe(report: NumberReport, account_sid: str) -> list[str]:
    """The report's lines for the operator."""
    if report.state == "missing":
        return [f"{report.number}  error: not a number of Twilio account {account_sid} (buy or port it there first)"]
    if report.state == "ok":
        return [f"{report.number}  ok"]
    head = "updated" if report.state == "updated" else "WRONG"
    lines = [f"{report.number}  {head}:"]
    for difference in report.differences:
        if report.state == "updated":
            lines.append(f"    {difference.field}: {difference.found or 'empty'!r} -> {difference.wanted or 'empty'!r}")
        else:
            lines.append(f"    {difference.describe()}")
    return lines
