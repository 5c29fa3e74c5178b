"""The softphone's token rules (issue 17) with fakes: who gets a token, for which identity and
how long (from the clock passed in), and the refusals' words; and the adapter that signs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.voice_tokens import TwilioVoiceTokens
from chalicelib.domain.routing import Agent
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.softphone import VOICE_TOKEN_TTL, SoftphoneRefused, voice_token
from tests.voice_tokens import decode_at

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
SHOP = ShopSettings.model_validate(
    {"shop_id": "demo", "name": "Kvitka", "caller_id": "+380441234567", "inbound": {"wrap_up_seconds": 30}}
)
SECRET = "unit-test-api-key-secret-32-chars!"


class Agents:
    def __init__(self, *agents: Agent) -> None:
        self.agents = {agent.agent_id: agent for agent in agents}

    def get_agent(self, shop_id: str, agent_id: str) -> Agent | None:
        return self.agents.get(agent_id)


class Tokens:
    def __init__(self) -> None:
        self.signed: list[tuple[str, datetime, int]] = []

    def voice_token(self, identity: str, *, now: datetime, ttl_seconds: int) -> str:
        self.signed.append((identity, now, ttl_seconds))
        return f"token-for-{identity}"


def oleh(status: str, since: datetime = NOW) -> Agent:
    return Agent("demo", "oleh", "Oleh", client_identity="oleh-browser", status=status, status_since=since)


@pytest.mark.parametrize("status", ["available", "busy", "wrap-up"])
def test_an_agent_who_can_take_calls_gets_a_token_for_their_client_identity(status: str) -> None:
    tokens = Tokens()
    token = voice_token(SHOP, "oleh", agents=Agents(oleh(status)), tokens=tokens, now=NOW)
    assert tokens.signed == [("oleh-browser", NOW, 600)]
    assert token.public_view() == {
        "token": "token-for-oleh-browser",
        "identity": "oleh-browser",
        "expires_at": (NOW + timedelta(minutes=10)).isoformat(),
        "ttl_seconds": 600,
    }


def test_a_wrap_up_that_ran_its_time_counts_as_available() -> None:
    agent = oleh("wrap-up", since=NOW - timedelta(hours=1))
    assert voice_token(SHOP, "oleh", agents=Agents(agent), tokens=Tokens(), now=NOW).identity == "oleh-browser"


@pytest.mark.parametrize("status", ["break", "away", "offline"])
def test_an_agent_on_break_away_or_offline_is_told_to_go_available_first(status: str) -> None:
    tokens = Tokens()
    with pytest.raises(SoftphoneRefused) as refused:
        voice_token(SHOP, "oleh", agents=Agents(oleh(status)), tokens=tokens, now=NOW)
    assert (refused.value.status, refused.value.error) == (409, "not_available")
    assert str(refused.value) == f"go available first: an agent who is {status} takes no calls"
    assert tokens.signed == []


def test_a_phone_agent_is_told_so_whatever_their_status() -> None:
    anna = Agent("demo", "anna", "Anna", phone="+380501112233", status="offline")
    with pytest.raises(SoftphoneRefused) as refused:
        voice_token(SHOP, "anna", agents=Agents(anna), tokens=Tokens(), now=NOW)
    assert (refused.value.status, refused.value.error) == (409, "phone_agent")


def test_an_agent_removed_since_the_login_and_a_deployment_without_a_key_are_refused() -> None:
    with pytest.raises(SoftphoneRefused) as gone:
        voice_token(SHOP, "oleh", agents=Agents(), tokens=Tokens(), now=NOW)
    assert gone.value.status == 401
    with pytest.raises(SoftphoneRefused) as unconfigured:
        voice_token(SHOP, "oleh", agents=Agents(oleh("available")), tokens=None, now=NOW)
    assert (unconfigured.value.status, unconfigured.value.error) == (503, "softphone_not_configured")


def test_the_adapter_signs_twilios_token_from_the_given_clock_and_reads_the_secret_only_then() -> None:
    reads: list[str] = []

    def secret() -> str:
        reads.append("read")
        return SECRET

    signer = TwilioVoiceTokens("AC" + "0" * 32, "SK" + "1" * 32, secret, twiml_app_sid=None)
    assert reads == []
    jwt = signer.voice_token("oleh", now=NOW, ttl_seconds=int(VOICE_TOKEN_TTL.total_seconds()))
    assert reads == ["read"]
    payload = decode_at(jwt, SECRET, NOW)
    # no TwiML App: incoming calls only
    assert payload["grants"] == {"identity": "oleh", "voice": {"incoming": {"allow": True}}}
    assert (payload["nbf"], payload["exp"]) == (int(NOW.timestamp()), int(NOW.timestamp()) + 600)
