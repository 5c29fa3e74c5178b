"""The menus of a call to a shop's number (I1-I4, I11), one use case per webhook: the arrival,
the language menu, the after-hours choice, and self-service on the caller's active orders
(confirm; cancel once the order's number is keyed and the order read back; choose a delivery
slot).

Each returns what the caller hears next as a small step that the web layer renders as TwiML:
a menu (``LanguageMenu``, ``AfterHoursMenu``, ``OrdersMenu``, ``OrderMenu``, ``SlotMenu``,
``CancelNumber``, ``CancelCheck``),
``ToMenu``, ``NotUnderstood``, or a step of the queue (``inbound_queue``). A menu's try
(``attempt``) arrives as the webhook's query carries it and is read only when needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from chalicelib.domain.cancel_proof import MAX_CANCEL_TRIES, keyed_matches, keypad_digits
from chalicelib.domain.delivery_slots import DeliverySlot, day_word
from chalicelib.domain.ivr import language_digits, next_attempt
from chalicelib.services import inbound
from chalicelib.services.inbound import CallContext
from chalicelib.services.inbound_queue import (
    Goodbye,
    Heard,
    LeaveMessage,
    Queued,
    call_context,
    callback_or_voicemail,
    queue_caller,
)
from chalicelib.voice.catalog import load_catalog

if TYPE_CHECKING:
    from chalicelib.domain.entities import Order
    from chalicelib.domain.shop import ShopSettings
    from chalicelib.services.ports import InboundStore

PLEASE_HOLD = "inbound_please_hold"


@dataclass(frozen=True)
class LanguageMenu:
    shop_name: str
    languages: Sequence[str]
    attempt: object  # as the query carried it
    greet: bool = False


@dataclass(frozen=True)
class AfterHoursMenu:
    """Closed: a callback (1) or a voicemail (2)."""

    language: str
    shop_name: str
    attempt: int
    greet: bool = False


@dataclass(frozen=True)
class ToMenu:
    """On to the main menu (after welcoming the caller to ``welcome_to``, if given)."""

    language: str
    welcome_to: str | None = None


@dataclass(frozen=True)
class NotUnderstood:
    """Say so, then read ``menu`` again: the languages, the caller's orders or the slots."""

    language: str
    menu: Literal["language", "orders", "slots"]
    attempt: int = 0
    order_id: str = ""


@dataclass(frozen=True)
class OrdersMenu:
    """Several active orders: pick one by digit (0 for an agent)."""

    language: str
    orders: list[Order]


@dataclass(frozen=True)
class SlotTimes:
    """A delivery slot as the caller hears it: ``today``, ``tomorrow`` or a weekday, from, to."""

    day: str
    start: str
    end: str


@dataclass(frozen=True)
class OrderMenu:
    """One order: confirm, cancel, an agent, and 3 for a slot when the shop has slots to offer;
    ``chosen`` is the slot just stored, read first; ``kept``: a cancellation was called off."""

    language: str
    order: Order
    attempt: int
    slots: bool
    chosen: SlotTimes | None = None
    kept: bool = False


@dataclass(frozen=True)
class CancelNumber:
    """Caller ID proves nothing: to cancel, the caller keys the order's number (its digits, then
    #); ``preface`` says why they are asked again (a wrong number, or none heard)."""

    language: str
    order_id: str
    attempt: int
    preface: str | None = None


@dataclass(frozen=True)
class CancelCheck:
    """Cancelling is for good: the order is read back; 1 (or a clear yes) cancels it."""

    language: str
    order: Order


@dataclass(frozen=True)
class SlotMenu:
    """The delivery slots on offer at ``as_of``, 1..N, and 0 for an agent; none: back to the order."""

    language: str
    order_id: str
    attempt: int
    as_of: datetime
    slots: list[SlotTimes]


MenuStep = (
    Goodbye | LeaveMessage | Queued | LanguageMenu | AfterHoursMenu | ToMenu | NotUnderstood | OrdersMenu | OrderMenu
) | (SlotMenu | CancelCheck | CancelNumber)


def _next_try(heard: Heard, shop: ShopSettings) -> int | None:
    return next_attempt(int(heard.tries() or 0), shop.inbound.menu_attempts)


