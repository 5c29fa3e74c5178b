"""``cli.admin twilio-numbers`` against a deployment (issue 16, item 11): the webhooks come from
the stack's ``PublicBaseUrl`` output (CloudFormation on moto), Twilio is the stand-in; the
operator's mistakes (no such stack, no Twilio account set, wrong credentials) are named."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from chalicelib.config import reload_settings
from chalicelib.wiring import forget_clients
from cli.admin import main as admin_cli
from devtools.twilio_standin import TwilioStandIn
from tests.integration.conftest import AUTH_TOKEN

pytestmark = pytest.mark.integration

ACCOUNT = "AC" + "5" * 32
SHOP = "+380441234567"  # the demo shop's number, loaded by the aws fixture
DEPLOYED = "https://abc123.execute-api.eu-central-1.amazonaws.com/api"


@pytest.fixture
def twilio(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioStandIn]:
    with TwilioStandIn(ACCOUNT, AUTH_TOKEN) as standin:
        standin.register_number(SHOP)  # as bought: nothing set
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
        monkeypatch.setenv("TWILIO_API_BASE_URL", standin.base_url)
        reload_settings()
        forget_clients()
        yield standin
    reload_settings()


@pytest.fixture
def deployed(aws: None) -> None:
    template = {
        "Resources": {"Alarms": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "PublicBaseUrl": {"Value": DEPLOYED},
            "VoiceWebhook": {"Value": f"{DEPLOYED}/twilio/voice/incoming"},
        },
    }
    boto3.client("cloudformation").create_stack(StackName="CallCenter", TemplateBody=json.dumps(template))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = admin_cli(["twilio-numbers", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_numbers_get_the_deployed_stacks_webhooks(
    twilio: TwilioStandIn, deployed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = cli(capsys)
    assert code == 0, out
    assert out.splitlines()[0] == f"Twilio account {ACCOUNT}, webhooks under {DEPLOYED}"
    number = twilio.engine.numbers[SHOP]
    assert number.voice_url == VOICE_URL
    assert number.voice_fallback_url == f"{DEPLOYED}/twilio/fallback/voice"  # the stack's static TwiML
    assert number.status_callback_url == f"{DEPLOYED}/twilio/voice/status"
    assert number.sms_url == f"{DEPLOYED}/twilio/sms/incoming"
    assert (number.voice_method, number.status_callback_method, number.sms_method) == ("POST", "POST", "POST")
    # a fallback of the operator's own (a TwiML Bin, say) replaces the default
    bin_url = "https://handler.twilio.com/twiml/EH" + "0" * 32
    code, out, _err = cli(capsys, "--voice-fallback-url", bin_url)
    assert code == 0 and twilio.engine.numbers[SHOP].voice_fallback_url == bin_url


VOICE_URL = f"{DEPLOYED}/twilio/voice/incoming"


@pytest.mark.parametrize("fallback", [None, VOICE_URL])
def test_the_check_names_a_number_without_the_static_voice_fallback(
    twilio: TwilioStandIn, deployed: None, capsys: pytest.CaptureFixture[str], fallback: str | None
) -> None:
    # GIVEN a number set as before the static fallback (the webhook asked again) or never given one
    assert cli(capsys)[0] == 0
    twilio.engine.numbers[SHOP].voice_fallback_url = fallback
    # WHEN the operator checks
    code, out, err = cli(capsys, "--check")
    # THEN the number is WRONG, naming the field, what it is and the static TwiML's URL; nothing changes
    assert code == 1
    assert f"{SHOP}  WRONG:" in out
    shown = "empty" if fallback is None else fallback
    assert (
        f"voice_fallback_url (Primary handler fails) is '{shown}', should be '{DEPLOYED}/twilio/fallback/voice'"
    ) in out
    assert "1 of 1 number(s) not as the app needs (run without --check to set them)" in err
    assert twilio.engine.numbers[SHOP].voice_fallback_url == fallback
    # and a run sets it
    assert cli(capsys)[0] == 0
    assert twilio.engine.numbers[SHOP].voice_fallback_url == f"{DEPLOYED}/twilio/fallback/voice"


def test_a_number_handed_to_a_twiml_app_is_taken_back(
    twilio: TwilioStandIn, deployed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the number's calls go to a TwiML App: Twilio would never request voice_url
    app_sid = "AP" + "1" * 32
    twilio.engine.numbers[SHOP].voice_application_sid = app_sid
    code, out, _err = cli(capsys, "--check")
    assert code == 1
    assert f"voice_application_sid (Configure with: TwiML App) is '{app_sid}', should be 'empty'" in out
    assert cli(capsys)[0] == 0
    assert twilio.engine.numbers[SHOP].voice_application_sid is None


def test_the_operators_mistakes_are_named(
    twilio: TwilioStandIn, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _out, err = cli(capsys, "--stack", "CallCenter")  # not deployed in this account and region
    assert code == 2 and "error: no stack 'CallCenter' in this account and region" in err
    code, _out, err = cli(capsys, "--public-base-url", DEPLOYED, "--number", "044 123 4567")
    assert code == 2 and "--number '044 123 4567': not a phone number (give it in E.164" in err
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-token")
    reload_settings()
    code, _out, err = cli(capsys, "--public-base-url", DEPLOYED)
    assert code == 2 and "error: Twilio answered 401" in err
    monkeypatch.delenv("TWILIO_ACCOUNT_SID")
    reload_settings()
    code, _out, err = cli(capsys, "--public-base-url", DEPLOYED)
    assert code == 2 and "set TWILIO_ACCOUNT_SID" in err
    assert twilio.engine.numbers[SHOP].voice_url is None  # nothing was changed
