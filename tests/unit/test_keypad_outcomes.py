"""The keypad outcomes of phone-only agents (A4): one digit per outcome, 0 skips, and every
outcome has its word in every catalog."""

from __future__ import annotations

import pytest

from chalicelib.domain.keypad_outcomes import KEYPAD_OUTCOMES, keyed_outcome
from chalicelib.domain.outcomes import OUTCOMES
from chalicelib.voice.catalog import load_catalog


def test_every_key_is_a_known_outcome_and_no_outcome_has_two_keys() -> None:
    assert set(KEYPAD_OUTCOMES.values()) <= set(OUTCOMES)
    assert len(set(KEYPAD_OUTCOMES.values())) == len(KEYPAD_OUTCOMES)
    assert "callback" not in KEYPAD_OUTCOMES.values()  # needs a time: the desk or the API


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("1", "confirmed"),
        ("2", "cancelled"),
        ("4", "needs_manager"),
        ("8", "duplicate"),
        ("0", "skip"),
        ("9", None),
        ("*", None),
        ("", None),
        (None, None),
        ("15", "confirmed"),
    ],
)
def test_a_key_means_its_outcome(digits: str | None, expected: str | None) -> None:
    assert keyed_outcome(digits) == expected


@pytest.mark.parametrize("language", ["uk", "ru", "en"])
def test_the_menu_names_every_key_and_each_outcome_has_a_word(language: str) -> None:
    catalog = load_catalog(language)
    menu = catalog.text("agent_outcome_menu")
    for digit, outcome in KEYPAD_OUTCOMES.items():
        assert f"{digit}." in menu
        assert catalog.text(f"agent_outcome_{outcome}").strip()
    assert "0." in menu
