"""An agent's own language (what they hear: whisper, keypad menu), defaulting to the shop's
first; and which callers' numbers cannot be called back (withheld)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.phones import is_withheld
from chalicelib.domain.routing import Agent, agent_language
from chalicelib.domain.shop import ShopSettings
from chalicelib.services import admin
from tests.fakes.store import FakeStore

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)


def _store(languages: list[str]) -> FakeStore:
    return FakeStore([ShopSettings.model_validate({"shop_id": "s1", "name": "Shop", "languages": languages})])


def test_an_agent_added_without_a_language_hears_the_shops_first() -> None:
    store = _store(["ru", "uk"])
    admin.add_agent("s1", {"agent_id": "a1", "name": "A", "phone": "+380501112233"}, store=store)
    assert store.agents[("s1", "a1")]["language"] == "ru"


def test_an_agent_added_with_a_language_keeps_it_and_an_unknown_one_is_refused() -> None:
    store = _store(["uk"])
    admin.add_agent("s1", {"agent_id": "a1", "name": "A", "client_identity": "a1", "language": "en"}, store=store)
    assert store.agents[("s1", "a1")]["language"] == "en"
    with pytest.raises(ValueError, match="language"):
        admin.add_agent("s1", {"agent_id": "a2", "name": "B", "client_identity": "b", "language": "de"}, store=store)


def test_an_agent_record_without_a_language_falls_back_to_the_shops_first() -> None:
    assert agent_language(Agent("s1", "a1", "A"), "uk") == "uk"
    assert agent_language(Agent("s1", "a1", "A", language="en"), "uk") == "en"
    assert agent_language(None, "ru") == "ru"


@pytest.mark.parametrize("number", ["", "  ", "anonymous", "Restricted", "+266696687", "+86282452253", "+7378742833"])
def test_withheld_numbers_cannot_be_called_back(number: str) -> None:
    assert is_withheld(number)


@pytest.mark.parametrize("number", ["+380671230001", "+15551234567", "+380441234567"])
def test_real_numbers_are_not_withheld(number: str) -> None:
    assert not is_withheld(number)


def test_a_softphone_identity_another_shops_agent_has_is_refused_naming_client_identity() -> None:
    store = _store(["uk"])
    store.save_shop(ShopSettings.model_validate({"shop_id": "s2", "name": "Other", "languages": ["uk"]}), NOW)
    admin.add_agent("s1", {"agent_id": "a1", "name": "A", "client_identity": "desk-1"}, store=store)
    with pytest.raises(admin.AdminError, match="client_identity 'desk-1' is already agent 'a1''s"):
        admin.add_agent("s2", {"agent_id": "b1", "name": "B", "client_identity": "desk-1"}, store=store)
    assert ("s2", "b1") not in store.agents
    # the agent's own update keeps it
    admin.add_agent("s1", {"agent_id": "a1", "name": "A.", "client_identity": "desk-1"}, store=store)
    assert store.agents[("s1", "a1")]["name"] == "A."
