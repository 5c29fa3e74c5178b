"""What a caller's keypress or words mean at each menu (I2, I4, I5, I11). Pure functions.

Speech decides only when it is unmistakable (#16): Twilio heard it with at least
``MIN_SPEECH_CONFIDENCE``; it holds no negation or doubt in any of the catalogs' languages
("ні, не так", "no, do not confirm", "нет", "maybe"); and it names exactly one option of the
menu, by whole words (so "так, скасувати" names two and decides nothing). Anything else is
not understood, never an action.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# Twilio's ``Confidence`` of a speech result (0.0-1.0) below which the words decide nothing.
MIN_SPEECH_CONFIDENCE = 0.6

# Words that turn a phrase around or leave it open, in uk, ru and en: heard anywhere in what
# the caller said, nothing is decided (callers mix languages, so all three always count).
NEGATIONS = frozenset(
    {
        "не", "ні", "нє", "ніт", "ніколи", "нема", "немає",  # uk
        "нет", "неа", "ни", "никогда",  # ru
        "no", "not", "nope", "nah", "never", "dont", "cannot", "cant", "wont", "didnt", "doesnt",  # en
    }
)  # fmt: skip
DOUBTS = frozenset(
    {
        "але", "проте", "можливо", "може", "зачекайте", "почекайте", "стоп",  # uk
        "но", "однако", "возможно", "может", "подождите", "погодите",  # ru
        "but", "maybe", "perhaps", "wait", "stop",  # en
    }
)  # fmt: skip
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "ё": "е"})
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def hint_words(hints: str) -> list[str]:
    """Catalog hints are comma-separated phrases: ``"confirm, yes"``."""
    return [word.strip().lower() for word in hints.split(",") if word.strip()]


def words(text: str) -> tuple[str, ...]:
    """The words of ``text``, lower case, one apostrophe (Ukrainian "з'єдную", English "don't")."""
    return tuple(_WORD.findall(text.lower().translate(_APOSTROPHES)))


def _turned(word: str) -> bool:
    return word in NEGATIONS or word in DOUBTS or word.endswith("n't")


def _names(said: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """``phrase`` occurs in ``said`` as whole words, in order."""
    size = len(phrase)
    return size > 0 and any(said[start : start + size] == phrase for start in range(len(said) - size + 1))


def spoken_choice(speech: str, hints: Mapping[str, str], confidence: float | None) -> str | None:
    """The one option whose hint phrases ``speech`` names, or None: heard with too little (or
    no) confidence, negated or doubtful, naming no option or several."""
    if confidence is None or confidence < MIN_SPEECH_CONFIDENCE:
        return None
    said = words(speech)
    if any(_turned(word) for word in said):
        return None
    named = {
        option
        for option, phrases in hints.items()
        if any(_names(said, words(phrase)) for phrase in hint_words(phrases))
    }
    return named.pop() if len(named) == 1 else None


def choose(
    digits: str | None,
    speech: str | None,
    options: Mapping[str, str],
    hints: Mapping[str, str] | None = None,
    confidence: float | None = None,
) -> str | None:
    """The option a caller picked: by digit, else by their speech (``spoken_choice``).

    ``options`` maps digits to option names; ``hints`` maps option names to catalog hints (a
    hinted option that is not on offer still makes the speech ambiguous, but is never chosen);
    ``confidence`` is Twilio's for the speech, None when it sent none.
    """
    if digits:
        return options.get(digits.strip()[:1])
    if speech and hints:
        option = spoken_choice(speech, hints, confidence)
        return option if option in options.values() else None
    return None


def language_digits(languages: Sequence[str]) -> dict[str, str]:
    """Digit -> language in the shop's order: 1 the first language, 2 the second..."""
    return {str(position): language for position, language in enumerate(languages, start=1)}


def next_attempt(attempt: int, max_attempts: int) -> int | None:
    """The next try at a menu after a wrong or missing answer, or None once tries are spent."""
    return attempt + 1 if attempt + 1 < max_attempts else None
