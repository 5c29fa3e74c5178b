"""The agent's browser softphone (issue 17): an access token for Twilio's Voice JavaScript SDK,
for the logged-in agent only while they can take calls.

The token names the agent's ``client_identity`` (the app dials them as ``client:<identity>``)
and lasts ``VOICE_TOKEN_TTL`` from ``now``; the page asks for a new one before it runs out
(the SDK's ``tokenWillExpire``). Refused, with the words the page shows:

- an agent without a client identity takes calls on a phone (409 ``phone_agent``);
- an agent on break, away or offline takes no calls: go available first (409 ``not_available``);
  one who is busy or in wrap-up keeps theirs (the call on the line must not drop);
- a deployment without an API key for tokens (503 ``softphone_not_configured``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.shop import ShopSettings
from chalicelib.services.ports import AgentLookup, VoiceTokens

VOICE_TOKEN_TTL = timedelta(minutes=10)
# Statuses in which the browser keeps ringing: available, and on or just after a call.
RINGABLE = frozenset({"available", "busy", "wrap-up"})


class SoftphoneRefused(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


@dataclass(frozen=True)
class VoiceToken:
    token: str
    identity: str
    expires_at: datetime

    def public_view(self) -> dict[str, object]:
        return {
            "token": self.token,
            "identity": self.identity,
            "expires_at": self.expires_at.isoformat(),
            "ttl_seconds": int(VOICE_TOKEN_TTL.total_seconds()),
        }


def voice_token(
    shop: ShopSettings, agent_id: str, *, agents: AgentLookup, tokens: VoiceTokens | None, now: datetime
) -> VoiceToken:
    """The agent's softphone token at ``now``, or ``SoftphoneRefused`` saying why not."""
    agent = agents.get_agent(shop.shop_id, agent_id)
    if agent is None:
        raise SoftphoneRefused(401, "unauthorized", "the token's agent no longer exists")
    if not agent.client_identity:
        raise SoftphoneRefused(
            409, "phone_agent", "this agent takes calls on a phone, not in the browser (no client identity)"
        )
    status = agent.settled(now, shop.inbound.wrap_up_seconds).status
    if status not in RINGABLE:
        raise SoftphoneRefused(409, "not_available", f"go available first: an agent who is {status} takes no calls")
    if tokens is None:
        raise SoftphoneRefused(
            503, "softphone_not_configured", "this deployment has no Twilio API key for browser calls"
        )
    ttl = int(VOICE_TOKEN_TTL.total_seconds())
    token = tokens.voice_token(agent.client_identity, now=now, ttl_seconds=ttl)
    return VoiceToken(token=token, identity=agent.client_identity, expires_at=now + VOICE_TOKEN_TTL)
