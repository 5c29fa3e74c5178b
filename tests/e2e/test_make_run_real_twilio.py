"""``make run`` with a real Twilio account and a tunnel (issue 16, item 13): the stack starts no
stand-in and keeps the developer's account, token and public URL, so a request Twilio signs for
the tunnel's URL is answered; nothing leaves this machine (the request is sent on loopback, as
the tunnel would deliver it)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from twilio.request_validator import RequestValidator

from chalicelib.config import settings
from devtools.simclock import SimClock
from devtools.stack import LocalStack, StackOptions
from devtools.twilio_mode import RealTwilio
from tests.e2e.conftest import MONDAY_NOON_KYIV

SID = "AC" + "ab12" * 8
TOKEN = "real-token-of-the-developer"
TUNNEL = "https://quiet-river-42.trycloudflare.com"


def test_a_real_account_and_a_tunnel_start_no_stand_in_and_answer_twilios_signed_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_API_BASE_URL", "http://127.0.0.1:9")  # left over from an earlier local run
    options = StackOptions(
        clock=SimClock(MONDAY_NOON_KYIV, speed=1.0),
        outbox_dir=tmp_path,
        run_schedules=False,
        real_twilio=RealTwilio(SID, TOKEN, TUNNEL),
    )
    with LocalStack(options) as stack:
        assert stack.standin.port == 0 and stack.standin.engine.numbers == {}  # never started
        assert "TWILIO_API_BASE_URL" not in os.environ  # the SDK talks to api.twilio.com
        config = settings()
        assert (config.twilio_account_sid, config.auth_token(), config.base_url) == (SID, TOKEN, TUNNEL)
        # a call to the shop's number, as Twilio signs it for the tunnel and the tunnel delivers it
        params = {"CallSid": "CA" + "1" * 32, "From": "+380671112233", "To": "+380441234567", "CallStatus": "ringing"}
        params |= {"AccountSid": SID, "Direction": "inbound"}
        signature = RequestValidator(TOKEN).compute_signature(f"{TUNNEL}/twilio/voice/incoming", params)
        headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
        answer = requests.post(
            f"{stack.api_url}/twilio/voice/incoming", data=urlencode(params), headers=headers, timeout=15
        )
        assert answer.status_code == 200, answer.text
        assert "Kvitka Flowers" in answer.text and f"{TUNNEL}/twilio/voice/inbound/" in answer.text
        # signed for the stand-in's loopback URL instead: refused
        forged = RequestValidator(TOKEN).compute_signature(f"{stack.api_url}/twilio/voice/incoming", params)
        refused = requests.post(
            f"{stack.api_url}/twilio/voice/incoming",
            data=urlencode(params),
            headers=headers | {"X-Twilio-Signature": forged},
            timeout=15,
        )
        assert refused.status_code == 403
    assert os.environ["TWILIO_API_BASE_URL"] == "http://127.0.0.1:9"  # the shell's environment is back
