"""Tables of customer-first dialing (O8): the account's call-rate timeline, each shop's day
counters (dials, live answers, drops) and the lines (customer calls) the predictive dialer placed."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.adapters.models import _Meta, _table


def line_key(placed_at: datetime, task_id: str) -> str:
    """A line's range key: ``"<placed_at UTC ISO>#<task_id>"``, so the shop's lines sort by placement."""
    return f"{placed_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{task_id}"


class CallRateRecord(Model):
    """The next instant a call may be placed on a Twilio account (calls per second)."""

    class Meta(_Meta):
        table_name = _table("call_rate")

    account_sid = UnicodeAttribute(hash_key=True)
    next_free_at = NumberAttribute()  # POSIX seconds


class DialerDayRecord(Model):
    """A shop's predictive dialing on one local day: counted with atomic ADDs."""

    class Meta(_Meta):
        table_name = _table("dialer_days")

    shop_id = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)  # the shop's local date, ISO
    dials = NumberAttribute(default=0)
    live_answers = NumberAttribute(default=0)
    drops = NumberAttribute(default=0)


class DialLineRecord(Model):
    """One customer call of the predictive dialer (``chalicelib.domain.predictive.DialLine``);
    newest first per shop, kept two days for the pacing statistics."""

    class Meta(_Meta):
        table_name = _table("dialer_lines")

    shop_id = UnicodeAttribute(hash_key=True)
    line_key = UnicodeAttribute(range_key=True)  # "<placed_at UTC ISO>#<task_id>": ordered, unique
    task_id = UnicodeAttribute()
    placed_at = UTCDateTimeAttribute()
    phase = UnicodeAttribute()
    call_sid = UnicodeAttribute(null=True)
    answered_at = UTCDateTimeAttribute(null=True)
    amd_seconds = NumberAttribute(null=True)
    handle_seconds = NumberAttribute(null=True)
    agent_id = UnicodeAttribute(null=True)
    reservation = UnicodeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    expires = TTLAttribute(null=True)


DIALER_MODELS: tuple[type[Model], ...] = (CallRateRecord, DialerDayRecord, DialLineRecord)
