"""Predictive dialer simulator (O8): ``python -m bench.dialer --scenario FILE.json`` or ``--grid``.

A discrete-event simulation (a heapq of timed events) of one agent campaign, run once per
pacing policy on the same random streams:

* ``progressive``: :func:`chalicelib.domain.pacing.decide` in progressive mode;
* ``adaptive``: :class:`chalicelib.domain.pacing.AdaptiveDialLevel`, the VICIdial-style baseline;
* ``predictive``: :func:`chalicelib.domain.pacing.decide` in predictive mode, the code production
  runs, fed statistics estimated from the calls the simulation has finished so far
  (:func:`chalicelib.domain.pacing.estimate_stats`), never the scenario's true values
  (only the configured wrap-up and no-answer timeout, which a real dialer knows too).

Each dial rings ``ring_seconds`` (uniform) and is answered by a person (``answer_human``), a
machine (``answer_machine``) or nobody (given up after ``no_answer_seconds``). AMD decides
after ``amd_seconds``; a machine is hung up; a person waits up to ``connect_within_seconds``
for a free agent (first come, first served) and is dropped otherwise. A bridged call
occupies its agent for a lognormal talk time plus ``wrap_seconds``. Agents stay logged in
for ``hours``; dialing stops and the books close at the end. Policies decide at every event
that can change the answer (an agent frees, a call resolves) and once a second.

Outputs per policy: occupancy (agent time talking or in wrap-up / logged-in agent time),
drop rate (dropped live answers / live answers), connects per agent-hour, dials per connect
and the counts. The same seed gives the same result.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import random
import sys
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stats import markdown_table, write_json
from chalicelib.domain.pacing import (
    AdaptiveDialLevel,
    CallRecord,
    PacingMode,
    PacingSnapshot,
    PacingStats,
    decide,
    estimate_stats,
)

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
POLICIES = ("progressive", "adaptive", "predictive")
REQUIRED_KEYS = (
    "agents",
    "hours",
    "answer_human",
    "answer_machine",
    "ring_seconds",
    "no_answer_seconds",
    "amd_seconds",
    "talk_seconds",
    "wrap_seconds",
    "connect_within_seconds",
    "abandon_target",
    "seed",
)
OPTIONAL_KEYS = {"name": None, "max_lines": None}  # max_lines default: 3 x agents
STATS_WINDOW_CALLS = 300  # the predictive policy estimates from the campaign's last 300 dials
STATS_WINDOW_HANDLES = 100  # ... and last 100 handle times


class ScenarioError(ValueError):
    pass


@dataclass(frozen=True)
class Scenario:
    name: str
    agents: int
    hours: float
    answer_human: float
    answer_machine: float
    ring_min: float
    ring_max: float
    no_answer_seconds: float
    amd_human: float
    amd_machine: float
    talk_mean: float
    talk_sd: float
    wrap_seconds: float
    connect_within_seconds: float
    abandon_target: float
    seed: int
    max_lines: int

    @classmethod
    def from_dict(cls, data: dict[str, Any], default_name: str = "scenario") -> Scenario:
        if not isinstance(data, dict):
            raise ScenarioError("a scenario is a JSON object")
        unknown = sorted(set(data) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
        if unknown:
            raise ScenarioError(f"unknown scenario key(s): {', '.join(unknown)}")
        missing = [key for key in REQUIRED_KEYS if key not in data]
        if missing:
            raise ScenarioError(f"missing scenario key(s): {', '.join(missing)}")

        def number(key: str, value: Any = None, minimum: float = 0.0) -> float:
            value = data[key] if value is None else value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ScenarioError(f"{key} must be a number, got {value!r}")
            if value < minimum:
                raise ScenarioError(f"{key} must be at least {minimum}, got {value!r}")
            return float(value)

        def pair(key: str, names: tuple[str, str]) -> tuple[float, float]:
            value = data[key]
            if isinstance(value, dict):
                extra = sorted(set(value) - set(names))
                if extra or any(name not in value for name in names):
                    raise ScenarioError(f"{key} must be an object with exactly the keys {', '.join(names)}")
                return number(key, value[names[0]]), number(key, value[names[1]])
            if isinstance(value, list) and len(value) == 2 and names == ("min", "max"):
                return number(key, value[0]), number(key, value[1])
            shape = "[min, max]" if names == ("min", "max") else "{" + ", ".join(names) + "}"
            raise ScenarioError(f"{key} must be {shape}, got {value!r}")

        agents = number("agents", minimum=1)
        seed = data["seed"]
        if agents != int(agents) or isinstance(seed, bool) or not isinstance(seed, int):
            raise ScenarioError("agents and seed must be integers")
        ring_min, ring_max = pair("ring_seconds", ("min", "max"))
        if ring_min > ring_max:
            raise ScenarioError("ring_seconds: min must not exceed max")
        amd_human, amd_machine = pair("amd_seconds", ("human", "machine"))
        talk_mean, talk_sd = pair("talk_seconds", ("mean", "sd"))
        if talk_mean <= 0:
            raise ScenarioError("talk_seconds.mean must be positive")
        answer_human, answer_machine = number("answer_human"), number("answer_machine")
        if answer_human + answer_machine > 1:
            raise ScenarioError("answer_human + answer_machine must not exceed 1")
        abandon_target = number("abandon_target")
        if not 0 < abandon_target < 1:
            raise ScenarioError("abandon_target must be within 0..1")
        max_lines = data.get("max_lines")
        if max_lines is None:
            max_lines = 3 * int(agents)
        elif isinstance(max_lines, bool) or not isinstance(max_lines, int) or max_lines < 1:
            raise ScenarioError("max_lines must be a positive integer")
        name = data.get("name") or default_name
        return cls(
            name=str(name),
            agents=int(agents),
            hours=number("hours", minimum=0.01),
            answer_human=answer_human,
            answer_machine=answer_machine,
            ring_min=ring_min,
            ring_max=ring_max,
            no_answer_seconds=number("no_answer_seconds"),
            amd_human=amd_human,
            amd_machine=amd_machine,
            talk_mean=talk_mean,
            talk_sd=talk_sd,
            wrap_seconds=number("wrap_seconds"),
            connect_within_seconds=number("connect_within_seconds"),
            abandon_target=abandon_target,
            seed=seed,
            max_lines=max_lines,
        )


def load_scenario(path: Path) -> Scenario:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ScenarioError(f"{path}: not JSON: {error}") from error
    try:
        return Scenario.from_dict(data, default_name=path.stem)
    except ScenarioError as error:
        raise ScenarioError(f"{path}: {error}") from error


# Event kinds, in the order they are handled when simultaneous.
_AGENT_FREE, _ANSWER_HUMAN, _CALL_ENDS, _GIVE_UP, _TICK = range(5)


@dataclass
class _Call:
    dialed_at: float
    outcome: str
    ring: float
    amd: float


class _Campaign:
    """One run of one policy over one scenario."""

    def __init__(self, scenario: Scenario, policy: str) -> None:
        self.s = scenario
        self.policy = policy
        self.end = scenario.hours * 3600.0
        # Separate streams so that the n-th dial and the n-th bridged call draw the same
        # numbers under every policy (common random numbers: differences are the policy's).
        self.call_rng = random.Random(f"{scenario.seed}:calls")
        self.talk_rng = random.Random(f"{scenario.seed}:talk")
        sigma2 = math.log1p((scenario.talk_sd / scenario.talk_mean) ** 2)
        self.talk_mu, self.talk_sigma = math.log(scenario.talk_mean) - sigma2 / 2, math.sqrt(sigma2)
        self.events: list[tuple[float, int, int, int]] = []  # (time, kind, sequence, payload)
        self.sequence = 0
        self.ready: deque[int] = deque(range(scenario.agents))
        self.busy_since: dict[int, float] = {}
        self.in_flight: dict[int, _Call] = {}
        self.waiting: dict[int, float] = {}  # live answers waiting for an agent, first come first: give-up time
        self.pending_records: list[tuple[float, int, _Call]] = []  # calls by the time the dialer learns their outcome
        self.next_call_id = 0
        self.busy_seconds = 0.0
        self.dials = self.live = self.connects = self.drops = 0
        self.records: deque[CallRecord] = deque(maxlen=STATS_WINDOW_CALLS)
        self.handles: deque[float] = deque(maxlen=STATS_WINDOW_HANDLES)
        self.prior = PacingStats(no_answer_seconds=scenario.no_answer_seconds, handle_min_seconds=scenario.wrap_seconds)
        self.stats = self.prior
        self.stats_dirty = False
        self.adaptive = AdaptiveDialLevel(target=scenario.abandon_target) if policy == "adaptive" else None
        self.decisions = self.predictive_decisions = 0

    def push(self, at: float, kind: int, payload: int = 0) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (at, kind, self.sequence, payload))

    def run(self) -> dict[str, Any]:
        self.push(0.0, _TICK)
        while self.events:
            now, kind, _, payload = heapq.heappop(self.events)
            if now >= self.end:
                break
            redecide = True
            if kind == _TICK:
                if now + 1.0 < self.end:
                    self.push(now + 1.0, _TICK)
            elif kind == _AGENT_FREE:
                self.agent_free(now, payload)
            elif kind == _ANSWER_HUMAN:
                self.answer_human(now, payload)
                redecide = False
            elif kind == _CALL_ENDS:
                self.in_flight.pop(payload)
            elif kind == _GIVE_UP:
                redecide = self.give_up(now, payload)
            if redecide:
                self.dial(now, self.calls_to_place(now))
        # Close the books: time already worked by agents still on a call at the end.
        for since in self.busy_since.values():
            self.busy_seconds += max(0.0, self.end - since)
        return self.result()

    # --- events -----------------------------------------------------------------------
    def agent_free(self, now: float, agent: int) -> None:
        self.busy_seconds += now - self.busy_since.pop(agent)
        if self.waiting:  # the longest-waiting live answer; none is past its give-up time (see give_up)
            del self.waiting[next(iter(self.waiting))]
            self.bridge(now, agent)
            return
        self.ready.append(agent)

    def answer_human(self, now: float, call_id: int) -> None:
        self.in_flight.pop(call_id)
        self.live += 1
        if self.ready:
            self.bridge(now, self.ready.popleft())
        else:
            self.waiting[call_id] = now + self.s.connect_within_seconds
            self.push(now + self.s.connect_within_seconds, _GIVE_UP, call_id)

    def give_up(self, now: float, call_id: int) -> bool:
        if call_id in self.waiting:
            del self.waiting[call_id]
            self.drops += 1
            return True
        return False  # bridged meanwhile

    def bridge(self, now: float, agent: int) -> None:
        self.connects += 1
        talk = self.talk_rng.lognormvariate(self.talk_mu, self.talk_sigma)
        handle = talk + self.s.wrap_seconds
        self.busy_since[agent] = now
        self.handles.append(handle)
        self.stats_dirty = True
        self.push(now + handle, _AGENT_FREE, agent)

    def dial(self, now: float, count: int) -> None:
        s = self.s
        for _ in range(count):
            draw = self.call_rng.random()
            ring = self.call_rng.uniform(s.ring_min, s.ring_max)
            call_id = self.next_call_id
            self.next_call_id += 1
            self.dials += 1
            if draw < s.answer_human:
                call = _Call(now, "human", ring, s.amd_human)
                self.push(now + ring + s.amd_human, _ANSWER_HUMAN, call_id)
            elif draw < s.answer_human + s.answer_machine:
                call = _Call(now, "machine", ring, s.amd_machine)
                self.push(now + ring + s.amd_machine, _CALL_ENDS, call_id)
            else:
                call = _Call(now, "no-answer", s.no_answer_seconds, 0.0)
                self.push(now + s.no_answer_seconds, _CALL_ENDS, call_id)
            self.in_flight[call_id] = call
            # The dialer learns an outcome when the call resolves, not when it is dialed
            # (that would leak the future): the record joins the window in ``learn``.
            heapq.heappush(self.pending_records, (now + call.ring + call.amd, call_id, call))

    def learn(self, now: float) -> None:
        """Move calls resolved by ``now`` into the statistics window."""
        pending = self.pending_records
        while pending and pending[0][0] <= now:
            _, _, call = heapq.heappop(pending)
            answered = call.outcome != "no-answer"
            self.records.append(
                CallRecord(
                    call.outcome,  # type: ignore[arg-type]
                    ring_seconds=call.ring if answered else None,
                    amd_seconds=call.amd if answered else None,
                )
            )
            self.stats_dirty = True

    # --- policies ---------------------------------------------------------------------
    def calls_to_place(self, now: float) -> int:
        if now >= self.end:
            return 0
        self.decisions += 1
        s = self.s
        if self.policy == "adaptive":
            assert self.adaptive is not None
            self.adaptive.update(now, self.drops, self.live)
            return self.adaptive.calls_to_place(
                len(self.ready), len(self.busy_since), len(self.in_flight), len(self.waiting), s.max_lines
            )
        mode: PacingMode = "progressive" if self.policy == "progressive" else "predictive"
        if mode == "predictive":
            self.learn(now)
            if self.stats_dirty:
                self.stats = estimate_stats(list(self.records), list(self.handles), self.prior)
                self.stats_dirty = False
        decision = decide(
            PacingSnapshot(
                agents_ready=len(self.ready),
                agents_busy=[now - since for since in self.busy_since.values()],
                calls_in_flight=[now - call.dialed_at for call in self.in_flight.values()],
                live_waiting=len(self.waiting),
                stats=self.stats,
                live_answers_today=self.live,
                drops_today=self.drops,
                abandon_target=s.abandon_target,
                connect_within_seconds=s.connect_within_seconds,
                mode=mode,
                max_lines=s.max_lines,
            )
        )
        if decision.mode_used == "predictive":
            self.predictive_decisions += 1
        return decision.calls_to_place

    def result(self) -> dict[str, Any]:
        agent_hours = self.s.agents * self.s.hours
        out: dict[str, Any] = {
            "occupancy": round(self.busy_seconds / (agent_hours * 3600.0), 4),
            "drop_rate": round(self.drops / self.live, 4) if self.live else 0.0,
            "connects_per_agent_hour": round(self.connects / agent_hours, 2),
            "dials_per_connect": round(self.dials / self.connects, 2) if self.connects else None,
            "dials": self.dials,
            "live_answers": self.live,
            "connects": self.connects,
            "drops": self.drops,
        }
        if self.policy == "predictive":
            out["predictive_decision_share"] = round(self.predictive_decisions / max(1, self.decisions), 4)
        if self.adaptive is not None:
            out["final_dial_level"] = round(self.adaptive.level, 2)
        return out


def simulate(scenario: Scenario, policies: Sequence[str] = POLICIES) -> dict[str, Any]:
    """Run each policy on the scenario; ``{"scenario": ..., "policies": {name: figures}}``."""
    for policy in policies:
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}; known: {', '.join(POLICIES)}")
    return {
        "scenario": scenario.name,
        "policies": {policy: _Campaign(scenario, policy).run() for policy in policies},
    }


def _simulate_file(path: str) -> dict[str, Any]:
    scenario = load_scenario(Path(path))
    document = simulate(scenario)
    document["agents"] = scenario.agents
    document["answer_human"] = scenario.answer_human
    document["hours"] = scenario.hours
    document["abandon_target"] = scenario.abandon_target
    return document


def grid_paths(directory: Path = SCENARIOS_DIR) -> list[Path]:
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise ScenarioError(f"no scenario files in {directory}")
    return paths


def run_grid(paths: Sequence[Path], workers: int | None = None) -> list[dict[str, Any]]:
    workers = workers or min(len(paths), os.cpu_count() or 1)
    names = [str(p) for p in paths]
    if workers <= 1:
        documents = [_simulate_file(name) for name in names]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            documents = list(pool.map(_simulate_file, names))
    return sorted(documents, key=lambda d: (d["agents"], d["answer_human"], d["scenario"]))


def render(documents: Sequence[dict[str, Any]]) -> str:
    rows = []
    for document in documents:
        for policy in POLICIES:
            figures = document["policies"][policy]
            rows.append(
                [
                    document["scenario"],
                    policy,
                    f"{figures['occupancy']:.3f}",
                    f"{figures['drop_rate']:.2%}",
                    figures["connects_per_agent_hour"],
                    figures["dials_per_connect"],
                ]
            )
    headers = ["scenario", "policy", "occupancy", "drop rate", "connects / agent-hour", "dials / connect"]
    return markdown_table(headers, rows)


def check_targets(documents: Sequence[dict[str, Any]]) -> list[str]:
    """The issue's targets, as failures (empty when all are met)."""
    failures = []
    for document in documents:
        ours = document["policies"]["predictive"]
        if ours["drop_rate"] > document["abandon_target"]:
            failures.append(
                f"{document['scenario']}: predictive drop rate {ours['drop_rate']:.2%} "
                f"> target {document['abandon_target']:.2%}"
            )
        if document["agents"] == 20 and document["answer_human"] == 0.35:
            best_baseline = max(document["policies"][p]["occupancy"] for p in ("progressive", "adaptive"))
            if ours["occupancy"] < 0.80 or ours["occupancy"] <= best_baseline:
                failures.append(
                    f"{document['scenario']}: predictive occupancy {ours['occupancy']:.3f} "
                    f"(needs >= 0.80 and > best baseline {best_baseline:.3f})"
                )
    return failures


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dialer", description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--scenario", type=Path, help="one scenario JSON file; prints the result JSON")
    what.add_argument("--grid", action="store_true", help="every file in bench/scenarios/; prints a Markdown table")
    parser.add_argument("--scenarios-dir", type=Path, default=SCENARIOS_DIR, help="--grid: where the scenarios are")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="--grid: where dialer_grid.json goes")
    parser.add_argument("--workers", type=int, default=None, help="--grid: processes (default: one per core)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = parse_args(argv)
    try:
        if args.scenario:
            document = _simulate_file(str(args.scenario))
            out(json.dumps(document, indent=2, sort_keys=True))
            return 0
        documents = run_grid(grid_paths(args.scenarios_dir), args.workers)
    except (ScenarioError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failures = check_targets(documents)
    path = write_json(
        args.results_dir / "dialer_grid.json",
        {"scenarios": list(documents), "targets_met": not failures, "target_failures": failures},
    )
    out(render(documents))
    for failure in failures:
        print(f"target missed: {failure}", file=sys.stderr)
    print(f"dialer: wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
