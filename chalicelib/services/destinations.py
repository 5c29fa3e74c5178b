"""Whom a shop's calls and texts may reach (toll fraud, SMS pumping). A number that enters from
outside (an order from the checkout, a "call me back" form) is refused when it is no customer's
own line in the shop's countries (422, ``domain.phones.destination_problem``), or when it is a
new number for the day and the shop has already taken its ``destinations.new_numbers_per_day``
(429, and one alert to the managers that day). A number taken earlier the same local day is
not new: a repeated order or a retried request is never counted twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.phones import destination_problem, mask_phone, normalise_phone
from chalicelib.domain.values import local_day
from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.ports import NewDestinations

# alert(shop, day, cap): tell the managers the day's cap was reached (once per shop and day).
CapAlert = Callable[["ShopSettings", str, int], object]


@dataclass(frozen=True)
class Refusal:
    status: int  # 422: the number itself; 429: the day's cap of new numbers
    error: str
    message: str
    retry_after_seconds: int | None = None  # 429: until the shop's next local day


def destination_refusal(
    shop: ShopSettings, raw_phone: str, *, ledger: NewDestinations, now: datetime, alert: CapAlert
) -> Refusal | None:
    """Why the shop must not take ``raw_phone`` now, or None (the number is counted for the day
    when new). A string that is no phone number at all is left to the door's own check."""
    phone = normalise_phone(raw_phone, shop.default_region)
    if phone.e164 is None:
        return None
    problem = destination_problem(phone.e164, shop.destination_regions)
    if problem:
        logger.info(
            "destination refused", extra={"shop_id": shop.shop_id, "to": mask_phone(phone.e164), "reason": problem}
        )
        return Refusal(422, "validation_failed", problem)
    day, cap = local_day(now, shop.timezone), shop.destinations.new_numbers_per_day
    if ledger.claim_destination(shop.shop_id, day, phone.e164, cap, now):
        return None
    logger.warning(
        "new destinations cap reached",
        extra={"shop_id": shop.shop_id, "day": day, "cap": cap, "to": mask_phone(phone.e164)},
    )
    try:
        alert(shop, day, cap)
    except Exception:  # the refusal stands; the next refused number tries the alert again
        logger.exception("destination cap alert failed", extra={"shop_id": shop.shop_id, "day": day})
    message = (
        f"this shop has taken {cap} new phone numbers today, its daily limit "
        "(destinations.new_numbers_per_day): numbers already taken today are still accepted, new ones from tomorrow"
    )
    return Refusal(429, "too_many_new_numbers", message, seconds_to_next_day(shop, now))


def seconds_to_next_day(shop: ShopSettings, now: datetime) -> int:
    local = now.astimezone(shop.zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=shop.zone)
    return max(1, int((midnight.astimezone(UTC) - now.astimezone(UTC)).total_seconds()))


def refused_contact(shop: ShopSettings, phone: str) -> str | None:
    """The last line of defence where a call is placed or a text sent: why ``phone`` (stored
    before the checks at the doors, or reaching the dialers another way) must not be
    contacted, or None. Logged with the number masked."""
    problem = destination_problem(phone, shop.destination_regions)
    if problem:
        logger.warning("not contacting a refused destination", extra={"to": mask_phone(phone), "reason": problem})
    return problem
