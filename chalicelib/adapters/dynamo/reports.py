"""The reports' reads and their run log: a shop's day through Queries on the ``by_shop_day``
indexes, never Scans, and what each scheduled run did with its report.

Items become report facts one page at a time (generators), so a busy day streams through
``daily_figures`` instead of sitting in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from chalicelib.adapters.dynamo.dialer_lines import DialerLineRepository
from chalicelib.adapters.dynamo.facts import call_fact, order_fact
from chalicelib.adapters.dynamo.items import count, day_key, from_item
from chalicelib.adapters.dynamo.schema import (
    AgentItem,
    AgentStatusItem,
    CallItem,
    DialTaskItem,
    OrderItem,
    ReportRunItem,
)
from chalicelib.domain.report.facts import AgentStatusFact, CallFact, OrderFact
from chalicelib.domain.report.runs import ReportRun

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
    "handled_by",
    "transfers",
    "transferred_to_number",
]
_STATUS_ATTRIBUTES = ["agent_key", "agent_id", "status", "previous_status", "changed_at", "source"]
# A callback counts as done when its task ended with the customer reached.
_CALLBACK_DONE_RESULTS = frozenset({"confirmed", "cancelled", "agent", "done", "reached", "answered"})
_BATCH_GET_LIMIT = 100


_REASON_MAX_CHARS = 1000


@dataclass(frozen=True, slots=True)
class AgentNow:
    """An agent's current status (live figures)."""

    agent_id: str
    name: str
    status: str
    status_since: datetime | None


def status_fact(item: AgentStatusItem) -> AgentStatusFact:
    return from_item(AgentStatusFact, item, source=item.source or "api")


def _day(shop_id: str, day: date) -> str:
    return day_key(shop_id, day.isoformat())


class DynamoReportQueries:
    """The report's read port backed by DynamoDB (cloud, DynamoDB Local or moto)."""

    def orders_of_day(self, shop_id: str, day: date) -> Iterator[OrderFact]:
        for item in OrderItem.by_shop_day.query(_day(shop_id, day), attributes_to_get=_ORDER_ATTRIBUTES):
            yield order_fact(item)

    def calls_of_day(self, shop_id: str, day: date) -> Iterator[CallFact]:
        for item in CallItem.by_shop_day.query(_day(shop_id, day), attributes_to_get=_CALL_ATTRIBUTES):
            yield call_fact(item)

    def dialer_day(self, shop_id: str, day: date) -> tuple[int, int]:
        """The predictive dialer's stored (live answers, drops) of the shop's day."""
        counts = DialerLineRepository().day_counts(shop_id, day.isoformat())
        return counts.live_answers, counts.drops

    def agent_statuses_of_day(self, shop_id: str, day: date) -> Iterator[AgentStatusFact]:
        """Status changes of the shop's agents that day, in time order (the index's range key)."""
        for item in AgentStatusItem.by_shop_day.query(_day(shop_id, day), attributes_to_get=_STATUS_ATTRIBUTES):
            yield status_fact(item)

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
            CallItem.queued_at.exists() & CallItem.agent_id.does_not_exist() & CallItem.ended_at.does_not_exist()
        )
        for item in CallItem.by_shop_day.query(
            _day(shop_id, day),
            range_key_condition=CallItem.created_at >= since,
            filter_condition=condition,
            attributes_to_get=_CALL_ATTRIBUTES,
        ):
            if item.direction == "inbound" and not item.abandoned:
                yield call_fact(item)

    def agents_of_shop(self, shop_id: str) -> Iterator[AgentNow]:
        for item in AgentItem.query(shop_id):
            yield AgentNow(item.agent_id, item.name, item.status or "offline", item.status_since)

    def live_day(self, shop_id: str, day: date) -> tuple[dict[str, int], tuple[int, int]]:
        from chalicelib.adapters.dynamo.live_counts import LiveCountRepository  # cold start: live figures only

        return LiveCountRepository().day_counts(shop_id, day.isoformat())


def _count_done(task_ids: list[str]) -> int:
    done = 0
    for task in DialTaskItem.batch_get(task_ids, attributes_to_get=["task_id", "state", "result"]):
        if task.state == "done" and (task.result or "") in _CALLBACK_DONE_RESULTS:
            done += 1
    return done


def run_entity(item: ReportRunItem) -> ReportRun:
    # period and status were written from a PeriodKind and a RunStatus
    return from_item(ReportRun, item, first_day=date.fromisoformat(item.first_day), recipients=count(item.recipients))


def run_key(period: str, first_day: date) -> str:
    return f"{first_day.isoformat()}#{period}"


class DynamoReportRuns:
    """The report runs port backed by DynamoDB: a put per run, a Query per shop to read."""

    def record(self, run: ReportRun) -> None:
        ReportRunItem(
            shop_id=run.shop_id,
            run_key=run_key(run.period, run.first_day),
            period=run.period,
            first_day=run.first_day.isoformat(),
            status=run.status,
            at=run.at,
            reason=(run.reason or "")[:_REASON_MAX_CHARS] or None,
            message_id=run.message_id,
            recipients=run.recipients,
        ).save()

    def latest_runs(self, shop_id: str, limit: int = 10) -> Iterator[ReportRun]:
        """The shop's runs, newest period first."""
        for item in ReportRunItem.query(shop_id, scan_index_forward=False, limit=limit):
            yield run_entity(item)
