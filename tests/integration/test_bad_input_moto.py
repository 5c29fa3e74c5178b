"""Bad input that used to be a 500 (issue #18, "Bad input that gives 5xx"): through the Chalice
test client on moto, as a stranger or a shop's developer sends it. Each answer is a 4xx in the
API's ``{error, message, fields}`` form naming what is wrong, and nothing is written or looked up.

Long path ids and the size of a Cyrillic order need DynamoDB's own limits:
``test_bad_input_dynamodb_local.py``."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from chalice.test import Client
from twilio.request_validator import RequestValidator

from chalicelib.adapters.dynamo.schema import CallItem, MessageItem, OrderItem
from chalicelib.web import recordings as recordings_route
from tests.integration.conftest import API_KEY, AUTH_TOKEN, PUBLIC_BASE

pytestmark = pytest.mark.integration

ANNA = "demo-agent-anna-0001"  # config/demo.toml
SHOP_NUMBER = "+380441234567"
CUSTOMER = "+380671234567"
TIMELINE = "/v1/customers/timeline"
FORM = "application/x-www-form-urlencoded"


def answer(response: Any) -> dict[str, Any]:
    """The 4xx body, checked to be the API's own form naming the problem."""
    assert 400 <= response.status_code < 500, (response.status_code, response.body)
    body = json.loads(response.body)
    assert body["error"] and body["message"], body
    return dict(body)


def fields(response: Any) -> list[str]:
    return [field["field"] for field in answer(response).get("fields", [])]


# ---- without credentials: Twilio's webhooks -------------------------------------------------
NOT_UTF8 = [
    b"CallSid=CA-bad&From=%2B380671234567&To=%2B380441234567&Body=\xff\xfe",  # raw bytes
    b"CallSid=CA-bad&From=%2B380671234567&To=%2B380441234567&Body=%FF%FE",  # percent-encoded
    b"CallSid=CA-bad&To=%2B380441234567&CallerName=%D0",  # a UTF-8 sequence cut short
    "CallSid=CA-bad&To=%2B380441234567&Body=\ud800".encode("utf-8", "surrogatepass"),  # a surrogate
]


def test_a_webhook_body_that_is_not_utf8_is_400_naming_the_encoding_and_writes_nothing(client: Client) -> None:
    for path, raw in [(path, raw) for path in ("/twilio/voice/incoming", "/twilio/sms/incoming") for raw in NOT_UTF8]:
        # unsigned, and signed over what a lenient reader would make of it (replacement characters)
        lenient = {k: v[-1] for k, v in _lenient_form(raw).items()}
        signed = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE + path, lenient)
        for signature in ("", signed):
            headers = {"Content-Type": FORM} | ({"X-Twilio-Signature": signature} if signature else {})
            response = client.http.post(path, headers=headers, body=raw)
            body = answer(response)
            assert (response.status_code, body["error"]) == (400, "invalid_encoding"), raw
            assert body["fields"] == [
                {"field": "body", "message": "not UTF-8 form data: Twilio sends UTF-8, percent-encoded"}
            ]
    assert list(CallItem.scan()) == []
    assert list(MessageItem.scan()) == []


def _lenient_form(raw: bytes) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    return parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)


def test_a_genuine_cyrillic_text_still_gets_its_answer(client: Client) -> None:
    params = {"MessageSid": "SM-uk", "From": CUSTOMER, "To": SHOP_NUMBER, "Body": "Дякую, чекаю 😀"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE + "/twilio/sms/incoming", params)
    headers = {"Content-Type": FORM, "X-Twilio-Signature": signature}
    response = client.http.post("/twilio/sms/incoming", headers=headers, body=urlencode(params).encode())
    assert response.status_code == 200
    assert "<Response" in response.body.decode()


# ---- without credentials: a recording link with a malformed expiry --------------------------
class NoMedia:
    def fetch(self, recording_sid: str) -> object:
        raise AssertionError("a malformed link must not reach Twilio")


# '²' (a digit to str.isdigit), 5,000 digits (over int()'s 4,300), 13 digits, Arabic digits...
EXPIRIES = ["%C2%B2", "9" * 5000, "1" * 13, "%D9%A1%D9%A2", "-1", "+1", "1e9", "%20", ""]


def test_a_recording_link_with_a_malformed_expiry_is_403_not_valid(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recordings_route, "recording_media", NoMedia)
    for expires in EXPIRIES:
        response = client.http.get(f"/v1/recordings/CA1?expires={expires}&signature={'a' * 64}")
        assert response.status_code == 403, expires
        assert answer(response) == {"error": "forbidden", "message": "this link is not valid"}
    for signature in ("%C2%B2" * 64, "ä" * 64, "g" * 64):  # a signature of 64 non-hex characters
        refused = client.http.get(f"/v1/recordings/CA1?expires=1&signature={quote(signature)}")
        assert answer(refused)["error"] == "forbidden"


