"""Customer-first dialing (O8): the lines (customer calls) the predictive dialer placed, each
shop's day counters (dials, live answers, drops) and the account's call-rate timeline.

Every phase change of a line is conditional on the phase the writer expects, so a repeated
or reordered Twilio callback changes nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from chalicelib.adapters.dynamo.items import count, float_or_none, from_item, setting, sortable_utc, updated
from chalicelib.adapters.dynamo.schema import CallRateItem, DialerDayItem, DialLineItem
from chalicelib.clock import storage_expiry
from chalicelib.domain.call_rate import Slot, rate_buckets
from chalicelib.domain.predictive import STALE_LINE, DayCounts, DialLine, is_in_flight

LINE_KEPT = timedelta(days=2)  # real time: DynamoDB deletes lines this long after they were placed
RATE_KEPT = timedelta(hours=1)  # a window's count is needed only while it is near


def line_key(placed_at: datetime, task_id: str) -> str:
    """A line's range key: ``"<placed_at UTC ISO>#<task_id>"``, so the shop's lines sort by placement."""
    return f"{sortable_utc(placed_at)}#{task_id}"


def line_entity(item: DialLineItem) -> DialLine:
    return from_item(
        DialLine, item, amd_seconds=float_or_none(item.amd_seconds), handle_seconds=float_or_none(item.handle_seconds)
    )


class DialerLineRepository:
    # ---- lines -------------------------------------------------------------------------------
    def add_line(self, shop_id: str, task_id: str, placed_at: datetime) -> str:
        key = line_key(placed_at, task_id)
        DialLineItem(
            shop_id,
            key,
            task_id=task_id,
            placed_at=placed_at,
            phase="ringing",
            expires=storage_expiry(LINE_KEPT),
        ).save()
        return key

    def get_line(self, shop_id: str, key: str) -> DialLine | None:
        try:
            return line_entity(DialLineItem.get(shop_id, key, consistent_read=True))
        except DoesNotExist:
            return None

    def recent_lines(self, shop_id: str, limit: int) -> list[DialLine]:
        """The shop's lines, newest first."""
        query = DialLineItem.query(shop_id, scan_index_forward=False, limit=limit, consistent_read=True)
        return [line_entity(item) for item in query]

    def update_line(self, shop_id: str, key: str, **fields: Any) -> None:
        DialLineItem(shop_id, key).update(
            actions=setting(DialLineItem, fields), condition=DialLineItem.line_key.exists()
        )

    def move_line(self, shop_id: str, key: str, from_phases: set[str], to_phase: str, **fields: Any) -> bool:
        """``from_phases`` -> ``to_phase``; False when the line is in another phase already."""
        return updated(
            DialLineItem(shop_id, key),
            actions=[DialLineItem.phase.set(to_phase), *setting(DialLineItem, fields)],
            condition=DialLineItem.line_key.exists() & DialLineItem.phase.is_in(*from_phases),
        )

    def customer_lines_in_flight(self, shop_id: str, now: datetime) -> int:
        """The shop's customer-first calls a person may still answer (O8; see
        ``chalicelib.domain.predictive.is_in_flight``): only the last few minutes' lines are read."""
        since = line_key(now - STALE_LINE, "")
        query = DialLineItem.query(shop_id, DialLineItem.line_key > since, consistent_read=True)
        return sum(1 for item in query if is_in_flight(line_entity(item), now))

    # ---- day counters ------------------------------------------------------------------------
    def day_counts(self, shop_id: str, day: str) -> DayCounts:
        try:
            item = DialerDayItem.get(shop_id, day, consistent_read=True)
        except DoesNotExist:
            return DayCounts()
        return DayCounts(count(item.dials), count(item.live_answers), count(item.drops))

    def count_day(self, shop_id: str, day: str, **increments: int) -> None:
        DialerDayItem(shop_id, day).update(
            actions=[getattr(DialerDayItem, name).add(value) for name, value in increments.items()]
        )

    # ---- calls per second --------------------------------------------------------------------
    def reserve_call_slot(self, account_sid: str, now: float, calls_per_second: float, max_wait: float) -> Slot | None:
        """Take a call slot in the soonest window of the account's limit that has one: a single
        conditional ADD per window tried, never a read, so placements of all shops run side by
        side up to the limit (#19); None when no window within ``max_wait`` has room."""
        for bucket in rate_buckets(now, calls_per_second, max_wait):
            item = CallRateItem(f"{account_sid}#{bucket.index}")
            room = CallRateItem.placed.does_not_exist() | (CallRateItem.placed < bucket.capacity)
            actions: list[Action] = [CallRateItem.placed.add(1), CallRateItem.expires.set(storage_expiry(RATE_KEPT))]
            if updated(item, actions=actions, condition=room):
                return bucket.slot(count(item.placed), now, calls_per_second)
        return None
