"""A webhook signed the way Twilio signs a JSON body (the body's SHA-256 in the URL's
``bodySHA256``, the signature over the URL alone) passes the app's signature check when the body
hashes to that value, and is refused (403, nothing written) when it does not."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client
from twilio.request_validator import RequestValidator

from chalicelib.adapters.dynamo.schema import CallItem
from tests.integration.conftest import AUTH_TOKEN, PUBLIC_BASE

pytestmark = pytest.mark.integration


def post_hashed(client: Client, path: str, body: str, *, hashed_body: str | None = None) -> Any:
    digest = RequestValidator(AUTH_TOKEN).compute_hash(hashed_body if hashed_body is not None else body)
    query = urlencode({"bodySHA256": digest})
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_BASE}{path}?{query}", {})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return client.http.post(f"{path}?{query}", headers=headers, body=body)


BODY = urlencode({"CallSid": "CAhash1", "CallStatus": "completed", "From": "+380671234567", "To": "+380441234567"})


def test_a_body_signed_by_its_hash_is_accepted(client: Client) -> None:
    response = post_hashed(client, "/twilio/voice/status", BODY)
    assert response.status_code == 204


def test_a_body_that_does_not_match_its_hash_is_403_and_writes_nothing(client: Client) -> None:
    response = post_hashed(client, "/twilio/voice/status", BODY, hashed_body=BODY.replace("completed", "busy"))
    assert response.status_code == 403
    assert list(CallItem.scan()) == []
