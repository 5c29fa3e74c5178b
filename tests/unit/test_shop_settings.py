from datetime import time

import pytest
from pydantic import ValidationError

from chalicelib.domain.shop import CallingWindow, ShopSettings, merged_settings


def settings(**fields: object) -> ShopSettings:
    return ShopSettings.model_validate({"shop_id": "demo", "name": "Kvitka"} | fields)


@pytest.mark.parametrize("zone", ["Mars/Base", "../etc/passwd", ""])
def test_an_unknown_time_zone_is_refused_naming_it(zone: str) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        settings(timezone=zone)


def test_known_zone_region_and_languages_are_kept() -> None:
    shop = settings(timezone="America/New_York", default_region="US", languages=["en", "uk"])
    assert (shop.zone.key, shop.default_region, shop.main_language) == ("America/New_York", "US", "en")


def test_an_unknown_phone_region_or_language_is_refused() -> None:
    with pytest.raises(ValidationError, match="default_region"):
        settings(default_region="XX")
    with pytest.raises(ValidationError, match="languages"):
        settings(languages=["de"])


def test_a_calling_window_must_open_before_it_closes() -> None:
    with pytest.raises(ValidationError, match="before its end"):
        CallingWindow(start=time(22), end=time(10))


def test_an_update_merges_tables_key_by_key_and_replaces_values_and_lists() -> None:
    stored = {
        "name": "Kvitka",
        "caller_id": "+380441234567",
        "robot": {"max_attempts": 3, "retry_minutes": {"busy": 10, "no-answer": 30}},
        "report": {"hour": 8, "recipients": ["a@kvitka.example", "b@kvitka.example"]},
        "crm": {"url": "https://crm.example/events", "secret_name": "kvitka-crm"},
        "test_names": ["test"],
    }
    given = {
        "robot": {"retry_minutes": {"busy": 5}},
        "report": {"recipients": ["c@kvitka.example"]},
        "crm": None,
        "inbound": {"survey": False},
    }
    assert merged_settings(stored, given) == {
        "name": "Kvitka",
        "caller_id": "+380441234567",
        "robot": {"max_attempts": 3, "retry_minutes": {"busy": 5, "no-answer": 30}},
        "report": {"hour": 8, "recipients": ["c@kvitka.example"]},
        "crm": None,
        "test_names": ["test"],
        "inbound": {"survey": False},
    }
    assert stored["robot"] == {"max_attempts": 3, "retry_minutes": {"busy": 10, "no-answer": 30}}  # not changed
    assert merged_settings(stored, {}) == stored
