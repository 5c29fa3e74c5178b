"""What a caller meets when dialing a shop's number (I1-I11): greeting with the recording
notice, language menu, business hours, self-service on active orders, the agent queue with
position and estimated wait, callbacks, agent connect with whisper, recording and survey.

Every view is guarded: a fault (a storage error) gives the caller an apology and a voicemail
(fallback TwiML), never Twilio's application error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from chalice import Blueprint, Response

from chalicelib.adapters.dynamo.store import store as inbound_store
from chalicelib.clock import current_clock
from chalicelib.domain.delivery_slots import DeliverySlot, day_word
from chalicelib.domain.entities import Order
from chalicelib.domain.ivr import choose, language_digits, next_attempt
from chalicelib.domain.twilio_fields import twilio_count
from chalicelib.observability import logger
from chalicelib.services import inbound
from chalicelib.voice import inbound_twiml as tw
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import Catalog, load_catalog
from chalicelib.web.http import current_request, twilio_webhook, twiml
from chalicelib.wiring import repository, urls

voice_inbound = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_inbound))
FORM = ["application/x-www-form-urlencoded"]
BASE = "/twilio/voice/inbound"
STATUS_WORDS = {"received": "inbound_status_received", "queued": "inbound_status_queued"}


def _url(path: str, **query: object) -> str:
    # Keys sorted: the signature check rebuilds the query string in sorted order.
    pairs = sorted((k, str(v)) for k, v in query.items() if v is not None)
    suffix = f"?{urlencode(pairs)}" if pairs else ""
    return f"{urls().base_url}{BASE}/{path}{suffix}"


def _query(name: str, default: str = "") -> str:
    params: dict[str, str] = dict(current_request(voice_inbound).query_params or {})
    return str(params.get(name, default))


def _lang() -> str:
    language = _query("lang", "en")
    return language if language in ("uk", "ru", "en") else "en"


def guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    """Any fault inside a call: the caller hears an apology and can leave a message."""

    @functools.wraps(view)
    def safe(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except Exception:
            logger.exception("inbound call step failed: fallback TwiML")
            language = _lang() if current_request(voice_inbound).query_params else "en"
            return twiml(tw.voicemail(load_catalog(language), urls().voicemail(), prompt="inbound_technical_problem"))

    return safe


def _context(form: dict[str, str]) -> inbound.CallContext:
    ctx = inbound.context(form.get("CallSid", ""), store=inbound_store())
    if ctx is None:
        raise LookupError("inbound step for a call with no record")
    return ctx


# ---- arrival, language, hours ----------------------------------------------------------
@voice_inbound.route("/twilio/voice/incoming", methods=["POST"], content_types=FORM)
@webhook
@guarded
def incoming_call(form: dict[str, str]) -> Response:
    arrival = inbound.arrive(form, store=inbound_store(), now=current_clock().now())
    if arrival is None:
        return twiml(render.say_and_hang_up(load_catalog("en"), "number_not_in_service"))
    shop, language = arrival.shop, arrival.language
    if not arrival.open:
        return twiml(
            tw.after_hours(
                load_catalog(language),
                shop.name,
                _url("after-hours", lang=language, attempt=0),
                _url("after-hours", lang=language, attempt=0),
                greet=True,
            )
        )
    if len(shop.languages) > 1:
        return twiml(
            tw.language_menu(
                shop.name, shop.languages, _url("language", attempt=0), _url("language", attempt=0), greet=True
            )
        )
    response = tw.redirect(_url("menu", lang=language), load_catalog(language), "inbound_welcome", shop_name=shop.name)
    return twiml(response)


@voice_inbound.route(f"{BASE}/language", methods=["POST"], content_types=FORM)
@webhook
@guarded
def language_chosen(form: dict[str, str]) -> Response:
    ctx = _context(form)
    shop = ctx.shop
    options = language_digits(list(shop.languages))
    hints: dict[str, str] = {lang: load_catalog(lang).text("inbound_speech_language") for lang in shop.languages}
    language = choose(form.get("Digits"), form.get("SpeechResult"), options, hints)
    if language is None:
        attempt = next_attempt(int(_query("attempt", "0") or 0), shop.inbound.menu_attempts)
        if attempt is not None:
            again = _url("language", attempt=attempt)
            catalog = load_catalog(shop.main_language)
            if form.get("Digits") or form.get("SpeechResult"):
                return twiml(tw.not_understood_then(catalog, _url("language-menu", attempt=attempt)))
            return twiml(tw.language_menu(shop.name, shop.languages, again, again, greet=False))
        language = shop.main_language  # tries spent: go on in the shop's main language
    inbound.choose_language(ctx.call.call_sid, language, store=inbound_store())
    return twiml(tw.redirect(_url("menu", lang=language)))


@voice_inbound.route(f"{BASE}/language-menu", methods=["POST"], content_types=FORM)
@webhook
@guarded
def language_menu_again(form: dict[str, str]) -> Response:
    shop = _context(form).shop
    again = _url("language", attempt=_query("attempt", "1"))
    return twiml(tw.language_menu(shop.name, shop.languages, again, again, greet=False))


def _callback_or_voicemail(form: dict[str, str], catalog: Catalog) -> str | None:
    """1 or "call me back" -> callback, 2 or "voicemail" -> voicemail (after hours, in the queue)."""
    return choose(
        form.get("Digits"),
        form.get("SpeechResult"),
        {"1": "callback", "2": "voicemail"},
        {"callback": catalog.text("inbound_speech_callback"), "voicemail": catalog.text("inbound_speech_voicemail")},
    )


@voice_inbound.route(f"{BASE}/after-hours", methods=["POST"], content_types=FORM)
@webhook
@guarded
def after_hours_choice(form: dict[str, str]) -> Response:
    ctx, language = _context(form), _lang()
    catalog = load_catalog(language)
    choice = _callback_or_voicemail(form, catalog)
    if choice == "callback":
        inbound.request_callback(ctx, store=inbound_store(), now=current_clock().now())
        return twiml(render.say_and_hang_up(catalog, "inbound_callback_confirmed"))
    if choice == "voicemail":
        return twiml(tw.voicemail(catalog, urls().voicemail()))
    attempt = next_attempt(int(_query("attempt", "0") or 0), ctx.shop.inbound.menu_attempts)
    if attempt is None:
        return twiml(tw.voicemail(catalog, urls().voicemail()))
    again = _url("after-hours", lang=language, attempt=attempt)
    return twiml(tw.after_hours(catalog, ctx.shop.name, again, again, greet=False))


# ---- self-service (I4) -----------------------------------------------------------------
@voice_inbound.route(f"{BASE}/menu", methods=["POST"], content_types=FORM)
@webhook
@guarded
def main_menu(form: dict[str, str]) -> Response:
    ctx, language = _context(form), _lang()
    orders = inbound.active_orders(ctx, store=inbound_store())
    if not orders:
        return _enqueue(ctx, language, "inbound_please_hold")
    catalog = load_catalog(language)
    if len(orders) == 1:
        return _order_menu(ctx, catalog, orders[0], language, 0)
    lines: list[tuple[str, dict[str, object]]] = [("inbound_orders_many", {"count": len(orders)})]
    lines += [
        ("inbound_order_choice", {"order_number": o.order_number or str(i), "digit": i})
        for i, o in enumerate(orders, start=1)
    ]
    again = _url("order-choice", lang=language, attempt=0)
    return twiml(tw.orders_menu(catalog, lines, again, again, choose=True))


def _order_menu(
    ctx: inbound.CallContext,
    catalog: Catalog,
    order: Order,
    language: str,
    attempt: int,
    preface: list[tuple[str, dict[str, object]]] | None = None,
) -> Response:
    line: tuple[str, dict[str, object]] = (
        "inbound_orders_one",
        {
            "order_number": order.order_number or "",
            "total": _amount(order.total),
            "currency": catalog.currency(order.currency),
            "status": catalog.text(STATUS_WORDS.get(order.status, "inbound_status_received")),
        },
    )
    with_slots = bool(inbound.delivery_slots(ctx, _as_of()))
    action = _url("order", lang=language, order=order.order_id, attempt=attempt)
    return twiml(tw.orders_menu(catalog, [*(preface or []), line], action, action, choose=False, slots=with_slots))


def _as_of() -> datetime:
    """Now to the second: slot menus carry it in their URL and map digits back with it."""
    return current_clock().now().replace(microsecond=0)


def _amount(value: Decimal) -> str:
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value)


@voice_inbound.route(f"{BASE}/order-choice", methods=["POST"], content_types=FORM)
@webhook
@guarded
def order_chosen(form: dict[str, str]) -> Response:
    ctx, language = _context(form), _lang()
    orders = inbound.active_orders(ctx, store=inbound_store())
    digits = (form.get("Digits") or "").strip()
    if digits == "0":
        return _enqueue(ctx, language, "inbound_please_hold")
    if digits.isdigit() and 1 <= int(digits) <= len(orders):
        return _order_menu(ctx, load_catalog(language), orders[int(digits) - 1], language, 0)
    attempt = next_attempt(int(_query("attempt", "0") or 0), ctx.shop.inbound.menu_attempts)
    if attempt is None or not orders:
        return _enqueue(ctx, language, "inbound_please_hold")
    return twiml(tw.not_understood_then(load_catalog(language), _url("menu", lang=language)))


@voice_inbound.route(f"{BASE}/order", methods=["POST"], content_types=FORM)
@webhook
@guarded
def order_action(form: dict[str, str]) -> Response:
    ctx, language = _context(form), _lang()
    catalog = load_catalog(language)
    order_id = _query("order")
    options = {"1": "confirmed", "2": "cancelled", "0": "agent"}
    as_of = _as_of()
    if inbound.delivery_slots(ctx, as_of):
        options["3"] = "slot"
    choice = choose(
        form.get("Digits"),
        form.get("SpeechResult"),
        options,
        {
            "confirmed": catalog.text("inbound_speech_confirm"),
            "cancelled": catalog.text("inbound_speech_cancel"),
            "agent": catalog.text("inbound_speech_agent"),
            "slot": catalog.text("inbound_speech_slot"),
        },
    )
    if choice == "slot":
        return _slot_menu(ctx, catalog, order_id, language, as_of, 0)
    if choice in ("confirmed", "cancelled"):
        order = inbound.decide_order(ctx, order_id, choice, store=inbound_store(), now=current_clock().now())
        if order is None:
            return _enqueue(ctx, language, "inbound_order_unchanged")
        prompt = "inbound_order_confirmed" if choice == "confirmed" else "inbound_order_cancelled"
        return twiml(render.say_and_hang_up(catalog, prompt))
    if choice == "agent":
        return _enqueue(ctx, language, "inbound_please_hold")
    attempt = next_attempt(int(_query("attempt", "0") or 0), ctx.shop.inbound.menu_attempts)
    if attempt is None:
        return _enqueue(ctx, language, "inbound_please_hold")
    order = inbound_store().get_order(ctx.shop.shop_id, order_id)
    if order is None:
        return _enqueue(ctx, language, "inbound_please_hold")
    return _order_menu(ctx, catalog, order, language, attempt)


def _slot_lines(ctx: inbound.CallContext, catalog: Catalog, slot: DeliverySlot, as_of: datetime) -> dict[str, object]:
    zone = ctx.shop.zone
    return {
        "day": catalog.text(f"inbound_day_{day_word(slot, as_of, zone)}"),
        "start": slot.start.astimezone(zone).strftime("%H:%M"),
        "end": slot.end.astimezone(zone).strftime("%H:%M"),
    }


def _slot_menu(
    ctx: inbound.CallContext, catalog: Catalog, order_id: str, language: str, as_of: datetime, attempt: int
) -> Response:
    """The delivery slots on offer at ``as_of``, 1..N, and 0 for an agent (I4)."""
    slots = inbound.delivery_slots(ctx, as_of)
    if not slots:
        return twiml(
            tw.redirect(_url("order", lang=language, order=order_id, attempt=attempt), catalog, "inbound_slot_none")
        )
    lines: list[tuple[str, dict[str, object]]] = [("inbound_slot_intro", {})]
    lines += [
        ("inbound_slot_option", _slot_lines(ctx, catalog, slot, as_of) | {"digit": digit})
        for digit, slot in enumerate(slots, start=1)
    ]
    action = _url("order-slot", lang=language, order=order_id, asof=int(as_of.timestamp()), attempt=attempt)
    return twiml(tw.slot_menu(catalog, lines, action, action))


@voice_inbound.route(f"{BASE}/order-slot", methods=["POST"], content_types=FORM)
@webhook
@guarded
def order_slot_chosen(form: dict[str, str]) -> Response:
    """A digit of the slot menu: the slot is stored on the order and the order's menu is read
    again (to confirm it); 0 or speech asking for a person: the agent queue; a wrong or
    missing digit: the slots again, then the agent queue once the tries are spent."""
    ctx, language = _context(form), _lang()
    catalog = load_catalog(language)
    order_id, now = _query("order"), current_clock().now()
    as_of = datetime.fromtimestamp(int(_query("asof", "0") or 0), UTC)
    agent = choose(
        form.get("Digits"), form.get("SpeechResult"), {"0": "agent"}, {"agent": catalog.text("inbound_speech_agent")}
    )
    if agent == "agent":
        return _enqueue(ctx, language, "inbound_please_hold")
    slot = inbound.offered_slot(ctx, as_of, form.get("Digits"), now)
    if slot is not None:
        order = inbound.choose_delivery_slot(ctx, order_id, slot, store=inbound_store(), now=now)
        if order is None:
            return _enqueue(ctx, language, "inbound_order_unchanged")
        chosen = [("inbound_slot_chosen", _slot_lines(ctx, catalog, slot, as_of))]
        return _order_menu(ctx, catalog, order, language, 0, preface=chosen)
    attempt = next_attempt(int(_query("attempt", "0") or 0), ctx.shop.inbound.menu_attempts)
    if attempt is None:
        return _enqueue(ctx, language, "inbound_please_hold")
    if form.get("Digits") or form.get("SpeechResult"):
        return twiml(
            tw.not_understood_then(catalog, _url("order-slot-menu", lang=language, order=order_id, attempt=attempt))
        )
    return _slot_menu(ctx, catalog, order_id, language, _as_of(), attempt)


@voice_inbound.route(f"{BASE}/order-slot-menu", methods=["POST"], content_types=FORM)
@webhook
@guarded
def order_slot_menu_again(form: dict[str, str]) -> Response:
    ctx, language = _context(form), _lang()
    attempt = int(_query("attempt", "1") or 1)
    return _slot_menu(ctx, load_catalog(language), _query("order"), language, _as_of(), attempt)


# ---- queue (I5, I6) and agents (I8) --------------------------------------------------------
def _enqueue(ctx: inbound.CallContext, language: str, prompt: str | None) -> Response:
    inbound.enter_queue(ctx, store=inbound_store(), now=current_clock().now())
    return twiml(
        tw.enqueue(
            load_catalog(language),
            inbound.queue_name(ctx),
            _url("wait", lang=language),
            _url("queue-exit", lang=language),
            prompt,
        )
    )


@voice_inbound.route(f"{BASE}/wait", methods=["POST"], content_types=FORM)
@webhook
def waiting(form: dict[str, str]) -> Response:
    language = _lang()
    catalog = load_catalog(language)
    try:
        ctx = _context(form)
        held = inbound.hold_round(
            ctx, (twilio_count(form.get("QueueTime")) or 0), store=inbound_store(), now=current_clock().now()
        )
    except Exception:  # the caller stays on hold; the next round tries again
        logger.exception("queue wait round failed")
        return twiml(
            tw.hold(
                catalog,
                _url("wait-choice", lang=language),
                _music(None),
                position=None,
                minutes=None,
                max_wait_reached=False,
            )
        )
    if held.leave:
        return twiml(tw.leave_queue())
    return twiml(
        tw.hold(
            catalog,
            _url("wait-choice", lang=language),
            _music(ctx),
            position=held.position,
            minutes=held.minutes,
            max_wait_reached=held.max_wait_reached,
        )
    )


def _music(ctx: inbound.CallContext | None) -> str:
    from chalicelib.domain.shop import InboundPolicy

    return ctx.shop.inbound.hold_music_url if ctx else InboundPolicy().hold_music_url


@voice_inbound.route(f"{BASE}/wait-choice", methods=["POST"], content_types=FORM)
@webhook
@guarded
def wait_choice(form: dict[str, str]) -> Response:
    ctx, language = _context(form), _lang()
    catalog = load_catalog(language)
    choice = _callback_or_voicemail(form, catalog)
    if choice == "callback":
        inbound.request_callback(ctx, store=inbound_store(), now=current_clock().now())
        return twiml(tw.leave_queue())
    if choice == "voicemail":
        inbound.wants_voicemail(ctx, store=inbound_store())
        return twiml(tw.leave_queue())
    return twiml(tw.bridge())  # nothing chosen: back to the wait music


@voice_inbound.route(f"{BASE}/queue-exit", methods=["POST"], content_types=FORM)
@webhook
@guarded
def queue_exit(form: dict[str, str]) -> Response:
    ctx, language = _context(form), _lang()
    catalog = load_catalog(language)
    store, now = inbound_store(), current_clock().now()
    nxt = inbound.left_queue(
        ctx, form.get("QueueResult", ""), (twilio_count(form.get("QueueTime")) or 0), store=store, now=now
    )
    if nxt == "agent":
        agent = inbound.reserved_agent(ctx, store=store)
        if agent is not None:
            shop = ctx.shop
            return twiml(
                tw.dial_agent(
                    catalog,
                    phone=agent.phone,
                    client_identity=agent.client_identity,
                    whisper_url=_url("whisper", call=ctx.call.call_sid),
                    action_url=_url("dial-done", lang=language, agent=agent.agent_id),
                    ring_seconds=shop.inbound.agent_ring_seconds,
                    record=shop.inbound.record_calls,
                    recording_callback_url=_url("recording"),
                )
            )
        return _enqueue(ctx, language, None)
    if nxt == "callback":
        return twiml(render.say_and_hang_up(catalog, "inbound_callback_confirmed"))
    if nxt == "gone":
        return twiml(render.hang_up())
    return twiml(tw.voicemail(catalog, urls().voicemail()))


@voice_inbound.route(f"{BASE}/whisper", methods=["POST"], content_types=FORM)
@webhook
def whisper(form: dict[str, str]) -> Response:
    """The agent's leg: who calls, and press 1 to accept (anything else: next agent)."""
    caller_sid = _query("call")
    try:
        ctx = inbound.context(caller_sid, store=inbound_store())
        shop_name = ctx.shop.name if ctx else ""
        language = ctx.shop.main_language if ctx else "en"
        order_number = None
        if ctx is not None:
            orders = inbound.active_orders(ctx, store=inbound_store())
            order_number = orders[0].order_number if orders else None
    except Exception:
        logger.exception("whisper failed")
        shop_name, language, order_number = "", "en", None
    return twiml(tw.whisper(load_catalog(language), _url("whisper-accept", call=caller_sid), shop_name, order_number))


