"""DynamoDB persistence of customer-first dialing: lines, day counters, the call-rate timeline.

Every phase change of a line is conditional on the phase the writer expects, so a repeated
or reordered Twilio callback changes nothing twice.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.expressions.update import Action

from chalicelib.adapters.dialer_models import CallRateRecord, DialerDayRecord, DialLineRecord, line_key
from chalicelib.adapters.inbound_repository import InboundRepository
from chalicelib.adapters.repository import _condition_failed, _updated
from chalicelib.clock import storage_expiry
from chalicelib.domain.call_rate import Slot, reserve_slot
from chalicelib.domain.predictive import DayCounts, DialLine

LINE_KEPT = timedelta(days=2)  # real time: DynamoDB deletes lines this long after they were placed
SLOT_RETRIES = 10


__all__ = ["DialerRepository", "dialer_store", "line_key"]


class DialerRepository(InboundRepository):
    # ---- lines ---------------------------------------------------------------------------
    def add_line(self, shop_id: str, task_id: str, placed_at: datetime) -> str:
        key = line_key(placed_at, task_id)
        DialLineRecord(
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
            return _line(DialLineRecord.get(shop_id, key, consistent_read=True))
        except DoesNotExist:
            return None

    def recent_lines(self, shop_id: str, limit: int) -> list[DialLine]:
        """The shop's lines, newest first."""
        query = DialLineRecord.query(shop_id, scan_index_forward=False, limit=limit, consistent_read=True)
        return [_line(record) for record in query]

    def update_line(self, shop_id: str, key: str, **fields: Any) -> None:
        DialLineRecord(shop_id, key).update(
            actions=[getattr(DialLineRecord, name).set(value) for name, value in fields.items()],
            condition=DialLineRecord.line_key.exists(),
        )

    def move_line(self, shop_id: str, key: str, from_phases: set[str], to_phase: str, **fields: Any) -> bool:
        """``from_phases`` -> ``to_phase``; False when the line is in another phase already."""
        actions: list[Action] = [DialLineRecord.phase.set(to_phase)]
        actions += [getattr(DialLineRecord, name).set(value) for name, value in fields.items()]
        return _updated(
            DialLineRecord(shop_id, key),
            actions=actions,
            condition=DialLineRecord.line_key.exists() & DialLineRecord.phase.is_in(*from_phases),
        )

    # ---- day counters --------------------------------------------------------------------
    def day_counts(self, shop_id: str, day: str) -> DayCounts:
        try:
            record = DialerDayRecord.get(shop_id, day, consistent_read=True)
        except DoesNotExist:
            return DayCounts()
        return DayCounts(int(record.dials or 0), int(record.live_answers or 0), int(record.drops or 0))

    def count_day(self, shop_id: str, day: str, **increments: int) -> None:
        DialerDayRecord(shop_id, day).update(
            actions=[getattr(DialerDayRecord, name).add(value) for name, value in increments.items()]
        )

    # ---- calls per second ----------------------------------------------------------------
    def reserve_call_slot(self, account_sid: str, now: float, calls_per_second: float, max_wait: float) -> Slot | None:
        """Take the account's next call slot (optimistic: retried when another placement wrote)."""
        for _ in range(SLOT_RETRIES):
            try:
                stored: float | None = float(CallRateRecord.get(account_sid, consistent_read=True).next_free_at)
            except DoesNotExist:
                stored = None
            slot = reserve_slot(stored, now, calls_per_second, max_wait)
            if slot is None:
                return None
            condition = (
                CallRateRecord.account_sid.does_not_exist() if stored is None else CallRateRecord.next_free_at == stored
            )
            try:
                CallRateRecord(account_sid, next_free_at=slot.next_free_at).save(condition=condition)
            except PutError as error:
                if _condition_failed(error):
                    continue
                raise
            return slot
        return None


@functools.cache
def dialer_store() -> DialerRepository:
    return DialerRepository()


def _line(record: DialLineRecord) -> DialLine:
    return DialLine(
        task_id=record.task_id,
        placed_at=record.placed_at,
        phase=record.phase,
        call_sid=record.call_sid,
        answered_at=record.answered_at,
        amd_seconds=float(record.amd_seconds) if record.amd_seconds is not None else None,
        handle_seconds=float(record.handle_seconds) if record.handle_seconds is not None else None,
        line_key=record.line_key,
        agent_id=record.agent_id,
        reservation=record.reservation,
        ended_at=record.ended_at,
    )
