"""The menus of a call to a shop's number (I1-I4, I11): greeting with the recording notice,
language menu, business hours, self-service on active orders. Each handler parses the
webhook, makes one call to ``services.inbound_menu`` and renders the step it returns (the
queue's steps through ``web.voice_queue``, which holds the queue's own webhooks).

Every view is guarded: a fault (a storage error) gives the caller an apology and a voicemail
(fallback TwiML), never Twilio's application error.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.domain.entities import Order
from chalicelib.services import inbound_menu as menus
from chalicelib.services.inbound_menu import (
    AfterHoursMenu,
    CancelCheck,
    CancelNumber,
    LanguageMenu,
    MenuStep,
    NotUnderstood,
    OrderMenu,
    OrdersMenu,
    SlotMenu,
    SlotTimes,
    ToMenu,
)
from chalicelib.voice import inbound_twiml as tw
from chalicelib.voice.catalog import Catalog, load_catalog
from chalicelib.voice.links import INBOUND_BASE as BASE
from chalicelib.voice.links import INCOMING_PATH, InboundLinks
from chalicelib.web.http import current_request, twilio_webhook, twiml
from chalicelib.web.voice_queue import FORM, guarded_by, heard_in, respond
from chalicelib.wiring import inbound_links, inbound_store

voice_inbound = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_inbound))
guarded = guarded_by(voice_inbound)
STATUS_WORDS = {"received": "inbound_status_received", "queued": "inbound_status_queued"}
Lines = list[tuple[str, dict[str, object]]]


# ---- rendering the menus' steps ------------------------------------------------------------
def _render(step: MenuStep) -> Response:
    links = inbound_links()
    if isinstance(step, LanguageMenu):
        again = links.language(step.attempt)
        return twiml(tw.language_menu(step.shop_name, step.languages, again, again, greet=step.greet))
    catalog, language = load_catalog(step.language), step.language
    if isinstance(step, AfterHoursMenu):
        again = links.after_hours(language, step.attempt)
        return twiml(tw.after_hours(catalog, step.shop_name, again, again, greet=step.greet))
    if isinstance(step, ToMenu):
        if step.welcome_to is None:
            return twiml(tw.redirect(links.menu(language)))
        return twiml(tw.redirect(links.menu(language), catalog, "inbound_welcome", shop_name=step.welcome_to))
    if isinstance(step, NotUnderstood):
        return twiml(tw.not_understood_then(catalog, _menu_again(step, links)))
    if isinstance(step, OrdersMenu):
        again = links.order_choice(language, 0)
        return twiml(tw.orders_menu(catalog, _orders_lines(step.orders), again, again, choose=True))
    if isinstance(step, OrderMenu):
        return twiml(_order_menu(step, catalog, links))
    if isinstance(step, SlotMenu):
        return twiml(_slot_menu(step, catalog, links))
    if isinstance(step, CancelCheck):
        action = links.order_cancel(language, step.order.order_id)
        return twiml(tw.cancel_check(catalog, _order_words(step.order, catalog), action))
    if isinstance(step, CancelNumber):
        action = links.order_cancel_number(language, step.order_id, step.attempt)
        return twiml(tw.cancel_number(catalog, action, step.preface))
    return respond(step)


def _menu_again(step: NotUnderstood, links: InboundLinks) -> str:
    if step.menu == "language":
        return links.language_menu(step.attempt)
    if step.menu == "slots":
        return links.order_slot_menu(step.language, step.order_id, step.attempt)
    return links.menu(step.language)


def _orders_lines(orders: list[Order]) -> Lines:
    lines: Lines = [("inbound_orders_many", {"count": len(orders)})]
    return lines + [
        ("inbound_order_choice", {"order_number": o.order_number or str(i), "digit": i})
        for i, o in enumerate(orders, start=1)
    ]


def _order_words(order: Order, catalog: Catalog) -> dict[str, object]:
    return {
        "order_number": order.order_number or "",
        "total": _amount(order.total),
        "currency": catalog.currency(order.currency),
    }


def _order_menu(step: OrderMenu, catalog: Catalog, links: InboundLinks) -> str:
    order = step.order
    status = catalog.text(STATUS_WORDS.get(order.status, "inbound_status_received"))
    line: tuple[str, dict[str, object]] = ("inbound_orders_one", _order_words(order, catalog) | {"status": status})
    preface: Lines = [("inbound_slot_chosen", _slot_words(catalog, step.chosen))] if step.chosen else []
    preface += [("inbound_cancel_kept", {})] if step.kept else []
    action = links.order(step.language, order.order_id, step.attempt)
    return tw.orders_menu(catalog, [*preface, line], action, action, choose=False, slots=step.slots)


def _slot_menu(step: SlotMenu, catalog: Catalog, links: InboundLinks) -> str:
    if not step.slots:
        return tw.redirect(links.order(step.language, step.order_id, step.attempt), catalog, "inbound_slot_none")
    lines: Lines = [("inbound_slot_intro", {})]
    lines += [
        ("inbound_slot_option", _slot_words(catalog, slot) | {"digit": digit})
        for digit, slot in enumerate(step.slots, start=1)
    ]
    action = links.order_slot(step.language, step.order_id, int(step.as_of.timestamp()), step.attempt)
    return tw.slot_menu(catalog, lines, action, action)


def _slot_words(catalog: Catalog, slot: SlotTimes) -> dict[str, object]:
    return {"day": catalog.text(f"inbound_day_{slot.day}"), "start": slot.start, "end": slot.end}


def _amount(value: Decimal) -> str:
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value)


def _step(use_case: Callable[..., MenuStep], form: dict[str, str], *, timed: bool = True) -> Response:
    """One menu step: the webhook as ``Heard``, one call to the service (with the time, when it
    takes one), the step it returns rendered."""
    now = {"now": current_clock().now()} if timed else {}
    return _render(use_case(heard_in(voice_inbound, form), store=inbound_store(), **now))


# ---- arrival, language, hours ----------------------------------------------------------
@voice_inbound.route(INCOMING_PATH, methods=["POST"], content_types=FORM)
@webhook
@guarded
def incoming_call(form: dict[str, str]) -> Response:
    return _render(menus.arrive(form, store=inbound_store(), now=current_clock().now()))


@voice_inbound.route(f"{BASE}/language", methods=["POST"], content_types=FORM)
@webhook
@guarded
def language_chosen(form: dict[str, str]) -> Response:
    return _step(menus.language_chosen, form, timed=False)


@voice_inbound.route(f"{BASE}/language-menu", methods=["POST"], content_types=FORM)
@webhook
@guarded
def language_menu_again(form: dict[str, str]) -> Response:
    return _step(menus.language_menu, form, timed=False)


@voice_inbound.route(f"{BASE}/after-hours", methods=["POST"], content_types=FORM)
@webhook
@guarded
def after_hours_choice(form: dict[str, str]) -> Response:
    return _step(menus.after_hours_choice, form)


# ---- self-service (I4) -----------------------------------------------------------------
@voice_inbound.route(f"{BASE}/menu", methods=["POST"], content_types=FORM)
@webhook
@guarded
def main_menu(form: dict[str, str]) -> Response:
    return _step(menus.main_menu, form)


@voice_inbound.route(f"{BASE}/order-choice", methods=["POST"], content_types=FORM)
@webhook
@guarded
def order_chosen(form: dict[str, str]) -> Response:
    return _step(menus.order_chosen, form)


@voice_inbound.route(f"{BASE}/order", methods=["POST"], content_types=FORM)
@webhook
@guarded
def order_action(form: dict[str, str]) -> Response:
    return _step(menus.order_action, form)


@voice_inbound.route(f"{BASE}/order-cancel", methods=["POST"], content_types=FORM)
@webhook
@guarded
def order_cancel_checked(form: dict[str, str]) -> Response:
    return _step(menus.cancel_checked, form)


@voice_inbound.route(f"{BASE}/order-cancel-number", methods=["POST"], content_types=FORM)
@webhook
@guarded
def order_cancel_number_keyed(form: dict[str, str]) -> Response:
    return _step(menus.cancel_number_keyed, form)


@voice_inbound.route(f"{BASE}/order-slot", methods=["POST"], content_types=FORM)
@webhook
@guarded
def order_slot_chosen(form: dict[str, str]) -> Response:
    return _step(menus.slot_chosen, form)


@voice_inbound.route(f"{BASE}/order-slot-menu", methods=["POST"], content_types=FORM)
@webhook
@guarded
def order_slot_menu_again(form: dict[str, str]) -> Response:
    return _step(menus.slot_menu, form)
