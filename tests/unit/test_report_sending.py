"""Sending the due reports with in-memory collaborators: what the service does with the answers
of its send-once port (first time, replayed, held by another run) and of the mailer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.domain.email import OutgoingEmail
from chalicelib.domain.report.facts import AgentStatusFact, CallFact, OrderFact
from chalicelib.domain.report.runs import ReportRun
from chalicelib.domain.shop import ReportPolicy, ShopSettings
from chalicelib.services.ports import EmailRejected
from chalicelib.services.reports.sending import send_due_reports

NINE_IN_UTC = datetime(2024, 5, 7, 9, 0, tzinfo=UTC)  # the shop's report hour: 6 May is due
DUE_DAY = date(2024, 5, 6)


class NoRecords:
    def orders_of_day(self, shop_id: str, day: date) -> Iterable[OrderFact]:
        return ()

    def calls_of_day(self, shop_id: str, day: date) -> Iterable[CallFact]:
        return ()

    def agent_statuses_of_day(self, shop_id: str, day: date) -> Iterable[AgentStatusFact]:
        return ()

    def dialer_day(self, shop_id: str, day: date) -> tuple[int, int]:
        return (0, 0)

    def callbacks_completed(self, task_ids: Iterable[str]) -> int:
        return 0


class Outbox:
    def __init__(self, refuse: bool = False) -> None:
        self.sent: list[OutgoingEmail] = []
        self.refuse = refuse

    def send(self, email: OutgoingEmail) -> str:
        if self.refuse:
            raise EmailRejected(f"{email.sender} is not a verified identity")
        self.sent.append(email)
        return f"msg-{len(self.sent)}"


class MemoryOnce:
    """The ReportOnce contract in memory: the first result stored, later calls get it replayed;
    a key another run holds answers None; a failed action stores nothing."""

    def __init__(self) -> None:
        self.done: dict[str, dict[str, Any]] = {}
        self.held: set[str] = set()

    def __call__(self, key: dict[str, str], action: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        name = repr(sorted(key.items()))
        if name in self.held:
            return None
        if name in self.done:
            return {**self.done[name], "replayed": True}
        self.done[name] = action()
        return self.done[name]


class RunLog:
    def __init__(self) -> None:
        self.runs: list[ReportRun] = []

    def record(self, run: ReportRun) -> None:
        self.runs.append(run)

    def latest_runs(self, shop_id: str, limit: int = 10) -> Iterable[ReportRun]:
        return [run for run in reversed(self.runs) if run.shop_id == shop_id][:limit]


def shop() -> ShopSettings:
    return ShopSettings(
        shop_id="corner",
        name="Corner Shop",
        timezone="UTC",
        report=ReportPolicy(hour=8, recipients=["owner@example.com"], sender="reports@example.com"),
    )


def run(once: MemoryOnce, outbox: Outbox, runs: RunLog) -> list[Any]:
    return send_due_reports(NINE_IN_UTC, shops=[shop()], sender=outbox, queries=NoRecords(), once=once, runs=runs)


def test_the_due_report_goes_once_however_often_the_schedule_runs() -> None:
    # GIVEN a shop whose report hour has come
    once, outbox, runs = MemoryOnce(), Outbox(), RunLog()

    # WHEN the schedule runs twice
    first, second = run(once, outbox, runs), run(once, outbox, runs)

    # THEN one email went, keyed on the shop and the day as the stored records always were
    assert [(report.shop_id, report.day, report.message_id) for report in first] == [("corner", DUE_DAY, "msg-1")]
    assert second == []
    assert len(outbox.sent) == 1
    assert list(once.done) == [repr([("day", "2024-05-06"), ("shop_id", "corner")])]
    assert [(r.status, r.message_id, r.recipients) for r in runs.runs] == [("sent", "msg-1", 1)]


def test_a_report_another_run_is_sending_is_left_to_it() -> None:
    # GIVEN another run holding the shop's day
    once, outbox, runs = MemoryOnce(), Outbox(), RunLog()
    once.held.add(repr([("day", "2024-05-06"), ("shop_id", "corner")]))

    # WHEN this run comes to it
    sent = run(once, outbox, runs)

    # THEN it sends nothing, notes nothing and does not fail
    assert (sent, outbox.sent, runs.runs) == ([], [], [])


def test_a_rejected_sender_is_noted_as_skipped_and_tried_again_next_run() -> None:
    # GIVEN a mailer that refuses the shop's sender
    once, runs = MemoryOnce(), RunLog()

    # WHEN the schedule runs, and again once the sender is verified
    refused = run(once, Outbox(refuse=True), runs)
    accepted = run(once, Outbox(), runs)

    # THEN the first run noted why it skipped, and the next one sent the report
    assert refused == []
    assert [report.day for report in accepted] == [DUE_DAY]
    assert [(r.status, r.reason) for r in runs.runs] == [
        ("skipped", "reports@example.com is not a verified identity"),
        ("sent", None),
    ]
