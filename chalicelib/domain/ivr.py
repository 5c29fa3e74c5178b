"""What a caller's keypress or words mean at each menu (I2, I4, I5, I11). Pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def hint_words(hints: str) -> list[str]:
    """Catalog hints are comma-separated phrases: ``"confirm, yes"``."""
    return [word.strip().lower() for word in hints.split(",") if word.strip()]


def choose(
    digits: str | None, speech: str | None, options: Mapping[str, str], hints: Mapping[str, str] | None = None
) -> str | None:
    """The option a caller picked: by digit, else by a hint phrase heard in their speech.

    ``options`` maps digits to option names; ``hints`` maps option names to catalog hints.
    """
    if digits:
        return options.get(digits.strip()[:1])
    if speech and hints:
        said = speech.lower()
        for option, phrases in hints.items():
            if option in options.values() and any(phrase in said for phrase in hint_words(phrases)):
                return option
    return None


def language_digits(languages: Sequence[str]) -> dict[str, str]:
    """Digit -> language in the shop's order: 1 the first language, 2 the second..."""
    return {str(position): language for position, language in enumerate(languages, start=1)}


def next_attempt(attempt: int, max_attempts: int) -> int | None:
    """The next try at a menu after a wrong or missing answer, or None once tries are spent."""
    return attempt + 1 if attempt + 1 < max_attempts else None
