"""The rules of every dial, for a call an agent places to a customer (click-to-call from the
desk, and the browser's own outgoing call, #17): the do-not-call list (O11), the shop's
destinations (P5: premium-rate, disallowed countries), the shop's caller ID, and the calling
window in the customer's zone (O6/O14). Free of pydantic: the Twilio webhooks' function uses it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chalicelib.domain.calling_hours import next_calling_time
from chalicelib.domain.phones import number_time_zone
from chalicelib.services.destinations import refused_contact
from chalicelib.services.ports import DoNotCallList

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings


class ClickRefused(Exception):
    """Why the call was not placed: ``error`` (the house's code), ``field``, HTTP ``status``."""

    def __init__(self, status: int, error: str, message: str, field: str = "phone") -> None:
        super().__init__(message)
        self.status, self.error, self.field = status, error, field


def check_rules(shop: ShopSettings, number: str, *, store: DoNotCallList, now: datetime) -> None:
    """Every dial's rules for an agent's call to ``number``: ``ClickRefused`` naming the one broken."""
    if store.is_do_not_call(shop.shop_id, number):
        raise ClickRefused(409, "do_not_call", "phone: the customer asked not to be called (do-not-call list)")
    refused = refused_contact(shop, number)
    if refused:
        raise ClickRefused(422, "number_refused", f"phone: the shop does not call this number ({refused})")
    if not shop.caller_id:
        raise ClickRefused(409, "no_caller_id", "the shop has no caller ID to call customers from", "shop")
    zone = ZoneInfo(number_time_zone(number) or shop.timezone)
    opening = next_calling_time(now, zone, shop.calling_hours)
    if opening > now:
        local = opening.astimezone(zone)
        raise ClickRefused(
            409,
            "outside_calling_hours",
            f"phone: outside calling hours in the customer's zone; calls may start at "
            f"{local:%Y-%m-%d %H:%M} ({zone.key})",
        )
