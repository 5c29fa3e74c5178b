"""Tables of the agents' desk (issue 5) and their persistence: every outcome an agent saved for
a call, with its time, corrections included (A4's audit trail; the customer timeline reads it
by (shop, phone)); the reads behind the screen pop and the customer timeline (A3, A7), each a
Query on a (shop, phone) key, never a Scan."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from pynamodb.attributes import UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.adapters.inbound_repository import InboundRepository
from chalicelib.adapters.models import AgentRecord, CallRecord, OrderRecord, _Meta, _table
from chalicelib.adapters.outbound_models import DoNotCallRecord, MessageRecord
from chalicelib.adapters.repository import _call_entity, _day_of, _order_entity
from chalicelib.domain.entities import Call, Order, TextMessage
from chalicelib.domain.outcomes import SavedOutcome
from chalicelib.services.screen_pop import DeskAgent


class OutcomeByPhoneIndex(GlobalSecondaryIndex["OutcomeRecord"]):
    """Outcomes of one customer of one shop, by time (customer timeline, A7)."""

    class Meta:
        index_name = "by_shop_phone"
        projection = AllProjection()

    shop_phone = UnicodeAttribute(hash_key=True)
    saved_at = UTCDateTimeAttribute(range_key=True)


class OutcomeRecord(Model):
    """One saved outcome of one call; a correction is a new item, the old ones stay."""

    class Meta(_Meta):
        table_name = _table("call_outcomes")
        stream_view_type = "KEYS_ONLY"  # the managers' email and the CRM event follow each save

    call_sid = UnicodeAttribute(hash_key=True)
    saved_key = UnicodeAttribute(range_key=True)  # "<ISO UTC time>#<random>": ordered, unique
    saved_at = UTCDateTimeAttribute()
    shop_id = UnicodeAttribute()
    shop_phone = UnicodeAttribute()  # "<shop_id>#<E.164>"
    phone = UnicodeAttribute()
    agent_id = UnicodeAttribute()
    outcome = UnicodeAttribute()
    comment = UnicodeAttribute(default="")
    callback_at = UTCDateTimeAttribute(null=True)
    callback_task_id = UnicodeAttribute(null=True)
    order_ids = UnicodeSetAttribute(null=True)  # the orders the call was about
    orders_moved = UnicodeSetAttribute(null=True)  # those this save changed

    by_shop_phone = OutcomeByPhoneIndex()


AGENT_MODELS: tuple[type[Model], ...] = (OutcomeRecord,)


class OutcomeRepository(InboundRepository):
    def outcomes_of(self, call_sid: str) -> list[SavedOutcome]:
        """Every outcome saved for the call, oldest first."""
        return [_saved(record) for record in OutcomeRecord.query(call_sid, consistent_read=True)]

    def save_outcome(self, saved: SavedOutcome) -> None:
        stamp = saved.saved_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        OutcomeRecord(
            saved.call_sid,
            f"{stamp}#{uuid.uuid4().hex[:8]}",
            saved_at=saved.saved_at,
            shop_id=saved.shop_id,
            shop_phone=f"{saved.shop_id}#{saved.phone}",
            phone=saved.phone,
            agent_id=saved.agent_id,
            outcome=saved.outcome,
            comment=saved.comment,
            callback_at=saved.callback_at,
            callback_task_id=saved.callback_task_id,
            order_ids=set(saved.order_ids) or None,
            orders_moved=set(saved.orders_moved) or None,
        ).save(condition=OutcomeRecord.saved_key.does_not_exist())

    def outcomes_of_customer(self, shop_id: str, phone: str) -> list[SavedOutcome]:
        return [_saved(record) for record in OutcomeRecord.by_shop_phone.query(f"{shop_id}#{phone}")]


@functools.cache
def outcome_store() -> OutcomeRepository:
    return OutcomeRepository()


class DeskRepository(OutcomeRepository):
    """The agents' desk: agents as the desk sees them, and the customer timeline's sources.

    Timeline sources are lazy Queries, newest first, from ``until`` back (inclusive: the
    domain drops what the previous page already showed)."""

    def desk_agent(self, shop_id: str, agent_id: str) -> DeskAgent | None:
        try:
            record = AgentRecord.get(shop_id, agent_id, consistent_read=True)
        except DoesNotExist:
            return None
        return DeskAgent(
            shop_id=shop_id,
            agent_id=agent_id,
            name=record.name,
            status=record.status or "offline",
            current_call_sid=record.current_call_sid,
            sees_phone_numbers=bool(record.sees_phone_numbers),
        )

    def orders_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[Order]:
        condition = OrderRecord.received_at <= until if until else None
        query = OrderRecord.by_shop_phone.query(f"{shop_id}#{phone}", condition, scan_index_forward=False)
        return (_order_entity(record) for record in query)

    def calls_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[Call]:
        condition = CallRecord.created_at <= until if until else None
        query = CallRecord.by_shop_phone.query(f"{shop_id}#{phone}", condition, scan_index_forward=False)
        return (_call_entity(record) for record in query)

    def messages_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[TextMessage]:
        # Range keys start with the time in ISO form: '~' sorts after any "#<MessageSid>".
        condition = MessageRecord.message_key <= until.isoformat() + "#~" if until else None
        query = MessageRecord.query(f"{shop_id}#{phone}", condition, scan_index_forward=False)
        return (
            TextMessage(
                shop_id=record.shop_id,
                phone=phone,
                message_sid=record.message_sid,
                direction=record.direction,
                body=record.body,
                at=record.at,
                day=_day_of(record.shop_day),
                purpose=record.purpose,
                intent=record.intent,
                order_ids=sorted(record.order_ids or ()),
            )
            for record in query
            if until is None or record.at <= until
        )

    def outcomes_newest_first(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[SavedOutcome]:
        condition = OutcomeRecord.saved_at <= until if until else None
        query = OutcomeRecord.by_shop_phone.query(f"{shop_id}#{phone}", condition, scan_index_forward=False)
        return (_saved(record) for record in query)

    def opted_out_since(self, shop_id: str, phone: str) -> tuple[datetime, str] | None:
        try:
            record = DoNotCallRecord.get(f"{shop_id}#{phone}")
        except DoesNotExist:
            return None
        return record.added_at, record.source


@functools.cache
def desk_store() -> DeskRepository:
    return DeskRepository()


def _saved(record: OutcomeRecord) -> SavedOutcome:
    return SavedOutcome(
        call_sid=record.call_sid,
        shop_id=record.shop_id,
        phone=record.phone,
        agent_id=record.agent_id,
        outcome=record.outcome,
        comment=record.comment or "",
        saved_at=record.saved_at,
        callback_at=record.callback_at,
        callback_task_id=record.callback_task_id,
        order_ids=sorted(record.order_ids or ()),
        orders_moved=sorted(record.orders_moved or ()),
    )
