"""A transfer that fails gives the room back to the first agent before the caller hears them
(#17): an agent who hangs up the moment the caller is back ends the call instead of leaving the
caller alone in the conference (seen as a stuck caller in CI under load)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.entities import Call
from chalicelib.domain.shop import DeskPolicy, ShopSettings
from chalicelib.services.transfers import target_gone

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
SHOP = ShopSettings(shop_id="kvitka", name="Kvitka", desk=DeskPolicy(transfer_numbers=["+380442345678"]))


class Conferences:
    def __init__(self) -> None:
        self.changes: list[tuple[str, str, bool]] = []

    def hold(self, room: str, call_sid: str, *, on: bool, music_url: str | None) -> bool:
        self.changes.append(("hold", call_sid, on))
        return True

    def set_end_on_exit(self, room: str, call_sid: str, *, end: bool) -> bool:
        self.changes.append(("end_on_exit", call_sid, end))
        return True

    def remove(self, room: str, call_sid: str) -> bool:
        return True

    def end(self, room: str) -> None:
        pass

    def add(self, room: str, *, to: str, from_: str, label: str, status_url: str, ring_seconds: int) -> str:
        raise AssertionError("a returning transfer dials nobody")


class Store:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def update_call(self, call_sid: str, **fields: Any) -> None:
        self.updates.append(fields)

    def release_agent(self, *args: Any, **kwargs: Any) -> bool:
        return True


def _warm_transfer_under_way() -> Call:
    return Call(
        call_sid="CAcaller",
        shop_id="kvitka",
        direction="inbound",
        customer_phone="+380671234567",
        shop_number="+380441234567",
        created_at=NOW,
        day="2015-11-23",
        agent_id="oleh",
        agent_call_sid="CAoleh",
        result="agent",
        on_hold=True,
        transfer_to="anna",
        transfer_mode="warm",
        transfer_call_sid="CAanna",
    )


def test_when_the_second_agent_leaves_a_warm_transfer_the_room_is_the_first_agents_before_the_caller_is_back() -> None:
    conferences, store = Conferences(), Store()

    target_gone(
        _warm_transfer_under_way(),
        missed=False,
        shop=SHOP,
        store=store,  # type: ignore[arg-type]
        conferences=conferences,
        control=None,  # type: ignore[arg-type]
        requeue_url=lambda sid: f"https://calls.example.test/requeue/{sid}",
        apology_url=lambda lang, called_back: f"https://calls.example.test/transfer-failed?lang={lang}",
        now=NOW,
    )

    assert conferences.changes == [("end_on_exit", "CAoleh", True), ("hold", "CAcaller", False)]
    assert store.updates[0]["transfer_to"] is None
