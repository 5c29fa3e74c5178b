"""Text messages with customers (O7 fallback, O9, O10) under the do-not-call list (O11).

Every message out checks the list first; every message in is logged for the customer's
timeline. A reply of 1/YES or 2/NO decides the customer's open orders; STOP and START move them
on and off the list.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.entities import Order, TextMessage
from chalicelib.domain.orders import format_amount
from chalicelib.domain.shop import ShopSettings
from chalicelib.domain.sms import Intent, sms_intent
from chalicelib.observability import logger
from chalicelib.services.ports import MessageOutcomeUnknownError, MessagingStore, Messenger
from chalicelib.voice.catalog import load_catalog

DECISIONS = {"confirm": "confirmed", "cancel": "cancelled"}


def send_customer_sms(
    shop: ShopSettings,
    phone: str,
    language: str,
    message: str,
    *,
    purpose: str,
    order_ids: list[str],
    store: MessagingStore,
    messenger: Messenger,
    now: datetime,
    **values: object,
) -> str | None:
    """The MessageSid, or None when the customer is on the do-not-call list or no number sends."""
    if not shop.caller_id:
        logger.error("shop has no caller_id: cannot text", extra={"shop_id": shop.shop_id})
        return None
    if store.is_do_not_call(shop.shop_id, phone):
        logger.info("not texting a do-not-call customer", extra={"phone": phone, "purpose": purpose})
        return None
    body = load_catalog(language).sms_text(message, shop_name=shop.name, **values)
    try:
        sid = messenger.send_sms(to=phone, from_=shop.caller_id, body=body)
    except MessageOutcomeUnknownError:
        # Twilio may have sent it: never text twice (its delivery shows in Twilio's log).
        logger.warning("text request timed out; not sent again", extra={"phone": phone, "purpose": purpose})
        return None
    store.log_message(TextMessage.of(shop, phone, sid, "outbound", body, now, purpose=purpose, order_ids=order_ids))
    return sid


def ask_by_sms(
    shop: ShopSettings, order: Order, *, store: MessagingStore, messenger: Messenger, now: datetime
) -> str | None:
    """After the last unanswered call: the order by text, to confirm or cancel by reply (O7)."""
    return send_customer_sms(
        shop,
        order.phone,
        order.language or shop.main_language,
        "confirm_request",
        purpose="confirm-request",
        order_ids=[order.order_id],
        store=store,
        messenger=messenger,
        now=now,
        order_number=order.order_number or order.order_id,
        total=format_amount(order.total),
        currency=order.currency,
    )


def tell_confirmed(
    shop: ShopSettings, order: Order, *, store: MessagingStore, messenger: Messenger, now: datetime
) -> str | None:
    """The confirmation, with the delivery date and time when the order has a slot (O9)."""
    values: dict[str, object] = {"order_number": order.order_number or order.order_id}
    message = "confirmed"
    slot = order.promised_slot
    if slot:
        start = datetime.fromisoformat(slot["start"]).astimezone(shop.zone)
        end = datetime.fromisoformat(slot["end"]).astimezone(shop.zone)
        message = "confirmed_delivery"
        values |= {
            "delivery_date": start.strftime("%d.%m.%Y"),
            "delivery_from": start.strftime("%H:%M"),
            "delivery_to": end.strftime("%H:%M"),
        }
    return send_customer_sms(
        shop,
        order.phone,
        order.language or shop.main_language,
        message,
        purpose="confirmed",
        order_ids=[order.order_id],
        store=store,
        messenger=messenger,
        now=now,
        **values,
    )


def receive_sms(
    shop: ShopSettings,
    phone: str,
    body: str,
    opt_out_type: str | None,
    message_sid: str,
    *,
    store: MessagingStore,
    now: datetime,
) -> str | None:
    """Act on a customer's text; the reply to send back, or None when Twilio answers itself."""
    intent = sms_intent(body, opt_out_type)
    decided: list[Order] = []
    if intent in DECISIONS:
        decided = _decide(shop, phone, DECISIONS[intent], store=store, now=now)
    elif intent == "stop":
        store.add_do_not_call(shop.shop_id, phone, "sms", now)
    elif intent == "start":
        store.remove_do_not_call(shop.shop_id, phone)
    order_ids = [o.order_id for o in decided]
    store.log_message(
        TextMessage.of(shop, phone, message_sid, "inbound", body, now, intent=intent, order_ids=order_ids)
    )
    return _reply(shop, intent, decided, twilio_handles_opt_out=bool(opt_out_type))


def _decide(shop: ShopSettings, phone: str, status: str, *, store: MessagingStore, now: datetime) -> list[Order]:
    decided = []
    for order in store.open_orders_of(shop.shop_id, phone):
        moved = store.transition_order(shop.shop_id, order.order_id, {"queued", "unreachable"}, status, decided_at=now)
        if moved is not None:
            decided.append(moved)
            if moved.task_id:
                store.drop_orders_from_task(moved.task_id, [moved.order_id])
    return decided


def _reply(shop: ShopSettings, intent: Intent, decided: list[Order], *, twilio_handles_opt_out: bool) -> str | None:
    catalog = load_catalog(decided[0].language or shop.main_language if decided else shop.main_language)
    if intent in ("stop", "start", "help") and twilio_handles_opt_out:
        return None  # Twilio's Advanced Opt-Out already answers these keywords
    if intent in DECISIONS:
        if not decided:
            return catalog.sms_text("nothing_open", shop_name=shop.name)
        numbers = ", ".join(o.order_number or o.order_id for o in decided)
        message = "confirmed" if intent == "confirm" else "cancelled"
        return catalog.sms_text(message, shop_name=shop.name, order_number=numbers)
    names = {"stop": "opted_out", "start": "opted_in", "help": "help", "other": "passed_on"}
    return catalog.sms_text(names[intent], shop_name=shop.name)
