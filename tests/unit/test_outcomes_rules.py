"""Outcome rules (A4): codes, callback times, what a (corrected) outcome does to the orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.outcomes import (
    OutcomeRefused,
    correction_open,
    order_moves,
    parse_outcome,
)

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)


def test_a_valid_callback_outcome_is_parsed_with_its_time() -> None:
    parsed = parse_outcome(
        {"agent_id": " anna ", "outcome": "callback", "comment": " later ", "callback_at": "2015-11-24T12:00:00+02:00"},
        NOW,
    )
    assert (parsed.agent_id, parsed.outcome, parsed.comment) == ("anna", "callback", "later")
    assert parsed.callback_at == datetime(2015, 11, 24, 10, 0, tzinfo=UTC)


def test_callback_at_is_ignored_for_other_outcomes() -> None:
    parsed = parse_outcome({"agent_id": "anna", "outcome": "confirmed", "callback_at": "yesterday"}, NOW)
    assert parsed.callback_at is None


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"outcome": "confirmed"}, "agent_id", "required"),
        ({"agent_id": "anna"}, "outcome", "required"),
        ({"agent_id": "anna", "outcome": "CONFIRMED"}, "outcome", "unknown"),
        ({"agent_id": "anna", "outcome": "confirmed", "comment": 5}, "comment", "string"),
        ({"agent_id": "anna", "outcome": "callback"}, "callback_at", "required"),
        ({"agent_id": "anna", "outcome": "callback", "callback_at": "soon"}, "callback_at", "iso 8601"),
        ({"agent_id": "anna", "outcome": "callback", "callback_at": "2015-11-24T12:00:00"}, "callback_at", "offset"),
        (
            {"agent_id": "anna", "outcome": "callback", "callback_at": "2015-11-23T10:00:00+00:00"},
            "callback_at",
            "past",
        ),
        ({"agent_id": "anna", "outcome": "callback", "callback_at": "2015-12-23T10:00:01+00:00"}, "callback_at", "30"),
    ],
)
def test_bad_outcomes_name_the_field(body: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(OutcomeRefused) as refused:
        parse_outcome(body, NOW)
    assert refused.value.field == field
    assert words in refused.value.message.lower()


def test_corrections_are_open_until_the_wrap_up_window_after_the_first_save_ends() -> None:
    assert correction_open(NOW, NOW + timedelta(seconds=30), 30)
    assert not correction_open(NOW, NOW + timedelta(seconds=31), 30)


@pytest.mark.parametrize(
    ("previous", "outcome", "expected"),
    [
        (None, "confirmed", ({"queued", "unreachable"}, "confirmed")),
        (None, "cancelled", ({"queued", "unreachable"}, "cancelled")),
        (None, "callback", None),
        (None, "needs_manager", None),
        ("confirmed", "cancelled", ({"queued", "unreachable", "confirmed"}, "cancelled")),
        ("cancelled", "confirmed", ({"queued", "unreachable", "cancelled"}, "confirmed")),
        ("confirmed", "confirmed", None),
        ("confirmed", "callback", ({"confirmed"}, "queued")),
        ("callback", "question_answered", None),
    ],
)
def test_what_an_outcome_does_to_the_orders(
    previous: str | None, outcome: str, expected: tuple[set[str], str] | None
) -> None:
    move = order_moves(previous, outcome)
    assert (None if move is None else (set(move[0]), move[1])) == expected
