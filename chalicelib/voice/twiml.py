"""TwiML documents the app answers Twilio with, built with the SDK's VoiceResponse."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from chalicelib.domain.values import format_amount

if TYPE_CHECKING:
    from chalicelib.domain.entities import Order
    from chalicelib.voice.catalog import Catalog

GATHER_TIMEOUT_SECONDS = 6
# Characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF):
# one in a customer's text would make the whole TwiML document unparseable for Twilio.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def speak(node: VoiceResponse | Gather, catalog: Catalog, prompt: str, **values: Any) -> None:
    """A recorded prompt when the catalog has one, else text-to-speech in the catalog's voice."""
    audio_url = catalog.audio.get(prompt)
    if audio_url:
        node.play(audio_url)
    else:
        text = _NOT_XML.sub("", catalog.text(prompt, **values))
        node.say(text, voice=catalog.voice, language=catalog.tts_language)


def robot_conversation(
    catalog: Catalog, shop_name: str, orders: list[Order], keypress_url: str, again_url: str, *, greet: bool
) -> str:
    response = VoiceResponse()
    with response.gather(
        num_digits=1,
        action=keypress_url,
        method="POST",
        timeout=GATHER_TIMEOUT_SECONDS,
        action_on_empty_result=False,
    ) as gather:
        if greet:
            speak(gather, catalog, "robot_greeting", shop_name=shop_name)
        _describe_orders(gather, catalog, orders)
        speak(gather, catalog, "robot_menu")
    # Reached only when the customer pressed nothing.
    speak(response, catalog, "robot_not_heard")
    response.redirect(again_url, method="POST")
    return str(response)


def robot_last_chance(catalog: Catalog, orders: list[Order], keypress_url: str) -> str:
    response = VoiceResponse()
    with response.gather(num_digits=1, action=keypress_url, method="POST", timeout=GATHER_TIMEOUT_SECONDS) as gather:
        _describe_orders(gather, catalog, orders)
        speak(gather, catalog, "robot_menu")
    speak(response, catalog, "robot_call_later")
    response.hangup()
    return str(response)


def robot_cancel_check(catalog: Catalog, orders: list[Order], answer_url: str, again_url: str) -> str:
    """Key 2 read back: which order(s) would be cancelled, and 1 to cancel or 2 to keep."""
    response = VoiceResponse()
    currency = catalog.currency(orders[0].currency)
    with response.gather(num_digits=1, action=answer_url, method="POST", timeout=GATHER_TIMEOUT_SECONDS) as gather:
        if len(orders) == 1:
            order = orders[0]
            values = {"order_number": order.order_number or "", "total": format_amount(order.total)}
            speak(gather, catalog, "robot_cancel_check_one", currency=currency, **values)
        else:
            total = format_amount(sum((order.total for order in orders), Decimal(0)))
            speak(gather, catalog, "robot_cancel_check_many", count=len(orders), total=total, currency=currency)
    speak(response, catalog, "robot_not_heard")  # nothing pressed: nothing cancelled, the menu again
    response.redirect(again_url, method="POST")
    return str(response)


def _describe_orders(gather: Gather, catalog: Catalog, orders: list[Order]) -> None:
    currency = catalog.currency(orders[0].currency)
    if len(orders) == 1:
        order = orders[0]
        speak(
            gather,
            catalog,
            "robot_one_order",
            order_number=order.order_number or "",
            total=format_amount(order.total),
            currency=currency,
        )
        address = (order.payload.get("delivery") or {}).get("address")
        if address:
            speak(gather, catalog, "robot_delivery", address=address)
    else:
        total = sum((order.total for order in orders), Decimal(0))
        speak(gather, catalog, "robot_many_orders", count=len(orders), total=format_amount(total), currency=currency)


def say_and_hang_up(catalog: Catalog, prompt: str, **values: Any) -> str:
    response = VoiceResponse()
    speak(response, catalog, prompt, **values)
    response.hangup()
    return str(response)


def say_and_redirect(catalog: Catalog, prompt: str, url: str) -> str:
    response = VoiceResponse()
    speak(response, catalog, prompt)
    response.redirect(url, method="POST")
    return str(response)


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def dial(to: str, *, caller_id: str, action: str, ring_seconds: int, hangup_on_star: bool | None = None) -> str:
    """Dial ``to`` (``client:<identity>`` for a Twilio Client, else a number) with the shop's
    caller ID; the Dial's end goes to ``action``."""
    response = VoiceResponse()
    node = Dial(caller_id=caller_id, action=action, method="POST", timeout=ring_seconds, hangup_on_star=hangup_on_star)
    if to.startswith("client:"):
        node.client(to.removeprefix("client:"))
    else:
        node.number(to)
    response.append(node)
    return str(response)


def inbound_voicemail(catalog: Catalog, shop_name: str, recording_action_url: str) -> str:
    response = VoiceResponse()
    speak(response, catalog, "inbound_welcome", shop_name=shop_name)
    speak(response, catalog, "inbound_voicemail")
    response.record(action=recording_action_url, method="POST", max_length=120, timeout=5, play_beep=True)
    speak(response, catalog, "goodbye")
    response.hangup()
    return str(response)
