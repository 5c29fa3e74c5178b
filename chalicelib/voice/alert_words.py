"""An alert's facts in words (R6): the email's subject and body and the text message, in the
shop's language, from the ``[alert]`` and ``[sms]`` tables of ``twiml/<language>.toml``.

The one place an alert becomes words, for the email and the text alike. Pure: it takes the
facts as values (times already in the shop's zone) and a catalog, and never prints a Python
value as Python (no dicts, lists, ``None`` or ISO timestamps): counts are numbers, durations
are minutes and seconds, agents by status are a sentence, a missing value is a dash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from chalicelib.domain.routing import STATUSES
from chalicelib.voice.catalog import Catalog


@dataclass(frozen=True, slots=True)
class LargeOrderFacts:
    shop_name: str
    order_id: str
    order_number: str
    total: Decimal
    currency: str
    threshold: Decimal
    customer_name: str = ""
    masked_phone: str = ""


@dataclass(frozen=True, slots=True)
class ComplaintFacts:
    shop_name: str
    order_number: str = ""
    customer_name: str = ""
    phone: str = ""  # the email shows it whole (the managers call back); the text masked
    masked_phone: str = ""
    agent: str = ""
    comment: str = ""


@dataclass(frozen=True, slots=True)
class QueueWaitFacts:
    shop_name: str
    local_time: datetime  # in the shop's zone
    timezone: str
    calls_waiting: int
    longest_wait_seconds: int
    limit_seconds: int
    agents_by_status: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DropRateFacts:
    shop_name: str
    dropped: int
    answers: int
    percent: Decimal
    limit: Decimal


@dataclass(frozen=True, slots=True)
class NeedsManagerFacts:
    shop_name: str
    call_sid: str
    order_numbers: tuple[str, ...] = ()
    customer_name: str = ""
    phone: str = ""
    purpose: str = "other"  # domain.outcomes.purpose_of: callback | agent_dialed | inbound | other
    agent: str = ""
    comment: str = ""


@dataclass(frozen=True, slots=True)
class VoicemailFacts:
    """A voicemail for the shop: the email right away, and Twilio's text in a second one."""

    shop_name: str
    phone: str  # whole: the managers call back
    local_time: datetime  # in the shop's zone
    timezone: str
    seconds: int
    language: str  # the caller's, a code (uk, ru, en)
    link: str  # the expiring signed link to the recording
    link_days: int
    callback: bool  # a callback task waits in the agents' queue (False: a hidden number)
    transcription_follows: bool = False
    transcription: str | None = None  # given: this is the transcription's email


@dataclass(frozen=True, slots=True)
class DestinationCapFacts:
    """The shop took its daily limit of new phone numbers (``destinations.new_numbers_per_day``)."""

    shop_name: str
    day: str  # the shop's local day, ISO
    cap: int


AlertFacts = (
    LargeOrderFacts
    | ComplaintFacts
    | QueueWaitFacts
    | DropRateFacts
    | NeedsManagerFacts
    | VoicemailFacts
    | DestinationCapFacts
)


@dataclass(frozen=True, slots=True)
class AlertWords:
    subject: str
    body: str
    sms: str | None  # None: the alert goes by email only


