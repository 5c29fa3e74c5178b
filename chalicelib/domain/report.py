"""The daily report's figures (R1, R2) and when a shop's report is due.

Pure: the facts come in as plain dataclasses from whatever read the day's records, and the
figures are tallied in one pass so a busy shop's day never has to fit in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

ROBOT_DIRECTION = "outbound-robot"
_ANSWERED_CALL_STATUSES = frozenset({"in-progress", "completed"})
_NOT_A_PERSON_PREFIXES = ("machine", "fax")
_CENTS = Decimal("0.01")
_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class OrderFact:
    """What the report needs of one order record."""

    order_id: str
    status: str  # received | duplicate | fake | queued | confirmed | cancelled | unreachable
    total: Decimal
    reached: bool  # a call reached the customer about this order
    received_at: datetime
    currency: str | None = None  # None: the shop's currency


@dataclass(frozen=True, slots=True)
class CallFact:
    """What the report needs of one call record."""

    call_sid: str
    direction: str  # inbound | outbound-robot
    status: str  # Twilio's CallStatus
    answered_by: str | None  # Twilio's AnsweredBy (human, machine_start, fax, unknown, ...)
    answered_at: datetime | None
    created_at: datetime

    @property
    def answered(self) -> bool:
        return self.answered_at is not None or self.status in _ANSWERED_CALL_STATUSES

    @property
    def answered_by_person(self) -> bool:
        # Without answering-machine detection AnsweredBy is absent: an answered call counts as a person.
        return self.answered and not (self.answered_by or "").startswith(_NOT_A_PERSON_PREFIXES)


@dataclass(frozen=True, slots=True)
class Share:
    """A count out of a stated whole: the report always says what a percentage is of."""

    count: int
    whole: int
    of: str  # what the whole counts, e.g. "orders received" or "unique orders"

    @property
    def percent(self) -> Decimal | None:
        """The share in percent to one decimal place, or None when the whole is zero."""
        if self.whole == 0:
            return None
        return (Decimal(self.count) * 100 / Decimal(self.whole)).quantize(_TENTH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class DailyFigures:
    orders_received: int  # every order record of the day
    duplicates: int
    fakes: int
    reached: int  # unique orders whose customer a call reached
    confirmed: int
    cancelled: int
    unreachable: int
    confirmed_total: Decimal  # in the shop's currency
    confirmed_in_other_currency: int  # confirmed orders left out of the sum: another currency
    calls: int
    robot_calls: int
    robot_calls_answered_by_person: int

    @property
    def unique(self) -> int:
        return self.orders_received - self.duplicates - self.fakes

    @property
    def still_open(self) -> int:
        """Unique orders with no final outcome yet (received or queued for a call)."""
        return self.unique - self.confirmed - self.cancelled - self.unreachable

    @property
    def average_check(self) -> Decimal | None:
        counted = self.confirmed - self.confirmed_in_other_currency
        if counted <= 0:
            return None
        return (self.confirmed_total / counted).quantize(_CENTS, rounding=ROUND_HALF_UP)

    @property
    def has_activity(self) -> bool:
        return self.orders_received > 0 or self.calls > 0

    @property
    def duplicates_share(self) -> Share:
        return Share(self.duplicates, self.orders_received, "orders received")

    @property
    def fakes_share(self) -> Share:
        return Share(self.fakes, self.orders_received, "orders received")

    @property
    def reached_share(self) -> Share:
        return Share(self.reached, self.unique, "unique orders")

    @property
    def confirmed_share(self) -> Share:
        return Share(self.confirmed, self.unique, "unique orders")

    @property
    def cancelled_share(self) -> Share:
        return Share(self.cancelled, self.unique, "unique orders")

    @property
    def unreachable_share(self) -> Share:
        return Share(self.unreachable, self.unique, "unique orders")

    @property
    def still_open_share(self) -> Share:
        return Share(self.still_open, self.unique, "unique orders")

    @property
    def answered_by_person_share(self) -> Share:
        return Share(self.robot_calls_answered_by_person, self.robot_calls, "robot calls")


def daily_figures(
    orders: Iterable[OrderFact], calls: Iterable[CallFact], *, currency: str | None = None
) -> DailyFigures:
    """Tally a day's orders and calls in one pass each.

    ``currency`` is the shop's: confirmed orders in another currency are counted but kept out
    of the sum and the average check, since adding hryvnias to dollars would be wrong.
    """
    received = duplicates = fakes = reached = confirmed = cancelled = unreachable = 0
    other_currency = 0
    confirmed_total = Decimal(0)
    for order in orders:
        received += 1
        if order.status == "duplicate":
            duplicates += 1
            continue
        if order.status == "fake":
            fakes += 1
            continue
        if order.reached:
            reached += 1
        if order.status == "confirmed":
            confirmed += 1
            if currency is None or order.currency in (None, currency):
                confirmed_total += order.total
            else:
                other_currency += 1
        elif order.status == "cancelled":
            cancelled += 1
        elif order.status == "unreachable":
            unreachable += 1
        # Anything else (received, queued, a status added later) is still open: see still_open.

    call_count = robot_calls = answered_by_person = 0
    for call in calls:
        call_count += 1
        if call.direction == ROBOT_DIRECTION:
            robot_calls += 1
            if call.answered_by_person:
                answered_by_person += 1

    return DailyFigures(
        orders_received=received,
        duplicates=duplicates,
        fakes=fakes,
        reached=reached,
        confirmed=confirmed,
        cancelled=cancelled,
        unreachable=unreachable,
        confirmed_total=confirmed_total,
        confirmed_in_other_currency=other_currency,
        calls=call_count,
        robot_calls=robot_calls,
        robot_calls_answered_by_person=answered_by_person,
    )


def report_due(now_utc: datetime, shop_zone: str | tzinfo, report_hour: int) -> date | None:
    """The local day whose report is due now: yesterday, once the shop's clock reads its report hour.

    The hour is compared on the shop's wall clock, so DST changes move it with the shop: on a
    spring-forward day a skipped hour is caught by the first run after it, and on a fall-back
    day the repeated hour fires twice (sending stays once per day: the caller's job).
    """
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    zone = ZoneInfo(shop_zone) if isinstance(shop_zone, str) else shop_zone
    local_now = now_utc.astimezone(zone)
    if local_now.hour < report_hour:
        return None
    return local_now.date() - timedelta(days=1)
