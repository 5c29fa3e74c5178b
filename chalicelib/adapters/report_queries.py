"""Reading a shop's day for the daily report: Queries on the ``by_shop_day`` indexes, never Scans.

Records become domain facts one page at a time (generators), so a busy day streams through
``daily_figures`` instead of sitting in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import ValidationError

from chalicelib.adapters.models import (
    AgentRecord,
    AgentStatusRecord,
    CallRecord,
    DialTaskRecord,
    OrderRecord,
    ShopRecord,
)
from chalicelib.domain.report.facts import AgentStatusFact, CallFact, OrderFact
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger

# Only what the report reads: less to transfer per page (the read cost is by item size either way).
_ORDER_ATTRIBUTES = [
    "order_id",
    "status",
    "total",
    "currency",
    "reached",
    "received_at",
    "first_dial_at",
    "decided_at",
    "phone",
    "order_number",
]
_CALL_ATTRIBUTES = [
    "call_sid",
    "direction",
    "status",
    "answered_by",
    "answered_at",
    "created_at",
    "customer_phone",
    "duration_seconds",
    "result",
    "ended_at",
    "recording_sid",
    "recording_url",
    "task_id",
    "after_hours",
    "queued_at",
    "wait_seconds",
    "agent_id",
    "abandoned",
    "callback_task_id",
    "survey",
]
_STATUS_ATTRIBUTES = ["agent_key", "agent_id", "status", "previous_status", "changed_at", "source"]
# A callback counts as done when its task ended with the customer reached.
_CALLBACK_DONE_RESULTS = frozenset({"confirmed", "cancelled", "agent", "done", "reached", "answered"})
_BATCH_GET_LIMIT = 100


@dataclass(frozen=True, slots=True)
class AgentNow:
    """An agent's current status (live figures)."""

    agent_id: str
    name: str
    status: str
    status_since: datetime | None


def shop_day_key(shop_id: str, day: date) -> str:
    """The ``by_shop_day`` hash key: the shop and its local calendar date."""
    return f"{shop_id}#{day.isoformat()}"


def order_fact(record: OrderRecord) -> OrderFact:
    return OrderFact(
        order_id=record.order_id,
        status=record.status,
        total=Decimal(record.total),
        reached=bool(record.reached),
        received_at=record.received_at,
        currency=record.currency,
        first_dial_at=record.first_dial_at,
        decided_at=record.decided_at,
        phone=record.phone or "",
        order_number=record.order_number,
    )


def call_fact(record: CallRecord) -> CallFact:
    return CallFact(
        call_sid=record.call_sid,
        direction=record.direction,
        status=record.status,
        answered_by=record.answered_by,
        answered_at=record.answered_at,
        created_at=record.created_at,
        customer_phone=record.customer_phone or "",
        duration_seconds=int(record.duration_seconds or 0),
        result=record.result,
        ended_at=record.ended_at,
        recording_sid=record.recording_sid,
        recording_url=record.recording_url,
        task_id=record.task_id,
        after_hours=record.after_hours,
        queued_at=record.queued_at,
        wait_seconds=None if record.wait_seconds is None else int(record.wait_seconds),
        agent_id=record.agent_id,
        abandoned=record.abandoned,
        callback_task_id=record.callback_task_id,
        survey=record.survey,
    )


def status_fact(record: AgentStatusRecord) -> AgentStatusFact:
    return AgentStatusFact(
        agent_id=record.agent_id,
        status=record.status,
        changed_at=record.changed_at,
        previous_status=record.previous_status,
        source=record.source or "api",
    )


class DynamoReportQueries:
    """The report's read port backed by DynamoDB (cloud, DynamoDB Local or moto)."""

    def orders_of_day(self, shop_id: str, day: date) -> Iterator[OrderFact]:
        for record in OrderRecord.by_shop_day.query(shop_day_key(shop_id, day), attributes_to_get=_ORDER_ATTRIBUTES):
            yield order_fact(record)

    def calls_of_day(self, shop_id: str, day: date) -> Iterator[CallFact]:
        for record in CallRecord.by_shop_day.query(shop_day_key(shop_id, day), attributes_to_get=_CALL_ATTRIBUTES):
            yield call_fact(record)

    def dialer_day(self, shop_id: str, day: date) -> tuple[int, int]:
        """The predictive dialer's stored (live answers, drops) of the shop's day."""
        from chalicelib.adapters.dialer_repository import dialer_store

        counts = dialer_store().day_counts(shop_id, day.isoformat())
        return counts.live_answers, counts.drops

    def agent_statuses_of_day(self, shop_id: str, day: date) -> Iterator[AgentStatusFact]:
        """Status changes of the shop's agents that day, in time order (the index's range key)."""
        for record in AgentStatusRecord.by_shop_day.query(
            shop_day_key(shop_id, day), attributes_to_get=_STATUS_ATTRIBUTES
        ):
            yield status_fact(record)

    def callbacks_completed(self, task_ids: Iterable[str]) -> int:
        """How many of these callback tasks reached the customer (BatchGetItem by key, 100 at a time)."""
        done = 0
        batch: list[str] = []
        for task_id in task_ids:
            batch.append(task_id)
            if len(batch) == _BATCH_GET_LIMIT:
                done += _count_done(batch)
                batch = []
        if batch:
            done += _count_done(batch)
        return done

    def calls_waiting(self, shop_id: str, day: date, since: datetime) -> Iterator[CallFact]:
        """Inbound calls of the day created since ``since`` that sit in the queue now:
        queued, no agent yet, not ended (a Query with a filter, never a Scan)."""
        condition = (
            CallRecord.queued_at.exists() & CallRecord.agent_id.does_not_exist() & CallRecord.ended_at.does_not_exist()
        )
        for record in CallRecord.by_shop_day.query(
            shop_day_key(shop_id, day),
            range_key_condition=CallRecord.created_at >= since,
            filter_condition=condition,
            attributes_to_get=_CALL_ATTRIBUTES,
        ):
            if record.direction == "inbound" and not record.abandoned:
                yield call_fact(record)

    def agents_of_shop(self, shop_id: str) -> Iterator[AgentNow]:
        for record in AgentRecord.query(shop_id):
            yield AgentNow(record.agent_id, record.name, record.status or "offline", record.status_since)


def _count_done(task_ids: list[str]) -> int:
    done = 0
    for task in DialTaskRecord.batch_get(task_ids, attributes_to_get=["task_id", "state", "result"]):
        if task.state == "done" and (task.result or "") in _CALLBACK_DONE_RESULTS:
            done += 1
    return done


def configured_shops() -> Iterator[ShopSettings]:
    """Every shop's settings. The shops table is small config, so a Scan is fine here.

    A shop whose stored settings no longer validate is logged and left out, so it cannot
    stop the other shops' reports.
    """
    for record in ShopRecord.scan():
        try:
            yield ShopSettings.model_validate(record.settings)
        except ValidationError as error:
            logger.error(
                "Shop settings invalid: shop left out of the daily reports",
                extra={
                    "shop_id": record.shop_id,
                    "problems": [
                        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
                        for problem in error.errors(include_url=False)
                    ],
                },
            )
