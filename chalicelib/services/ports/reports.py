"""The owner's figures: the live view (R7), its counters, and the reports e-mailed (services.reports)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from chalicelib.domain.email import OutgoingEmail
from chalicelib.domain.live_counts import CountEntry
from chalicelib.domain.report.facts import AgentStatusFact, CallFact, OrderFact
from chalicelib.domain.report.runs import ReportRun


class AgentNowLike(Protocol):
    @property
    def agent_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def status_since(self) -> datetime | None: ...


class DayQueries(Protocol):
    """Reads of one shop-day, each a Query on a ``by_shop_day`` index (or a BatchGet by key)."""

    def orders_of_day(self, shop_id: str, day: date) -> Iterable[OrderFact]: ...
    def calls_of_day(self, shop_id: str, day: date) -> Iterable[CallFact]: ...
    def agent_statuses_of_day(self, shop_id: str, day: date) -> Iterable[AgentStatusFact]: ...
    def dialer_day(self, shop_id: str, day: date) -> tuple[int, int]: ...  # (live answers, drops), O8


class LiveQueries(DayQueries, Protocol):
    def calls_waiting(self, shop_id: str, day: date, since: datetime) -> Iterable[CallFact]: ...
    def agents_of_shop(self, shop_id: str) -> Iterable[AgentNowLike]: ...
    # The day's running counters (domain.live_counts) and the dialer's (live answers, drops).
    def live_day(self, shop_id: str, day: date) -> tuple[Mapping[str, int], tuple[int, int]]: ...


class LiveCounters(Protocol):
    """The shops' running day counters, kept by the stream consumers (#19)."""

    def add_counts(
        self, record_id: str, shop_id: str, day: str, counts: Mapping[str, int], *, active: bool = False
    ) -> bool: ...
    # A stream batch's entries added together (each once); the ids of those counted before.
    def add_counts_together(self, entries: Sequence[CountEntry]) -> set[str]: ...
    # The day's counters replaced by ``counts`` (the backfill: cli.admin rebuild-live-counts).
    def set_counts(self, shop_id: str, day: str, counts: Mapping[str, int], *, active: bool) -> None: ...


# ---- the owner's reports (services.reports) -------------------------------------------------
class EmailSender(Protocol):
    def send(self, email: OutgoingEmail) -> str:
        """Send the message; return the provider's message id. Raises EmailRejected when the
        provider refuses it for good (most often: the sender is not a verified identity)."""
        ...


class EmailRejected(Exception):
    """SES refused the message (most often: the sender is not a verified identity)."""


class ReportQueries(DayQueries, Protocol):
    def callbacks_completed(self, task_ids: Iterable[str]) -> int: ...


class ReportRunLog(Protocol):
    """Where each run notes what it did with a shop's report (the admin CLI reads it)."""

    def record(self, run: ReportRun) -> None: ...
    def latest_runs(self, shop_id: str, limit: int = 10) -> Iterable[ReportRun]: ...


class ReportOnce(Protocol):
    """Sends a shop's report for a period at most once, however often the schedule fires or the
    function is retried (adapters.idempotency.KeyedOnce: a claimed record per key)."""

    def __call__(self, key: dict[str, str], action: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """``action()``'s result (JSON) the first time for ``key``; on a later call the stored
        result with ``"replayed": True``; None while another run is doing it right now. When
        ``action`` raises, nothing is stored and the next call tries again."""
        ...
