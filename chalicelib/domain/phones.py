"""Phone numbers: one customer, one E.164 form (O2), masked wherever they are shown or logged.

``phonenumbers`` (some sixty modules) is imported where a number is parsed, not with this
module: masking, which every log line does, needs none of it, and neither does a cold start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class PhoneCheck:
    raw: str
    e164: str | None
    region: str | None
    problem: str | None  # None when the number is a valid, dialable number

    @property
    def valid(self) -> bool:
        return self.problem is None

    @property
    def stored(self) -> str:
        """The number as the app keeps it: E.164 when it parsed, else as sent."""
        return self.e164 or self.raw


@lru_cache(maxsize=1024)
def normalise_phone(raw: str, default_region: str) -> PhoneCheck:
    """'067 123-45-67', '+380 (67) 1234567' and '380671234567' all give '+380671234567' for UA.

    Pure, and its answer immutable: cached per (number, region), since a call's webhooks parse
    the same caller again and again (about 0.1 ms each, #19); bounded, a warm Lambda sees many."""
    import phonenumbers  # cold start: its metadata loads on first use

    text = raw.strip()
    candidates = [text]
    digits = "".join(ch for ch in text if ch.isdigit())
    # A full international number typed without '+' ('380671234567') parses as a national
    # number of the default region and fails; retry it as international.
    if not text.startswith("+") and len(digits) >= 11:
        candidates.append("+" + digits)
    problem = "not a phone number"
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            return PhoneCheck(text, e164, phonenumbers.region_code_for_number(parsed), None)
        problem = "not a valid number"
    return PhoneCheck(text, None, None, problem)


def number_time_zone(e164: str) -> str | None:
    """The IANA zone of a number when the numbering plan names exactly one."""
    import phonenumbers  # cold start: its metadata loads on first use
    from phonenumbers import timezone as number_timezones  # cold start: the time zone tables

    try:
        zones = number_timezones.time_zones_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
    return zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None


def mask_phone(number: str) -> str:
    """Keep the country prefix and the last two digits: '+380671234567' -> '+380*******67'."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) < 6:
        return "*" * len(digits)
    head = 3 if len(digits) > 10 else 2
    return "+" + digits[:head] + "*" * (len(digits) - head - 2) + digits[-2:]


# What Twilio puts in ``From`` when the caller withholds their number: a word ("anonymous",
# "Restricted"), or such a word spelled on the keypad (ANONYMOUS, UNKNOWN, RESTRICTED, BLOCKED,
# UNAVAILABLE).
WITHHELD_KEYPAD = frozenset({"266696687", "86282452253", "7378742833", "2562533", "8656696"})


def is_withheld(number: str | None) -> bool:
    """A caller we cannot call back: no number, a word instead of one, or Twilio's keypad
    spelling of such a word ('+266696687' is ANONYMOUS)."""
    text = (number or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    return not digits or any(ch.isalpha() for ch in text) or digits in WITHHELD_KEYPAD


# Seven digits or more in a row (separators between them allowed), not joined to an id: only such
# text is handed to phonenumbers' matcher, so most log lines never load it.
_DIGIT_RUN = re.compile(r"(?<!\w)\d(?:[\s().\-/]{0,2}\d){6,}")
# '177420000.00': one decimal point and a fraction of one or two digits end an amount.
_AMOUNT_END = re.compile(r"\A[^.,]*\d[.,]\d{1,2}\Z")
# An international number phonenumbers finds no valid number in (a range newer than its
# metadata, a typo): '+' and 7-15 digits, spaces, dashes or brackets between them.
_PLUS_NUMBER = re.compile(r"(?<![\w+])\+\d(?:[\s()\-]{0,2}\d){6,14}(?![\w]|[.,]\d)")


def mask_phones_in(text: str, regions: tuple[str, ...] = ("UA",)) -> str:
    """Every phone number in free text masked as ``mask_phone`` masks it: international ones
    of any country, national ones ('067 123-45-67') of ``regions``. Found by phonenumbers'
    ``PhoneNumberMatcher`` (valid numbers only; it passes over dates, times and SIDs), plus any
    '+' followed by 7-15 digits; a match joined to a letter, digit or '_' is part of an id."""
    if not _DIGIT_RUN.search(text):
        return text
    import phonenumbers  # cold start: only text with a long run of digits

    spans: dict[int, tuple[int, str]] = {}
    for region in regions:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            if _stands_alone(text, match.start, match.end) and not _AMOUNT_END.search(match.raw_string):
                e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
                spans.setdefault(match.start, (match.end, mask_phone(e164)))
    for plus in _PLUS_NUMBER.finditer(text):
        if not any(start <= plus.start() < end for start, (end, _) in spans.items()):
            spans[plus.start()] = (plus.end(), mask_phone(plus.group(0)))
    masked, done = [], 0
    for start in sorted(spans):
        end, replacement = spans[start]
        if start >= done:
            masked += [text[done:start], replacement]
            done = end
    return "".join(masked) + text[done:]


_E164 = re.compile(r"\+\d{7,15}")


def masked_for_log(number: str) -> str:
    """A stored customer number for a log line. In E.164 form (as the app stores a number
    phonenumbers could read) it is masked here exactly as the log serializer would mask it,
    sparing each such line phonenumbers' matcher (#19: about a quarter of a millisecond a line);
    any other text is left for the serializer, which masks whatever number it finds in it."""
    return mask_phone(number) if _E164.fullmatch(number) else number


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Not part of an id ('ord_0671234567'), an amount ('671234567.00') or a time ('12:00:00')."""
    before, after = text[max(0, start - 2) : start].rjust(2), text[end : end + 2].ljust(2)
    joined = before[1].isalnum() or before[1] == "_" or after[0].isalnum() or after[0] == "_"
    decimal = (before[1] in ".,:" and before[0].isdigit()) or (after[0] in ".,:" and after[1].isdigit())
    return not (joined or decimal)  # ':' too: '+00:00 334.10' is a time zone and an amount


# ---- which numbers a shop's calls and texts may reach (toll fraud, SMS pumping) -------------
# Customers' own lines: fixed, mobile, the two alike (NANP), and VoIP numbers (an internet line
# of the customer's own, billed as an ordinary call in its country; the allowed countries still
# bound it). Every other type costs the shop more than a call, or reaches no one customer.
_CALLED_TYPES = frozenset({"FIXED_LINE", "MOBILE", "FIXED_LINE_OR_MOBILE", "VOIP"})
_REFUSED_TYPES = {
    "PREMIUM_RATE": "premium-rate numbers are never called",
    "SHARED_COST": "shared-cost numbers are never called",
    "PERSONAL_NUMBER": "personal (forwarding) numbers are never called",
    "UAN": "universal access (company) numbers are never called",
    # The number of a business, not of the customer; many take no texts, and from abroad some
    # are charged to the caller.
    "TOLL_FREE": "toll-free numbers are never called: give the customer's own number",
    "PAGER": "pager numbers are never called",
    "VOICEMAIL": "voicemail access numbers are never called",
}


def destination_problem(e164: str, allowed_regions: tuple[str, ...] | list[str]) -> str | None:
    """Why the shop must neither call nor text ``e164``, in words for the shop's developer, or
    None when the number is a customer's line in one of ``allowed_regions``."""
    import phonenumbers  # cold start: its metadata loads on first use

    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "not a phone number in international form"
    if not phonenumbers.is_valid_number(parsed):
        return "not a valid number"
    kind = phonenumbers.PhoneNumberType.to_string(phonenumbers.number_type(parsed))
    if kind not in _CALLED_TYPES:
        return _REFUSED_TYPES.get(kind, "numbers of this kind are never called")
    region = phonenumbers.region_code_for_number(parsed)
    if region not in allowed_regions:
        where = region if region and region != "001" else f"international networks (+{parsed.country_code})"
        return f"calls to {where} are not allowed for this shop: it calls {', '.join(allowed_regions)}"
    return None
