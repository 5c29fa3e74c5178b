"""Every outcome an agent saved for a call, with its time, corrections included (A4's audit
trail); the customer timeline reads them by (shop, phone) (A7), the CRM outbox by their keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

from chalicelib.adapters.dynamo.items import from_item, shop_phone, sortable_utc, sorted_set
from chalicelib.adapters.dynamo.retention import kept_until
from chalicelib.adapters.dynamo.schema import OutcomeItem
from chalicelib.domain.outcomes import SavedOutcome


def outcome_entity(item: OutcomeItem) -> SavedOutcome:
    return from_item(
        SavedOutcome,
        item,
        comment=item.comment or "",
        order_ids=sorted_set(item.order_ids),
        orders_moved=sorted_set(item.orders_moved),
    )


class OutcomeRepository:
    def save_outcome(self, saved: SavedOutcome) -> None:
        OutcomeItem(
            saved.call_sid,
            f"{sortable_utc(saved.saved_at)}#{uuid.uuid4().hex[:8]}",
            saved_at=saved.saved_at,
            shop_id=saved.shop_id,
            shop_phone=shop_phone(saved.shop_id, saved.phone),
            phone=saved.phone,
            agent_id=saved.agent_id,
            outcome=saved.outcome,
            comment=saved.comment,
            callback_at=saved.callback_at,
            callback_task_id=saved.callback_task_id,
            order_ids=set(saved.order_ids) or None,
            orders_moved=set(saved.orders_moved) or None,
            expires_ttl=kept_until(saved.shop_id),
        ).save(condition=OutcomeItem.saved_key.does_not_exist())

    def outcomes_of(self, call_sid: str) -> list[SavedOutcome]:
        """Every outcome saved for the call, oldest first."""
        return [outcome for _, outcome in self.saves_of(call_sid)]

    def saves_of(self, call_sid: str) -> list[tuple[str, SavedOutcome]]:
        """The call's saves with their keys, oldest first (the CRM outbox tells a repeated save
        from a correction by them)."""
        return [(item.saved_key, outcome_entity(item)) for item in OutcomeItem.query(call_sid, consistent_read=True)]

    def outcomes_of_customer(self, shop_id: str, phone: str) -> list[SavedOutcome]:
        return [outcome_entity(item) for item in OutcomeItem.by_shop_phone.query(shop_phone(shop_id, phone))]

    def outcomes_newest_first(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[SavedOutcome]:
        """Timeline source: lazy, newest first, from ``until`` back (inclusive)."""
        condition = OutcomeItem.saved_at <= until if until else None
        query = OutcomeItem.by_shop_phone.query(shop_phone(shop_id, phone), condition, scan_index_forward=False)
        return (outcome_entity(item) for item in query)
