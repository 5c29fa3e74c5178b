"""What proves that the one cancelling an order by phone or text is its customer (#18).

Caller ID and a text's sender can be spoofed, so the number they come from is not enough to
cancel: the customer gives the order's number too (the shop's checkout showed it, and our
confirmation request texted it). A call keys in its digits; a text writes it after the 2.
Confirming stays one key: a spoofer who confirms an order only gets the customer their goods.
The robot's own call keeps one key (and the read-back) to cancel: we dialled the number the
customer gave with the order, so nobody can pose as it there.
"""

from __future__ import annotations

import re

# A wrong number is told so and asked again once; then the caller goes to an agent, a texter
# is told to call (the text decides nothing more about the order).
MAX_CANCEL_TRIES = 2

_CANCEL_WORD = re.compile(r"^\s*(2|no|n|нет|ні)\b[\s.,:;!#№-]*(.*)$", re.IGNORECASE | re.DOTALL)


def keypad_digits(order_number: str | None) -> str:
    """The digits a caller keys for an order's number ("SP-1042" -> "1042"); empty when the
    number has no digits (such an order is cancelled only through an agent)."""
    return "".join(char for char in order_number or "" if char.isascii() and char.isdigit())


def keyed_matches(order_number: str | None, digits: str | None) -> bool:
    """The digits keyed (before ``#``) are the order number's digits, all of them."""
    wanted = keypad_digits(order_number)
    return bool(wanted) and (digits or "").strip().rstrip("#") == wanted


def _letters_and_digits(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


def cancel_reference(body: str) -> str | None:
    """What follows the cancel word of a text ("2 SP-1042" -> "SP-1042"); "" when the text is
    the cancel word alone; None when the text does not start with one."""
    match = _CANCEL_WORD.match(body)
    return match.group(2).strip() if match else None


def texted_matches(order_number: str | None, reference: str) -> bool:
    """A text names the order: its number as written (case, spaces and dashes aside), or just
    its digits."""
    written = _letters_and_digits(reference)
    if not written or not order_number:
        return False
    return written in (_letters_and_digits(order_number), keypad_digits(order_number))
