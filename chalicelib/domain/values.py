"""Plain helpers on days and amounts, apart from ``domain.orders`` (whose request models load
pydantic): the Twilio webhooks' function imports these without it (issue #19)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


def local_day(instant: datetime, zone_name: str) -> str:
    from zoneinfo import ZoneInfo  # cold start: tzdata on first use

    return instant.astimezone(ZoneInfo(zone_name)).date().isoformat()


def format_amount(value: Decimal) -> str:
    """A money amount as said or written to a customer: '1250' for whole amounts, else '50.5'."""
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value)
