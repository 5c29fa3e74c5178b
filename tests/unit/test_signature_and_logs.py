import hmac
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from chalicelib.observability import logger
from chalicelib.voice.signature import parse_form, public_url, signature_is_valid, signature_matches
from tests.log_lines import captured_log_lines

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_twilio_published_example_validates() -> None:
    # The example from Twilio's security docs and twilio-python's tests.
    form = {key: [value] for key, value in PARAMS.items()}
    assert signature_is_valid(TOKEN, URL, form, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


def test_a_changed_parameter_another_url_or_no_signature_fail() -> None:
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS)
    form = {key: [value] for key, value in PARAMS.items()}
    assert signature_is_valid(TOKEN, URL, form, signature)
    assert not signature_is_valid(TOKEN, URL, {**form, "Digits": ["1235"]}, signature)
    assert not signature_is_valid(TOKEN, "https://mycompany.com/other.php?foo=1&bar=2", form, signature)
    assert not signature_is_valid(TOKEN, URL, form, None)
    assert not signature_is_valid("another-token", URL, form, signature)


def test_blank_parameters_are_signed_and_kept() -> None:
    form = parse_form(b"CallSid=CA1&CalledCity=&Digits=1")
    assert form["CalledCity"] == [""]
    signature = RequestValidator(TOKEN).compute_signature(URL, {"CallSid": "CA1", "CalledCity": "", "Digits": "1"})
    assert signature_is_valid(TOKEN, URL, form, signature)


def test_public_url_uses_the_configured_base_with_stage_prefix_and_query() -> None:
    assert (
        public_url(
            "https://abc.execute-api.eu-central-1.amazonaws.com/api/", "/twilio/voice/status", {"task_id": ["t 1"]}
        )
        == "https://abc.execute-api.eu-central-1.amazonaws.com/api/twilio/voice/status?task_id=t+1"
    )
    assert public_url("https://calls.shop.example", "/twilio/voice/incoming", None) == (
        "https://calls.shop.example/twilio/voice/incoming"
    )


def test_phone_numbers_are_masked_in_log_lines() -> None:
    with captured_log_lines() as lines:  # the JSON lines CloudWatch receives
        logger.info("calling +380671234567 now", extra={"phone": "+380501112233"})
    line = lines[-1]
    assert "+380671234567" not in line["message"] and "+380*******67" in line["message"]
    assert line["phone"] == "+380*******33"


def test_the_masking_leaves_other_text_alone() -> None:
    with captured_log_lines() as lines:
        logger.info("order %s total %s", "A-1", "12.50")
    assert lines[-1]["message"] == "order A-1 total 12.50"


def test_the_check_accepts_and_refuses_exactly_what_twilios_validator_does() -> None:
    # signature_matches computes Twilio's signature itself (#19: once per webhook, not twice per
    # URL); Twilio's own validator is the reference, ports, repeated keys and JSON bodies included.
    validator = RequestValidator(TOKEN)
    form = {"CallSid": ["CA1"], "Digits": ["1", "2", "1"], "CalledCity": [""], "Body": ["Привіт & +"]}
    params = {"CallSid": "CA1", "Digits": ["1", "2"], "CalledCity": "", "Body": "Привіт & +"}

    class Multi(dict[str, Any]):
        def getall(self, name: str) -> list[str]:
            value = self[name]
            return value if isinstance(value, list) else [value]

    urls = [URL, "https://mycompany.com:443/myapp.php?foo=1&bar=2", "http://mycompany.com/a", "https://h:8443/b?x=1"]
    for signed_url in urls:
        signature = validator.compute_signature(signed_url, Multi(params))
        for checked_url in urls:
            expected = validator.validate(checked_url, Multi(params), signature)
            assert signature_is_valid(TOKEN, checked_url, form, signature) is expected, (signed_url, checked_url)
    assert signature_matches(TOKEN, ["https://a.test/x", URL], form, validator.compute_signature(URL, Multi(params)))
    assert not signature_matches(TOKEN, ["https://a.test/x", URL], form, "not-it")
    assert not signature_matches(TOKEN, [URL], form, "ünicode")


def test_a_valid_webhook_costs_one_hmac(monkeypatch: pytest.MonkeyPatch) -> None:
    # The usual webhook: the first URL matches without a port, so one HMAC, not the validator's two.
    form = {key: [value] for key, value in PARAMS.items()}
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS)
    made: list[bytes] = []
    real_new = hmac.new

    def counted(key: bytes, message: bytes, digest: Any) -> hmac.HMAC:
        made.append(message)
        return real_new(key, message, digest)

    monkeypatch.setattr(hmac, "new", counted)
    assert signature_matches(TOKEN, [URL, "https://mycompany.com/myapp.php?bar=2&foo=1"], form, signature)
    assert len(made) == 1