def _to_second(now: datetime) -> datetime:
    """Now to the second: slot menus carry it in their URL and map digits back with it."""
    return now.replace(microsecond=0)


def _times(ctx: CallContext, slot: DeliverySlot, as_of: datetime) -> SlotTimes:
    zone = ctx.shop.zone
    return SlotTimes(
        day_word(slot, as_of, zone),
        slot.start.astimezone(zone).strftime("%H:%M"),
        slot.end.astimezone(zone).strftime("%H:%M"),
    )


# ---- arrival, language, hours (I1-I3) ---------------------------------------------------
def arrive(
    form: dict[str, str], *, store: InboundStore, now: datetime
) -> Goodbye | AfterHoursMenu | LanguageMenu | ToMenu:
    """The greeting; a shop with several languages asks for one first, open or closed."""
    arrival = inbound.arrive(form, store=store, now=now)
    if arrival is None:
        return Goodbye("en", "number_not_in_service")
    shop, language = arrival.shop, arrival.language
    if len(shop.languages) > 1:
        return LanguageMenu(shop.name, shop.languages, 0, greet=True)
    if not arrival.open:
        return _closed(CallContext(shop, arrival.call), language, greet=True)
    return ToMenu(language, welcome_to=shop.name)


def _closed(ctx: CallContext, language: str, *, greet: bool = False) -> Goodbye | AfterHoursMenu:
    """After hours: a callback or a voicemail; a withheld number is told to call again."""
    if not inbound.can_call_back(ctx):
        return Goodbye(language, _closed_no_callback(ctx))
    return AfterHoursMenu(language, ctx.shop.name, 0, greet=greet)


def _closed_no_callback(ctx: CallContext) -> str:
    """Closed, and no callback: the number is hidden, or one the shop never calls."""
    return "inbound_after_hours_cannot_call_back" if inbound.number_refused(ctx) else "inbound_after_hours_call_again"


def language_chosen(
    heard: Heard, *, store: InboundStore
) -> ToMenu | LanguageMenu | NotUnderstood | AfterHoursMenu | Goodbye:
    """The language keyed or said; not understood: the menu again, and once the tries are
    spent the shop's main language. Then the main menu, or after hours the closed menu."""
    ctx = call_context(heard.call_sid, store=store)
    shop = ctx.shop
    hints: dict[str, str] = {lang: load_catalog(lang).text("inbound_speech_language") for lang in shop.languages}
    language = heard.choice(language_digits(list(shop.languages)), hints)
    if language is None:
        again = _next_try(heard, shop)
        if again is not None:
            if heard.given:
                return NotUnderstood(shop.main_language, "language", again)
            return LanguageMenu(shop.name, shop.languages, again)
        language = shop.main_language
    inbound.choose_language(heard.call_sid, language, store=store)
    if ctx.call.after_hours:
        return _closed(ctx, language)
    return ToMenu(language)


def language_menu(heard: Heard, *, store: InboundStore) -> LanguageMenu:
    shop = call_context(heard.call_sid, store=store).shop
    return LanguageMenu(shop.name, shop.languages, heard.tries("1"))


def after_hours_choice(heard: Heard, *, store: InboundStore, now: datetime) -> Goodbye | LeaveMessage | AfterHoursMenu:
    ctx, language = call_context(heard.call_sid, store=store), heard.language
    if not inbound.can_call_back(ctx):  # a stale menu URL of a withheld caller
        return Goodbye(language, _closed_no_callback(ctx))
    choice = callback_or_voicemail(heard)
    if choice == "callback":
        inbound.request_callback(ctx, store=store, now=now)
        return Goodbye(language, "inbound_callback_confirmed")
    again = None if choice == "voicemail" else _next_try(heard, ctx.shop)
    if again is None:
        return LeaveMessage(language, ctx.shop.inbound.voicemail_transcription)
    return AfterHoursMenu(language, ctx.shop.name, again)


# ---- self-service (I4) -----------------------------------------------------------------
def _order_menu(
    ctx: CallContext,
    language: str,
    order: Order,
    attempt: int,
    now: datetime,
    chosen: SlotTimes | None = None,
    *,
    kept: bool = False,
) -> OrderMenu:
    with_slots = bool(inbound.delivery_slots(ctx, _to_second(now)))
    return OrderMenu(language, order, attempt, with_slots, chosen, kept)