# ---- with a key: the timeline's cursor and limit --------------------------------------------
def cursor(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


KEY = {"Authorization": f"Bearer {API_KEY}"}


def timeline(client: Client, **given: object) -> Any:
    body = json.dumps({"phone": "+380671234567", **given})
    return client.http.post(TIMELINE, headers=KEY | {"Content-Type": "application/json"}, body=body)


def test_a_timeline_cursor_at_the_ends_of_time_or_nested_deep_is_422_naming_the_cursor(client: Client) -> None:
    ends = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+23:59"]
    deep = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode()
    for given in [cursor({"at": at, "id": "order:o1"}) for at in ends] + [deep]:
        response = timeline(client, cursor=given)
        assert response.status_code == 422, given
        assert answer(response)["fields"] == [{"field": "cursor", "message": "not a cursor this API gave"}]
    # the first and last instants UTC can hold are still cursors (nothing older; everything)
    for at in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"):
        page = timeline(client, cursor=cursor({"at": at, "id": "x"}))
        assert page.status_code == 200, at


def test_a_limit_that_is_not_a_whole_number_in_range_is_422_naming_the_limit(client: Client) -> None:
    # "²" (a digit to str.isdigit, not to int), a digit string, a fraction, a boolean, too many, 40 digits
    for limit in ["²", "5", 2.5, True, 5000, int("9" * 40), None]:
        response = timeline(client, limit=limit)
        assert response.status_code == 422, limit
        assert answer(response)["fields"] == [{"field": "limit", "message": "a whole number from 1 to 100"}]
    assert timeline(client, limit=5).status_code == 200


# ---- with a key: JSON bodies nested too deep, or not Unicode text ---------------------------
JSON_ROUTES = [
    ("post", "/v1/orders", API_KEY),
    ("post", "/v1/callbacks", API_KEY),
    ("post", "/v1/do-not-call", API_KEY),
    ("put", "/v1/agents/anna/status", API_KEY),
    ("post", "/v1/calls/CA1/outcome", ANNA),
]
DEEP = {
    "arrays, past Python's recursion limit": "[" * 100_000 + "]" * 100_000,
    "objects, past Python's recursion limit": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "33 levels, under it": '{"phone": "+380671234567", "total": 1, "comment": ' + "[" * 32 + "]" * 32 + "}",
}


def test_json_nested_deeper_than_32_levels_is_400_naming_the_body(client: Client) -> None:
    for method, path, secret in JSON_ROUTES:
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        for name, body in DEEP.items():
            response = getattr(client.http, method)(path, headers=headers, body=body)
            assert response.status_code == 400, (path, name)
            expected = [{"field": "body", "message": "nested deeper than 32 levels"}]
            assert answer(response)["fields"] == expected, (path, name)
    assert list(OrderItem.scan()) == []


def test_a_json_string_with_a_lone_surrogate_is_400_naming_the_body(client: Client) -> None:
    body = '{"phone": "+380671234567", "total": 1, "comment": "x\\ud800", "status": "available", "outcome": "x\\udfff"}'
    for method, path, secret in JSON_ROUTES:
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        response = getattr(client.http, method)(path, headers=headers, body=body)
        assert (response.status_code, fields(response)) == (400, ["body"]), path
        assert "lone surrogate" in answer(response)["message"]


def test_an_order_nested_within_the_limit_is_still_taken(client: Client) -> None:
    order = {"phone": CUSTOMER, "total": "10", "delivery": {"slot": {"start": "2015-11-24T10:00:00+02:00"}}}
    response = client.http.post(
        "/v1/orders", headers=KEY | {"Content-Type": "application/json"}, body=json.dumps(order)
    )
    assert (response.status_code, fields(response)) == (422, ["delivery.slot.end"])  # a field, not the depth


# ---- with a key: path ids over 256 bytes ----------------------------------------------------
LONG_IDS = {"ascii": "x" * 257, "cyrillic": quote("я" * 129), "percent-encoded ascii": "%78" * 257}
PATH_ROUTES = [
    ("get", "/v1/orders/{}", API_KEY, "order_id"),
    ("get", "/v1/agents/{}", API_KEY, "agent_id"),
    ("put", "/v1/agents/{}/status", API_KEY, "agent_id"),
    ("post", "/v1/calls/{}/outcome", ANNA, "call_sid"),
    ("delete", "/v1/do-not-call/{}", API_KEY, "phone"),  # gone (410), but still bounded
    ("get", "/v1/customers/{}/timeline", API_KEY, "phone"),
    ("get", "/v1/recordings/{}?expires=1&signature=" + "a" * 64, None, "call_sid"),
]


def test_a_path_id_over_256_bytes_is_422_naming_it(client: Client) -> None:
    body = {"body": json.dumps({"status": "available", "outcome": "confirmed"})}
    for method, template, secret, name in PATH_ROUTES:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {secret}"} if secret else {})
        sent = body if method in ("put", "post") else {}
        for kind, value in LONG_IDS.items():
            response = getattr(client.http, method)(template.format(value), headers=headers, **sent)
            assert response.status_code == 422, (template, kind, response.body)
            expected = [{"field": name, "message": "at most 256 bytes as UTF-8"}]
            assert answer(response)["fields"] == expected, (template, kind)
        at_the_limit = getattr(client.http, method)(template.format("x" * 256), headers=headers, **sent)
        assert b"at most 256 bytes" not in at_the_limit.body, template  # 404, 403, or a phone's own 422
