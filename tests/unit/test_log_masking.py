"""Phone numbers never reach the logs in clear (issue 18): in any field, nested values, the
message and the formatted exception, found by phonenumbers' matcher; ids, SIDs, timestamps and
amounts untouched. Each test reads the JSON lines the app's logger really writes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chalicelib.domain.orders import OrderIn
from chalicelib.domain.phones import mask_phone
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger
from chalicelib.services import dialer, intake
from chalicelib.services.ports import CallNotPlacedError
from tests.fakes.links import FakeUrls
from tests.fakes.store import FakeStore
from tests.fakes.twilio import FakeTelephony
from tests.log_lines import captured_log_lines

NOON = datetime(2015, 11, 22, 10, 0, tzinfo=UTC)
CUSTOMER = "+380671234567"


def test_a_number_in_any_field_nested_value_message_or_exception_is_masked() -> None:
    # GIVEN a failure whose text carries the customer's number, logged with extras of every shape
    try:
        try:
            raise ValueError("Twilio 400 21211: The 'To' number +380671234567 is not a valid phone number.")
        except ValueError as cause:
            raise RuntimeError("dialing 067 123-45-67 failed") from cause
    except RuntimeError:
        # A Lambda context an earlier test left on the logger carries an account id (123456789012)
        # this test's substring checks would take for a number's digits.
        logger.clear_state()
        with captured_log_lines() as lines:
            logger.exception(
                "call to %s failed",
                "+380 (67) 123 45 67",
                extra={
                    "reason": "refused: +380671234567",
                    "detail": {"numbers": ["380671234567", {"to": "+1 201 555 0123"}], "count": 2},
                    "+380671234567": "as a key",
                },
            )
    # THEN the written line has none of the numbers, and their masked forms where they were
    (line,) = lines
    for leaked in ("1234567", "123 45 67", "123-45-67", "555 0123", "2015550123"):
        assert leaked not in line["_raw"], leaked
    assert line["message"] == "call to +380*******67 failed"
    assert line["reason"] == "refused: +380*******67"
    assert line["detail"] == {"numbers": ["+380*******67", {"to": "+120******23"}], "count": 2}
    assert line["+380*******67"] == "as a key"
    assert "dialing +380*******67 failed" in line["exception"]
    assert "The 'To' number +380*******67 is not a valid phone number." in line["exception"]
    assert line["stack_trace"]["value"] == "dialing +380*******67 failed"
    assert line["level"] == "ERROR" and line["exception_name"] == "RuntimeError"


def test_ids_sids_timestamps_and_amounts_are_left_alone() -> None:
    text = (
        "CA0123456789abcdef0123456789abcdef RE1234567890abcdef1234567890abcdef ord_0151e3c9a8b10671234567 "
        "tsk_20151122100000 A-100045678 at 2015-11-22T12:00:00+02:00 2015-11-22 10:00:00,123+0000 "
        "total 671234567.00 UAH, 1250.50, epoch 1448186400 ms 1448186400000"
    )
    with captured_log_lines() as lines:
        logger.info(text, extra={"call_sid": "CA0123456789abcdef0123456789abcdef", "total": Decimal("1250.50")})
    (line,) = lines
    assert line["message"] == text
    assert (line["call_sid"], line["total"]) == ("CA0123456789abcdef0123456789abcdef", "1250.50")


def test_twilio_refusing_a_robot_call_is_logged_with_its_reason_and_no_number() -> None:
    # GIVEN a queued robot task, and Twilio refusing the call with its error text naming the number
    shop = ShopSettings.model_validate({"shop_id": "demo", "name": "Kvitka", "caller_id": "+380441234567"})
    store = FakeStore([shop])
    order_id = intake.new_order_id(NOON, "+380671234567")
    order = OrderIn.model_validate({"phone": "067 123-45-67", "total": "100", "order_number": "A-1"})
    intake.accept_order(shop, order, store=store, now=NOON, order_id=order_id)
    intake.decide_new_order(shop, order_id, store=store, tasks=store, now=NOON)
    task_id = store.orders[("demo", order_id)].task_id or ""
    refused = CallNotPlacedError(f"Twilio 400 21215: Account not authorized to call {CUSTOMER}.", temporary=False)

    # WHEN the dialer tries
    with captured_log_lines() as lines:
        dialer.dial_task(shop, task_id, store=store, telephony=FakeTelephony(fail=refused), urls=FakeUrls(), now=NOON)

    # THEN a failed attempt, and the log says why without the number
    assert store.tasks[task_id].attempts == 1
    (line,) = [line for line in lines if line["message"] == "call refused; a failed attempt"]
    assert line["reason"] == "Twilio 400 21215: Account not authorized to call +380*******67."
    assert "Account not authorized to call +380*******67." in line["exception"]
    assert all(CUSTOMER not in line["_raw"] and "671234567" not in line["_raw"] for line in lines)


# ---- properties --------------------------------------------------------------------------------
REGIONS = ("UA", "US", "GB", "DE", "PL", "FR", "IT", "ES", "KZ", "GE", "MD", "CA", "CZ", "RO")
FORMATS = (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
# Words around a number: no digits, and a separator between them and the number.
WORDS = st.text(st.characters(categories=("L", "P", "Zs"), exclude_characters="+"), max_size=20)
GAP = st.sampled_from([" ", ": ", ", ", " (", "='", '"', " — "])


@st.composite
def phone_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A valid number (E.164) and a way it is written: international for any region, national for UA."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]))
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None  # every region listed has mobile and fixed-line examples
    national = str(example.national_number)
    tail = draw(st.integers(0, 9999))
    number = phonenumbers.parse(f"+{example.country_code}{national[:-4]}{tail:04d}")
    assume(phonenumbers.is_valid_number(number))
    formats = FORMATS + ((phonenumbers.PhoneNumberFormat.NATIONAL,) if region == "UA" else ())
    written = phonenumbers.format_number(number, draw(st.sampled_from(formats)))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), written


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(number=phone_numbers(), before=WORDS, gap_before=GAP, gap_after=GAP, after=WORDS, field=st.booleans())
def test_any_valid_number_written_anywhere_in_a_line_is_masked(
    number: tuple[str, str], before: str, gap_before: str, gap_after: str, after: str, field: bool
) -> None:
    e164, written = number
    text = f"{before}{gap_before}{written}{gap_after}{after}"
    with captured_log_lines() as lines:
        logger.warning("refused" if field else text, extra={"reason": text} if field else {})
    (line,) = lines
    shown = line["reason"] if field else line["message"]
    hidden = e164[4:-2]  # what the mask hides: all but the country prefix and the last two digits
    assert hidden not in "".join(ch for ch in shown if ch.isdigit())  # the words around have no digits
    assert mask_phone(e164) in shown


SIDS = st.from_regex(r"\A(CA|RE|SM|AC|PN)[0-9a-f]{32}\Z")
TIMES = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC))
AMOUNTS = st.decimals(min_value=0, max_value=10**10, places=2, allow_nan=False, allow_infinity=False)
ORDER_NUMBERS = st.from_regex(r"\A[A-Z]{1,3}-[0-9]{1,9}\Z")
ORDER_IDS = st.from_regex(r"\A(ord_[0-9a-f]{22}|(ord|tsk)_[0-9a-f]{21})\Z")  # ord_: with its lane digit (#19)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.one_of(SIDS, TIMES.map(datetime.isoformat), TIMES.map(str), AMOUNTS.map(str), ORDER_NUMBERS, ORDER_IDS),
        min_size=1,
        max_size=6,
    )
)
def test_sids_timestamps_amounts_and_order_numbers_are_never_masked(parts: list[str]) -> None:
    text = "seen: " + " ".join(parts)  # (a bare "0.00" would be read back as JSON by Powertools)
    with captured_log_lines() as lines:
        logger.info(text, extra={"reason": text})
    (line,) = lines
    assert (line["message"], line["reason"]) == (text, text)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("call 380671234567 now", "call +380*******67 now"),  # international without its '+'
        ("+999 1234 5678", "+999******78"),  # a '+' number phonenumbers finds no valid number in
        ("ord_0671234567", "ord_0671234567"),  # joined to an id
        ("total 1234567.89", "total 1234567.89"),
    ],
)
def test_edges(text: str, shown: str) -> None:
    with captured_log_lines() as lines:
        logger.info(text)
    assert lines[0]["message"] == shown
