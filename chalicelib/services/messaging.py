"""Text messages with customers (O7 fallback, O9 delivery notice, O10) under the do-not-call list (O11).

Every message out checks the list first; every message in is logged for the customer's
timeline. A reply of 1/YES confirms the customer's open orders that the robot or a text asked
about; 2/NO cancels only the one whose number follows it ("2 SP-1042"): a bare 2 is asked for the
number, a wrong one is told so, and a second wrong one is told to call (texts decide that order
no more). One that waits for a person, or for its first call, stays as it is, the reply says
who will call, and the message keeps it (``left_open``) for the agent. STOP and START move the
customer on and off the list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain.cancel_proof import MAX_CANCEL_TRIES, cancel_reference, texted_matches
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


@dataclass
class TextDecision:
    """What a 1 or 2 did: the orders it decided, the open ones it may not decide, and, for a
    cancel that named no order of the customer's, the reply that says so (an [sms] key)."""

    decided: list[Order] = field(default_factory=list)
    left_open: list[Order] = field(default_factory=list)
    refused: str | None = None


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
    outcome = TextDecision()
    if intent in DECISIONS:
        outcome = _decide(shop, phone, intent, cancel_reference(body) or "", store=store, now=now)
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
            order_ids=[o.order_id for o in outcome.decided],
            left_open=[o.order_id for o in outcome.left_open],
        )
    )
    if refused_contact(shop, phone):  # no reply to a number the shop never texts (SMS pumping)
        return []
    return _reply(shop, intent, outcome, twilio_handles_opt_out=bool(opt_out_type))


def _decide(
    shop: ShopSettings, phone: str, intent: str, reference: str, *, store: MessagingStore, now: datetime
) -> TextDecision:
    """The orders the text decided, and the open ones it may not decide (nobody asked about
    them by robot or text: they wait for a person or their first call). A cancel decides only
    the order its ``reference`` names."""
    outcome = TextDecision()
    askable: list[Order] = []
    for order in store.open_orders_of(shop.shop_id, phone):
        (askable if decided_by_text(order) else outcome.left_open).append(order)
    if intent == "cancel" and askable:
        named = [o for o in askable if texted_matches(o.order_number or o.order_id, reference)]
        if not named:
            outcome.refused = _refuse_cancel(shop, askable, reference, store=store)
        askable = named
    for order in askable:
        status = DECISIONS[intent]
        moved = store.transition_order(shop.shop_id, order.order_id, {"queued", "unreachable"}, status, decided_at=now)
        if moved is not None:
            outcome.decided.append(moved)
            if moved.task_id:
                store.drop_orders_from_task(moved.task_id, [moved.order_id])
    return outcome


def _refuse_cancel(shop: ShopSettings, askable: list[Order], reference: str, *, store: MessagingStore) -> str:
    """A cancel without a number is asked for it; a wrong number counts against each order the
    text might have meant, and the last try leaves them to a call (``asked_by`` cleared)."""
    if not reference:
        return "cancel_needs_number"
    spent = False
    for order in askable:
        misses = order.cancel_misses + 1
        fields: dict[str, object] = {"cancel_misses": misses}
        if misses >= MAX_CANCEL_TRIES:
            fields["asked_by"] = None
            spent = True
        store.mark_orders(shop.shop_id, [order.order_id], **fields)
    logger.info("text cancel refused: wrong order number", extra={"shop_id": shop.shop_id, "spent": spent})
    return "cancel_number_refused" if spent else "cancel_number_wrong"


def _reply(shop: ShopSettings, intent: Intent, outcome: TextDecision, *, twilio_handles_opt_out: bool) -> list[str]:
    decided, left_open = outcome.decided, outcome.left_open
    concerned = decided or left_open
    catalog = load_catalog(concerned[0].language or shop.main_language if concerned else shop.main_language)
    if intent in ("stop", "start", "help") and twilio_handles_opt_out:
        return []  # Twilio's Advanced Opt-Out already answers these keywords
    if intent not in DECISIONS:
        names = {"stop": "opted_out", "start": "opted_in", "help": "help", "other": "passed_on"}
        return [catalog.sms_text(names[intent], shop_name=shop.name)]
    texts = []
    if outcome.refused:
        texts.append(catalog.sms_text(outcome.refused, shop_name=shop.name))
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
