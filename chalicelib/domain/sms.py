"""What a customer's text message means (O10, O11).

Twilio's own opt-out handling tells us with ``OptOutType`` (STOP, START, HELP) when the shop's
Messaging Service has Advanced Opt-Out on; without it, the keywords are recognised here. A
'1'/'YES' confirms and '2'/'NO' cancels the customer's open orders that the robot or a text
asked about; a cancel names the order too ("2 SP-1042", ``domain.cancel_proof``): a sender's
number proves nothing. Anything else is kept for an agent.
"""

from __future__ import annotations

from typing import Literal

from chalicelib.domain.cancel_proof import cancel_reference
from chalicelib.domain.entities import Order

Intent = Literal["confirm", "cancel", "stop", "start", "help", "other"]

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "СТОП", "ОТПИСАТЬСЯ", "ВІДПИСАТИСЯ"})
START_WORDS = frozenset({"START", "UNSTOP", "СТАРТ"})
CONFIRM_WORDS = frozenset({"1", "YES", "Y", "ДА", "ТАК", "OK"})
CANCEL_WORDS = frozenset({"2", "NO", "N", "НЕТ", "НІ"})


def sms_intent(body: str, opt_out_type: str | None) -> Intent:
    word = body.strip().strip(".!,").upper()
    if word in CONFIRM_WORDS:
        return "confirm"  # Twilio also calls 'YES' an opt-in: the customer is asking to hear from us
    if word in CANCEL_WORDS or _names_an_order(body):
        return "cancel"
    kind = (opt_out_type or "").upper()
    if kind == "STOP" or word in STOP_WORDS:
        return "stop"
    if kind == "START" or word in START_WORDS:
        return "start"
    if kind == "HELP" or word == "HELP":
        return "help"
    return "other"


def _names_an_order(body: str) -> bool:
    """A cancel word and then something with a digit: an order's number ("no thanks" is not)."""
    reference = cancel_reference(body)
    return bool(reference) and any(char.isdigit() for char in reference or "")


def decided_by_text(order: Order) -> bool:
    """Whether a reply of 1 or 2 decides this open order: only when the customer was asked
    for that answer, by the robot's call or by a text, and has not asked for a person since."""
    return order.asked_by in ("robot", "sms")


def who_calls(order: Order) -> Literal["agent", "call", "nobody"]:
    """Who will call about an open order a text did not decide: an agent (the order needs a
    person), the shop's next call (it waits for the robot), or nobody (it was given up on)."""
    if order.status != "queued":
        return "nobody"
    return "agent" if order.route == "agent" else "call"
