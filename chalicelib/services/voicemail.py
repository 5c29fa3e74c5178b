"""Voicemail (I3, I5): a caller's message becomes work someone does.

Three webhooks of a ``<Record>`` (``voice.inbound_twiml.voicemail``), each safe to repeat:

- its action (``message_recorded``), while the caller is still on the line: a message
  (``domain.voicemail.MIN_MESSAGE_SECONDS`` or longer) is kept on the call record (result
  ``voicemail``) and gets a callback task in the group's queue at the caller's original arrival,
  in line with the callers waiting (I6's task, ``inbound.request_callback``); a shorter
  recording is no message: the caller is told so and gets a plain callback task, as any caller
  who hung up unserved does (I7). A hidden number gets no task (it is never offered voicemail;
  only the technical-problem fallback records one);
- the recording status callback (``recording_ready``), once the file can be fetched: the
  same bookkeeping if the action never arrived, then the shop's email. The numbers' static
  fallback (``infra/voice_fallback.py``, when the app failed) records with this callback too: a
  call the app never stored is looked up at Twilio (who called which number) and stored now, with an expiring signed
  link to the recording (``alerts.send_alert``: once per call, to the alerts' recipients, else
  the report's, in the shop's language);
- Twilio's transcription callback (``transcribed``), where the shop asks for it: the text on
  the call record and a second, short email with it (once per call). It comes as a follow-up
  rather than held back in the first email: Twilio takes from seconds to minutes and may never
  answer, and the shop should hear of the message at once.

Twilio's callbacks may come again (a retry after a 500 or a timeout) and in any order; the task
is keyed by the call (``cb_<CallSid>``) and the emails go through ``once``, so nothing is made
or sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain.voicemail import Recorded, recorded, recording_ready, transcription
from chalicelib.observability import logger
from chalicelib.services import inbound
from chalicelib.services.alerts import AlertChannels, send_alert, worded_alert
from chalicelib.services.inbound import CallContext
from chalicelib.voice.alert_words import VoicemailFacts

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.domain.entities import Call
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.ports import CallState, InboundStore, RecordingLink


@dataclass(frozen=True)
class Thanks:
    """What the caller hears after the beep's recording: ``prompt`` in ``language``, then goodbye."""

    language: str
    prompt: str


def message_recorded(form: dict[str, str], *, store: InboundStore, now: datetime) -> Thanks:
    """The ``<Record>``'s action: a message is kept and gets its callback task; a recording
    too short to be one gets a plain callback task (I7) and the caller is told so."""
    ctx = _context(form, store=store, now=now)
    if ctx is None:
        return Thanks("en", "inbound_voicemail_thanks")
    language = ctx.call.language or ctx.shop.main_language
    heard = recorded(form)
    if heard.is_message:
        leave_voicemail(ctx, heard, store=store, now=now)
        return Thanks(language, "inbound_voicemail_thanks")
    if ctx.call.result == "voicemail":  # a repeated action of a message already kept
        return Thanks(language, "inbound_voicemail_thanks")
    logger.info("recording too short for a message", extra={"seconds": form.get("RecordingDuration")})
    inbound.request_callback(ctx, store=store, now=now, abandoned=True)
    return Thanks(language, "inbound_voicemail_empty" if inbound.can_call_back(ctx) else "goodbye")


def _context(form: dict[str, str], *, store: InboundStore, now: datetime) -> CallContext | None:
    """The call's context; a call with no record yet (the technical-problem fallback after a
    storage fault) is recorded now, on the shop of the dialed number."""
    ctx = inbound.context(form.get("CallSid", ""), store=store)
    if ctx is not None or not form.get("CallSid"):
        return ctx
    route = store.shop_for_number(form.get("To", ""))
    if route is None:
        return None
    shop, group = route
    call = store.upsert_call(inbound.inbound_call(form, shop, now), group=group)
    return CallContext(shop, call)


def leave_voicemail(ctx: CallContext, heard: Recorded, *, store: InboundStore, now: datetime) -> Call:
    """The message on the call record and its callback task, once (a repeat finds both)."""
    call = ctx.call
    if call.result == "voicemail" and (call.callback_task_id or not inbound.can_call_back(ctx)):
        return call
    inbound.request_callback(ctx, store=store, now=now)  # None: the call has one already (I7), or a hidden number
    store.update_call(call.call_sid, **heard.fields())
    logger.info("voicemail left", extra={"seconds": heard.seconds})
    return store.get_call(call.call_sid) or call


# ---- the shop's emails ------------------------------------------------------------------------
@dataclass(frozen=True)
class VoicemailMail:
    """How the shop hears of a voicemail (``chalicelib.wiring.voicemail_mail``): the alerts'
    channels, and the recording's expiring link lasting ``link_days``."""

    channels: AlertChannels
    recording_link: RecordingLink
    link_days: int


def recording_ready_callback(
    form: dict[str, str],
    *,
    store: InboundStore,
    now: datetime,
    mail: VoicemailMail,
    lookup: Callable[[str], CallState] | None = None,
) -> bool:
    """The recording status callback of a voicemail: its bookkeeping if the action was lost,
    then the shop's email (once). True when this call sent it. A call with no record (a message
    left on the static fallback while the app was down) is asked of Twilio with ``lookup``: the
    callback names neither the caller nor the number."""
    heard = recorded(form)
    if not recording_ready(form) or not heard.is_message:
        return False
    ctx = inbound.context(heard.call_sid, store=store)
    if ctx is None and lookup is not None and heard.call_sid:
        state = lookup(heard.call_sid)
        ctx = _context({**form, "From": state.from_, "To": state.to}, store=store, now=now)
    if ctx is None:
        logger.warning("voicemail recording of a call with no record")
        return False
    call = leave_voicemail(ctx, heard, store=store, now=now)
    return email_voicemail(ctx.shop, call, mail=mail)


def transcribed(form: dict[str, str], *, store: InboundStore, mail: VoicemailMail) -> bool:
    """Twilio's transcription of a voicemail: kept on the call, and emailed (once) when it has
    words. True when this call sent the email."""
    text = transcription(form)
    ctx = inbound.context(text.call_sid, store=store)
    if ctx is None or ctx.call.result != "voicemail":
        return False
    fields: dict[str, object] = {"transcription_status": text.status or "failed"}
    if text.has_text:
        fields["transcription"] = text.text
    store.update_call(ctx.call.call_sid, **fields)
    if not text.has_text:
        logger.info("voicemail transcription without text", extra={"status": text.status})
        return False
    return email_voicemail(ctx.shop, replace(ctx.call, transcription=text.text), mail=mail, transcription=True)


def email_voicemail(shop: ShopSettings, call: Call, *, mail: VoicemailMail, transcription: bool = False) -> bool:
    """The voicemail's email (or its transcription's) to the shop, once per call."""
    link = mail.recording_link(call)
    if link is None:
        logger.error("voicemail without a recording: no email")
        return False
    facts = VoicemailFacts(
        shop_name=shop.name,
        phone=call.customer_phone,
        local_time=call.created_at.astimezone(shop.zone),
        timezone=shop.timezone,
        seconds=call.voicemail_seconds or 0,
        language=call.language or shop.main_language,
        link=link,
        link_days=mail.link_days,
        callback=bool(call.callback_task_id),
        transcription_follows=shop.inbound.voicemail_transcription,
        transcription=call.transcription if transcription else None,
    )
    kind = "voicemail-transcription" if transcription else "voicemail"
    return send_alert(shop, worded_alert(shop, kind, call.call_sid, facts), channels=mail.channels)
