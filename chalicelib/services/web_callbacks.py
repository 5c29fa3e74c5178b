"""'Call me back' requests from a shop's site form (O1): a callback task for the shop's agents,
at the time the customer chose or as soon as an agent is free, once per customer and time."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, Field

from chalicelib.domain.orders import CustomerPhone, RequestBody
from chalicelib.domain.phones import normalise_phone
from chalicelib.domain.queue import QueueEntry
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.ports import CallbackStore

LATEST_CALLBACK = timedelta(days=30)


class CallbackIn(RequestBody):
    phone: CustomerPhone
    customer_name: str = Field(default="", max_length=200)
    comment: str = Field(default="", max_length=2000)
    language: Literal["uk", "ru", "en"] | None = None
    callback_at: AwareDatetime | None = None  # when the customer wants the call; absent: soon


class CallbackRefused(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def request_callback(
    shop: ShopSettings, request: CallbackIn, *, store: CallbackStore, now: datetime
) -> tuple[dict[str, str], bool]:
    """The callback's public view and whether it is new (a repeated form post is the same one)."""
    phone = normalise_phone(request.phone, shop.default_region)
    if phone.e164 is None:
        raise CallbackRefused("phone", phone.problem or "not a phone number")
    due = request.callback_at or now
    if due < now - timedelta(minutes=5):
        raise CallbackRefused("callback_at", "is in the past")
    if due > now + LATEST_CALLBACK:
        raise CallbackRefused("callback_at", "is more than 30 days ahead")
    moment = request.callback_at.isoformat() if request.callback_at else "soon"
    task_id = "cb_web_" + hashlib.sha256(f"{shop.shop_id}#{phone.e164}#{moment}".encode()).hexdigest()[:20]
    language = request.language or shop.main_language
    created = store.insert_callback_task(task_id, shop.shop_id, phone.e164, language, due, now)
    if created and request.callback_at is None:
        # As soon as possible: in line with the callers waiting now, in arrival order (I6).
        route = store.shop_for_number(shop.caller_id) if shop.caller_id else None
        group = route[1] if route else "main"
        store.add_queue_entry(QueueEntry(shop.shop_id, group, "callback", task_id, phone.e164, language, now))
    view = {"id": task_id, "phone": phone.e164, "callback_at": due.isoformat(), "status": "scheduled"}
    return view, created
