"""Tables of the outbound side beyond orders and tasks: the do-not-call list (O11) and the
log of text messages in and out (O10; the customer timeline reads it)."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.adapters.models import _Meta, _table


class DoNotCallRecord(Model):
    """A customer a shop must neither call nor text, with why and since when."""

    class Meta(_Meta):
        table_name = _table("do_not_call")

    shop_phone = UnicodeAttribute(hash_key=True)  # "<shop_id>#<E.164>"
    added_at = UTCDateTimeAttribute()
    source = UnicodeAttribute()  # sms | ivr | api


class MessageByDayIndex(GlobalSecondaryIndex["MessageRecord"]):
    class Meta:
        index_name = "by_shop_day"
        projection = AllProjection()

    shop_day = UnicodeAttribute(hash_key=True)
    at = UTCDateTimeAttribute(range_key=True)


class MessageRecord(Model):
    """One text message to or from a customer, newest last per (shop, phone)."""

    class Meta(_Meta):
        table_name = _table("messages")

    shop_phone = UnicodeAttribute(hash_key=True)
    message_key = UnicodeAttribute(range_key=True)  # "<ISO time>#<MessageSid>": ordered, unique
    at = UTCDateTimeAttribute()
    message_sid = UnicodeAttribute()
    direction = UnicodeAttribute()  # inbound | outbound
    body = UnicodeAttribute()
    purpose = UnicodeAttribute(null=True)  # confirm-request | confirmed | reply | opt-out ...
    intent = UnicodeAttribute(null=True)  # what an inbound message meant: confirm | cancel | stop | start | other
    order_ids = UnicodeSetAttribute(null=True)
    shop_id = UnicodeAttribute()
    shop_day = UnicodeAttribute()

    by_shop_day = MessageByDayIndex()


OUTBOUND_MODELS: tuple[type[Model], ...] = (DoNotCallRecord, MessageRecord)
