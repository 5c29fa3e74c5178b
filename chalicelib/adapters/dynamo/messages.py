"""Text messages to and from customers (O10; the customer timeline reads them) and the
do-not-call list (O11): both keyed by one customer of one shop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters.dynamo.items import day_key, day_of, from_item, shop_phone, sorted_set
from chalicelib.adapters.dynamo.retention import kept_until
from chalicelib.adapters.dynamo.schema import DoNotCallItem, MessageItem
from chalicelib.domain.entities import TextMessage
from chalicelib.domain.erasure import do_not_call_hash


def message_entity(item: MessageItem, phone: str) -> TextMessage:
    return from_item(
        TextMessage,
        item,
        phone=phone,
        day=day_of(item.shop_day),
        order_ids=sorted_set(item.order_ids),
        left_open=sorted_set(item.left_open),
    )


class MessageRepository:
    def log_message(self, message: TextMessage) -> None:
        MessageItem(
            shop_phone(message.shop_id, message.phone),
            f"{message.at.isoformat()}#{message.message_sid}",
            at=message.at,
            message_sid=message.message_sid,
            direction=message.direction,
            body=message.body,
            purpose=message.purpose,
            intent=message.intent,
            order_ids=set(message.order_ids) or None,
            left_open=set(message.left_open) or None,
            shop_id=message.shop_id,
            shop_day=day_key(message.shop_id, message.day),
            expires_ttl=kept_until(message.shop_id),
        ).save()

    def messages_of(self, shop_id: str, phone: str) -> list[TextMessage]:
        return [message_entity(item, phone) for item in MessageItem.query(shop_phone(shop_id, phone))]

    def messages_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[TextMessage]:
        """Timeline source: lazy, newest first, from ``until`` back (inclusive)."""
        # Range keys start with the time in ISO form: '~' sorts after any "#<MessageSid>".
        condition = MessageItem.message_key <= until.isoformat() + "#~" if until else None
        query = MessageItem.query(shop_phone(shop_id, phone), condition, scan_index_forward=False)
        return (message_entity(item, phone) for item in query if until is None or item.at <= until)

    # ---- do-not-call -------------------------------------------------------------------------
    def is_do_not_call(self, shop_id: str, phone: str) -> bool:
        """On the list in clear, or as the hash an erased customer's opt-out is kept as (one
        BatchGetItem for both)."""
        keys = [shop_phone(shop_id, phone), shop_phone(shop_id, do_not_call_hash(shop_id, phone))]
        return any(True for _ in DoNotCallItem.batch_get(keys, consistent_read=True))

    def add_do_not_call(self, shop_id: str, phone: str, source: str, now: datetime) -> None:
        DoNotCallItem(shop_phone(shop_id, phone), added_at=now, source=source).save()

    def remove_do_not_call(self, shop_id: str, phone: str) -> None:
        """Off the list (START, the API), the hash an erasure kept included."""
        DoNotCallItem(shop_phone(shop_id, phone)).delete()
        DoNotCallItem(shop_phone(shop_id, do_not_call_hash(shop_id, phone))).delete()

    def opted_out_since(self, shop_id: str, phone: str) -> tuple[datetime, str] | None:
        try:
            item = DoNotCallItem.get(shop_phone(shop_id, phone))
        except DoesNotExist:
            return None
        return item.added_at, item.source
