"""Live figures (R7) from fakes: the queue now, agents by status, today's KPIs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from chalicelib.domain.live_counts import call_counts, order_counts
from chalicelib.domain.report.facts import AgentStatusFact, CallFact, OrderFact
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.live import live_figures, live_view

NOW = datetime(2014, 3, 28, 22, 30, tzinfo=UTC)  # 00:30 on the 29th in Kyiv: yesterday's calls may still wait


@dataclass(frozen=True)
class Agent:
    agent_id: str
    name: str
    status: str
    status_since: datetime | None = None


class FakeLive:
    def __init__(self) -> None:
        self.waiting_asked: list[tuple[date, datetime]] = []

    def orders_of_day(self, shop_id: str, day: date) -> Iterable[OrderFact]:
        return [OrderFact("o1", "confirmed", Decimal("10"), True, NOW, first_dial_at=NOW + timedelta(seconds=5))]

    def calls_of_day(self, shop_id: str, day: date) -> Iterable[CallFact]:
        return [CallFact("c1", "inbound", "completed", None, NOW, NOW, queued_at=NOW, wait_seconds=8, agent_id="anna")]

    def agent_statuses_of_day(self, shop_id: str, day: date) -> Iterable[AgentStatusFact]:
        return []

    def dialer_day(self, shop_id: str, day: date) -> tuple[int, int]:
        return 0, 0

    def live_day(self, shop_id: str, day: date) -> tuple[Counter[str], tuple[int, int]]:
        """The counters the stream consumers would hold after the day's records above."""
        counts: Counter[str] = Counter()
        for order in self.orders_of_day(shop_id, day):
            counts.update(order_counts(order, "UAH"))
        for call in self.calls_of_day(shop_id, day):
            counts.update(call_counts(call))
        return counts, self.dialer_day(shop_id, day)

    def calls_waiting(self, shop_id: str, day: date, since: datetime) -> Iterable[CallFact]:
        self.waiting_asked.append((day, since))
        queued = {date(2014, 3, 28): NOW - timedelta(minutes=40), date(2014, 3, 29): NOW - timedelta(seconds=30)}
        return [CallFact(f"w-{day}", "inbound", "in-progress", None, None, queued[day], queued_at=queued[day])]

    def agents_of_shop(self, shop_id: str) -> Iterable[Agent]:
        return [Agent("oleh", "Oleh", "busy"), Agent("anna", "Anna", "available", NOW), Agent("ira", "Ira", "busy")]


def test_live_figures_count_the_queue_across_midnight_and_agents_by_status():
    queries = FakeLive()

    figures = live_figures(ShopSettings(shop_id="acme", name="Acme"), NOW, queries)

    assert [day for day, _ in queries.waiting_asked] == [date(2014, 3, 28), date(2014, 3, 29)]
    assert all(since == NOW - timedelta(hours=2) for _, since in queries.waiting_asked)
    assert (figures.queue.calls_waiting, figures.queue.longest_wait_seconds) == (2, 2400)
    assert figures.agents_by_status == {"available": 1, "busy": 2}
    assert figures.day == date(2014, 3, 29)


def test_the_live_view_is_json_with_todays_kpis():
    view = live_view(live_figures(ShopSettings(shop_id="acme", name="Acme"), NOW, FakeLive()), "UAH")

    assert view["calls_waiting"] == 2 and view["longest_wait_seconds"] == 2400
    assert [agent["id"] for agent in view["agents"]] == ["anna", "ira", "oleh"]
    assert view["agents"][0]["since"] == NOW.isoformat()
    today = view["today"]
    assert today["confirmed"] == 1 and today["confirmed_total"] == "10" and today["currency"] == "UAH"
    assert today["first_dial_median_seconds"] == 5
    assert today["inbound_calls"] == 1 and today["service_level_percent"] == 100.0
    assert today["drop_rate_percent"] == 0.0


def test_without_kpis_only_the_cheap_figures_are_read():
    view = live_view(live_figures(ShopSettings(shop_id="acme", name="Acme"), NOW, FakeLive(), with_kpis=False), "UAH")

    assert "today" not in view
