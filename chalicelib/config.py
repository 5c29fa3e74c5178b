"""Deployment settings, validated once from the environment; secrets fetched lazily.

Nothing here touches the network at import: ``settings()`` reads the environment on first
use, and each secret comes from its variable or, in the cloud, from the SSM parameter named
by its ``..._PARAM`` variable (decrypted, cached by Powertools): the Twilio auth token
(``TWILIO_AUTH_TOKEN``), the key that signs recording links (``RECORDING_LINK_SECRET``) and the
secret of the API key that signs the agents' softphone tokens (``TWILIO_API_KEY_SECRET``).
Secrets are never part of the settings' repr, so logging the settings shows none. The local
stack (``devtools.stack``) sets local-only values; nothing here falls back to a default.
"""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, Field, HttpUrl, field_validator

MIN_LINK_SECRET_LENGTH = 32


class Settings(BaseModel):
    table_prefix: str = Field(default="callcenter-", pattern=r"^[A-Za-z0-9_.-]{0,100}$")
    public_base_url: HttpUrl = Field(default=HttpUrl("http://127.0.0.1:8000"))
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: str | None = Field(default=None, repr=False)
    twilio_auth_token_param: str | None = None
    twilio_api_base_url: str | None = None
    # The local stack (devtools) sets CALLCENTER_LOCAL=1: a CRM may then be http on loopback.
    local_mode: bool = False
    crm_secret_param_prefix: str = Field(default="/callcenter/crm/", pattern=r"^/?[A-Za-z0-9_.\-/]{0,500}$")
    recording_link_secret: str | None = Field(default=None, repr=False)
    recording_link_secret_param: str | None = None
    recording_link_days: int = Field(default=7, ge=1, le=90)  # how long a report's recording link works
    # Twilio's outbound calls-per-second limit of the account (1 unless Twilio raised it).
    twilio_calls_per_second: float = Field(default=1.0, gt=0, le=100)
    # The agents' browser softphone (issue 17): a Twilio API key (its SID, and its secret from the
    # environment or SSM) signs their access tokens; the TwiML App takes their outgoing calls.
    twilio_api_key_sid: str | None = Field(default=None, pattern=r"^SK[0-9a-fA-F]{32}$")
    twilio_api_key_secret: str | None = Field(default=None, repr=False)
    twilio_api_key_secret_param: str | None = None
    twilio_twiml_app_sid: str | None = Field(default=None, pattern=r"^AP[0-9a-fA-F]{32}$")

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
        return _secret(self.twilio_auth_token, self.twilio_auth_token_param, "TWILIO_AUTH_TOKEN")

    def api_key_secret(self) -> str:
        """The secret of the API key that signs the softphone's access tokens."""
        return _secret(self.twilio_api_key_secret, self.twilio_api_key_secret_param, "TWILIO_API_KEY_SECRET")

    def recording_link_key(self) -> bytes:
        """The HMAC key of recording links (I9): at least 32 characters, or links are refused."""
        key = _secret(self.recording_link_secret, self.recording_link_secret_param, "RECORDING_LINK_SECRET")
        if len(key) < MIN_LINK_SECRET_LENGTH:
            raise RuntimeError(f"RECORDING_LINK_SECRET must be at least {MIN_LINK_SECRET_LENGTH} characters")
        return key.encode()

    def crm_secret(self, name: str) -> bytes:
        """A shop's CRM signing secret: ``CRM_SECRET_<NAME>`` (local, tests) or the SSM
        SecureString ``<crm_secret_param_prefix><name>`` (cached 5 min). Never logged."""
        from_env = os.environ.get("CRM_SECRET_" + name.upper().replace("-", "_"))
        if from_env:
            return from_env.encode()
        from aws_lambda_powertools.utilities.parameters import (
            get_parameter,  # cold start: SSM only when a secret is read
        )

        return str(get_parameter(self.crm_secret_param_prefix + name, decrypt=True, max_age=300)).encode()


def _secret(value: str | None, param: str | None, env_name: str) -> str:
    if value:
        return value
    if param:
        from aws_lambda_powertools.utilities.parameters import (
            get_parameter,  # cold start: SSM only when a secret is read
        )

        return str(get_parameter(param, decrypt=True, max_age=300))
    raise RuntimeError(f"Set {env_name} or {env_name}_PARAM")


_ENV_NAMES = {
    "table_prefix": "TABLE_PREFIX",
    "public_base_url": "PUBLIC_BASE_URL",
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN",
    "twilio_auth_token_param": "TWILIO_AUTH_TOKEN_PARAM",
    "twilio_api_base_url": "TWILIO_API_BASE_URL",
    "local_mode": "CALLCENTER_LOCAL",
    "crm_secret_param_prefix": "CRM_SECRET_PARAM_PREFIX",
    "recording_link_secret": "RECORDING_LINK_SECRET",
    "recording_link_secret_param": "RECORDING_LINK_SECRET_PARAM",
    "recording_link_days": "RECORDING_LINK_DAYS",
    "twilio_calls_per_second": "TWILIO_CALLS_PER_SECOND",
    "twilio_api_key_sid": "TWILIO_API_KEY_SID",
    "twilio_api_key_secret": "TWILIO_API_KEY_SECRET",
    "twilio_api_key_secret_param": "TWILIO_API_KEY_SECRET_PARAM",
    "twilio_twiml_app_sid": "TWILIO_TWIML_APP_SID",
}


@functools.cache
def settings() -> Settings:
    values = {field: os.environ[env] for field, env in _ENV_NAMES.items() if os.environ.get(env)}
    return Settings.model_validate(values)


def reload_settings() -> Settings:
    """Forget the cached settings (tests and the local stack change the environment)."""
    settings.cache_clear()
    return settings()
