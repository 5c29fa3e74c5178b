"""The customer timeline's merge and paging (A7), and agents' tokens issued, rotated and revoked
by the admin service (A3), on in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.domain.entities import Call, Order, TextMessage
from chalicelib.domain.outcomes import SavedOutcome
from chalicelib.domain.shop import ShopSettings
from chalicelib.domain.timeline import CursorRefused, TimelineEntry, decode_cursor, page_of
from chalicelib.services import admin
from chalicelib.services.timeline import customer_timeline
from tests.fakes.store import FakeStore

T0 = datetime(2015, 11, 23, 9, 0, tzinfo=UTC)
SHOP = ShopSettings(shop_id="demo", name="Kvitka Flowers")
PHONE = "+380671234567"


def entries(kind: str, minutes: list[int]) -> Iterator[TimelineEntry]:
    for minute in sorted(minutes, reverse=True):
        yield TimelineEntry(T0 + timedelta(minutes=minute), kind, f"{kind}{minute}")


def test_kinds_are_merged_newest_first_and_paged_without_gaps_or_repeats() -> None:
    # GIVEN orders, calls and texts interleaved, two of them at the very same moment
    def sources() -> list[Iterator[TimelineEntry]]:
        return [entries("order", [0, 30, 31]), entries("call", [5, 31, 40]), entries("sms", [10, 31, 50])]

    # WHEN read two at a time, each page from the previous page's cursor
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = page_of(sources(), 2, decode_cursor(cursor) if cursor else None)
        seen += [entry.entry_id for entry in page.entries]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    # THEN every entry comes exactly once, newest first, ties in a fixed order
    assert seen == [
        *("sms:sms50", "call:call40", "sms:sms31", "order:order31", "call:call31"),
        *("order:order30", "sms:sms10", "call:call5", "order:order0"),
    ]
    assert pages == 5


def test_the_last_page_has_no_cursor_and_an_empty_timeline_is_one_empty_page() -> None:
    page = page_of([entries("order", [1, 2])], 5)
    assert [e.entry_id for e in page.entries] == ["order:order2", "order:order1"]
    assert page.next_cursor is None
    assert page_of([iter([])], 5).public_view() == {"entries": [], "next_cursor": None}


@pytest.mark.parametrize("cursor", ["not-base64!", "e30", "eyJhdCI6ICJ4In0"])  # garbage, {}, {"at": "x"}
def test_a_cursor_we_did_not_give_is_refused(cursor: str) -> None:
    with pytest.raises(CursorRefused):
        decode_cursor(cursor)


class FakeTimelineStore:
    def __init__(self) -> None:
        self.orders: list[Order] = []
        self.calls: list[Call] = []
        self.messages: list[TextMessage] = []
        self.outcomes: list[SavedOutcome] = []
        self.opted_out: tuple[datetime, str] | None = None

    @staticmethod
    def _newest(items: list[Any], at: str, until: datetime | None) -> Iterator[Any]:
        kept = [item for item in items if until is None or getattr(item, at) <= until]
        return iter(sorted(kept, key=lambda item: getattr(item, at), reverse=True))

    def orders_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[Order]:
        return self._newest([o for o in self.orders if (o.shop_id, o.phone) == (shop_id, phone)], "received_at", until)

    def calls_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[Call]:
        mine = [c for c in self.calls if (c.shop_id, c.customer_phone) == (shop_id, phone)]
        return self._newest(mine, "created_at", until)

    def messages_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[TextMessage]:
        return self._newest([m for m in self.messages if (m.shop_id, m.phone) == (shop_id, phone)], "at", until)

    def outcomes_newest_first(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[SavedOutcome]:
        mine = [o for o in self.outcomes if (o.shop_id, o.phone) == (shop_id, phone)]
        return self._newest(mine, "saved_at", until)

    def opted_out_since(self, shop_id: str, phone: str) -> tuple[datetime, str] | None:
        return self.opted_out

    def outcomes_of(self, call_sid: str) -> list[SavedOutcome]:
        return sorted((o for o in self.outcomes if o.call_sid == call_sid), key=lambda o: o.saved_at)


def test_a_customers_timeline_shows_every_kind_with_the_calls_outcome_and_recording() -> None:
    store = FakeTimelineStore()
    store.orders.append(
        Order(
            shop_id="demo",
            order_id="o1",
            phone=PHONE,
            phone_valid=True,
            total=Decimal("255.00"),
            currency="UAH",
            received_at=T0,
            day="2015-11-23",
            order_number="A-1",
            payload={"items": [{"sku": "ROSE", "name": "Red roses", "quantity": 3, "price": "85.00"}]},
            status="queued",
        )
    )
    store.calls.append(
        Call(
            call_sid="CA1",
            shop_id="demo",
            direction="outbound-agent",
            customer_phone=PHONE,
            shop_number="+380441234567",
            created_at=T0 + timedelta(minutes=5),
            day="2015-11-23",
            agent_id="anna",
            recording_sid="RE1",
        )
    )
    store.outcomes.append(
        SavedOutcome(
            call_sid="CA1",
            shop_id="demo",
            phone=PHONE,
            agent_id="anna",
            outcome="confirmed",
            saved_at=T0 + timedelta(minutes=7),
            comment="all fine",
            orders_moved=["o1"],
        )
    )
    store.messages.append(
        TextMessage("demo", PHONE, "SM1", "inbound", "STOP", T0 + timedelta(minutes=9), "2015-11-23", intent="stop")
    )
    store.opted_out = (T0 + timedelta(minutes=9), "sms")
    store.orders.append(
        Order("other", "x1", PHONE, True, Decimal("1"), "UAH", T0 + timedelta(minutes=1), "2015-11-23")
    )  # another shop's customer with the same number: never shown

    page = customer_timeline(SHOP, PHONE, store=store, recording_link=lambda call: f"https://r.example/{call.call_sid}")

    view = page.public_view()
    assert [(e["type"], e["at"]) for e in view["entries"]] == [
        ("sms", (T0 + timedelta(minutes=9)).isoformat()),
        ("opt_out", (T0 + timedelta(minutes=9)).isoformat()),
        ("outcome", (T0 + timedelta(minutes=7)).isoformat()),
        ("call", (T0 + timedelta(minutes=5)).isoformat()),
        ("order", T0.isoformat()),
    ]
    sms, opt_out, outcome, call, order = view["entries"]
    assert (sms["direction"], sms["body"], sms["intent"]) == ("inbound", "STOP", "stop")
    assert opt_out["source"] == "sms"
    assert (outcome["outcome"], outcome["comment"], outcome["orders_updated"]) == ("confirmed", "all fine", ["o1"])
    assert (call["outcome"], call["recording"]) == ("confirmed", {"available": True, "url": "https://r.example/CA1"})
    assert (order["order_number"], order["status"], order["items"][0]["name"]) == ("A-1", "queued", "Red roses")
    assert view["next_cursor"] is None


def test_an_agent_token_is_stored_rotated_and_revoked() -> None:
    # GIVEN the demo shop with Anna
    store = FakeStore([SHOP])
    admin.add_agent("demo", {"agent_id": "anna", "name": "Anna", "phone": "+380501112233"}, store=store)

    # WHEN a token is issued, then issued again (rotation)
    _, first = admin.issue_agent_token("demo", "anna", store=store, now=T0)
    _, second = admin.issue_agent_token("demo", "anna", store=store, now=T0)

    # THEN only the newest works, and revoking ends it
    assert first != second and first.startswith("at_")
    assert store.agent_for_token(first) is None
    assert store.agent_for_token(second) == (SHOP, "anna")
    assert admin.revoke_agent_token("demo", "anna", store=store) == 1
    assert store.agent_for_token(second) is None


def test_tokens_are_refused_for_unknown_agents_and_short_secrets() -> None:
    store = FakeStore([SHOP])
    admin.add_agent("demo", {"agent_id": "anna", "name": "Anna", "phone": "+380501112233"}, store=store)
    with pytest.raises(admin.AdminError, match="no agent 'bob'"):
        admin.issue_agent_token("demo", "bob", store=store, now=T0)
    with pytest.raises(admin.AdminError, match="at least 16"):
        admin.issue_agent_token("demo", "anna", store=store, now=T0, token="short")