def _slot_menu(ctx: CallContext, language: str, order_id: str, as_of: datetime, attempt: int) -> SlotMenu:
    slots = [_times(ctx, slot, as_of) for slot in inbound.delivery_slots(ctx, as_of)]
    return SlotMenu(language, order_id, attempt, as_of, slots)


def main_menu(heard: Heard, *, store: InboundStore, now: datetime) -> Queued | OrderMenu | OrdersMenu:
    """The caller's active orders: none, the queue; one, its menu; several, a choice."""
    ctx, language = call_context(heard.call_sid, store=store), heard.language
    orders = inbound.active_orders(ctx, store=store)
    if not orders:
        return queue_caller(ctx, language, PLEASE_HOLD, store=store, now=now)
    if len(orders) == 1:
        return _order_menu(ctx, language, orders[0], 0, now)
    return OrdersMenu(language, orders)


def order_chosen(heard: Heard, *, store: InboundStore, now: datetime) -> Queued | OrderMenu | NotUnderstood:
    ctx, language = call_context(heard.call_sid, store=store), heard.language
    orders = inbound.active_orders(ctx, store=store)
    digits = (heard.digits or "").strip()
    if digits == "0":
        return queue_caller(ctx, language, PLEASE_HOLD, store=store, now=now)
    if digits.isdigit() and 1 <= int(digits) <= len(orders):
        return _order_menu(ctx, language, orders[int(digits) - 1], 0, now)
    if _next_try(heard, ctx.shop) is None or not orders:
        return queue_caller(ctx, language, PLEASE_HOLD, store=store, now=now)
    return NotUnderstood(language, "orders")


def order_action(heard: Heard, *, store: InboundStore, now: datetime) -> MenuStep:
    """1 confirms, 2 reads the order back to check the cancellation (only an active order),
    3 reads the delivery slots, 0 an agent; the same by clear speech (``ivr.choose``). A wrong,
    missing, negated or unsure answer reads the order again, then the queue once the tries
    are spent."""
    ctx, language, order_id = call_context(heard.call_sid, store=store), heard.language, heard.order_id
    catalog = load_catalog(language)
    options = {"1": "confirmed", "2": "cancelled", "0": "agent"}
    as_of = _to_second(now)
    if inbound.delivery_slots(ctx, as_of):
        options["3"] = "slot"
    words = {"confirmed": "confirm", "cancelled": "cancel", "agent": "agent", "slot": "slot"}
    choice = heard.choice(options, {name: catalog.text(f"inbound_speech_{word}") for name, word in words.items()})
    if choice == "slot":
        return _slot_menu(ctx, language, order_id, as_of, 0)
    if choice == "cancelled":
        return _check_cancel(ctx, language, order_id, store=store, now=now)
    if choice == "confirmed":
        return _decide(ctx, language, order_id, choice, store=store, now=now)
    again = None if choice == "agent" else _next_try(heard, ctx.shop)
    order = store.get_order(ctx.shop.shop_id, order_id) if again is not None else None
    if again is None or order is None:
        return queue_caller(ctx, language, PLEASE_HOLD, store=store, now=now)
    return _order_menu(ctx, language, order, again, now)


def _decide(
    ctx: CallContext, language: str, order_id: str, decision: str, *, store: InboundStore, now: datetime
) -> Goodbye | Queued:
    order = inbound.decide_order(ctx, order_id, decision, store=store, now=now)
    if order is None:
        return queue_caller(ctx, language, "inbound_order_unchanged", store=store, now=now)
    return Goodbye(language, "inbound_order_confirmed" if decision == "confirmed" else "inbound_order_cancelled")


def _check_cancel(
    ctx: CallContext, language: str, order_id: str, *, store: InboundStore, now: datetime
) -> CancelNumber | Queued:
    """Before anything is read back, the order's number: an order without digits in its number
    can only be cancelled with an agent."""
    order = store.get_order(ctx.shop.shop_id, order_id)
    if order is None or order.status not in inbound.ACTIVE_ORDER_STATUSES:
        return queue_caller(ctx, language, "inbound_order_unchanged", store=store, now=now)
    if not keypad_digits(order.order_number):
        return queue_caller(ctx, language, "inbound_cancel_by_agent", store=store, now=now)
    return CancelNumber(language, order_id, 0)


