"""Text messages with customers (O7 fallback, O9 delivery notice, O10) under the do-not-call list (O11).

Every message out checks the list first; every message in is logged for the customer's
timeline. A reply of 1/YES or 2/NO decides the customer's open orders that the robot or a text
asked about; one that waits for a person, or for its first call, stays as it is, the reply says
who will call, and the message keeps it (``left_open``) for the agent. STOP and START move the
customer on and off the list.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain.delivery_notice import notice_words
from chalicelib.domain.entities import Order, TextMessage
from chalicelib.domain.sms import Intent, decided_by_text, sms_intent, who_calls
from chalicelib.domain.text_outbox import OutgoingText, text_id
from chalicelib.domain.values import format_amount
from chalicelib.observability import logger
from chalicelib.services import text_outbox
from chalicelib.services.destinations import refused_contact
from chalicelib.services.ports import MessagingStore
from chalicelib.services.text_outbox import TextLine
from chalicelib.voice.catalog import load_catalog

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings

DECISIONS = {"confirm": "confirmed", "cancel": "cancelled"}


def send_customer_sms(
    shop: ShopSettings,
    phone: str,
    language: str,
    message: str,
    *,
    key: str,
    purpose: str,
    order_ids: list[str],
    line: TextLine,
    now: datetime,
    shop_note: str = "",
    **values: object,
) -> str | None:
    """The outbox's answer for the text (``services.text_outbox.send``: sent, queued, failed,
    duplicate), or None when the customer is on the do-not-call list or no number sends;
    ``key`` names the text in the shop (the same key is never texted twice); ``shop_note``, the
    shop's own words, follows the catalog's as written."""
    if not shop.caller_id:
        logger.error("shop has no caller_id: cannot text", extra={"shop_id": shop.shop_id})
        return None
    if line.store.is_do_not_call(shop.shop_id, phone):
        logger.info("not texting a do-not-call customer", extra={"phone": phone, "purpose": purpose})
        return None
    if refused_contact(shop, phone):  # the last line against SMS pumping
        return None
    body = load_catalog(language).sms_text(message, shop_name=shop.name, **values)
    if shop_note:
        body = f"{body} {shop_note}"
    text = OutgoingText(
        text_id(shop.shop_id, key), shop.shop_id, phone, shop.caller_id, body, "customer", purpose, now, order_ids
    )
    return text_outbox.send(text, line=line, now=now)


def ask_by_sms(shop: ShopSettings, order: Order, *, line: TextLine, now: datetime) -> str | None:
    """After the last unanswered call: the order by text, to confirm or cancel by reply (O7);
    once sent, a reply decides it (the outbox marks the order when the text goes)."""
    return send_customer_sms(
        shop,
        order.phone,
        order.language or shop.main_language,
        "confirm_request",
        key=f"sms#{order.order_id}#confirm-request",
        purpose="confirm-request",
        order_ids=[order.order_id],
        line=line,
        now=now,
        order_number=order.order_number or order.order_id,
        total=format_amount(order.total),
        currency=order.currency,
    )


def tell_delivery(shop: ShopSettings, order: Order, *, key: str, line: TextLine, now: datetime) -> str | None:
    """The shop's delivery notice for a confirmed order (O9), in the customer's language: the
    order's delivery time and address when known, else that the shop will be in touch; then the
    shop's own sentence. None when the shop sends none, or as ``send_customer_sms``."""
    if shop.delivery_notice.mode == "off":
        return None
    language = order.language or shop.main_language
    words = notice_words(shop, order, language)
    return send_customer_sms(
        shop,
        order.phone,
        language,
        words.message,
        key=key,
        purpose="delivery-notice",
        order_ids=[order.order_id],
        line=line,
        now=now,
        shop_note=words.note,
        **words.values,
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
) -> list[str]:
    """Act on a customer's text; the replies to send back (one text per fact: what the text
    decided, who will call about what it did not), none when Twilio answers itself or the
    number is one the shop never texts."""
    intent = sms_intent(body, opt_out_type)
    decided: list[Order] = []
    left_open: list[Order] = []
    if intent in DECISIONS:
        decided, left_open = _decide(shop, phone, DECISIONS[intent], store=store, now=now)
    elif intent == "stop":
        store.add_do_not_call(shop.shop_id, phone, "sms", now)
    elif intent == "start":
        store.remove_do_not_call(shop.shop_id, phone)
    store.log_message(
        TextMessage.of(
            shop,
            phone,
            message_sid,
            "inbound",
            body,
            now,
            intent=intent,
            order_ids=[o.order_id for o in decided],
            left_open=[o.order_id for o in left_open],
        )
    )
    if refused_contact(shop, phone):  # no reply to a number the shop never texts (SMS pumping)
        return []
    return _reply(shop, intent, decided, left_open, twilio_handles_opt_out=bool(opt_out_type))


def _decide(
    shop: ShopSettings, phone: str, status: str, *, store: MessagingStore, now: datetime
) -> tuple[list[Order], list[Order]]:
    """The orders the text decided, and the open ones it may not decide (nobody asked about
    them by robot or text: they wait for a person or their first call)."""
    decided, left_open = [], []
    for order in store.open_orders_of(shop.shop_id, phone):
        if not decided_by_text(order):
            left_open.append(order)
            continue
        moved = store.transition_order(shop.shop_id, order.order_id, {"queued", "unreachable"}, status, decided_at=now)
        if moved is not None:
            decided.append(moved)
            if moved.task_id:
                store.drop_orders_from_task(moved.task_id, [moved.order_id])
    return decided, left_open


def _reply(
    shop: ShopSettings, intent: Intent, decided: list[Order], left_open: list[Order], *, twilio_handles_opt_out: bool
) -> list[str]:
    concerned = decided or left_open
    catalog = load_catalog(concerned[0].language or shop.main_language if concerned else shop.main_language)
    if intent in ("stop", "start", "help") and twilio_handles_opt_out:
        return []  # Twilio's Advanced Opt-Out already answers these keywords
    if intent not in DECISIONS:
        names = {"stop": "opted_out", "start": "opted_in", "help": "help", "other": "passed_on"}
        return [catalog.sms_text(names[intent], shop_name=shop.name)]
    texts = []
    if decided:
        message = "confirmed" if intent == "confirm" else "cancelled"
        texts.append(catalog.sms_text(message, shop_name=shop.name, order_number=_numbers(decided)))
    for caller in ("agent", "call"):
        waiting = [o for o in left_open if who_calls(o) == caller]
        if waiting:
            texts.append(catalog.sms_text(f"waits_for_{caller}", shop_name=shop.name, order_number=_numbers(waiting)))
    if not texts:  # nothing open, or only orders nobody will call about (kept for a manager)
        texts.append(catalog.sms_text("passed_on" if left_open else "nothing_open", shop_name=shop.name))
    return texts


def _numbers(orders: list[Order]) -> str:
    return ", ".join(o.order_number or o.order_id for o in orders)
