"""Deployment settings, validated once from the environment; secrets fetched lazily.

Nothing here touches the network at import: ``settings()`` reads the environment on first
use, and the Twilio auth token comes from ``TWILIO_AUTH_TOKEN`` or, in the cloud, from the
SSM parameter named by ``TWILIO_AUTH_TOKEN_PARAM`` (decrypted, cached by Powertools).
"""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, Field, HttpUrl, field_validator


class Settings(BaseModel):
    table_prefix: str = Field(default="callcenter-", pattern=r"^[A-Za-z0-9_.-]{0,100}$")
    public_base_url: HttpUrl = Field(default=HttpUrl("http://127.0.0.1:8000"))
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: str | None = Field(default=None, repr=False)
    twilio_auth_token_param: str | None = None
    twilio_api_base_url: str | None = None
    # Twilio's outbound calls-per-second limit of the account (1 unless Twilio raised it).
    twilio_calls_per_second: float = Field(default=1.0, gt=0, le=100)

    @field_validator("twilio_account_sid")
    @classmethod
    def _account_sid_shape(cls, value: str) -> str:
        if not (value.startswith("AC") and len(value) == 34):
            raise ValueError("TWILIO_ACCOUNT_SID must be 'AC' followed by 32 characters")
        return value

    @property
    def base_url(self) -> str:
        return str(self.public_base_url).rstrip("/")

    def webhook_url(self, path: str) -> str:
        return self.base_url + path

    def auth_token(self) -> str:
        if self.twilio_auth_token:
            return self.twilio_auth_token
        if self.twilio_auth_token_param:
            from aws_lambda_powertools.utilities.parameters import get_parameter

            return str(get_parameter(self.twilio_auth_token_param, decrypt=True, max_age=300))
        raise RuntimeError("Set TWILIO_AUTH_TOKEN or TWILIO_AUTH_TOKEN_PARAM")


_ENV_NAMES = {
    "table_prefix": "TABLE_PREFIX",
    "public_base_url": "PUBLIC_BASE_URL",
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_auth_token_param": "TWILIO_AUTH_TOKEN_PARAM",
    "twilio_api_base_url": "TWILIO_API_BASE_URL",
    "twilio_calls_per_second": "TWILIO_CALLS_PER_SECOND",
}


@functools.cache
def settings() -> Settings:
    values = {field: os.environ[env] for field, env in _ENV_NAMES.items() if os.environ.get(env)}
    return Settings.model_validate(values)


def reload_settings() -> Settings:
    """Forget the cached settings (tests and the local stack change the environment)."""
    settings.cache_clear()
    return settings()