@voice_inbound.route(f"{BASE}/whisper-accept", methods=["POST"], content_types=FORM)
@webhook
def whisper_accept(form: dict[str, str]) -> Response:
    if (form.get("Digits") or "") != "1":
        return twiml(render.hang_up())
    try:
        ctx = inbound.context(_query("call"), store=inbound_store())
        if ctx is not None:
            inbound.agent_accepted(ctx, store=inbound_store(), now=current_clock().now())
    except Exception:
        logger.exception("could not note the agent's answer")
    return twiml(tw.bridge())


@voice_inbound.route(f"{BASE}/dial-done", methods=["POST"], content_types=FORM)
@webhook
@guarded
def dial_done(form: dict[str, str]) -> Response:
    ctx, language = _context(form), _lang()
    catalog = load_catalog(language)
    store, now = inbound_store(), current_clock().now()
    if form.get("RecordingSid"):
        inbound.store_recording(form, store=store)
    outcome = inbound.dial_ended(
        ctx,
        _query("agent"),
        form.get("DialCallStatus", ""),
        form.get("DialBridged", "").lower() == "true",
        (twilio_count(form.get("DialCallDuration")) or 0),
        store=store,
        now=now,
    )
    if outcome.talked:
        if ctx.shop.inbound.survey:
            return twiml(tw.survey(catalog, _url("survey", lang=language)))
        return twiml(render.say_and_hang_up(catalog, "goodbye"))
    refreshed = inbound.context(ctx.call.call_sid, store=store) or ctx
    return _enqueue(refreshed, language, "inbound_agent_missed")