def alert_words(facts: AlertFacts, catalog: Catalog) -> AlertWords:
    """The alert's subject, body and text in the catalog's language."""
    say = catalog.alert_text
    dash = say("none")

    def given(value: str | None) -> str:
        return value.strip() if value and value.strip() else dash

    def worded(kind: str, values: dict[str, str], subject: dict[str, str] | None = None, /, **sms: str) -> AlertWords:
        """The email's subject (from ``subject``, else ``values``) and body; the text from ``sms``."""
        text = catalog.sms_text(f"alert_{kind}", shop_name=facts.shop_name, **sms)
        return AlertWords(say(f"{kind}_subject", **(subject or values)), say(f"{kind}_body", **values), text)

    if isinstance(facts, LargeOrderFacts):
        order = facts.order_number or facts.order_id
        values = {
            "shop_name": facts.shop_name,
            "order_number": order,
            "order": order if order == facts.order_id else f"{order} ({facts.order_id})",
            "total": number(facts.total),
            "currency": facts.currency,
            "threshold": number(facts.threshold),
            "customer": given(facts.customer_name),
            "phone": given(facts.masked_phone),
        }
        sms_values = {k: values[k] for k in ("order_number", "total", "currency", "threshold")}
        return worded("large_order", values, **sms_values)
    if isinstance(facts, ComplaintFacts):
        values = {
            "shop_name": facts.shop_name,
            "order_number": given(facts.order_number),
            "customer": given(facts.customer_name),
            "phone": given(facts.phone),
            "agent": given(facts.agent),
            "comment": given(facts.comment),
        }
        subject_values = values | {"customer": given(facts.customer_name or facts.masked_phone)}
        sms = {"phone": given(facts.masked_phone), "order_number": values["order_number"], "agent": values["agent"]}
        return worded("complaint", values, subject_values, **sms)
    if isinstance(facts, QueueWaitFacts):
        values = {
            "shop_name": facts.shop_name,
            "time": f"{facts.local_time:%H:%M}",
            "timezone": facts.timezone,
            "waiting": str(max(0, facts.calls_waiting)),
            "wait": duration(facts.longest_wait_seconds, catalog),
            "limit": duration(facts.limit_seconds, catalog),
            "agents": agents_sentence(facts.agents_by_status, catalog),
        }
        wait, limit = str(max(0, facts.longest_wait_seconds)), str(max(0, facts.limit_seconds))
        return worded("queue_wait", values, wait=wait, limit=limit, waiting=values["waiting"])
    if isinstance(facts, DropRateFacts):
        values = {
            "shop_name": facts.shop_name,
            "dropped": str(facts.dropped),
            "answers": str(facts.answers),
            "percent": number(facts.percent),
            "limit": number(facts.limit),
        }
        return worded("drop_rate", values, percent=values["percent"], limit=values["limit"])
    if isinstance(facts, VoicemailFacts):
        return voicemail_words(facts, catalog)
    if isinstance(facts, DestinationCapFacts):
        values = {"shop_name": facts.shop_name, "day": facts.day, "cap": str(facts.cap)}
        return worded("destination_cap", values, cap=values["cap"])
    purpose = catalog.alert.get(f"purpose_{facts.purpose}") or say("purpose_other")
    values = {
        "shop_name": facts.shop_name,
        "order_number": ", ".join(n for n in facts.order_numbers if n) or dash,
        "customer": given(facts.customer_name),
        "phone": given(facts.phone),
        "purpose": purpose,
        "agent": given(facts.agent),
        "comment": given(facts.comment),
        "call_sid": given(facts.call_sid),
    }
    return AlertWords(say("needs_manager_subject", **values), say("needs_manager_body", **values), None)


def voicemail_words(facts: VoicemailFacts, catalog: Catalog) -> AlertWords:
    """The voicemail's email, or (with ``facts.transcription``) the transcription's."""
    say = catalog.alert_text
    values = {
        "shop_name": facts.shop_name,
        "phone": facts.phone.strip() or say("none"),
        "time": f"{facts.local_time:%Y-%m-%d %H:%M}",
        "timezone": facts.timezone,
        "length": duration(facts.seconds, catalog),
        "link": facts.link,
        "days": str(facts.link_days),
    }
    if facts.transcription is not None:
        body = say("voicemail_transcript_body", **values, text=facts.transcription)
        return AlertWords(say("voicemail_transcript_subject", **values), body, None)
    language = catalog.alert.get(f"language_{facts.language}") or facts.language
    callback = say("voicemail_callback" if facts.callback else "voicemail_no_callback")
    follows = say("voicemail_transcription_follows") if facts.transcription_follows else ""
    body = say("voicemail_body", **values, language=language, callback=callback, transcription=follows)
    return AlertWords(say("voicemail_subject", **values), body.rstrip("\n") + "\n", None)


def number(value: Decimal | int) -> str:
    """A plain number as people write it: ``5000``, ``7500.00``, never ``5E+3``."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def duration(seconds: int, catalog: Catalog) -> str:
    """``45 s``, ``1 min 35 s``, ``2 min`` in the catalog's words."""
    seconds = max(0, int(seconds))
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return catalog.alert_text("seconds", seconds=rest)
    if not rest:
        return catalog.alert_text("minutes_only", minutes=minutes)
    return catalog.alert_text("minutes", minutes=minutes, seconds=rest)


def agents_sentence(by_status: Mapping[str, int], catalog: Catalog) -> str:
    """``Agents: 2 offline, 1 on a break.`` in the catalog's words, statuses in a fixed order."""
    known = [status for status in STATUSES if by_status.get(status, 0) > 0]
    other = sorted(status for status, count in by_status.items() if status not in STATUSES and count > 0)
    items = [
        catalog.alert_text("agents_item", count=by_status[status], status=_status_name(status, catalog))
        for status in known + other
    ]
    if not items:
        return catalog.alert_text("agents_none")
    return catalog.alert_text("agents", statuses=catalog.alert_text("agents_separator").join(items))


def _status_name(status: str, catalog: Catalog) -> str:
    return catalog.alert.get(f"status_{status}") or status.replace("-", " ").replace("_", " ")
