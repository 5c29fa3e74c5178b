"""Every caller-facing word comes from a catalog: complete in every language, and the TwiML
built from it is what Twilio needs."""

import re
import tomllib
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.domain.entities import Order
from chalicelib.voice import inbound_twiml, twiml
from chalicelib.voice.catalog import catalog_dir, load_catalog, placeholders

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["uk", "ru", "en"]
REFERENCE = load_catalog("en")


def prompts_named_in_code() -> set[str]:
    # Prompts are named where TwiML is built: the voice and web layers.
    layers = [ROOT / "chalicelib" / "voice", ROOT / "chalicelib" / "web"]
    code = "".join(p.read_text() for layer in layers for p in layer.rglob("*.py"))
    return set(re.findall(r'"((?:robot|inbound)_[a-z_]+|number_not_in_service|goodbye|system_error)"', code))


def test_catalogs_are_read_from_the_twiml_folder() -> None:
    assert catalog_dir() == ROOT / "twiml"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_has_every_prompt_with_the_same_placeholders(language: str) -> None:
    catalog = load_catalog(language)
    assert set(catalog.prompts) == set(REFERENCE.prompts)
    for name, template in REFERENCE.prompts.items():
        assert placeholders(catalog.prompts[name]) == placeholders(template), f"{language}.{name}"
        assert catalog.prompts[name].strip(), f"{language}.{name} is empty"
    assert catalog.voice and catalog.tts_language
    assert {"UAH", "USD", "EUR"} <= set(catalog.currency_names)
    assert set(catalog.sms) == set(REFERENCE.sms)
    for name, template in REFERENCE.sms.items():
        assert placeholders(catalog.sms[name]) == placeholders(template), f"{language}.sms.{name}"
        assert "{shop_name}" in catalog.sms[name], "a text says who sends it"


def test_every_prompt_the_code_names_exists() -> None:
    named = prompts_named_in_code()
    assert named, "the scan found no prompt names"
    assert named <= set(REFERENCE.prompts)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_audio_entry_names_a_known_prompt_and_an_https_url(language: str) -> None:
    data = tomllib.loads((catalog_dir() / f"{language}.toml").read_text())
    for prompt, url in data.get("audio", {}).items():
        assert prompt in REFERENCE.prompts
        assert url.startswith("https://")


def order(number: str, total: str, address: str = "") -> Order:
    now = datetime(2015, 11, 22, tzinfo=UTC)
    payload = {"delivery": {"address": address}} if address else {}
    return Order(
        "demo", "ord_1", "+380671234567", True, Decimal(total), "UAH", now, "2015-11-22", number, payload=payload
    )


def test_robot_conversation_reads_the_order_and_gathers_one_digit() -> None:
    document = twiml.robot_conversation(
        load_catalog("uk"),
        "Kvitka",
        [order("A-1001", "1250.00", "Kyiv, Khreshchatyk 1")],
        "https://x.test/keypress",
        "https://x.test/again",
        greet=True,
    )
    root = ET.fromstring(document)
    gather = root.find("./Gather")
    assert gather is not None
    assert (gather.get("action"), gather.get("numDigits")) == ("https://x.test/keypress", "1")
    spoken = [say.text or "" for say in gather.findall("./Say")]
    assert spoken[0] == "Добрий день! Це Kvitka."
    assert "A-1001" in spoken[1] and "1250 гривень" in spoken[1]
    assert "Khreshchatyk" in spoken[2]
    assert "натисніть 1" in spoken[3]
    assert all(say.get("language") == "uk-UA" for say in root.iter("Say"))
    # no keypress: the caller hears why and is asked once more
    assert root.find("./Redirect").text == "https://x.test/again"  # type: ignore[union-attr]


def test_several_orders_are_summed_in_one_sentence() -> None:
    document = twiml.robot_conversation(
        load_catalog("en"), "Kvitka", [order("A-1", "100"), order("A-2", "50.5")], "k", "a", greet=False
    )
    spoken = [say.text for say in ET.fromstring(document).iter("Say")]
    assert "You have 2 orders for 150.5 hryvnias in total." in spoken


def test_text_from_outside_cannot_break_the_twiml() -> None:
    document = twiml.robot_conversation(
        load_catalog("en"), 'Shop <b>&"quotes"', [order("<A&1>", "1", "</Say><Hangup/>")], "k", "a", greet=True
    )
    root = ET.fromstring(document)  # still well-formed XML
    assert root.find(".//Hangup") is None
    assert 'This is Shop <b>&"quotes".' in "".join(say.text or "" for say in root.iter("Say"))


def test_last_chance_hangs_up_politely_when_still_silent() -> None:
    root = ET.fromstring(twiml.robot_last_chance(load_catalog("ru"), [order("A-1", "10")], "k"))
    assert root.find("./Gather") is not None
    assert root[-1].tag == "Hangup"
    assert root[-2].text == "Мы перезвоним вам позже. До свидания!"


def test_a_recorded_prompt_is_played_instead_of_spoken() -> None:
    catalog = load_catalog("en")
    recorded = type(catalog)(**{**catalog.__dict__, "audio": {"goodbye": "https://cdn.test/bye.mp3"}})
    root = ET.fromstring(twiml.say_and_hang_up(recorded, "goodbye"))
    assert root.find("./Play").text == "https://cdn.test/bye.mp3"  # type: ignore[union-attr]
    assert root.find("./Say") is None


def test_inbound_voicemail_greets_with_the_recording_notice_then_records() -> None:
    root = ET.fromstring(twiml.inbound_voicemail(load_catalog("en"), "Kvitka", "https://x.test/vm"))
    assert "This call is recorded" in (root[0].text or "")
    record = root.find("./Record")
    assert record is not None and record.get("action") == "https://x.test/vm"


def test_the_language_menu_is_built_once_per_shop_and_served_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    # #19: every incoming call starts with it; an ElementTree build per call was fixed work.
    inbound_twiml._language_menu.cache_clear()
    built: list[object] = []
    real = inbound_twiml.VoiceResponse

    def counted() -> object:
        built.append(real())
        return built[-1]

    monkeypatch.setattr(inbound_twiml, "VoiceResponse", counted)
    first = inbound_twiml.language_menu("Kvitka", ["uk", "en"], "https://x/l?a=1", "https://x/l?a=1", greet=True)
    again = inbound_twiml.language_menu("Kvitka", ("uk", "en"), "https://x/l?a=1", "https://x/l?a=1", greet=True)
    other = inbound_twiml.language_menu("Roza", ["uk", "en"], "https://x/l?a=1", "https://x/l?a=1", greet=True)
    assert first == again and len(built) == 2
    assert "Kvitka" in first and "Roza" in other and "Kvitka" not in other
    gather = ET.fromstring(first).find("./Gather")
    assert gather is not None and gather.get("action") == "https://x/l?a=1"