@voice_inbound.route(f"{BASE}/survey", methods=["POST"], content_types=FORM)
@webhook
@guarded
def survey_answer(form: dict[str, str]) -> Response:
    catalog = load_catalog(_lang())
    if inbound.store_survey(form.get("CallSid", ""), form.get("Digits"), store=inbound_store()):
        return twiml(render.say_and_hang_up(catalog, "inbound_survey_thanks"))
    return twiml(render.say_and_hang_up(catalog, "goodbye"))


@voice_inbound.route(f"{BASE}/recording", methods=["POST"], content_types=FORM)
@webhook
def recording_status(form: dict[str, str]) -> Response:
    try:
        inbound.store_recording(form, store=inbound_store())
    except Exception:
        logger.exception("recording callback not stored")
        return Response(body="", status_code=500)  # Twilio retries the callback
    return Response(body="", status_code=204)


# ---- voicemail (walking skeleton) ------------------------------------------------------
@voice_inbound.route("/twilio/voice/voicemail", methods=["POST"], content_types=FORM)
@webhook
def voicemail_recorded(form: dict[str, str]) -> Response:
    try:
        language = inbound.store_voicemail(form, store=repository(), now=current_clock().now())
    except Exception:
        logger.exception("voicemail not stored")
        language = "en"
    return twiml(render.say_and_hang_up(load_catalog(language), "inbound_voicemail_thanks"))
