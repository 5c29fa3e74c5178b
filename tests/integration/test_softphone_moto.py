"""The agent's softphone token and scripts through the HTTP API on moto (issue 17): the token is
twilio's AccessToken with a VoiceGrant for the agent's client identity, valid ten minutes from
the app's clock; refused to a logged-out, unavailable or phone agent; the secret may come from
SSM. The page's scripts are served from the app, cached for a year under their digest."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client
from twilio.jwt import JwtDecodeError

from chalicelib.clock import FixedClock
from chalicelib.config import reload_settings
from chalicelib.wiring import repository
from tests.integration.conftest import NOW
from tests.voice_tokens import decode_at, headers_of

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
OLEH = "demo-agent-oleh-0001"  # config/demo.toml: client identity "oleh"
ANNA = "demo-agent-anna-0001"  # a phone agent
KEY_SID = "SK" + "1234abcd" * 4
KEY_SECRET = "integration-api-key-secret-32-chars"
APP_SID = "AP" + "abcd1234" * 4
ACCOUNT_SID = "AC00000000000000000000000000000000"


@pytest.fixture
def softphone_env(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TWILIO_API_KEY_SID", KEY_SID)
    monkeypatch.setenv("TWILIO_API_KEY_SECRET", KEY_SECRET)
    monkeypatch.setenv("TWILIO_TWIML_APP_SID", APP_SID)
    reload_settings()
    yield
    reload_settings()


def get(client: Client, path: str, secret: str | None) -> Any:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return client.http.get(path, headers=headers)


def set_status(agent_id: str, status: str) -> None:
    assert repository().set_agent_status("demo", agent_id, status, NOW, source="test", timezone="Europe/Kyiv")


def test_an_available_agent_gets_a_voice_token_for_their_client_identity_for_ten_minutes(
    softphone_env: None, client: Client, clock: FixedClock
) -> None:
    # GIVEN Oleh, a browser agent, available
    set_status("oleh", "available")
    # WHEN his page asks for the softphone's token
    response = get(client, "/v1/agent/voice-token", OLEH)
    # THEN it is twilio's access token for "oleh", signed with the API key, valid 10 minutes from the app's clock
    assert response.status_code == 200, response.body
    assert response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.body)
    assert body["identity"] == "oleh" and body["ttl_seconds"] == 600
    assert body["expires_at"] == (NOW + timedelta(minutes=10)).isoformat()
    payload = decode_at(body["token"], KEY_SECRET, NOW)
    assert payload["grants"] == {
        "identity": "oleh",
        "voice": {"incoming": {"allow": True}, "outgoing": {"application_sid": APP_SID}},
    }
    assert (payload["iss"], payload["sub"]) == (KEY_SID, ACCOUNT_SID)
    assert payload["nbf"] == int(NOW.timestamp())
    assert payload["exp"] == int((NOW + timedelta(minutes=10)).timestamp())
    assert payload["jti"] == f"{KEY_SID}-{int(NOW.timestamp())}"
    assert headers_of(body["token"])["cty"] == "twilio-fpa;v=1"
    # AND twilio's decoder takes it until it runs out, not after, nor with another secret
    decode_at(body["token"], KEY_SECRET, NOW + timedelta(minutes=9, seconds=59))
    with pytest.raises(JwtDecodeError):
        decode_at(body["token"], KEY_SECRET, NOW + timedelta(minutes=10, seconds=1))
    with pytest.raises(JwtDecodeError):
        decode_at(body["token"], "another-secret-of-thirty-two-chars", NOW)


def test_the_token_follows_the_apps_clock_and_is_renewed_on_or_after_a_call(
    softphone_env: None, client: Client, clock: FixedClock
) -> None:
    # GIVEN Oleh on a call (busy), an hour later on the app's clock
    set_status("oleh", "busy")
    clock.advance(hours=1)
    later = NOW + timedelta(hours=1)
    # WHEN his page renews the token during the call, and again in wrap-up
    during = get(client, "/v1/agent/voice-token", OLEH)
    set_status("oleh", "wrap-up")
    after = get(client, "/v1/agent/voice-token", OLEH)
    # THEN both are given (the call on the line must not drop), each from the clock's time
    for response in (during, after):
        assert response.status_code == 200, response.body
        payload = decode_at(json.loads(response.body)["token"], KEY_SECRET, later)
        assert payload["nbf"] == int(later.timestamp())
        assert payload["exp"] - payload["nbf"] == 600


@pytest.mark.parametrize("status", ["offline", "away", "break"])
def test_an_agent_who_cannot_take_calls_is_told_to_go_available_first(
    softphone_env: None, client: Client, status: str
) -> None:
    set_status("oleh", status)
    response = get(client, "/v1/agent/voice-token", OLEH)
    assert response.status_code == 409
    body = json.loads(response.body)
    assert body["error"] == "not_available"
    assert body["message"] == f"go available first: an agent who is {status} takes no calls"
    assert "token" not in body


def test_a_phone_agent_gets_no_browser_token(softphone_env: None, client: Client) -> None:
    set_status("anna", "available")
    response = get(client, "/v1/agent/voice-token", ANNA)
    assert response.status_code == 409
    assert json.loads(response.body) == {
        "error": "phone_agent",
        "message": "this agent takes calls on a phone, not in the browser (no client identity)",
    }


@pytest.mark.parametrize("secret", [None, "not-a-token", "demo-shop-key-0001"])
def test_a_logged_out_page_or_the_shops_key_gets_no_token(softphone_env: None, client: Client, secret: str) -> None:
    set_status("oleh", "available")
    response = get(client, "/v1/agent/voice-token", secret)
    assert response.status_code == 401
    body = json.loads(response.body)
    assert body["error"] == "unauthorized" and body["message"] and "token" not in body


def test_a_deployment_without_an_api_key_says_so(aws: None, client: Client) -> None:
    set_status("oleh", "available")
    response = get(client, "/v1/agent/voice-token", OLEH)
    assert response.status_code == 503
    assert json.loads(response.body)["error"] == "softphone_not_configured"


def test_the_api_key_secret_comes_from_ssm_in_the_cloud(
    aws: None, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the secret only in SSM, as infra/ deploys it (the name in the environment)
    boto3.client("ssm").put_parameter(
        Name="/callcenter/twilio-api-key-secret", Value="secret-from-ssm-of-thirty-two-chars", Type="SecureString"
    )
    monkeypatch.setenv("TWILIO_API_KEY_SID", KEY_SID)
    monkeypatch.setenv("TWILIO_API_KEY_SECRET_PARAM", "/callcenter/twilio-api-key-secret")
    reload_settings()
    set_status("oleh", "available")
    # WHEN the page asks for a token
    response = get(client, "/v1/agent/voice-token", OLEH)
    # THEN it is signed with SSM's secret, and the settings never show it
    assert response.status_code == 200, response.body
    decode_at(json.loads(response.body)["token"], "secret-from-ssm-of-thirty-two-chars", NOW)
    assert "secret-from-ssm-of-thirty-two-chars" not in repr(reload_settings())
    with pytest.raises(JwtDecodeError):
        decode_at(json.loads(response.body)["token"], KEY_SECRET, NOW)


def test_the_page_loads_twilios_sdk_and_its_phone_from_the_app_cached_for_a_year(client: Client) -> None:
    # GIVEN the agent page
    page = client.http.get("/agent")
    html = page.body.decode()
    policy = dict(part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";"))
    # THEN its scripts come from the app itself, no CDN and no inline script but its own
    sources = re.findall(r'<script src="([^"]+)"></script>', html)
    assert [src.rsplit("/", 1)[-1] for src in sources] == ["twilio.min.js", "softphone.js"]
    assert all(src.startswith("agent/") for src in sources)  # relative: the stage prefix stays in front
    assert policy["script-src"].endswith(" 'self'") and "'unsafe-inline'" not in policy["script-src"]
    assert "https:" not in policy["script-src"].split() and "twilio.com" not in policy["script-src"]
    # WHEN the browser fetches them
    sdk, phone = (client.http.get("/" + src) for src in sources)
    # THEN the SDK is npm's locked file, unchanged; both are JavaScript, cached for a year
    expected = (ROOT / "node_modules/@twilio/voice-sdk/dist/twilio.min.js").read_bytes()
    assert sdk.status_code == 200 and sdk.body == expected
    assert phone.status_code == 200 and b"createSoftphone" in phone.body
    for response in (sdk, phone):
        assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    # AND another digest (an older page's) is not served under the year-long cache
    stale = client.http.get("/agent/voice-sdk/0000000000000000/twilio.min.js")
    assert stale.status_code == 404 and json.loads(stale.body)["error"] == "not_found"
