"""Live figures (R7): calls waiting now, the longest wait, agents by status, today's KPIs.

Everything is read by key or Query: today's calls still in the queue (the day index, recent
``created_at`` only, filtered), the shop's agents (their table's hash key), and today's KPIs
from the running counters the stream consumers keep (``domain.live_counts``: one BatchGetItem,
however busy the day; the report re-reads the day's records instead).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain import live_counts
from chalicelib.domain.routing import settled_status

if TYPE_CHECKING:
    from chalicelib.domain.report.figures import DailyFigures, Share
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.ports import AgentNowLike, LiveQueries

# A call is looked for in the queue if it came in within this long (nobody waits longer).
WAITING_LOOKBACK = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class QueueNow:
    calls_waiting: int
    longest_wait_seconds: int  # 0 when nobody waits


@dataclass(frozen=True, slots=True)
class LiveFigures:
    shop_id: str
    at: datetime
    day: date  # the shop's local today
    queue: QueueNow
    agents: tuple[AgentNowLike, ...]
    today: DailyFigures | None

    @property
    def agents_by_status(self) -> dict[str, int]:
        return dict(sorted(Counter(agent.status for agent in self.agents).items()))


def queue_now(shop: ShopSettings, now: datetime, queries: LiveQueries) -> QueueNow:
    """Calls in the queue now and how long the longest has waited (cheap: recent calls only)."""
    local_now = now.astimezone(shop.zone)
    since = now - WAITING_LOOKBACK
    days = [local_now.date()]
    if since.astimezone(shop.zone).date() < local_now.date():  # just after midnight: yesterday's calls too
        days.insert(0, local_now.date() - timedelta(days=1))
    waiting, longest = 0, 0
    for day in days:
        for call in queries.calls_waiting(shop.shop_id, day, since):
            waiting += 1
            if call.queued_at is not None:
                longest = max(longest, round((now - call.queued_at).total_seconds()))
    return QueueNow(waiting, max(0, longest))


def today_figures(shop: ShopSettings, now: datetime, queries: LiveQueries) -> DailyFigures:
    counts, (answers, drops) = queries.live_day(shop.shop_id, now.astimezone(shop.zone).date())
    return live_counts.figures(counts, dialer_answers=answers, dialer_drops=drops)


@dataclass(frozen=True, slots=True)
class SettledAgent:
    """An agent's status as it stands now (a wrap-up that has run its time is available)."""

    agent_id: str
    name: str
    status: str
    status_since: datetime | None


def _settled(agent: AgentNowLike, now: datetime, wrap_up_seconds: int) -> SettledAgent:
    status, since = settled_status(agent.status, agent.status_since, now, wrap_up_seconds)
    return SettledAgent(agent.agent_id, agent.name, status, since)


def live_figures(shop: ShopSettings, now: datetime, queries: LiveQueries, *, with_kpis: bool = True) -> LiveFigures:
    return LiveFigures(
        shop_id=shop.shop_id,
        at=now,
        day=now.astimezone(shop.zone).date(),
        queue=queue_now(shop, now, queries),
        agents=tuple(
            sorted(
                (_settled(agent, now, shop.inbound.wrap_up_seconds) for agent in queries.agents_of_shop(shop.shop_id)),
                key=lambda agent: agent.agent_id,
            )
        ),
        today=today_figures(shop, now, queries) if with_kpis else None,
    )


def _percent(share: Share) -> float | None:
    return None if share.percent is None else float(share.percent)


def live_view(figures: LiveFigures, currency: str) -> dict[str, Any]:
    """The JSON the API answers with."""
    view: dict[str, Any] = {
        "shop_id": figures.shop_id,
        "at": figures.at.isoformat(),
        "day": figures.day.isoformat(),
        "calls_waiting": figures.queue.calls_waiting,
        "longest_wait_seconds": figures.queue.longest_wait_seconds,
        "agents_by_status": figures.agents_by_status,
        "agents": [
            {
                "id": agent.agent_id,
                "name": agent.name,
                "status": agent.status,
                "since": agent.status_since.isoformat() if agent.status_since else None,
            }
            for agent in figures.agents
        ],
    }
    f = figures.today
    if f is None:
        return view
    today: dict[str, Any] = {
        "orders_received": f.orders_received,
        "duplicates": f.duplicates,
        "fakes": f.fakes,
        "unique": f.unique,
        "reached": f.reached,
        "confirmed": f.confirmed,
        "cancelled": f.cancelled,
        "unreachable": f.unreachable,
        "still_open": f.still_open,
        "confirmed_percent": _percent(f.confirmed_share),
        "confirmed_total": str(f.confirmed_total),
        "average_check": None if f.average_check is None else str(f.average_check),
        "currency": currency,
        "robot_calls": f.robot_calls,
        "robot_calls_answered_by_person": f.robot_calls_answered_by_person,
    }
    if f.outbound is not None:
        today |= {
            "first_dial_median_seconds": f.outbound.first_dial_median_seconds,
            "first_dial_p95_seconds": f.outbound.first_dial_p95_seconds,
            "drop_rate_percent": _percent(f.outbound.drop_rate) or 0.0,
        }
    if f.inbound is not None:
        today |= {
            "inbound_calls": f.inbound.calls,
            "inbound_answered": f.inbound.answered,
            "inbound_lost": f.inbound.lost,
            "inbound_lost_percent": _percent(f.inbound.lost_share),
            "service_level_percent": _percent(f.inbound.service_level),
            "average_wait_seconds": f.inbound.average_wait_seconds,
            "longest_wait_seconds": f.inbound.longest_wait_seconds,
            "callbacks_asked": f.inbound.callbacks_asked,
        }
    view["today"] = today
    return view
