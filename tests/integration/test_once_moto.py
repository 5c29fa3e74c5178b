"""``run_once`` (a text per order event, sent once) on moto: once per key, a failed action tried
again, and a claim whose answer was lost (botocore sends it again, DynamoDB applies it twice)
still recognised as the run's own: the action runs, once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.adapters import idempotency as once

pytestmark = pytest.mark.integration


class _EveryWriteTwice:
    """A DynamoDB client whose writes each reach DynamoDB twice, the second answer being the one
    seen: what botocore's retry of a write whose first answer was lost looks like."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in ("put_item", "update_item", "delete_item"):
            return method

        def twice(**kwargs: Any) -> Any:
            method(**kwargs)
            return method(**kwargs)

        return twice


def ran(runs: list[str], name: str, result: str) -> Callable[[], str]:
    def action() -> str:
        runs.append(name)
        return result

    return action


def test_the_action_runs_once_per_key(aws: None) -> None:
    runs: list[str] = []
    assert once.run_once("sms#o1", ran(runs, "o1", "SM1")) == "SM1"
    assert once.run_once("sms#o1", ran(runs, "again", "SM2")) == "SM1"
    assert once.run_once("sms#o2", ran(runs, "o2", "SM3")) == "SM3"
    assert runs == ["o1", "o2"]


def test_a_failed_action_is_tried_again_by_the_next_delivery(aws: None) -> None:
    def failing() -> str:
        raise RuntimeError("Twilio 503")

    with pytest.raises(RuntimeError):
        once.run_once("sms#o3", failing)
    assert once.run_once("sms#o3", lambda: "SM4") == "SM4"


def test_a_claim_whose_answer_was_lost_is_still_the_runs_own(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    doubled = _EveryWriteTwice(once._client())
    monkeypatch.setattr(once, "_client", lambda: doubled)
    runs: list[str] = []
    assert once.run_once("sms#o4", ran(runs, "o4", "SM5")) == "SM5"
    assert once.run_once("sms#o4", ran(runs, "again", "SM6")) == "SM5"
    assert runs == ["o4"]


def test_another_run_holding_the_claim_makes_the_delivery_retry(aws: None) -> None:
    def nested() -> str:
        with pytest.raises(once.AlreadyInProgressError):
            once.run_once("sms#o5", lambda: "inner")
        return "outer"

    assert once.run_once("sms#o5", nested) == "outer"
