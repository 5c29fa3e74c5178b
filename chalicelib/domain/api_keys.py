"""Shop API keys and API Gateway's per-key limits (issue #9): what the authorizer answers and
which API Gateway API key meters a shop key. Pure: no AWS here.

A shop sends one header, ``Authorization: Bearer <key>``. In AWS a Lambda authorizer checks it
(the key's SHA-256 digest, as the app does) and names the key's *usage identifier*: the value of
the API Gateway API key that the usage plan throttles and counts. With the API's key source set
to ``AUTHORIZER`` API Gateway takes that value only from the authorizer, never from a client's
``x-api-key`` header, so it is a meter, not a credential: the shop's secret stays a digest.
"""

from __future__ import annotations

import re
from typing import Any

USAGE_KEY_PREFIX = "callcenter-usage-"


def bearer_key(header: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header (scheme in any case); None otherwise."""
    scheme, _, key = (header or "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return None
    return key


def usage_identifier(key_id: str) -> str:
    """The API Gateway API key value metering the shop key ``key_id`` (20 to 128 characters)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", key_id):
        raise ValueError(f"key id {key_id!r}: letters, digits, '_' and '-' only")
    return f"{USAGE_KEY_PREFIX}{key_id}"


def usage_key_name(shop_id: str, key_id: str) -> str:
    """The API Gateway API key's name: the shop and key id an operator sees in the console."""
    return f"callcenter/{shop_id}/{key_id}"


def allow_shop(method_arn: str, *, shop_id: str, key_id: str) -> dict[str, Any]:
    """A TOKEN authorizer's answer for a known key. API Gateway caches it per key for the whole
    API, so it allows every method of the stage (the app still decides what the shop may do)."""
    api_arn, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0]
    if not api_arn.startswith("arn:") or not stage:
        raise ValueError(f"not an API Gateway method ARN: {method_arn!r}")
    return {
        "principalId": shop_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{api_arn}/{stage}/*"}],
        },
        "usageIdentifierKey": usage_identifier(key_id),
        "context": {"shop_id": shop_id, "key_id": key_id},
    }
