"""Customer-first (predictive) agent dialing (O8): the pacing snapshot built from what is
stored, and the order in which due tasks are dialed. Pure: the service reads the facts and
calls :func:`chalicelib.domain.pacing.decide`, the same function the simulator calls.

A *line* is one customer call the predictive dialer placed. Its phase:

``ringing``     placed; no answering-machine verdict and no end yet (a call in flight)
``connecting``  a person answered and an agent was reserved; the customer is being bridged
``talked``      the customer and the agent talked
``dropped``     a person answered and no agent could take them: apology, hang-up (O8's drop)
``machine``     a machine answered
``unanswered``  ended without an answer (no answer, busy, failed, canceled)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.pacing import CallRecord, PacingSnapshot, PacingStats, estimate_stats
from chalicelib.domain.priority import DueTask, priority_key
from chalicelib.domain.routing import Agent, is_free

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings

RINGING, CONNECTING, TALKED, DROPPED, MACHINE, UNANSWERED = (
    "ringing",
    "connecting",
    "talked",
    "dropped",
    "machine",
    "unanswered",
)
HUMAN_PHASES = frozenset({CONNECTING, TALKED, DROPPED})
FINAL_PHASES = frozenset({TALKED, DROPPED, MACHINE, UNANSWERED})
# A line still "ringing" after this long lost its callbacks: it no longer counts as in flight
# (the sweep settles it from Twilio).
STALE_LINE = timedelta(minutes=5)
STATS_WINDOW_LINES = 300
STATS_WINDOW_HANDLES = 100


@dataclass(frozen=True)
class DialLine:
    task_id: str
    placed_at: datetime
    phase: str
    call_sid: str | None = None
    answered_at: datetime | None = None  # Twilio answered (before the machine-detection verdict)
    amd_seconds: float | None = None
    handle_seconds: float | None = None  # talk + wrap-up, once a bridged call ended
    line_key: str = ""
    agent_id: str | None = None  # the agent reserved for the customer (connecting, talked)
    reservation: str | None = None
    ended_at: datetime | None = None  # the call's final status was applied


@dataclass(frozen=True)
class DayCounts:
    """A shop's predictive dialing of one local day, as stored."""

    dials: int = 0
    live_answers: int = 0  # answered by a person (bridged or dropped)
    drops: int = 0

    @property
    def drop_rate_percent(self) -> float:
        return round(100.0 * self.drops / self.live_answers, 2) if self.live_answers else 0.0


def prior_stats(shop: ShopSettings) -> PacingStats:
    """Before any call of the shop has been seen: the shop's own configuration and cold-start rates."""
    wrap = float(shop.inbound.wrap_up_seconds)
    handle = max(float(shop.inbound.default_handle_seconds), wrap + 1.0)
    return PacingStats(
        no_answer_seconds=float(shop.robot.ring_timeout_seconds),
        handle_mean_seconds=handle,
        handle_sd_seconds=0.55 * (handle - wrap),
        handle_min_seconds=wrap,
    )


def pacing_stats(lines: Sequence[DialLine], prior: PacingStats) -> PacingStats:
    """Answer, ring, detection and handle-time statistics of the shop's recent lines."""
    records: list[CallRecord] = []
    handles: list[float] = []
    for line in lines[:STATS_WINDOW_LINES]:
        if line.phase not in FINAL_PHASES and line.phase != CONNECTING:
            continue
        ring = (line.answered_at - line.placed_at).total_seconds() if line.answered_at else None
        if line.phase in HUMAN_PHASES:
            records.append(CallRecord("human", ring_seconds=ring, amd_seconds=line.amd_seconds))
        elif line.phase == MACHINE:
            records.append(CallRecord("machine", ring_seconds=ring, amd_seconds=line.amd_seconds))
        else:
            records.append(CallRecord("no-answer"))
        if line.handle_seconds is not None and len(handles) < STATS_WINDOW_HANDLES:
            handles.append(line.handle_seconds)
    return estimate_stats(records, handles, prior)


def build_snapshot(
    shop: ShopSettings,
    *,
    agents: Iterable[Agent],
    lines: Sequence[DialLine],
    today: DayCounts,
    groups_with_callers: set[str],
    now: datetime,
) -> PacingSnapshot:
    """The moment's snapshot for :func:`decide`. Agents whose group has live inbound callers
    waiting serve those callers first, so they are neither ready nor expected free for us."""
    stats = pacing_stats(lines, prior_stats(shop))
    wrap = shop.inbound.wrap_up_seconds
    talk_mean = stats.handle_mean_seconds - stats.handle_min_seconds
    ready = 0
    busy: list[float] = []
    for agent in agents:
        if groups_with_callers.intersection(agent.groups):
            continue
        since = (now - agent.status_since).total_seconds() if agent.status_since else 0.0
        if is_free(agent, now, wrap):
            ready += 1
        elif agent.status == "busy":
            busy.append(since)
        elif agent.status == "wrap-up":
            # Its talk is over; the model knows calls only by time since the bridge, so an
            # average talk stands in for the part already done.
            busy.append(talk_mean + since)
    in_flight = [(now - line.placed_at).total_seconds() for line in lines if is_in_flight(line, now)]
    policy = shop.dialing
    return PacingSnapshot(
        agents_ready=ready,
        agents_busy=busy,
        calls_in_flight=in_flight,
        stats=stats,
        live_answers_today=today.live_answers,
        drops_today=today.drops,
        abandon_target=policy.abandon_target_percent / 100.0,
        abandon_aim=policy.abandon_aim_percent / 100.0,
        connect_within_seconds=2.0,
        mode=policy.agent_pacing,
        max_lines=policy.max_agent_lines,
    )


def is_in_flight(line: DialLine, now: datetime) -> bool:
    """Placed and not yet settled by a verdict or an end: a person may still answer it and need
    an agent within seconds. The pacing counts these lines; inbound routing leaves an agent
    free for each (see :func:`chalicelib.domain.routing.free_beyond_customer_lines`)."""
    return line.phase == RINGING and now - line.placed_at < STALE_LINE


def dropped_task_ids(lines: Sequence[DialLine]) -> set[str]:
    """Tasks whose latest line (``lines`` newest first) was dropped: they are dialed first."""
    latest: dict[str, str] = {}
    for line in lines:
        latest.setdefault(line.task_id, line.phase)
    return {task_id for task_id, phase in latest.items() if phase == DROPPED}


def dial_order(tasks: list[DueTask], variant: int, dropped: set[str]) -> list[DueTask]:
    """The shop's priority order (O6), with tasks whose customer we dropped before all others."""
    return sorted(tasks, key=lambda task: (task.task_id not in dropped, priority_key(task, variant)))  # type: ignore[arg-type]
