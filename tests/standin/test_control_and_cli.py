"""The control API (a stand-in in another process), the terminal command, transcripts, real speed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import requests
from twilio.rest import Client

from devtools import call as call_command
from devtools.twilio_standin import (
    APPLICATION_ERROR_SENTENCE,
    CallerScript,
    Press,
    Speak,
    Transcript,
    TwilioStandIn,
)
from tests.standin.conftest import ACCOUNT_SID, AUTH_TOKEN, CUSTOMER, SHOP_NUMBER, WebhookApp, twiml

MENU = twiml('<Gather numDigits="1" action="/menu"><Say>Press 1 for your order</Say></Gather>')


def test_inbound_call_through_the_control_api(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", MENU)
    shop.route("/menu", twiml("<Say>Order 42 is on its way</Say>"))

    response = requests.post(
        f"{standin.base_url}/_standin/inbound-calls",
        json={"from": CUSTOMER, "to": SHOP_NUMBER, "steps": [{"press": "1"}], "hangup_after_seconds": None},
        timeout=10,
    )

    assert response.status_code == 200
    transcript = Transcript.from_dict(response.json())
    assert transcript.heard() == ["Press 1 for your order", "Order 42 is on its way"]
    listed = requests.get(f"{standin.base_url}/_standin/calls", timeout=5).json()["calls"]
    assert [c["sid"] for c in listed] == [transcript.call_sid]
    assert listed[0]["transcript"]["events"] == response.json()["events"]


def test_callee_set_through_the_control_api_answers_busy(
    standin: TwilioStandIn, shop: WebhookApp, client: Client
) -> None:
    shop.route("/robot", twiml("<Say>never</Say>"))
    set_callee = requests.post(
        f"{standin.base_url}/_standin/callees", json={"number": CUSTOMER, "answer": "busy"}, timeout=5
    )

    call = client.calls.create(to=CUSTOMER, from_=SHOP_NUMBER, url=shop.url("/robot"))
    assert standin.wait_idle(timeout=10)

    assert set_callee.status_code == 200
    assert standin.call(call.sid).status == "busy"


def test_inbound_sms_through_the_control_api(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/sms", twiml("<Message>Thanks!</Message>"))

    response = requests.post(
        f"{standin.base_url}/_standin/inbound-sms", json={"from": CUSTOMER, "to": SHOP_NUMBER, "body": "YES"}, timeout=5
    )

    assert [reply["body"] for reply in response.json()["replies"]] == ["Thanks!"]
    messages = requests.get(f"{standin.base_url}/_standin/messages", timeout=5).json()["messages"]
    assert {m["direction"] for m in messages} == {"inbound", "outbound-reply"}


def test_control_api_refuses_unknown_numbers_and_bad_steps(standin: TwilioStandIn) -> None:
    url = f"{standin.base_url}/_standin/inbound-calls"

    unknown = requests.post(url, json={"from": CUSTOMER, "to": "+380440000000"}, timeout=5)
    bad_step = requests.post(url, json={"from": CUSTOMER, "to": SHOP_NUMBER, "steps": [{"dance": 1}]}, timeout=5)

    assert unknown.status_code == 404
    assert "+380440000000" in unknown.json()["error"]
    assert bad_step.status_code == 400


def test_call_command_prints_what_the_caller_heard(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", MENU)
    shop.route("/menu", twiml("<Say>Order 42 is on its way</Say>"))
    out, err = io.StringIO(), io.StringIO()

    status = call_command.main(
        ["--from", CUSTOMER, "--to", SHOP_NUMBER, "--digits", "1", "--control-url", standin.base_url], out, err
    )

    assert status == 0, err.getvalue()
    printed = out.getvalue()
    assert 'hears "Press 1 for your order"' in printed
    assert "presses 1" in printed
    assert 'hears "Order 42 is on its way"' in printed
    assert printed.index("Press 1") < printed.index("Order 42")
    assert "completed" in printed


def test_call_command_reports_an_application_error(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", "broken", status=500, content_type="text/plain")
    out, err = io.StringIO(), io.StringIO()

    status = call_command.main(["--from", CUSTOMER, "--to", SHOP_NUMBER, "--control-url", standin.base_url], out, err)

    assert status == 1
    assert APPLICATION_ERROR_SENTENCE in out.getvalue()
    assert "HTTP 500" in err.getvalue()


def test_call_command_without_a_stand_in() -> None:
    out, err = io.StringIO(), io.StringIO()

    status = call_command.main(
        ["--from", CUSTOMER, "--to", SHOP_NUMBER, "--control-url", "http://127.0.0.1:9"], out, err
    )

    assert status == 3
    assert "No Twilio stand-in answers at http://127.0.0.1:9" in err.getvalue()


def test_control_url_comes_from_the_stack_file(tmp_path: Path) -> None:
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(json.dumps({"standin_url": "http://127.0.0.1:4567/"}))

    assert call_command.resolve_control_url(None, stack_file) == "http://127.0.0.1:4567"
    assert call_command.resolve_control_url("http://other:1", stack_file) == "http://other:1"
    with pytest.raises(call_command.NoStandInError, match="make run"):
        call_command.resolve_control_url(None, tmp_path / "missing.json")


def test_steps_from_the_command_line() -> None:
    assert call_command.build_steps("1,23#", ["yes please"], []) == [Press("1"), Press("23#"), Speak("yes please")]
    assert call_command.build_steps(None, [], ["press:0", "speak:agent"]) == [Press("0"), Speak("agent")]
    with pytest.raises(ValueError, match="DTMF"):
        call_command.build_steps("1,x", [], [])


def test_run_call_returns_the_transcript(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", twiml('<Pause length="100"/>'))

    transcript = call_command.run_call(standin.base_url, CUSTOMER, SHOP_NUMBER, [], hangup_after=30)

    assert transcript.duration == 30
    assert transcript.status == "completed"


def test_transcript_survives_json(standin: TwilioStandIn, shop: WebhookApp) -> None:
    shop.route("/voice", MENU)
    shop.route("/menu", twiml("<Say>Done</Say>"))
    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript([Press("1")]))

    copy = Transcript.from_dict(json.loads(json.dumps(transcript.to_dict())))

    assert copy.to_dict() == transcript.to_dict()
    assert copy.heard() == transcript.heard()
    pretty = copy.pretty()
    assert pretty.splitlines()[0].startswith(f"Call {transcript.call_sid} inbound {CUSTOMER} -> {SHOP_NUMBER}")
    assert 'hears "Done"' in pretty


def test_real_speed_sleeps_but_reports_virtual_durations(app: WebhookApp) -> None:
    app.route("/voice", twiml('<Pause length="100"/>'))
    with TwilioStandIn(ACCOUNT_SID, AUTH_TOKEN, speed=2000.0) as fast:
        fast.register_number(SHOP_NUMBER, voice_url=app.url("/voice"))

        transcript = fast.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    assert transcript.duration == 100
