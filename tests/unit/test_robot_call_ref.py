"""The attempt a robot call's webhook URLs carry: written by the dialer, read by the webhooks."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.domain.robot_call_ref import RobotCallRef, ref_from_params
from chalicelib.voice.links import PublicUrls

REF = RobotCallRef("tsk_1", "demo", "uk", ("ord_b", "ord_a"), 2)


def test_the_answer_url_carries_the_attempt_and_the_webhook_reads_it_back() -> None:
    # GIVEN the answer URL the dialer gives Twilio
    url = PublicUrls("https://calls.example.test/api").robot_answer("tsk_1", REF.params())
    # WHEN the webhook reads the query Twilio called it with
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    # THEN it is the same attempt (orders in a stable order), with keys sorted as signed
    assert ref_from_params("tsk_1", query) == RobotCallRef("tsk_1", "demo", "uk", ("ord_a", "ord_b"), 2)
    assert urlsplit(url).query == "attempt=2&lang=uk&orders=ord_a%2Cord_b&shop=demo"


def test_the_keypress_and_again_urls_carry_the_attempt_on() -> None:
    urls = PublicUrls("https://x.test")
    assert urls.robot_keypress("t", {"a": "1"}) == "https://x.test/twilio/voice/robot/t/keypress?a=1"
    assert urls.robot_again("t", {}) == urls.robot_again("t") == "https://x.test/twilio/voice/robot/t/again"


@pytest.mark.parametrize(
    "query",
    [
        None,
        {},
        {"shop": "demo", "lang": "uk", "orders": "o1"},  # no attempt: a URL of an older release
        {"shop": "demo", "lang": "uk", "orders": "o1", "attempt": "x"},
        {"shop": "", "lang": "uk", "orders": "o1", "attempt": "1"},
        {"shop": ["a", "b"], "lang": "uk", "orders": "o1", "attempt": "1"},  # repeated key
        {"shop": "demo", "lang": "uk", "orders": ",".join(f"o{i}" for i in range(51)), "attempt": "1"},
    ],
)
def test_a_missing_or_malformed_attempt_is_none_so_the_task_is_read(query: dict[str, object] | None) -> None:
    assert ref_from_params("tsk_1", query) is None  # type: ignore[arg-type]
