"""Access tokens for the agents' browser softphone (issue 17): twilio's ``AccessToken`` with a
``VoiceGrant``, signed with an API key (SID and secret) of the account. Issued and expiring by the
clock the caller passes, never the machine's own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant


class _IssuedAt(AccessToken):
    """twilio's token with its ``jti`` stamped at the given issue time, not ``time.time()``."""

    def __init__(self, *args: Any, issued_at: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._issued_at = issued_at

    def _generate_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = super()._generate_payload()
        payload["jti"] = f"{self.signing_key_sid}-{self._issued_at}"
        return payload


class TwilioVoiceTokens:
    """``VoiceTokens`` for one account: incoming calls allowed, outgoing through ``twiml_app_sid``
    (when the deployment has one). The secret is read only when a token is signed."""

    def __init__(
        self, account_sid: str, api_key_sid: str, api_key_secret: Callable[[], str], twiml_app_sid: str | None
    ) -> None:
        self.account_sid = account_sid
        self.api_key_sid = api_key_sid
        self._secret = api_key_secret
        self.twiml_app_sid = twiml_app_sid

    def voice_token(self, identity: str, *, now: datetime, ttl_seconds: int) -> str:
        issued = int(now.timestamp())
        token = _IssuedAt(
            self.account_sid,
            self.api_key_sid,
            self._secret(),
            identity=identity,
            nbf=issued,
            ttl=ttl_seconds,
            valid_until=issued + ttl_seconds,
            issued_at=issued,
        )
        token.add_grant(VoiceGrant(incoming_allow=True, outgoing_application_sid=self.twiml_app_sid))
        return str(token.to_jwt())
