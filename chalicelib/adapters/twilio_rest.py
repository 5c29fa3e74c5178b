"""Twilio REST client, created lazily with the real SDK.

Locally ``TWILIO_API_BASE_URL`` points the SDK at the Twilio stand-in: the HTTP client
rewrites ``https://<domain>.twilio.com`` to that base and keeps the path, so the SDK's own
request building, auth and parsing stay unchanged.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # twilio.rest is heavy: imported only when a REST call is made
    from twilio.rest import Client

_TWILIO_HOST = re.compile(r"^https://[a-z0-9.-]*twilio\.com")


def make_http_client(api_base_url: str | None, timeout: float = 10.0) -> Any:
    from twilio.http.http_client import TwilioHttpClient

    class _RebasedHttpClient(TwilioHttpClient):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if api_base_url:
                url = _TWILIO_HOST.sub(api_base_url.rstrip("/"), url)
            return super().request(method, url, *args, **kwargs)

    return _RebasedHttpClient(timeout=timeout)


@functools.cache
def twilio_client(account_sid: str, auth_token: str, api_base_url: str | None) -> Client:
    from twilio.rest import Client

    return Client(account_sid, auth_token, http_client=make_http_client(api_base_url))


class TwilioTelephony:
    """The ``Telephony`` port over Twilio's Calls API."""

    def __init__(self, account_sid: str, auth_token: str, api_base_url: str | None) -> None:
        self._credentials = (account_sid, auth_token, api_base_url)

    def place_call(
        self,
        *,
        to: str,
        from_: str,
        answer_url: str,
        status_url: str,
        ring_timeout_seconds: int,
        detect_machine: bool,
    ) -> str:
        call = twilio_client(*self._credentials).calls.create(
            to=to,
            from_=from_,
            url=answer_url,
            method="POST",
            status_callback=status_url,
            status_callback_method="POST",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            timeout=ring_timeout_seconds,
            machine_detection="Enable" if detect_machine else None,
        )
        return str(call.sid)
