"""An alert's facts in words (R6): whatever the figures, the owner reads sentences in the shop's
language, never a Python value (a dict, a list, a quote, None) or an ISO timestamp."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.routing import STATUSES
from chalicelib.voice.alert_words import (
    DropRateFacts,
    NeedsManagerFacts,
    QueueWaitFacts,
    agents_sentence,
    alert_words,
)
from chalicelib.voice.catalog import load_catalog, placeholders

PYTHON_LOOKS = re.compile(r"[{}\[\]']|None|\d{4}-\d\d-\d\dT\d\d:\d\d")
LANGUAGES = ("uk", "ru", "en")
KYIV_NOON = datetime(2015, 6, 2, 9, 5, tzinfo=UTC)


@settings(max_examples=150, deadline=None)
@given(
    language=st.sampled_from(LANGUAGES),
    by_status=st.dictionaries(st.sampled_from(STATUSES), st.integers(min_value=0, max_value=500)),
    waiting=st.integers(min_value=0, max_value=10_000),
    wait=st.integers(min_value=0, max_value=100_000),
    limit=st.integers(min_value=0, max_value=100_000),
)
def test_a_queue_alert_never_prints_python_whatever_the_counts(
    language: str, by_status: dict[str, int], waiting: int, wait: int, limit: int
) -> None:
    facts = QueueWaitFacts("Acme", KYIV_NOON, "Europe/Kyiv", waiting, wait, limit, by_status)
    words = alert_words(facts, load_catalog(language))
    for said in (words.subject, words.body, words.sms or ""):
        assert PYTHON_LOOKS.search(said) is None, said
    for count in by_status.values():
        if count:
            assert str(count) in words.body


@settings(max_examples=60, deadline=None)
@given(
    language=st.sampled_from(LANGUAGES),
    dropped=st.integers(min_value=0, max_value=1000),
    answers=st.integers(min_value=1, max_value=1000),
    percent=st.decimals(min_value=0, max_value=100, places=1),
    limit=st.decimals(min_value=0, max_value=100, allow_nan=False, allow_infinity=False),
)
def test_a_drop_rate_alert_writes_numbers_as_people_do(
    language: str, dropped: int, answers: int, percent: Decimal, limit: Decimal
) -> None:
    words = alert_words(DropRateFacts("Acme", dropped, answers, percent, limit), load_catalog(language))
    for said in (words.subject, words.body, words.sms or ""):
        assert PYTHON_LOOKS.search(said) is None and "E+" not in said and "E-" not in said, said


def test_agents_by_status_is_a_sentence_in_each_language() -> None:
    by_status = {"offline": 2, "break": 1, "available": 0}
    assert agents_sentence(by_status, load_catalog("en")) == "Agents: 1 on a break, 2 offline."
    assert agents_sentence(by_status, load_catalog("uk")) == "Оператори: на перерві — 1, не в мережі — 2."
    assert agents_sentence(by_status, load_catalog("ru")) == "Операторы: на перерыве — 1, не в сети — 2."
    assert agents_sentence({}, load_catalog("uk")) == "У магазині немає жодного оператора."


def test_a_needs_manager_email_says_the_purpose_in_words_and_dashes_what_is_missing() -> None:
    words = alert_words(NeedsManagerFacts("Acme", "CA1", purpose="inbound"), load_catalog("uk"))
    assert words.sms is None
    assert words.subject == "Acme: клієнт потребує менеджера (замовлення —)"
    assert "Мета дзвінка: клієнт зателефонував у магазин" in words.body
    assert "Коментар: —" in words.body and PYTHON_LOOKS.search(words.body) is None


def test_every_catalog_words_every_alert_with_the_same_placeholders() -> None:
    reference = load_catalog("en").alert
    for language in LANGUAGES:
        catalog = load_catalog(language)
        assert set(catalog.alert) == set(reference), language
        for name, template in reference.items():
            assert placeholders(catalog.alert[name]) == placeholders(template), f"{language}.alert.{name}"
