"""Inbound calls of the walking skeleton: a caller hears the shop's greeting and leaves a
voicemail linked to the shop (the full IVR, queue and agents come with the inbound issue)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.entities import Call
from chalicelib.domain.orders import local_day
from chalicelib.domain.phones import normalise_phone
from chalicelib.services.ports import Store


def store_voicemail(form: dict[str, str], *, store: Store, now: datetime) -> str:
    """Record the voicemail on the call record; returns the language to thank the caller in."""
    route = store.shop_for_number(form.get("To", ""))
    if route is None:
        return "en"
    shop, _ = route
    caller = normalise_phone(form.get("From", ""), shop.default_region)
    call_sid = form.get("CallSid", "")
    store.upsert_call(
        Call(
            call_sid=call_sid,
            shop_id=shop.shop_id,
            direction="inbound",
            customer_phone=caller.e164 or caller.raw,
            shop_number=form.get("To", ""),
            created_at=now,
            day=local_day(now, shop.timezone),
            status="in-progress",
        )
    )
    store.update_call(call_sid, result="voicemail", recording_url=form.get("RecordingUrl", ""))
    return shop.main_language


def record_inbound_call_status(form: dict[str, str], *, store: Store, now: datetime) -> None:
    """Status callbacks of calls to the shop's numbers: the final status and duration land on
    the call record when the call left one (a voicemail); other calls keep no record yet."""
    call = store.get_call(form.get("CallSid", ""))
    if call is None:
        return
    fields: dict[str, object] = {"status": form.get("CallStatus", call.status)}
    if form.get("CallDuration", "").isdigit():
        fields["duration_seconds"] = int(form["CallDuration"])
    store.apply_call_status(call.call_sid, int(form.get("SequenceNumber") or 0), **fields)
