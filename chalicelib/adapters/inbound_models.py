"""Tables of inbound calls (I5, I6, I8): who waits for an agent in which group, in arrival
order, and the group's recent handle times for the estimated wait."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.models import Model

from chalicelib.adapters.models import _Meta, _table


class QueueEntryRecord(Model):
    """A caller on hold or a callback request waiting for an agent of a group.

    The range key starts with the original arrival time, so a Query lists the group's queue in
    the order it is served; a callback keeps the arrival time of the call it came from (I6).
    """

    class Meta(_Meta):
        table_name = _table("queue_entries")

    queue_key = UnicodeAttribute(hash_key=True)  # "<shop_id>#<group>"
    entry_key = UnicodeAttribute(range_key=True)  # "<arrival ISO UTC>#<call sid or task id>"
    kind = UnicodeAttribute()  # caller | callback
    ref = UnicodeAttribute()  # CallSid of the waiting call, or the callback's task id
    phone = UnicodeAttribute()
    language = UnicodeAttribute()
    queued_at = UTCDateTimeAttribute()
    announced_position = NumberAttribute(null=True)


class GroupStatsRecord(Model):
    """Recent handle times of an agent group (seconds, newest last)."""

    class Meta(_Meta):
        table_name = _table("group_stats")

    group_key = UnicodeAttribute(hash_key=True)  # "<shop_id>#<group>"
    handle_seconds = ListAttribute(of=NumberAttribute, default=list)
    version = VersionAttribute()


INBOUND_MODELS: tuple[type[Model], ...] = (QueueEntryRecord, GroupStatsRecord)
