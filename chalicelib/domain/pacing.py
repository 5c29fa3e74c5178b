"""Agent dialing pace (O8): how many calls to place now, as a pure function of a snapshot.

Production and the dialer simulator (``bench/dialer.py``) call the same :func:`decide`.
Every time in a snapshot is an age relative to the moment of the decision, so the function
needs no clock and gives the same answer for the same snapshot.

**Progressive.** One call per ready agent that no call is already heading for:
``agents_ready - calls_in_flight - live_waiting``. A human answer always finds its agent,
so progressive never drops; agents wait through every ring, machine and no-answer.

**Predictive.** Over the horizon ``w`` = mean ring-to-answer + AMD time for a human +
``connect_within_seconds`` (how long a new call takes to need an agent):

* supply ``F`` = ready agents + for each busy agent, the probability that its call (talk +
  wrap, a lognormal shifted by ``handle_min_seconds`` fitted to the handle-time mean and
  spread) ends within ``w`` given the time it has already lasted;
* demand ``L`` = live answers already waiting + for each call in flight, the probability
  that it still becomes a live answer given its age (answers by person, machine or nobody,
  ring-to-answer roughly normal, unanswered calls given up at ``no_answer_seconds``) + for
  each new call, the human answer rate.

``F`` and ``L`` are sums of independent Bernoulli variables, approximated as normal, so the
expected number of live answers finding no agent is ``E[(L - F)+]``. Calls are added one at
a time while the *extra* expected drops of the next call stay within a share of its expected
live answers (:func:`marginal_drop_share`). That share is spent from today's drop budget: it
is twice ``abandon_aim`` (default half the target, so 1.5% of a 3% target) while today's
drop rate is at most the aim, and shrinks to zero as today's rate approaches
``abandon_target``; the last call placed is the riskiest, so the day's rate ends near the aim.

**The hard cap.** Whatever the expectations say, the lines in use (calls in flight, live
answers waiting, new calls) never exceed the ready agents by more than today's drop budget
(:func:`uncovered_lines_allowed`): the number ``n`` of extra drops for which ``(drops + n) /
(live answers + n)`` stays within ``abandon_target``. So even if every line without a ready
agent were answered by a person at once and dropped, the day's rate would not pass the
target. Only an agent who leaves, or does not answer, while a call counts on them can drop a
call the budget did not allow for.

**Fallback.** When that budget is empty - one more drop would take today's rate above
``abandon_target``, i.e. ``(drops + 1) / (live answers + 1) > target``, which holds at the
start of a day until about 1/target live answers have been made - or the answer statistics
are too thin to predict from, the decision is progressive and ``reason`` says why. The
decision is never negative and never takes the lines in use above ``max_lines``.

:class:`AdaptiveDialLevel` is the published baseline the simulator compares with: a
VICIdial-style dial level (lines = level x logged-in agents - agents on calls - calls in
progress) raised or lowered every ``interval_seconds`` from the recent drop percentage, with
a hard drop to 1.0 when today's rate reaches the target.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

PacingMode = Literal["progressive", "predictive"]
CallOutcome = Literal["human", "machine", "no-answer"]

_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class PacingStats:
    """Recent call statistics of a campaign (see :func:`estimate_stats`); defaults are a cold start."""

    answer_human: float = 0.3  # share of dials answered by a person
    answer_machine: float = 0.15  # share answered by a machine (the rest: no answer, busy, failed)
    ring_mean_seconds: float = 15.0  # dial to answer, over answered calls
    ring_sd_seconds: float = 6.0
    no_answer_seconds: float = 30.0  # an unanswered call is given up this long after dialing
    amd_human_seconds: float = 2.5  # answer to AMD decision "human"
    amd_machine_seconds: float = 3.5
    handle_mean_seconds: float = 180.0  # agent time per connected call: talk + wrap-up
    handle_sd_seconds: float = 100.0
    handle_min_seconds: float = 0.0  # the fixed part of the handle time (the configured wrap-up)

    def __post_init__(self) -> None:
        if not (0 <= self.answer_human <= 1 and 0 <= self.answer_machine <= 1):
            raise ValueError("answer rates must be within 0..1")
        if self.answer_human + self.answer_machine > 1 + 1e-9:
            raise ValueError("answer_human + answer_machine must not exceed 1")
        if self.handle_mean_seconds <= self.handle_min_seconds:
            raise ValueError("handle_mean_seconds must exceed handle_min_seconds")
        for name in ("ring_mean_seconds", "ring_sd_seconds", "no_answer_seconds", "handle_sd_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


@dataclass(frozen=True)
class PacingSnapshot:
    """What the dialer knows of one campaign (one shop's agent queue) at the moment of a decision."""

    agents_ready: int  # logged in, idle, no call bridged
    agents_busy: Sequence[float]  # per agent on a call or in wrap-up: seconds since its call was bridged
    calls_in_flight: Sequence[float]  # per call dialed and not yet answered by a person nor ended: its age
    stats: PacingStats
    live_answers_today: int  # human answers today (bridged or dropped)
    drops_today: int  # of which not bridged within connect_within_seconds
    live_waiting: int = 0  # human answers detected now, waiting for an agent
    abandon_target: float = 0.03  # never above this share of drops per shop per day
    abandon_aim: float | None = None  # share aimed at while the budget allows; default target / 2
    connect_within_seconds: float = 2.0
    mode: PacingMode = "predictive"
    max_lines: int = 100  # calls in flight + calls placed now never above this

    def __post_init__(self) -> None:
        if self.agents_ready < 0 or self.live_waiting < 0 or self.max_lines < 0:
            raise ValueError("agents_ready, live_waiting and max_lines must not be negative")
        if self.drops_today < 0 or self.live_answers_today < self.drops_today:
            raise ValueError("drops_today must be within 0..live_answers_today")
        if not 0 < self.abandon_target < 1:
            raise ValueError("abandon_target must be within 0..1")
        if self.mode not in ("progressive", "predictive"):
            raise ValueError(f"unknown pacing mode {self.mode!r}")


@dataclass(frozen=True)
class PacingDecision:
    calls_to_place: int
    mode_used: PacingMode
    reason: str
    expected_free_agents: float = 0.0  # predictive only: ready + busy agents likely free within the horizon
    expected_live_answers: float = 0.0  # predictive only: live answers expected, the new calls included


MIN_ANSWER_RATE = 0.02  # below this the model has nothing to predict from
# The calls placed under a marginal limit drop on average about half that share (the last
# call placed is the riskiest), so a day aimed at ``abandon_aim`` allows twice the aim at the
# margin. Measured with bench/dialer.py: 1x gives ~0.7% a day for a 1.5% aim, 2x ~1.5%.
MARGINAL_TO_AVERAGE = 2.0


def decide(snapshot: PacingSnapshot) -> PacingDecision:
    """How many calls to place now; see the module docstring for the model."""
    lines_free = max(0, snapshot.max_lines - len(snapshot.calls_in_flight) - snapshot.live_waiting)
    progressive = max(0, min(lines_free, snapshot.agents_ready - len(snapshot.calls_in_flight) - snapshot.live_waiting))
    if snapshot.mode == "progressive":
        return PacingDecision(progressive, "progressive", "progressive mode: one call per ready agent")
    if snapshot.agents_ready + len(snapshot.agents_busy) == 0:
        return PacingDecision(0, "progressive", "no agent logged in")
    target = snapshot.abandon_target
    drops, answers = snapshot.drops_today, snapshot.live_answers_today
    allowed = uncovered_lines_allowed(snapshot)
    if allowed < 1:
        return PacingDecision(
            progressive,
            "progressive",
            f"fallback to progressive: one more drop would put today's drop rate above {target:.1%} "
            f"({drops} drops / {answers} live answers)",
        )
    committed = len(snapshot.calls_in_flight) + snapshot.live_waiting
    within_budget = max(0, min(lines_free, snapshot.agents_ready + allowed - committed))
    stats = snapshot.stats
    if stats.answer_human < MIN_ANSWER_RATE:
        return PacingDecision(
            progressive,
            "progressive",
            f"fallback to progressive: human answer rate {stats.answer_human:.1%} too low to predict from",
        )
    share = marginal_drop_share(snapshot)
    horizon = stats.ring_mean_seconds + stats.amd_human_seconds + snapshot.connect_within_seconds
    free_mean = float(snapshot.agents_ready)
    free_var = 0.0
    for elapsed in snapshot.agents_busy:
        p = probability_free_within(elapsed, horizon, stats)
        free_mean += p
        free_var += p * (1 - p)
    live_mean = float(snapshot.live_waiting)
    live_var = 0.0
    for age in snapshot.calls_in_flight:
        q = probability_live_answer(age, stats)
        live_mean += q
        live_var += q * (1 - q)
    p_human = stats.answer_human
    calls = 0
    overflow = expected_overflow(live_mean - free_mean, live_var + free_var)
    while calls < within_budget:
        n = calls + 1
        next_overflow = expected_overflow(
            live_mean + n * p_human - free_mean, live_var + free_var + n * p_human * (1 - p_human)
        )
        if next_overflow - overflow > share * p_human:
            break
        calls, overflow = n, next_overflow
    capped = calls == within_budget < lines_free
    calls = max(calls, progressive)
    expected_live = live_mean + calls * p_human
    return PacingDecision(
        calls,
        "predictive",
        f"predictive: {free_mean:.2f} agents expected free within {horizon:.1f}s, "
        f"{expected_live:.2f} live answers expected, {overflow:.3f} expected drops; "
        f"marginal drop share {share:.2%} (today {drops}/{answers})"
        + (f"; capped by the drop budget: at most {allowed} lines without a ready agent" if capped else ""),
        expected_free_agents=free_mean,
        expected_live_answers=expected_live,
    )


def uncovered_lines_allowed(snapshot: PacingSnapshot) -> int:
    """Today's drop budget in lines: the largest ``n`` with ``drops + n <= target x (live
    answers + n)``, i.e. how many lines may be in use beyond the ready agents so that the
    day's drop rate stays within ``abandon_target`` even if each of them is answered by a
    person and dropped."""
    target = snapshot.abandon_target
    room = (target * snapshot.live_answers_today - snapshot.drops_today) / (1 - target)
    return max(0, math.floor(room + 1e-9))


def marginal_drop_share(snapshot: PacingSnapshot) -> float:
    """The share of its live answers the next call may expect to drop, from today's drop budget.

    ``MARGINAL_TO_AVERAGE x abandon_aim`` while today's drop rate is at most the aim, falling
    linearly to zero as it approaches ``abandon_target``.
    """
    target = snapshot.abandon_target
    aim = target / 2 if snapshot.abandon_aim is None else min(snapshot.abandon_aim, target)
    answers = snapshot.live_answers_today
    if answers == 0:
        return 0.0
    rate = snapshot.drops_today / answers
    top = MARGINAL_TO_AVERAGE * aim
    if rate <= aim:
        return top
    if rate >= target:
        return 0.0
    return top * (target - rate) / (target - aim)


def expected_overflow(mean: float, variance: float) -> float:
    """``E[max(X, 0)]`` for ``X`` normal with this mean and variance."""
    if variance <= 1e-12:
        return max(mean, 0.0)
    sd = math.sqrt(variance)
    z = mean / sd
    cdf = 0.5 * math.erfc(-z / _SQRT2)
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return mean * cdf + sd * pdf


def _lognormal_params(stats: PacingStats) -> tuple[float, float]:
    mean = stats.handle_mean_seconds - stats.handle_min_seconds
    sigma2 = math.log1p((stats.handle_sd_seconds / mean) ** 2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def _handle_survival(seconds: float, mu: float, sigma: float, shift: float) -> float:
    """P(handle time > seconds)."""
    if seconds <= shift:
        return 1.0
    if sigma <= 0:
        return 1.0 if seconds < shift + math.exp(mu) else 0.0
    z = (math.log(seconds - shift) - mu) / sigma
    return 0.5 * math.erfc(z / _SQRT2)


def probability_free_within(elapsed: float, within: float, stats: PacingStats) -> float:
    """P(a call that has lasted ``elapsed`` seconds of talk + wrap ends within ``within`` more seconds)."""
    mu, sigma = _lognormal_params(stats)
    alive = _handle_survival(elapsed, mu, sigma, stats.handle_min_seconds)
    if alive < 1e-12:
        return 0.0  # far beyond anything seen: do not count on this agent
    later = _handle_survival(elapsed + within, mu, sigma, stats.handle_min_seconds)
    return max(0.0, min(1.0, 1.0 - later / alive))


def _still_ringing(age: float, decision_seconds: float, stats: PacingStats) -> float:
    """P(ring-to-answer + AMD decision > age) for an answered call.

    Ring time roughly normal, cut at ``no_answer_seconds`` (nobody answers after the dialer
    has given up ringing).
    """
    ring_left = age - decision_seconds  # the call is still pending if it rang longer than this
    if ring_left >= stats.no_answer_seconds:
        return 0.0
    if stats.ring_sd_seconds <= 0:
        return 1.0 if ring_left < stats.ring_mean_seconds else 0.0

    def below(seconds: float) -> float:
        return 0.5 * math.erfc(-(seconds - stats.ring_mean_seconds) / stats.ring_sd_seconds / _SQRT2)

    return max(0.0, below(stats.no_answer_seconds) - below(ring_left))


def probability_live_answer(age: float, stats: PacingStats) -> float:
    """P(a call dialed ``age`` seconds ago, still unresolved, becomes a live answer)."""
    human = stats.answer_human * _still_ringing(age, stats.amd_human_seconds, stats)
    machine = stats.answer_machine * _still_ringing(age, stats.amd_machine_seconds, stats)
    no_answer_share = max(0.0, 1.0 - stats.answer_human - stats.answer_machine)
    nobody = no_answer_share if age < stats.no_answer_seconds else 0.0
    total = human + machine + nobody
    return human / total if total > 0 else 0.0


@dataclass(frozen=True)
class CallRecord:
    """One finished dial, as :func:`estimate_stats` reads it."""

    outcome: CallOutcome
    ring_seconds: float | None = None  # dial to answer (answered calls)
    amd_seconds: float | None = None  # answer to AMD decision (answered calls)


def estimate_stats(
    calls: Sequence[CallRecord],
    handle_seconds: Sequence[float],
    prior: PacingStats,
    prior_weight: int = 20,
) -> PacingStats:
    """Statistics from recent calls and handle times, each blended with ``prior`` as if the
    prior were ``prior_weight`` extra observations (so a handful of calls cannot swing them).

    The caller chooses the window (e.g. the campaign's last 300 dials and 100 handle times);
    ``handle_min_seconds`` and ``no_answer_seconds`` are configuration and kept from ``prior``.
    """
    w = float(prior_weight)
    n = len(calls)
    humans = sum(1 for c in calls if c.outcome == "human")
    machines = sum(1 for c in calls if c.outcome == "machine")
    answer_human = (humans + w * prior.answer_human) / (n + w)
    answer_machine = (machines + w * prior.answer_machine) / (n + w)
    rings = [c.ring_seconds for c in calls if c.outcome != "no-answer" and c.ring_seconds is not None]
    ring_mean, ring_sd = _blend(rings, prior.ring_mean_seconds, prior.ring_sd_seconds, w)
    amd_h = [c.amd_seconds for c in calls if c.outcome == "human" and c.amd_seconds is not None]
    amd_m = [c.amd_seconds for c in calls if c.outcome == "machine" and c.amd_seconds is not None]
    amd_human, _ = _blend(amd_h, prior.amd_human_seconds, 0.0, w)
    amd_machine, _ = _blend(amd_m, prior.amd_machine_seconds, 0.0, w)
    handle_mean, handle_sd = _blend(handle_seconds, prior.handle_mean_seconds, prior.handle_sd_seconds, w)
    return PacingStats(
        answer_human=answer_human,
        answer_machine=min(answer_machine, 1.0 - answer_human),
        ring_mean_seconds=ring_mean,
        ring_sd_seconds=ring_sd,
        no_answer_seconds=prior.no_answer_seconds,
        amd_human_seconds=amd_human,
        amd_machine_seconds=amd_machine,
        handle_mean_seconds=max(handle_mean, prior.handle_min_seconds + 1.0),
        handle_sd_seconds=handle_sd,
        handle_min_seconds=prior.handle_min_seconds,
    )


def _blend(values: Sequence[float], prior_mean: float, prior_sd: float, weight: float) -> tuple[float, float]:
    """Mean and standard deviation of ``values`` pooled with ``weight`` pseudo-observations of the prior."""
    n = len(values)
    if n == 0:
        return prior_mean, prior_sd
    total = n + weight
    mean = (sum(values) + weight * prior_mean) / total
    second = (sum(v * v for v in values) + weight * (prior_sd**2 + prior_mean**2)) / total
    return mean, math.sqrt(max(0.0, second - mean * mean))


class AdaptiveDialLevel:
    """VICIdial-style adaptive dial level, the baseline ``decide`` is compared with.

    Lines wanted = floor(level x (ready + busy agents)) - busy agents - calls in flight - live
    answers waiting (level 1.0 is progressive). Every ``interval_seconds`` the level moves up
    by ``step_up`` while the drop percentage over the last ``window_seconds`` is below
    ``target``, down by ``step_down`` when above, within [``min_level``, ``max_level``]; when
    today's drop rate reaches ``target`` it drops to ``min_level`` (VICIdial's hard limit).
    """

    def __init__(
        self,
        target: float = 0.03,
        min_level: float = 1.0,
        max_level: float = 4.0,
        step_up: float = 0.05,
        step_down: float = 0.25,
        interval_seconds: float = 15.0,
        window_seconds: float = 300.0,
    ) -> None:
        if not 1.0 <= min_level <= max_level:
            raise ValueError("need 1.0 <= min_level <= max_level")
        self.target = target
        self.min_level = min_level
        self.max_level = max_level
        self.step_up = step_up
        self.step_down = step_down
        self.interval_seconds = interval_seconds
        self.window_seconds = window_seconds
        self.level = min_level
        self._next_update: float | None = None
        self._history: deque[tuple[float, int, int]] = deque()  # (time, drops today, live answers today)

    def update(self, now_seconds: float, drops_today: int, live_answers_today: int) -> None:
        """Feed today's counters; the level moves at most once per interval."""
        if self._next_update is None:
            self._next_update = now_seconds + self.interval_seconds
            self._history.append((now_seconds, drops_today, live_answers_today))
            return
        if now_seconds < self._next_update:
            return
        self._next_update = now_seconds + self.interval_seconds
        self._history.append((now_seconds, drops_today, live_answers_today))
        while len(self._history) > 1 and self._history[1][0] <= now_seconds - self.window_seconds:
            self._history.popleft()
        _, old_drops, old_answers = self._history[0]
        recent_drops, recent_answers = drops_today - old_drops, live_answers_today - old_answers
        if live_answers_today and drops_today / live_answers_today >= self.target:
            self.level = self.min_level
        elif recent_answers and recent_drops / recent_answers > self.target:
            self.level = max(self.min_level, self.level - self.step_down)
        else:
            self.level = min(self.max_level, self.level + self.step_up)

    def calls_to_place(
        self, agents_ready: int, agents_busy: int, calls_in_flight: int, live_waiting: int = 0, max_lines: int = 100
    ) -> int:
        wanted = math.floor(self.level * (agents_ready + agents_busy) + 1e-9)
        calls = wanted - agents_busy - calls_in_flight - live_waiting
        return max(0, min(calls, max_lines - calls_in_flight - live_waiting))
