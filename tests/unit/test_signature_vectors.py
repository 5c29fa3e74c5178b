"""twilio-python's published request-validator vectors (tests/unit/test_request_validator.py in
twilio/twilio-python, and the example in Twilio's webhook-security docs) through OUR validator:
``signature_is_valid`` and the URL ``public_url`` rebuilds."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from chalicelib.voice.signature import parse_form, public_url, signature_is_valid

TOKEN = "12345"
BASE = "https://mycompany.com"
PATH = "/myapp.php"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
QUERY = {"foo": ["1"], "bar": ["2"]}  # in the order Twilio called it: not sorted
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="  # twilio-python's test_compute_signature
DOCS_PARAMS = {**PARAMS, "Caller": "+12349013030", "From": "+12349013030"}
DOCS_EXPECTED = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="  # Twilio's security docs
DUPLICATE_BODY = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234"
DUPLICATE_EXPECTED = "IK+Dwps556ElfBT0I3Rgjkr1wJU="
BODY = '{"property": "value", "boolean": true}'
BODY_HASH = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
BODY_EXPECTED = "a9nBmqA0ju/hNViExpshrM61xv4="


def form_of(params: dict[str, str]) -> dict[str, list[str]]:
    return parse_form(urlencode(params).encode())


@pytest.mark.parametrize(("params", "expected"), [(PARAMS, EXPECTED), (DOCS_PARAMS, DOCS_EXPECTED)])
def test_published_vectors_validate_through_our_url_and_validator(params: dict[str, str], expected: str) -> None:
    url = public_url(BASE, PATH, QUERY)
    assert url == URL  # the query string as Twilio called it, not re-sorted
    assert signature_is_valid(TOKEN, url, form_of(params), expected)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://mycompany.com:1234/myapp.php?foo=1&bar=2", EXPECTED),  # port removed on https
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        (URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),  # signed with :443 added
        ("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),  # with :80
    ],
)
def test_published_port_vectors(url: str, expected: str) -> None:
    assert signature_is_valid(TOKEN, url, form_of(PARAMS), expected)


def test_published_repeated_keys_vector() -> None:
    form = parse_form(DUPLICATE_BODY)
    assert form["Digits"] == ["5678", "1234"]
    assert signature_is_valid(TOKEN, URL, form, DUPLICATE_EXPECTED)


def test_the_published_body_hash_vector_validates_with_the_raw_body() -> None:
    # A JSON body: Twilio puts its SHA-256 in the URL and signs the URL alone.
    assert RequestValidator(TOKEN).compute_hash(BODY) == BODY_HASH
    url = f"{URL}&bodySHA256={BODY_HASH}"
    assert signature_is_valid(TOKEN, url, {}, BODY_EXPECTED, body=BODY)


def test_a_body_hash_request_fails_on_a_changed_body_hash_url_or_signature() -> None:
    url = f"{URL}&bodySHA256={BODY_HASH}"
    assert not signature_is_valid(TOKEN, url, {}, BODY_EXPECTED, body=BODY.replace("value", "valuf"))
    assert not signature_is_valid(TOKEN, url, {}, BODY_EXPECTED, body=BODY + " ")
    assert not signature_is_valid(TOKEN, url.replace("foo=1", "foo=2"), {}, BODY_EXPECTED, body=BODY)
    other_hash = RequestValidator(TOKEN).compute_hash(BODY + " ")
    assert not signature_is_valid(TOKEN, f"{URL}&bodySHA256={other_hash}", {}, BODY_EXPECTED, body=BODY)
    assert not signature_is_valid(TOKEN, url, {}, BODY_EXPECTED[:-2] + "A=", body=BODY)
    assert not signature_is_valid("12346", url, {}, BODY_EXPECTED, body=BODY)
    assert not signature_is_valid(TOKEN, url, {}, None, body=BODY)


def test_a_json_body_signed_by_its_hash_through_our_public_url() -> None:
    # As Twilio calls a webhook behind a stage prefix with a JSON body: the hash rides in the query.
    body = '{"CallSid": "CA1", "Name": "Ольга \\u202e", "Amount": 1.5}'
    query = {"task_id": ["t 1+2"], "bodySHA256": [RequestValidator(TOKEN).compute_hash(body)]}
    url = public_url("https://calls.example.test/api", "/twilio/voice/status", query)
    signature = RequestValidator(TOKEN).compute_signature(url, {})
    assert signature_is_valid(TOKEN, url, parse_form(body.encode()), signature, body=body)
    assert not signature_is_valid(TOKEN, url, parse_form(body.encode()), signature, body=body.replace("1.5", "2.5"))


def test_without_the_raw_body_a_body_hash_signature_is_not_taken_as_a_form_signature() -> None:
    url = f"{URL}&bodySHA256={BODY_HASH}"
    assert not signature_is_valid(TOKEN, url, parse_form(BODY.encode()), BODY_EXPECTED)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1],  # one changed byte
        lambda s: s.lower(),
        lambda s: s + "=",
        lambda s: "",
        lambda s: " " + s,
    ],
)
def test_a_changed_signature_fails(mutate: object) -> None:
    signature = mutate(EXPECTED)  # type: ignore[operator]
    assert not signature_is_valid(TOKEN, URL, form_of(PARAMS), signature)


def test_a_changed_parameter_url_or_token_fails() -> None:
    form = form_of(PARAMS)
    assert not signature_is_valid(TOKEN, URL, {**form, "Digits": ["1235"]}, EXPECTED)
    assert not signature_is_valid(TOKEN, URL, {**form, "Extra": [""]}, EXPECTED)
    assert not signature_is_valid(TOKEN, URL.replace("foo=1", "foo=2"), form, EXPECTED)
    assert not signature_is_valid(TOKEN, "https://mycompany.com/other.php?foo=1&bar=2", form, EXPECTED)
    assert not signature_is_valid("12346", URL, form, EXPECTED)
    assert not signature_is_valid(TOKEN, URL, form, None)


@pytest.mark.parametrize(
    "value",
    ["", "a+b", "O'Brien", "two  spaces ", "Київ", "Ольга Петрівна", "&=?#%", "😀", "\u202eRTL"],
)
def test_awkward_values_in_the_form_and_the_query_validate(value: str) -> None:
    params = {"CallSid": "CA1", "CalledCity": "", "Body": value}
    query = {"lang": [value], "task": ["t 1+2"]}
    url = public_url("https://calls.example.test/api", "/twilio/voice/status", query)
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    assert signature_is_valid(TOKEN, url, form_of(params), signature)
    assert not signature_is_valid(TOKEN, url, {**form_of(params), "Body": [value + "x"]}, signature)
