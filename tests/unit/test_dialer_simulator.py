"""The dialer simulator's properties on a short scenario (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bench.dialer as dialer
from bench.dialer import Scenario, ScenarioError, load_scenario, simulate
from chalicelib.domain import pacing

SHORT: dict[str, Any] = {
    "agents": 6,
    "hours": 0.5,
    "answer_human": 0.35,
    "answer_machine": 0.15,
    "ring_seconds": [4, 25],
    "no_answer_seconds": 30,
    "amd_seconds": {"human": 2.5, "machine": 3.5},
    "talk_seconds": {"mean": 150, "sd": 90},
    "wrap_seconds": 20,
    "connect_within_seconds": 2,
    "abandon_target": 0.03,
    "seed": 7,
}


def scenario(**overrides: Any) -> Scenario:
    return Scenario.from_dict({**SHORT, **overrides}, default_name="short")


def test_same_seed_same_result_other_seed_other_result() -> None:
    first = simulate(scenario())
    assert simulate(scenario()) == first
    assert simulate(scenario(seed=8)) != first


def test_figures_are_computed_as_defined() -> None:
    # a busy scenario, so that the baselines do drop calls
    result = simulate(scenario(agents=10, hours=1.0, answer_human=0.5, seed=3))
    for name, figures in result["policies"].items():
        live, drops, connects, dials = (figures[k] for k in ("live_answers", "drops", "connects", "dials"))
        assert figures["drop_rate"] == round(drops / live, 4), name
        assert figures["connects_per_agent_hour"] == round(connects / 10.0, 2), name
        assert figures["dials_per_connect"] == round(dials / connects, 2), name
        # every live answer is bridged or dropped, except those still waiting at the end
        assert connects + drops <= live <= connects + drops + 10, name
        assert 0.0 < figures["occupancy"] <= 1.0, name
    assert result["policies"]["progressive"]["drops"] == 0  # one call per free agent never drops


def test_predictive_in_the_simulator_runs_the_production_pacing_code(monkeypatch: pytest.MonkeyPatch) -> None:
    modes: list[str] = []

    def spy(snapshot: pacing.PacingSnapshot) -> pacing.PacingDecision:
        modes.append(snapshot.mode)
        return pacing.decide(snapshot)

    assert dialer.decide is pacing.decide
    monkeypatch.setattr(dialer, "decide", spy)
    simulate(scenario(), policies=["predictive"])
    assert modes and set(modes) == {"predictive"}


def test_stats_are_learned_from_finished_calls_not_given() -> None:
    campaign = dialer._Campaign(scenario(answer_human=0.5), "predictive")
    campaign.run()
    assert campaign.stats != campaign.prior
    assert campaign.stats.answer_human == pytest.approx(0.5, abs=0.1)
    assert campaign.stats.handle_min_seconds == 20.0


def test_unknown_key_is_an_error_naming_it() -> None:
    with pytest.raises(ScenarioError, match=r"unknown scenario key.*answer_robot"):
        Scenario.from_dict({**SHORT, "answer_robot": 0.1})


def test_missing_key_is_an_error_naming_it() -> None:
    data = dict(SHORT)
    del data["wrap_seconds"]
    with pytest.raises(ScenarioError, match=r"missing scenario key.*wrap_seconds"):
        Scenario.from_dict(data)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ring_seconds", [25, 4], "min must not exceed max"),
        ("amd_seconds", {"human": 2.5}, "amd_seconds must be an object"),
        ("talk_seconds", [150, 90], "talk_seconds must be"),
        ("answer_human", 0.9, "must not exceed 1"),
        ("agents", "ten", "agents must be a number"),
        ("abandon_target", 0, "abandon_target must be within"),
    ],
)
def test_bad_values_are_errors(key: str, value: Any, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        Scenario.from_dict({**SHORT, key: value})


def test_load_scenario_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**SHORT, "colour": "red"}), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad\.json: unknown scenario key\(s\): colour"):
        load_scenario(path)


def test_cli_scenario_prints_json_and_grid_writes_results(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "tiny.json").write_text(json.dumps({**SHORT, "hours": 0.2}), encoding="utf-8")
    printed: list[str] = []
    assert dialer.main(["--scenario", str(scenarios / "tiny.json")], out=printed.append) == 0
    document = json.loads(printed[0])
    assert set(document["policies"]) == {"progressive", "adaptive", "predictive"}
    printed.clear()
    args = ["--grid", "--scenarios-dir", str(scenarios), "--results-dir", str(tmp_path), "--workers", "1"]
    assert dialer.main(args, out=printed.append) == 0
    assert printed[0].startswith("| scenario | policy | occupancy | drop rate |")
    written = json.loads((tmp_path / "dialer_grid.json").read_text(encoding="utf-8"))
    assert [d["scenario"] for d in written["scenarios"]] == ["tiny"]


def test_cli_reports_a_bad_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**SHORT, "oops": 1}), encoding="utf-8")
    assert dialer.main(["--scenario", str(path)], out=lambda _: None) == 2
    assert "unknown scenario key(s): oops" in capsys.readouterr().err


def test_shipped_grid_is_complete_and_valid() -> None:
    loaded = [load_scenario(path) for path in dialer.grid_paths()]
    grid = {(s.agents, s.answer_human) for s in loaded}
    assert grid == {(a, h) for a in (5, 10, 20, 50) for h in (0.2, 0.35, 0.5)}
    assert len({s.seed for s in loaded}) == len(loaded)  # each scenario its own random streams
    assert {s.abandon_target for s in loaded} == {0.03}
