"""Adversarial Twilio webhooks through the Chalice test client against the real routes on moto:
forged and replayed signatures (403, nothing written), awkward but genuine requests (blank,
repeated, quoted, Cyrillic parameters and query strings: accepted), every webhook fuzzed with
missing, oversized and garbage parameters (never a 5xx, voice routes always answer TwiML with
a next step), bodies and query strings in broken encodings, signed or not, from strangers
(never a 5xx: 400 ``invalid_encoding`` for a body that is not UTF-8, else 403), and hostile
customer text read back in TwiML without breaking it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from chalicelib import wiring
from chalicelib.adapters.dynamo.orders import order_keys
from chalicelib.adapters.dynamo.schema import CallItem, DialTaskItem, OrderItem
from chalicelib.clock import FixedClock, use_clock, use_wall_clock
from tests.fakes.twilio import FakeTelephony
from tests.integration.conftest import AUTH_TOKEN, PUBLIC_BASE, StreamReader, post_order, signed_post

pytestmark = pytest.mark.integration

SHOP_NUMBER = "+380441234567"
CUSTOMER = "+380671234567"
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv, a Monday: open
NEXT_STEP = {"Say", "Play", "Hangup", "Redirect", "Gather", "Dial", "Enqueue", "Leave", "Record"}
HOSTILE = '<b>Ol&ena</b> "O\'Brien" \u202eنص\u202c 🌷 ]]> &amp;'


class _MultiParams(dict[str, list[str]]):
    def getall(self, name: str) -> list[str]:
        return self[name]


@pytest.fixture
def telephony(monkeypatch: pytest.MonkeyPatch) -> FakeTelephony:
    fake = FakeTelephony()
    monkeypatch.setattr(wiring, "telephony", lambda: fake)
    return fake


@pytest.fixture(autouse=True)
def open_hours() -> Iterator[None]:
    use_clock(FixedClock(NOW))
    yield
    use_wall_clock()


def post_pairs(client: Client, path: str, pairs: list[tuple[str, str]], *, sign_path: str | None = None) -> Any:
    """POST form pairs (repeated keys allowed) signed as Twilio signs them, optionally over
    another path than the one posted to (a replay)."""
    params: _MultiParams = _MultiParams()
    for key, value in pairs:
        params.setdefault(key, []).append(value)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE + (sign_path or path), params)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return client.http.post(path, headers=headers, body=urlencode(pairs))


def call_record(call_sid: str) -> CallItem | None:
    try:
        return CallItem.get(call_sid, consistent_read=True)
    except CallItem.DoesNotExist:
        return None


def xml_of(response: Any) -> ET.Element:
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.body)
    assert root.tag == "Response"
    return root


def spoken(root: ET.Element) -> str:
    return " ".join(node.text or "" for node in root.iter("Say"))


def robot_task(client: Client, order_stream: StreamReader, task_stream: StreamReader, order: dict[str, Any]) -> str:
    order_id = post_order(client, order).json_body["id"]
    client.lambda_.invoke("order_stream", order_stream.next_event())
    client.lambda_.invoke("task_stream", task_stream.next_event())
    task_id = OrderItem.get(*order_keys("demo", order_id), consistent_read=True).task_id
    assert task_id
    return str(task_id)


# ---- signatures ------------------------------------------------------------------------------
INCOMING = [("CallSid", "CA-forged"), ("From", CUSTOMER), ("To", SHOP_NUMBER)]


def test_the_genuine_request_is_accepted_and_writes_the_call(client: Client) -> None:
    assert post_pairs(client, "/twilio/voice/incoming", INCOMING).status_code == 200
    assert call_record("CA-forged") is not None


ATTACKS = ["changed_byte", "changed_param", "replayed_url", "missing", "empty", "token"]


def test_forged_or_replayed_signatures_are_403_and_write_nothing(client: Client) -> None:
    for attack in ATTACKS:
        forge(client, attack)
    assert list(CallItem.scan()) == []


def forge(client: Client, attack: str) -> None:
    path = "/twilio/voice/incoming"
    body = urlencode(INCOMING)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE + path, dict(INCOMING))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    if attack == "changed_byte":
        headers["X-Twilio-Signature"] = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]
    elif attack == "changed_param":
        body = urlencode([*INCOMING[:2], ("To", "+380441234568")])
    elif attack == "replayed_url":  # signed for the SMS route, replayed on the voice route
        signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE + "/twilio/sms/incoming", dict(INCOMING))
        headers["X-Twilio-Signature"] = signature
    elif attack == "missing":
        del headers["X-Twilio-Signature"]
    elif attack == "empty":
        headers["X-Twilio-Signature"] = ""
    elif attack == "token":
        headers["X-Twilio-Signature"] = RequestValidator("guessed").compute_signature(
            PUBLIC_BASE + path, dict(INCOMING)
        )
    response = client.http.post(path, headers=headers, body=body)
    assert response.status_code == 403, attack
    assert call_record("CA-forged") is None, attack


def test_a_status_callback_replayed_on_another_task_is_403_and_changes_nothing(
    client: Client, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony
) -> None:
    task_id = robot_task(client, order_stream, task_stream, {"phone": CUSTOMER, "total": "10", "order_number": "R1"})
    before = DialTaskItem.get(task_id).attribute_values
    form = [("CallSid", "CA-r"), ("CallStatus", "completed"), ("SequenceNumber", "3")]
    signed_for = "/twilio/voice/status?task_id=another"
    response = post_pairs(client, f"/twilio/voice/status?task_id={task_id}", form, sign_path=signed_for)
    assert response.status_code == 403
    assert DialTaskItem.get(task_id).attribute_values == before
    assert call_record("CA-r") is None


AWKWARD_FORMS = [
    [("CalledCity", ""), ("CallerName", "")],  # blank parameters are signed too
    [("Digits", "1"), ("Digits", "2"), ("Digits", "1")],  # repeated keys
    [("CallerName", "O'Brien + Sons"), ("FromCity", "Київ"), ("Body", "  two  spaces  ")],
    [("CallerName", "<&\"'>"), ("Extra", "😀\u202eRTL")],
]
AWKWARD_QUERIES = [
    {"lang": "en", "attempt": "0"},
    {"attempt": "0", "lang": "en"},  # not sorted: as Twilio called it
    {"lang": "en", "order": "it's a+b c", "attempt": "0"},
    {"lang": "en", "order": "Київ 😀", "attempt": ""},
]


def test_awkward_genuine_forms_and_query_strings_validate(client: Client) -> None:
    for number, pairs in enumerate(AWKWARD_FORMS):
        sid = f"CA-ok-{number}"
        response = post_pairs(client, "/twilio/voice/incoming", [("CallSid", sid), ("To", SHOP_NUMBER), *pairs])
        assert response.status_code == 200, pairs
        assert call_record(sid) is not None
    for query in AWKWARD_QUERIES:  # +, quotes, spaces and Cyrillic in the query string
        path = "/twilio/voice/inbound/order?" + urlencode(query)
        response = post_pairs(client, path, [("CallSid", "CA-ok-0"), ("Digits", "9")])
        assert response.status_code == 200, query  # signature passed: the view answers TwiML
        assert NEXT_STEP & {node.tag for node in xml_of(response).iter()}


def test_garbage_numbers_in_status_callbacks_are_ignored_not_5xx(
    client: Client, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony
) -> None:
    task_id = robot_task(client, order_stream, task_stream, {"phone": CUSTOMER, "total": "10", "order_number": "N1"})
    call = {"CallSid": "CA-num", "From": CUSTOMER, "To": SHOP_NUMBER}
    assert signed_post(client, "/twilio/voice/incoming", call).status_code == 200
    for value in [" ", "\r\n\t", "¹", "-1", "1e3", "9" * 400, "١٢"]:
        for key in ("SequenceNumber", "CallDuration"):
            response = signed_post(client, "/twilio/voice/status", {**call, "CallStatus": "ringing", key: value})
            assert response.status_code == 204, (key, value)
    record = call_record("CA-num")
    assert record is not None
    agent_leg = f"/twilio/voice/agent-dial/status?agent=anna&res=r1&task={task_id}"
    for value in [" ", "¹", "x", "9" * 400]:
        response = signed_post(client, agent_leg, {"CallSid": "CA-num", "SequenceNumber": value, "CallDuration": value})
        assert response.status_code == 204, value


# ---- fuzzing ---------------------------------------------------------------------------------
TWILIO_KEYS = [
    "CallSid", "AccountSid", "From", "To", "Called", "Caller", "CallStatus", "Direction", "AnsweredBy",
    "Digits", "SpeechResult", "Confidence", "SequenceNumber", "CallDuration", "Duration", "QueueTime",
    "QueueResult", "DialCallStatus", "DialCallDuration", "DialBridged", "RecordingSid", "RecordingUrl",
    "RecordingDuration", "RecordingStatus", "Body", "MessageSid", "OptOutType", "CalledCity", "Timestamp",
]  # fmt: skip
NASTY = [
    "", " ", "**##", "#", "*", "0", "1", "2", "9", "-1", "1e9", "NaN", "Infinity", "١٢٣", "¹",
    "9" * 400, str(2**64), "-" + "9" * 30, "0x10", "<script>alert(1)</script>", "&amp;&", "\"'`",
    "\u202eRTL\u202c مرحبا", "😀🌷" * 20, "\x00\x01\x1b[31m", "\r\n\t", "x" * 10_000, "true", "false",
    "completed", "in-progress", "busy", "no-answer", "failed", "canceled", "human", "machine_start",
    "bridged", "hangup", "leave", "STOP", "READY", "start", CUSTOMER, SHOP_NUMBER, "+380501112233",
]  # fmt: skip
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=60)
VALUES = st.one_of(st.sampled_from(NASTY), TEXT, st.integers().map(str))
KEYS = st.one_of(st.sampled_from(TWILIO_KEYS), TEXT)
FORMS = st.lists(st.tuples(KEYS, VALUES), max_size=14)
FUZZ_EXAMPLES = 50  # per route: 33 routes, about 25 s

IB = "/twilio/voice/inbound"
AD = "/twilio/voice/agent-dial"
# (path template, what it answers): twiml = a next step, twiml-or-empty = may be an empty
# Response (bridge the call / back to hold music), sms = a MessagingResponse, 204 = a callback.
ROUTES = [
    ("/twilio/voice/incoming", "twiml"),
    ("/twilio/voice/status", "204"),
    ("/twilio/voice/status?task_id={task}", "204"),
    ("/twilio/voice/robot/{task}", "twiml"),
    ("/twilio/voice/robot/{task}/keypress", "twiml"),
    ("/twilio/voice/robot/{task}/again", "twiml"),
    ("/twilio/voice/robot/{task}/cancel", "twiml"),
    ("/twilio/voice/robot/unknown-task/keypress", "twiml"),
    (f"{IB}/language?attempt=0", "twiml"),
    (f"{IB}/language-menu?attempt=1", "twiml"),
    (f"{IB}/after-hours?attempt=0&lang=en", "twiml"),
    (f"{IB}/menu?lang=uk", "twiml"),
    (f"{IB}/order-choice?attempt=0&lang=en", "twiml"),
    (f"{IB}/order?attempt=0&lang=ru&order=nope", "twiml"),
    (f"{IB}/order-cancel?lang=uk&order=nope", "twiml"),
    (f"{IB}/order-cancel-number?attempt=0&lang=en&order=nope", "twiml"),
    (f"{IB}/wait?lang=en", "twiml"),
    (f"{IB}/wait-choice?lang=en", "twiml-or-empty"),
    (f"{IB}/queue-exit?lang=en", "twiml"),
    (f"{IB}/whisper?call={{call}}", "twiml"),
    (f"{IB}/whisper-accept?call={{call}}", "twiml-or-empty"),
    (f"{IB}/dial-done?agent=anna&lang=en", "twiml"),
    (f"{IB}/bridge?lang=en", "twiml"),
    (f"{IB}/survey?lang=en", "twiml"),
    (f"{IB}/recording", "204"),
    ("/twilio/voice/voicemail", "twiml"),
    ("/twilio/voice/voicemail/ready", "204"),
    ("/twilio/voice/voicemail/transcription", "204"),
    ("/twilio/sms/incoming", "sms"),
    (f"{AD}/answer?agent=anna&res=r1&task={{task}}", "twiml"),
    (f"{AD}/accept?agent=anna&res=r1&task={{task}}", "twiml"),
    (f"{AD}/dial-done?agent=anna&res=r1&task={{task}}", "twiml"),
    (f"{AD}/status?agent=anna&res=r1&task={{task}}", "204"),
    (f"{AD}/customer-answer?agent=anna&call={{call}}&res=r1&task={{task}}", "twiml"),
    (f"{AD}/customer-done?agent=anna&call={{call}}&res=r1&task={{task}}", "twiml"),
    (f"{AD}/customer-status?agent=anna&call={{call}}&res=r1&task={{task}}", "204"),
    (f"{AD}/customer-missed?agent=anna&call={{call}}&res=r1&task={{task}}", "twiml"),
]


def check_answer(response: Any, kind: str, path: str) -> None:
    assert response.status_code < 500, (path, response.body)
    assert response.status_code != 403, path  # correctly signed, whatever the parameters
    if kind == "204":
        assert response.status_code in (200, 204)
        return
    root = xml_of(response)
    tags = {node.tag for node in root.iter()} - {"Response"}
    if kind == "twiml":
        assert tags & NEXT_STEP, (path, response.body)
    elif kind == "sms":
        assert tags <= {"Message", "Body"}


def test_fuzzed_twilio_parameters_never_5xx_and_always_answer_twiml(
    client: Client, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony
) -> None:
    task_id = robot_task(client, order_stream, task_stream, {"phone": CUSTOMER, "total": "10", "order_number": "F1"})
    call_sid = "CA-fuzz-call"
    # a live inbound call, so the inbound steps have a context to act on
    arrival = [("CallSid", call_sid), ("From", CUSTOMER), ("To", SHOP_NUMBER)]
    assert post_pairs(client, "/twilio/voice/incoming", arrival).status_code == 200
    for template, kind in ROUTES:
        fuzz_route(client, template.format(task=task_id, call=call_sid), kind, call_sid)


def fuzz_route(client: Client, path: str, kind: str, call_sid: str) -> None:
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(pairs=FORMS, known_call=st.booleans())
    def fuzz(pairs: list[tuple[str, str]], known_call: bool) -> None:
        if known_call:
            pairs = [("CallSid", call_sid), *pairs]
        check_answer(post_pairs(client, path, pairs), kind, path)

    fuzz()


# ---- broken encodings, from strangers and signed ---------------------------------------------
BROKEN = [
    b"\xff", b"\xfe\xff", b"%FF", b"%C3", b"%C3%28", b"%ED%A0%80", b"\xed\xa0\x80", b"\xc0\xaf", b"%E2%82",
    b"\xe2\x82", b"%", b"%G1", b"%%", b"&", b"=", b"+", b"\x00", b"%00", "Київ".encode(), "Київ".encode("cp1251"),
]  # fmt: skip
RAW_BODIES = st.one_of(
    st.binary(max_size=120),
    st.lists(
        st.one_of(st.sampled_from(BROKEN), st.binary(max_size=6), FORMS.map(lambda pairs: urlencode(pairs).encode())),
        max_size=10,
    ).map(b"".join),
)
BROKEN_QUERIES = st.lists(
    st.sampled_from(["%FF", "%C3", "%ED%A0%80", "%", "%G1", "%C2%B2", "+", "&", "=", "a"]), max_size=6
)
ENCODING_EXAMPLES = 25  # per route: 29 routes, about 10 s


def strictly_utf8(raw: bytes) -> bool:
    try:
        parse_qs(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def test_bodies_and_queries_in_broken_encodings_are_400_or_403_never_5xx(
    client: Client, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony
) -> None:
    task_id = robot_task(client, order_stream, task_stream, {"phone": CUSTOMER, "total": "10", "order_number": "E1"})
    for template, _kind in ROUTES:
        fuzz_encodings(client, template.format(task=task_id, call="CA-enc"))
    assert call_record("CA-enc") is None  # no stranger's request reached a view


def fuzz_encodings(client: Client, path: str) -> None:
    @settings(
        max_examples=ENCODING_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(raw=RAW_BODIES, query=BROKEN_QUERIES, signed=st.sampled_from(["none", "garbage", "lenient"]))
    def fuzz(raw: bytes, query: list[str], signed: str) -> None:
        target = path + (("&" if "?" in path else "?") + "x=" + "".join(query) if query else "")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signed == "garbage":
            headers["X-Twilio-Signature"] = "\u00e9" * 28
        elif signed == "lenient":  # signed over what a lenient reader makes of the bytes
            form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
            headers["X-Twilio-Signature"] = RequestValidator(AUTH_TOKEN).compute_signature(
                PUBLIC_BASE + target, _MultiParams(form)
            )
        response = client.http.post(target, headers=headers, body=raw)
        assert response.status_code < 500, (target, raw, response.body)
        if not strictly_utf8(raw):
            assert (response.status_code, b"invalid_encoding" in response.body) == (400, True), (target, raw)
        elif signed != "lenient":
            assert response.status_code == 403, (target, raw, response.body)

    fuzz()


# ---- hostile customer text read back in TwiML -----------------------------------------------
HOSTILE_ORDER = {
    "phone": CUSTOMER,
    "total": "10",
    "order_number": "<A&1>\"'😀",
    "customer_name": HOSTILE,
    "comment": HOSTILE,
    "delivery": {"address": HOSTILE},
    "language": "en",
}


def test_the_robot_call_reads_a_hostile_order_without_breaking_twiml(
    client: Client, order_stream: StreamReader, task_stream: StreamReader, telephony: FakeTelephony
) -> None:
    task_id = robot_task(client, order_stream, task_stream, HOSTILE_ORDER)
    call_sid = DialTaskItem.get(task_id).last_call_sid
    answer = xml_of(signed_post(client, f"/twilio/voice/robot/{task_id}", {"CallSid": call_sid}))
    said = spoken(answer)
    assert "order number <A&1>\"'😀 for 10" in said
    assert f"Delivery address: {HOSTILE}." in said
    again = xml_of(signed_post(client, f"/twilio/voice/robot/{task_id}/again", {"CallSid": call_sid}))
    assert "<A&1>\"'😀" in spoken(again)


def test_inbound_self_service_reads_a_hostile_order_number_without_breaking_twiml(
    client: Client, order_stream: StreamReader
) -> None:
    post_order(client, HOSTILE_ORDER)
    client.lambda_.invoke("order_stream", order_stream.next_event())
    call = {"CallSid": "CA-hostile", "From": CUSTOMER, "To": SHOP_NUMBER}
    assert signed_post(client, "/twilio/voice/incoming", call).status_code == 200
    menu = xml_of(signed_post(client, "/twilio/voice/inbound/menu?lang=en", call))
    assert "Your order <A&1>\"'😀 for 10" in spoken(menu)


def test_a_hostile_text_message_gets_well_formed_twiml(client: Client) -> None:
    for body in [HOSTILE, "STOP <x>&", "READY ]]>", "\x00\x1b"]:
        response = signed_post(
            client, "/twilio/sms/incoming", {"MessageSid": "SM1", "From": CUSTOMER, "To": SHOP_NUMBER, "Body": body}
        )
        assert {node.tag for node in xml_of(response).iter()} <= {"Response", "Message", "Body"}


# ---- API keys --------------------------------------------------------------------------------
def test_api_keys_are_stored_as_sha256_digests_and_a_near_miss_is_401(client: Client) -> None:
    import hashlib

    from chalicelib.adapters.dynamo.schema import ApiKeyItem
    from tests.integration.conftest import API_KEY

    stored = [record.key_hash for record in ApiKeyItem.scan()]
    assert hashlib.sha256(API_KEY.encode()).hexdigest() in stored
    assert all(len(h) == 64 and int(h, 16) >= 0 and API_KEY not in h for h in stored)
    for record in ApiKeyItem.scan():
        assert API_KEY not in str(record.attribute_values)
    order = {"phone": CUSTOMER, "total": "1"}
    assert post_order(client, order).status_code in (200, 201)
    near_misses = [API_KEY[:-1] + "2", "X" + API_KEY[1:], API_KEY.upper(), API_KEY + " x", API_KEY[:-1]]
    for key in near_misses:
        response = post_order(client, order, api_key=key)
        assert response.status_code == 401, key
        assert response.json_body["error"] == "unauthorized"
    digest = hashlib.sha256(API_KEY.encode()).hexdigest()
    assert post_order(client, order, api_key=digest).status_code == 401  # the stored digest is no key
