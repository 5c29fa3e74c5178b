"""The operator sets the shop's Twilio numbers with ``cli.admin twilio-numbers`` (issue 16, item
11): a caller who hangs up in the greeting gets a callback only when the number's "Call status
changes" webhook is set (I7), which the old deploy guide told operators to leave empty. Through
the local stack: the command talks to the Twilio stand-in's IncomingPhoneNumbers API, and the
stand-in rings the number as configured there."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem, PhoneNumberItem
from chalicelib.wiring import repository
from cli.admin import main as admin_cli
from devtools.stack import LocalStack
from devtools.twilio_standin import CallerScript, HangUp

SHOP = "+380441234567"
GEO_HEADING = "Voice Geo Permissions (console: Voice > Settings > Geo permissions):"
NOT_OURS = "+380449990000"  # routed to the shop in the tables, but not a number of the Twilio account


@pytest.fixture
def number_as_the_old_guide_left_it(stack: LocalStack) -> Iterator[None]:
    """The shop's number with its call and text webhooks but no status callback, and a second
    number routed to the shop that the Twilio account does not have."""
    stack.standin.register_number(
        SHOP, voice_url=f"{stack.api_url}/twilio/voice/incoming", sms_url=f"{stack.api_url}/twilio/sms/incoming"
    )
    repository().save_number(NOT_OURS, "demo", "sales")
    yield
    PhoneNumberItem.get(NOT_OURS).delete()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = admin_cli(["twilio-numbers", *args])
    out, err = capsys.readouterr()
    return code, out, err


def numbers_lines(out: str) -> list[str]:
    """The report's lines about the numbers: after the account line, before the Geo Permissions."""
    lines = out.splitlines()
    return lines[1 : lines.index(GEO_HEADING)]


def hang_up_in_the_greeting(stack: LocalStack, caller: str) -> CallItem:
    transcript = stack.standin.place_inbound_call(caller, SHOP, CallerScript([HangUp()]))
    assert transcript.application_errors == []
    assert stack.wait_quiet(timeout=30)
    return CallItem.get(transcript.call_sid)


def test_the_command_sets_the_numbers_so_a_caller_who_hangs_up_is_called_back(
    stack: LocalStack, number_as_the_old_guide_left_it: None, capsys: pytest.CaptureFixture[str]
) -> None:
    base = stack.api_url
    # GIVEN the number without a status callback: a caller who hangs up in the greeting is lost
    lost = hang_up_in_the_greeting(stack, "+380671239001")
    assert lost.callback_task_id is None

    # WHEN the operator checks: the missing webhook is named, the foreign number is an error, nothing changes
    code, out, err = cli(capsys, "--public-base-url", base, "--check")
    assert code == 1
    assert f"{SHOP}  WRONG:" in out
    assert f"status_callback (Call status changes) is 'empty', should be '{base}/twilio/voice/status'" in out
    assert f"voice_fallback_url (Primary handler fails) is 'empty', should be '{base}/twilio/fallback/voice'" in out
    assert f"{NOT_OURS}  error: not a number of Twilio account {stack.standin.account_sid}" in out
    assert "2 number(s) not as the app needs (run without --check to set them)" in err
    assert stack.standin.engine.numbers[SHOP].status_callback_url is None

    # WHEN the operator runs it: the number gets every webhook; the foreign one is still an error
    code, out, err = cli(capsys, "--public-base-url", base)
    assert code == 1
    assert f"{SHOP}  updated:" in out and f"status_callback: 'empty' -> '{base}/twilio/voice/status'" in out
    assert f"{NOT_OURS}  error: not a number of Twilio account" in out
    number = stack.standin.engine.numbers[SHOP]
    assert (number.voice_url, number.voice_method) == (f"{base}/twilio/voice/incoming", "POST")
    assert (number.status_callback_url, number.status_callback_method) == (f"{base}/twilio/voice/status", "POST")
    assert number.sms_url == f"{base}/twilio/sms/incoming"
    assert number.voice_fallback_url == f"{base}/twilio/fallback/voice"  # the stack's static TwiML

    # THEN a caller who hangs up in the greeting gets a callback task (I7)
    called_back = hang_up_in_the_greeting(stack, "+380671239002")
    assert called_back.abandoned is True
    task = DialTaskItem.get(called_back.callback_task_id)
    assert (task.kind, task.phone) == ("callback", "+380671239002")

    # AND a rerun for the shop's own number changes nothing: Twilio is only read
    code, out, _err = cli(capsys, "--public-base-url", base, "--number", SHOP)
    assert (code, numbers_lines(out)) == (0, [f"{SHOP}  ok"])
    assert stack.standin.engine.numbers[SHOP] is number


def test_a_status_callback_typed_wrong_in_the_console_is_found_and_fixed(
    stack: LocalStack, number_as_the_old_guide_left_it: None, capsys: pytest.CaptureFixture[str]
) -> None:
    base = stack.api_url
    cli(capsys, "--public-base-url", base, "--number", SHOP)
    # GIVEN someone retyped the status callback in Twilio's console, without the path's last part
    typo = f"{base}/twilio/voice"
    stack.standin.engine.numbers[SHOP].status_callback_url = typo

    code, out, _err = cli(capsys, "--public-base-url", base, "--number", SHOP, "--check")
    assert code == 1
    assert numbers_lines(out) == [
        f"{SHOP}  WRONG:",
        f"    status_callback (Call status changes) is '{typo}', should be '{base}/twilio/voice/status'",
    ]
    code, out, _err = cli(capsys, "--public-base-url", base, "--number", SHOP)
    assert code == 0 and f"status_callback: '{typo}' -> '{base}/twilio/voice/status'" in out
    assert hang_up_in_the_greeting(stack, "+380671239003").callback_task_id is not None


def test_the_check_reports_the_countries_twilio_lets_the_account_call(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    base = stack.api_url
    cli(capsys, "--public-base-url", base, "--number", SHOP)  # the number itself as the app needs it
    countries = stack.standin.engine.voice_countries
    saved = {code: dataclasses.replace(country) for code, country in countries.items()}
    try:
        # GIVEN Twilio's Geo Permissions as a new account has them: Ukraine (the demo shop's) and US open
        code, out, err = cli(capsys, "--public-base-url", base, "--number", SHOP, "--check")
        geo = out.splitlines()[out.splitlines().index(GEO_HEADING) + 1 :]
        assert code == 0, err
        assert geo == ["    UA  ok (shop(s) demo)", "    US  open, but no shop calls it: consider disabling it"]

        # WHEN someone closes Ukraine and opens the UK's high-risk toll-fraud ranges in the console
        countries["UA"].low_risk_numbers_enabled = False
        countries["GB"].high_risk_tollfraud_numbers_enabled = True
        code, out, err = cli(capsys, "--public-base-url", base, "--number", SHOP, "--check")

        # THEN the check names both and fails; the number itself is still fine
        geo = out.splitlines()[out.splitlines().index(GEO_HEADING) + 1 :]
        assert code == 1
        assert numbers_lines(out) == [f"{SHOP}  ok"]
        assert "    UA  CLOSED: shop(s) demo call it; enable it, or their calls fail" in geo
        assert "    GB  HIGH RISK OPEN: high-risk toll-fraud numbers; disable them" in geo
        assert "2 Voice Geo Permission(s) to change in the Twilio console" in err
    finally:
        countries.clear()
        countries.update(saved)
