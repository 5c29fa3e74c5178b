"""The agent's own leg into the caller's conference when the caller leaves first (#17): the
agent's phone stops ringing, and the agent is not counted as having missed the call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from chalicelib.domain.entities import Call
from chalicelib.domain.shop import ShopSettings
from chalicelib.services import conference_calls
from chalicelib.services.ports import CallControl, InboundStore

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)


class FakeStore:
    def __init__(self, call: Call) -> None:
        self.call = call
        self.released: list[tuple[Any, ...]] = []

    def get_call(self, call_sid: str) -> Call | None:
        return self.call if call_sid == self.call.call_sid else None

    def get_shop(self, shop_id: str) -> ShopSettings | None:
        return ShopSettings(shop_id=shop_id, name="Kvitka")

    def release_agent(self, *args: Any, **kwargs: Any) -> bool:
        self.released.append(args)
        return True

    def update_call(self, call_sid: str, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self.call, name, value)


class FakeControl:
    def __init__(self) -> None:
        self.ended: list[str] = []
        self.redirected: list[tuple[str, str]] = []

    def end_call(self, call_sid: str) -> None:
        self.ended.append(call_sid)

    def redirect_call(self, call_sid: str, url: str) -> None:
        self.redirected.append((call_sid, url))


def _call(**fields: Any) -> Call:
    base = Call("CA1", "demo", "inbound", "+380671112233", "+380441234567", NOW, "2015-11-23")
    for name, value in fields.items():
        setattr(base, name, value)
    return base


def test_a_caller_who_leaves_while_the_agent_rings_stops_the_agents_phone() -> None:
    store, control = FakeStore(_call(result="connecting", agent_id="oleh", agent_call_sid="CA2")), FakeControl()
    assert conference_calls.stop_ringing_agent(
        "CA1", store=cast(InboundStore, store), control=cast(CallControl, control)
    )
    assert control.ended == ["CA2"]


def test_a_call_the_agent_already_took_is_left_alone() -> None:
    store, control = FakeStore(_call(result="agent", agent_id="oleh", agent_call_sid="CA2")), FakeControl()
    assert not conference_calls.stop_ringing_agent(
        "CA1", store=cast(InboundStore, store), control=cast(CallControl, control)
    )
    assert control.ended == []


def test_the_agents_leg_ending_after_the_caller_hung_up_is_not_the_agents_miss() -> None:
    call = _call(result="connecting", agent_id="oleh", agent_call_sid="CA2", status="completed")
    store, control = FakeStore(call), FakeControl()
    missed = conference_calls.agent_leg_ended(
        "CA1",
        "oleh",
        "canceled",
        store=cast(InboundStore, store),
        control=cast(CallControl, control),
        requeue_url=lambda lang: f"/requeue?lang={lang}",
        now=NOW,
    )
    assert (missed, store.released, control.redirected) == (False, [], [])
