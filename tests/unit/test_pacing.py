"""Pacing decisions (O8) on hand-built snapshots: the pure policy production and the simulator share."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.pacing import (
    MARGINAL_TO_AVERAGE,
    AdaptiveDialLevel,
    CallRecord,
    PacingSnapshot,
    PacingStats,
    decide,
    estimate_stats,
    expected_overflow,
    marginal_drop_share,
    probability_free_within,
    probability_live_answer,
    uncovered_lines_allowed,
)

STATS = PacingStats(
    answer_human=0.35,
    answer_machine=0.15,
    ring_mean_seconds=14.5,
    ring_sd_seconds=6.0,
    no_answer_seconds=30.0,
    amd_human_seconds=2.5,
    amd_machine_seconds=3.5,
    handle_mean_seconds=170.0,
    handle_sd_seconds=90.0,
    handle_min_seconds=20.0,
)


def snapshot(**overrides: object) -> PacingSnapshot:
    """A mid-day snapshot with plenty of drop budget (5 drops in 1000 live answers)."""
    fields: dict[str, object] = {
        "agents_ready": 0,
        "agents_busy": (),
        "calls_in_flight": (),
        "stats": STATS,
        "live_answers_today": 1000,
        "drops_today": 5,
        "mode": "predictive",
        "max_lines": 100,
    }
    fields.update(overrides)
    return PacingSnapshot(**fields)  # type: ignore[arg-type]


# --- progressive ------------------------------------------------------------------------


def test_progressive_is_one_call_per_ready_agent_not_yet_covered() -> None:
    # GIVEN 5 ready agents, 2 calls already ringing for them and 1 live answer waiting
    decision = decide(snapshot(mode="progressive", agents_ready=5, calls_in_flight=(3.0, 9.0), live_waiting=1))
    # THEN only the 2 uncovered agents get a call
    assert (decision.calls_to_place, decision.mode_used) == (2, "progressive")


def test_progressive_ignores_busy_agents_and_never_goes_negative() -> None:
    busy = tuple(float(e) for e in range(0, 200, 10))
    assert decide(snapshot(mode="progressive", agents_ready=0, agents_busy=busy)).calls_to_place == 0
    # more calls in flight than ready agents (left over from predictive pacing): zero, not negative
    decision = decide(snapshot(mode="progressive", agents_ready=1, calls_in_flight=(1.0, 2.0, 3.0)))
    assert decision.calls_to_place == 0


def test_progressive_respects_max_lines() -> None:
    decision = decide(snapshot(mode="progressive", agents_ready=10, calls_in_flight=(1.0,), max_lines=4))
    assert decision.calls_to_place == 3


# --- predictive -------------------------------------------------------------------------


def test_predictive_places_more_when_busy_agents_are_about_to_free_up() -> None:
    # GIVEN 20 busy agents and nothing ringing; WHEN they have just started their calls ...
    fresh = decide(snapshot(agents_busy=(5.0,) * 20))
    # ... or have already talked for about the mean handle time (about 4 expected free soon)
    ending = decide(snapshot(agents_busy=(165.0,) * 20))
    # THEN the dialer waits for the fresh ones and dials ahead for the ending ones
    assert fresh.mode_used == ending.mode_used == "predictive"
    assert fresh.calls_to_place == 0
    assert ending.calls_to_place > fresh.calls_to_place
    assert ending.expected_free_agents > fresh.expected_free_agents
    # and the calls placed stay matched to the agents expected free: live answers expected
    # do not exceed the agents expected free by more than the drop budget allows (a fraction)
    assert ending.expected_live_answers <= ending.expected_free_agents + 1.0


def test_predictive_dials_ahead_of_ready_agents_by_more_than_progressive() -> None:
    decision = decide(snapshot(agents_ready=10, agents_busy=(60.0,) * 10))
    assert decision.mode_used == "predictive"
    assert decision.calls_to_place > 10  # one per ready agent would be progressive
    assert decision.calls_to_place * STATS.answer_human <= decision.expected_free_agents + 1.0


def test_predictive_counts_calls_already_in_flight() -> None:
    idle = decide(snapshot(agents_ready=10))
    ringing = decide(snapshot(agents_ready=10, calls_in_flight=(2.0,) * 10))
    assert ringing.calls_to_place < idle.calls_to_place


def test_predictive_never_places_fewer_than_progressive() -> None:
    # a waiting live answer is due to take a ready agent; the others still get their call
    decision = decide(snapshot(agents_ready=3, live_waiting=1))
    assert decision.calls_to_place >= 2


def test_fallback_to_progressive_when_one_more_drop_would_exceed_the_target() -> None:
    # GIVEN 30 drops in 1000 live answers (3.0%: the budget is spent)
    decision = decide(snapshot(agents_ready=4, agents_busy=(165.0,) * 10, drops_today=30))
    # THEN the dialer stops predicting and says why
    assert decision.mode_used == "progressive"
    assert decision.calls_to_place == 4
    assert "fallback to progressive" in decision.reason
    assert "30 drops / 1000 live answers" in decision.reason
    # one drop fewer leaves room for exactly one more: still predictive
    assert decide(snapshot(agents_ready=4, agents_busy=(165.0,) * 10, drops_today=29)).mode_used == "predictive"


def test_start_of_day_is_progressive_until_a_drop_fits_the_budget() -> None:
    # GIVEN 32 live answers: a drop on the next one would make 1/33 = 3.03% > 3%
    early = decide(snapshot(agents_ready=4, agents_busy=(165.0,) * 10, live_answers_today=32, drops_today=0))
    # AND 33 live answers: a drop on the next one makes 1/34 = 2.94%
    later = decide(snapshot(agents_ready=4, agents_busy=(165.0,) * 10, live_answers_today=33, drops_today=0))
    # THEN the first stays progressive (one call per ready agent) and the second may predict
    assert early.mode_used == "progressive" and "fallback" in early.reason
    assert early.calls_to_place == 4
    assert later.mode_used == "predictive"


def test_uncovered_lines_allowed_is_todays_drop_budget_in_lines() -> None:
    assert uncovered_lines_allowed(snapshot(live_answers_today=0, drops_today=0)) == 0
    assert uncovered_lines_allowed(snapshot(live_answers_today=32, drops_today=0)) == 0
    assert uncovered_lines_allowed(snapshot(live_answers_today=33, drops_today=0)) == 1  # 1/34 <= 3%
    assert uncovered_lines_allowed(snapshot(live_answers_today=1000, drops_today=5)) == 25  # 30/1025 <= 3% < 31/1026
    assert uncovered_lines_allowed(snapshot(live_answers_today=1000, drops_today=30)) == 0


def test_predictive_never_leaves_more_lines_without_an_agent_than_the_budget() -> None:
    # GIVEN 40 live answers and no drop today: one drop fits (1/41), two do not (2/42 > 3%)
    # AND no ready agent, but thirty agents well into their calls (a roomy day dials several)
    busy = (300.0,) * 30
    roomy = decide(snapshot(agents_ready=0, agents_busy=busy, live_answers_today=1000, drops_today=5))
    assert roomy.calls_to_place > 1
    # WHEN the dialer decides on the small day
    decision = decide(snapshot(agents_ready=0, agents_busy=busy, live_answers_today=40, drops_today=0))
    # THEN it places a single call: even if a person answers it and no agent is free, 1/41 <= 3%
    assert decision.mode_used == "predictive"
    assert decision.calls_to_place == 1
    assert "capped by the drop budget" in decision.reason
    # AND with that call ringing it places no other
    assert (
        decide(
            snapshot(agents_ready=0, agents_busy=busy, calls_in_flight=(3.0,), live_answers_today=40, drops_today=0)
        ).calls_to_place
        == 0
    )


@settings(max_examples=300, deadline=None)
@given(
    ready=st.integers(0, 30),
    busy=st.lists(st.floats(0, 3000), max_size=30),
    in_flight=st.lists(st.floats(0, 60), max_size=40),
    waiting=st.integers(0, 3),
    answers=st.integers(0, 3000),
    drop_share=st.floats(0, 0.05),
)
def test_every_line_without_a_ready_agent_could_drop_and_the_day_stays_within_the_target(
    ready: int, busy: list[float], in_flight: list[float], waiting: int, answers: int, drop_share: float
) -> None:
    drops = int(answers * drop_share)
    snap = snapshot(
        agents_ready=ready,
        agents_busy=busy,
        calls_in_flight=in_flight,
        live_waiting=waiting,
        live_answers_today=answers,
        drops_today=drops,
    )
    decision = decide(snap)
    progressive = max(0, ready - len(in_flight) - waiting)
    if decision.calls_to_place > progressive:  # beyond one call per ready agent
        # worst case: every line in use beyond the ready agents is answered by a person and dropped
        worst = len(in_flight) + waiting + decision.calls_to_place - ready
        assert (drops + worst) <= snap.abandon_target * (answers + worst) + 1e-9


def test_no_agents_logged_in_places_nothing() -> None:
    assert decide(snapshot(agents_ready=0, agents_busy=())).calls_to_place == 0


def test_predictive_respects_max_lines() -> None:
    decision = decide(snapshot(agents_ready=30, agents_busy=(165.0,) * 20, calls_in_flight=(1.0,) * 3, max_lines=8))
    assert decision.calls_to_place == 5


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from(["progressive", "predictive"]),
    ready=st.integers(0, 40),
    busy=st.lists(st.floats(0, 3000), max_size=40),
    in_flight=st.lists(st.floats(0, 60), max_size=60),
    waiting=st.integers(0, 5),
    answers=st.integers(0, 3000),
    drop_share=st.floats(0, 1),
    max_lines=st.integers(0, 80),
    answer_human=st.floats(0, 0.8),
)
def test_never_negative_and_never_above_max_lines(
    mode: str,
    ready: int,
    busy: list[float],
    in_flight: list[float],
    waiting: int,
    answers: int,
    drop_share: float,
    max_lines: int,
    answer_human: float,
) -> None:
    stats = PacingStats(answer_human=answer_human, answer_machine=0.15, handle_min_seconds=20.0)
    decision = decide(
        snapshot(
            mode=mode,
            agents_ready=ready,
            agents_busy=busy,
            calls_in_flight=in_flight,
            live_waiting=waiting,
            live_answers_today=answers,
            drops_today=int(answers * drop_share),
            max_lines=max_lines,
            stats=stats,
        )
    )
    assert decision.calls_to_place >= 0
    if decision.calls_to_place:
        assert len(in_flight) + waiting + decision.calls_to_place <= max_lines


def test_snapshot_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="drops_today"):
        snapshot(drops_today=11, live_answers_today=10)
    with pytest.raises(ValueError, match="mode"):
        snapshot(mode="preview")


# --- the model's parts ------------------------------------------------------------------


def test_expected_overflow_of_a_normal() -> None:
    assert expected_overflow(0.0, 1.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert expected_overflow(3.0, 0.0) == 3.0
    assert expected_overflow(-3.0, 0.0) == 0.0
    assert expected_overflow(-10.0, 1.0) == pytest.approx(0.0, abs=1e-12)


def test_probability_free_within_follows_the_handle_time_distribution() -> None:
    # the wrap-up is a fixed 20 s: a call 5 s old cannot end in the next 10 s
    assert probability_free_within(5.0, 10.0, STATS) == 0.0
    # longer horizons and calls nearer the typical end both make freeing likelier
    assert probability_free_within(100.0, 10.0, STATS) < probability_free_within(100.0, 30.0, STATS)
    assert probability_free_within(30.0, 20.0, STATS) < probability_free_within(150.0, 20.0, STATS)
    assert 0.0 <= probability_free_within(100000.0, 20.0, STATS) <= 1.0


def test_probability_live_answer_falls_with_age() -> None:
    fresh = probability_live_answer(0.0, STATS)
    assert fresh == pytest.approx(STATS.answer_human, abs=0.005)
    # while unanswered calls are still ringing, the older a call the less likely a person
    ages = [0.0, 10.0, 15.0, 20.0, 25.0, 29.0]
    chances = [probability_live_answer(a, STATS) for a in ages]
    assert chances == sorted(chances, reverse=True)
    # nobody answers after the no-answer timeout: past it and the AMD time, no live answer
    assert probability_live_answer(STATS.no_answer_seconds + STATS.amd_machine_seconds, STATS) == 0.0
    assert probability_live_answer(120.0, STATS) == 0.0


def test_marginal_drop_share_is_spent_from_todays_budget() -> None:
    aim = 0.015
    assert marginal_drop_share(snapshot(drops_today=10, live_answers_today=1000)) == MARGINAL_TO_AVERAGE * aim
    assert marginal_drop_share(snapshot(drops_today=15, live_answers_today=1000)) == pytest.approx(
        MARGINAL_TO_AVERAGE * aim
    )
    halfway = marginal_drop_share(snapshot(drops_today=225, live_answers_today=10000))  # 2.25%
    assert halfway == pytest.approx(MARGINAL_TO_AVERAGE * aim / 2)
    assert marginal_drop_share(snapshot(drops_today=30, live_answers_today=1000)) == 0.0
    assert marginal_drop_share(snapshot(drops_today=0, live_answers_today=0)) == 0.0


def test_estimate_stats_blends_recent_calls_with_the_prior() -> None:
    prior = PacingStats(answer_human=0.3, answer_machine=0.1, handle_min_seconds=20.0, no_answer_seconds=25.0)
    calls = [CallRecord("human", 10.0, 2.0)] * 40 + [CallRecord("no-answer")] * 40
    stats = estimate_stats(calls, [100.0] * 80, prior, prior_weight=20)
    assert stats.answer_human == pytest.approx((40 + 20 * 0.3) / 100)
    assert stats.answer_machine == pytest.approx(20 * 0.1 / 100)
    assert stats.ring_mean_seconds == pytest.approx((40 * 10 + 20 * 15) / 60)
    assert stats.amd_human_seconds == pytest.approx((40 * 2 + 20 * 2.5) / 60)
    assert stats.handle_mean_seconds == pytest.approx((80 * 100 + 20 * 180) / 100)
    assert (stats.handle_min_seconds, stats.no_answer_seconds) == (20.0, 25.0)  # configuration, kept
    assert estimate_stats([], [], prior) == prior


# --- the VICIdial-style baseline --------------------------------------------------------


def test_adaptive_level_one_is_progressive() -> None:
    level = AdaptiveDialLevel()
    assert level.calls_to_place(agents_ready=4, agents_busy=6, calls_in_flight=1) == 3


def test_adaptive_level_rises_without_drops_and_stays_within_bounds() -> None:
    level = AdaptiveDialLevel(max_level=1.5, step_up=0.1, interval_seconds=15)
    for second in range(0, 600, 5):
        level.update(float(second), drops_today=0, live_answers_today=second)
    assert level.level == pytest.approx(1.5)
    assert level.calls_to_place(agents_ready=2, agents_busy=8, calls_in_flight=1, max_lines=100) == 6


def test_adaptive_level_steps_down_on_recent_drops_and_resets_at_the_target() -> None:
    level = AdaptiveDialLevel(
        target=0.03, step_up=0.5, step_down=0.25, max_level=3.0, interval_seconds=15, window_seconds=20
    )
    level.update(0.0, 0, 0)
    level.update(15.0, 0, 100)
    level.update(30.0, 0, 200)
    assert level.level == pytest.approx(2.0)
    level.update(45.0, 4, 220)  # 4 drops in the last 20 answers (20%), 1.8% today
    assert level.level == pytest.approx(1.75)
    level.update(60.0, 8, 240)  # today 3.3%: hard limit
    assert level.level == 1.0
