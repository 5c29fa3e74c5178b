"""Speech decides only when it is unmistakable (#16 item 3): the self-service menu's words in
uk, ru and en, said plainly, with a no, unsure or twice over; and junk from hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.ivr import DOUBTS, MIN_SPEECH_CONFIDENCE, NEGATIONS, choose, hint_words, words
from chalicelib.domain.twilio_fields import twilio_fraction
from chalicelib.voice.catalog import load_catalog

ORDER_MENU = {"1": "confirmed", "2": "cancelled", "0": "agent"}
WORDS = {"confirmed": "confirm", "cancelled": "cancel", "agent": "agent", "slot": "slot"}
SURE = 0.93


def order_hints(language: str) -> dict[str, str]:
    catalog = load_catalog(language)
    return {name: catalog.text(f"inbound_speech_{word}") for name, word in WORDS.items()}


def heard(language: str, speech: str, confidence: float | None = SURE) -> str | None:
    return choose(None, speech, ORDER_MENU, order_hints(language), confidence)


PLAIN = [
    ("uk", "Так", "confirmed"),
    ("uk", "так, підтверджую", "confirmed"),
    ("uk", "Підтвердити замовлення, будь ласка.", "confirmed"),
    ("uk", "скасуйте", "cancelled"),
    ("uk", "з'єднайте з оператором", "agent"),
    ("uk", "оператор", "agent"),
    ("ru", "Да", "confirmed"),
    ("ru", "подтверждаю", "confirmed"),
    ("ru", "отмените заказ", "cancelled"),
    ("ru", "Оператор, пожалуйста", "agent"),
    ("en", "Yes please.", "confirmed"),
    ("en", "I confirm", "confirmed"),
    ("en", "Cancel my order", "cancelled"),
    ("en", "Can I talk to a person?", "agent"),
]
NOT_MEANT = [
    ("uk", "ні, не так"),
    ("uk", "так, скасувати"),  # two answers in one breath
    ("uk", "ні"),
    ("uk", "не підтверджую"),
    ("uk", "не треба скасовувати, так"),
    ("uk", "так, але змініть адресу"),
    ("uk", "можливо, підтвердити"),
    ("uk", "отак"),  # "так" inside another word
    ("uk", "також"),
    ("ru", "нет, не подтверждаю"),
    ("ru", "да, отменить"),
    ("ru", "не надо"),  # "да" inside "надо"
    ("ru", "когда доставка"),
    ("ru", "да, но подождите"),
    ("ru", "никогда"),
    ("en", "no, do not confirm"),
    ("en", "Don't cancel"),
    ("en", "don’t confirm yet"),  # a typographic apostrophe
    ("en", "yes, cancel"),
    ("en", "Yesterday I ordered"),
    ("en", "not yet"),
    ("en", "maybe yes"),
    ("en", "yes but wait"),
    ("en", "hmm"),
    ("en", "what is this about"),
]


@pytest.mark.parametrize(("language", "speech", "option"), PLAIN)
def test_a_plain_answer_in_each_language_picks_its_option(language: str, speech: str, option: str | None) -> None:
    assert heard(language, speech) == option


@pytest.mark.parametrize(("language", "speech"), NOT_MEANT)
def test_a_no_a_doubt_two_answers_or_unknown_words_decide_nothing(language: str, speech: str) -> None:
    assert heard(language, speech) is None


@pytest.mark.parametrize("language", ["uk", "ru", "en"])
def test_words_heard_unsurely_or_without_a_confidence_decide_nothing(language: str) -> None:
    yes = hint_words(order_hints(language)["confirmed"])[-1]
    assert heard(language, yes) == "confirmed"
    assert heard(language, yes, MIN_SPEECH_CONFIDENCE) == "confirmed"
    assert heard(language, yes, MIN_SPEECH_CONFIDENCE - 0.01) is None
    assert heard(language, yes, 0.0) is None
    assert heard(language, yes, None) is None


def test_a_hinted_option_not_on_offer_is_never_chosen_and_still_makes_the_speech_ambiguous() -> None:
    hints = order_hints("en")  # "slot" is hinted but not offered in ORDER_MENU
    assert choose(None, "delivery time", ORDER_MENU, hints, SURE) is None
    assert choose(None, "yes, delivery time", ORDER_MENU, hints, SURE) is None
    assert choose(None, "yes", {**ORDER_MENU, "3": "slot"}, hints, SURE) == "confirmed"


def test_a_key_decides_whatever_was_said() -> None:
    assert choose("2", "no, do not cancel", ORDER_MENU, order_hints("en"), 0.1) == "cancelled"
    assert choose("7", "yes", ORDER_MENU, order_hints("en"), SURE) is None


def test_twilios_confidence_is_read_as_a_fraction_and_garbage_is_none() -> None:
    assert twilio_fraction("0.9575713") == pytest.approx(0.9575713)
    assert twilio_fraction("1") == 1.0
    for junk in ["", " ", "NaN", "nan", "Infinity", "1e-1", "-0.2", "1.5", "0x1", "١", "0,9", None, "9" * 400]:
        assert twilio_fraction(junk) is None, junk


# ---- hypothesis: junk around the words ---------------------------------------------------------
HINT_WORDS = frozenset(
    word
    for language in ("uk", "ru", "en")
    for phrases in order_hints(language).values()
    for phrase in hint_words(phrases)
    for word in words(phrase)
)
LETTERS = "abcdefghijklmnopqrstuvwxyzабвгґдеєжзиіїйклмнопрстуфхцчшщьюя'"
JUNK_WORD = st.text(alphabet=LETTERS, min_size=1, max_size=9).filter(
    lambda w: not (set(words(w)) & (HINT_WORDS | NEGATIONS | DOUBTS)) and "n't" not in w
)
GAPS = st.sampled_from([" ", ", ", ". ", "! ", "? ", " - ", "… "])
TURNS = st.sampled_from(sorted(NEGATIONS | DOUBTS | {"don't", "won't", "doesn’t"}))
LANGUAGE = st.sampled_from(["uk", "ru", "en"])
ANY_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=80)


def joined(parts: list[str], gaps: list[str]) -> str:
    return "".join(part + gap for part, gap in zip(parts, gaps, strict=False)) + (parts[-1] if parts else "")


@st.composite
def said_around(draw: st.DrawFn, middle: list[str]) -> str:
    before = draw(st.lists(JUNK_WORD, max_size=4))
    after = draw(st.lists(JUNK_WORD, max_size=4))
    parts = [*before, *middle, *after]
    return joined(parts, draw(st.lists(GAPS, min_size=len(parts), max_size=len(parts))))


@st.composite
def hint_of(draw: st.DrawFn, language: str, option: str) -> str:
    return draw(st.sampled_from(hint_words(order_hints(language)[option])))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), language=LANGUAGE, option=st.sampled_from(sorted(ORDER_MENU.values())))
def test_a_hint_among_unknown_words_picks_its_option(data: st.DataObject, language: str, option: str) -> None:
    speech = data.draw(said_around([data.draw(hint_of(language, option))]))
    confidence = data.draw(st.floats(MIN_SPEECH_CONFIDENCE, 1.0))
    assert choose(None, speech, ORDER_MENU, order_hints(language), confidence) == option


@settings(max_examples=300, deadline=None)
@given(data=st.data(), language=LANGUAGE, option=st.sampled_from(sorted(ORDER_MENU.values())), turn=TURNS)
def test_a_hint_with_a_no_or_a_doubt_anywhere_decides_nothing(
    data: st.DataObject, language: str, option: str, turn: str
) -> None:
    hint = data.draw(hint_of(language, option))
    middle = data.draw(st.permutations([hint, turn]))
    speech = data.draw(said_around(list(middle)))
    assert choose(None, speech, ORDER_MENU, order_hints(language), 1.0) is None


@settings(max_examples=300, deadline=None)
@given(data=st.data(), language=LANGUAGE, pair=st.permutations(sorted(ORDER_MENU.values())))
def test_two_options_in_one_breath_decide_nothing(data: st.DataObject, language: str, pair: list[str]) -> None:
    middle = [data.draw(hint_of(language, pair[0])), data.draw(hint_of(language, pair[1]))]
    speech = data.draw(said_around(middle))
    assert choose(None, speech, ORDER_MENU, order_hints(language), 1.0) is None


@settings(max_examples=300, deadline=None)
@given(speech=st.lists(JUNK_WORD, min_size=1, max_size=8).map(" ".join), language=LANGUAGE)
def test_unknown_words_decide_nothing(speech: str, language: str) -> None:
    assert choose(None, speech, ORDER_MENU, order_hints(language), 1.0) is None


@settings(max_examples=300, deadline=None)
@given(speech=ANY_TEXT, confidence=ANY_TEXT, language=LANGUAGE)
def test_any_text_heard_with_too_little_or_garbage_confidence_decides_nothing(
    speech: str, confidence: str, language: str
) -> None:
    score = twilio_fraction(confidence)
    if score is None or score < MIN_SPEECH_CONFIDENCE:
        assert choose(None, speech, ORDER_MENU, order_hints(language), score) is None
    assert choose(None, speech, ORDER_MENU, order_hints(language), MIN_SPEECH_CONFIDENCE / 2) is None
