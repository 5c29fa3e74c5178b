"""Reading a softphone access token back with twilio's own decoder (signature, not-before and
expiry all checked) as if it ran at a given instant: the tests' clocks sit years from the real
date, so "now" for the decoder is the injected clock's, never the machine's."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any
from unittest import mock

import jwt.api_jwt
from twilio.jwt.access_token import AccessToken


def decode_at(token: str, secret: str, at: datetime) -> dict[str, Any]:
    """The token's payload, decoded and verified by twilio's ``AccessToken.from_jwt`` at ``at``
    (raises twilio's ``JwtDecodeError`` when it is not yet or no longer valid then)."""

    class _At(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return at.astimezone(tz)

    with mock.patch.object(jwt.api_jwt, "datetime", _At):
        decoded = AccessToken.from_jwt(token, secret)
    return dict(decoded.payload)


def headers_of(token: str) -> dict[str, Any]:
    return dict(jwt.get_unverified_header(token))
