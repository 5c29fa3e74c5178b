"""API Gateway's Lambda authorizer for the shop routes (in AWS only; locally the app's own
check, ``chalicelib.web.http.shop_from_api_key``, is the only one): the bearer key's digest is
looked up as the app looks it up, and the answer names the key's usage identifier so the usage
plan's per-key rate, burst and daily quota apply (chalicelib.domain.api_keys)."""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.domain.api_keys import allow_shop, bearer_key


class KeyOwners(Protocol):
    def api_key_owner(self, api_key: str) -> tuple[str, str] | None: ...


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__("Unauthorized")


def authorize(event: dict[str, Any], *, keys: KeyOwners) -> dict[str, Any]:
    """A TOKEN authorizer event to its policy; raises ``Unauthorized`` (API Gateway: 401)."""
    api_key = bearer_key(event.get("authorizationToken"))
    owner = keys.api_key_owner(api_key) if api_key else None
    if owner is None:
        raise Unauthorized()
    shop_id, key_id = owner
    return allow_shop(str(event.get("methodArn", "")), shop_id=shop_id, key_id=key_id)
