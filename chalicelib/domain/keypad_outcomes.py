"""Outcomes a phone-only agent keys in after an agent-first call (A4): one digit each. Pure."""

from __future__ import annotations

# digit -> outcome code (chalicelib.domain.outcomes.OUTCOMES); a callback needs a time, so it is
# left to the desk or the API. 0 skips: the outcome can still be saved there.
KEYPAD_OUTCOMES: dict[str, str] = {
    "1": "confirmed",
    "2": "cancelled",
    "3": "question_answered",
    "4": "needs_manager",
    "5": "complaint",
    "6": "wrong_number",
    "7": "fake",
    "8": "duplicate",
}
SKIP = "0"


def keyed_outcome(digits: str | None) -> str | None:
    """The outcome behind the first key pressed, ``"skip"`` for 0, None for anything else."""
    key = (digits or "").strip()[:1]
    if key == SKIP:
        return "skip"
    return KEYPAD_OUTCOMES.get(key)