def cancel_number_keyed(heard: Heard, *, store: InboundStore, now: datetime) -> CancelCheck | CancelNumber | Queued:
    """The order's number keyed to cancel it: right, the order read back (``CancelCheck``);
    wrong or none, asked once more, then an agent (nothing cancelled)."""
    ctx, language, order_id = call_context(heard.call_sid, store=store), heard.language, heard.order_id
    order = store.get_order(ctx.shop.shop_id, order_id)
    if order is None or order.status not in inbound.ACTIVE_ORDER_STATUSES:
        return queue_caller(ctx, language, "inbound_order_unchanged", store=store, now=now)
    if keyed_matches(order.order_number, heard.digits):
        return CancelCheck(language, order)
    again = next_attempt(int(heard.tries() or 0), MAX_CANCEL_TRIES)
    if again is None:
        return queue_caller(ctx, language, "inbound_cancel_number_refused", store=store, now=now)
    preface = "inbound_cancel_number_wrong" if heard.digits else "inbound_not_understood"
    return CancelNumber(language, order_id, again, preface)


def cancel_checked(heard: Heard, *, store: InboundStore, now: datetime) -> Goodbye | Queued | OrderMenu:
    """The answer to the order read back before cancelling it: 1, or a clear yes (the catalog's
    confirm and cancel words), cancels it; anything else (2, a no, silence, unsure or unknown
    words) keeps it and reads its menu again."""
    ctx, language, order_id = call_context(heard.call_sid, store=store), heard.language, heard.order_id
    catalog = load_catalog(language)
    yes = ", ".join(catalog.text(name) for name in ("inbound_speech_confirm", "inbound_speech_cancel"))
    if heard.choice({"1": "cancelled"}, {"cancelled": yes}) == "cancelled":
        return _decide(ctx, language, order_id, "cancelled", store=store, now=now)
    order = store.get_order(ctx.shop.shop_id, order_id)
    if order is None:
        return queue_caller(ctx, language, PLEASE_HOLD, store=store, now=now)
    return _order_menu(ctx, language, order, 0, now, kept=True)


def slot_chosen(heard: Heard, *, store: InboundStore, now: datetime) -> Queued | OrderMenu | NotUnderstood | SlotMenu:
    """A digit of the slot menu read at ``as_of`` (seconds): the slot is stored on the order and
    the order's menu is read again (to confirm it); 0 or asking for a person: the agent queue;
    a wrong or missing digit: the slots again, then the agent queue once the tries are spent."""
    ctx, language, order_id = call_context(heard.call_sid, store=store), heard.language, heard.order_id
    read_at = datetime.fromtimestamp(int(heard.as_of or 0), UTC)
    agent_words = load_catalog(language).text("inbound_speech_agent")
    if heard.choice({"0": "agent"}, {"agent": agent_words}) == "agent":
        return queue_caller(ctx, language, PLEASE_HOLD, store=store, now=now)
    slot = inbound.offered_slot(ctx, read_at, heard.digits, now)
    if slot is not None:
        order = inbound.choose_delivery_slot(ctx, order_id, slot, store=store, now=now)
        if order is None:
            return queue_caller(ctx, language, "inbound_order_unchanged", store=store, now=now)
        return _order_menu(ctx, language, order, 0, now, chosen=_times(ctx, slot, read_at))
    again = _next_try(heard, ctx.shop)
    if again is None:
        return queue_caller(ctx, language, PLEASE_HOLD, store=store, now=now)
    if heard.given:
        return NotUnderstood(language, "slots", again, order_id)
    return _slot_menu(ctx, language, order_id, _to_second(now), again)


def slot_menu(heard: Heard, *, store: InboundStore, now: datetime) -> SlotMenu:
    ctx = call_context(heard.call_sid, store=store)
    return _slot_menu(ctx, heard.language, heard.order_id, _to_second(now), int(heard.tries("1") or 1))
