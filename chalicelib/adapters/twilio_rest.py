"""Twilio REST client, created lazily with the real SDK.

Locally ``TWILIO_API_BASE_URL`` points the SDK at the Twilio stand-in: the HTTP client
rewrites ``https://<domain>.twilio.com`` to that base and keeps the path, so the SDK's own
request building, auth and parsing stay unchanged.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.services.ports import (
    CallNotPlacedError,
    CallOutcomeUnknownError,
    CallState,
    MessageNotSentError,
    MessageOutcomeUnknownError,
    OutboundCall,
)

if TYPE_CHECKING:  # twilio.rest is heavy: imported only when a REST call is made
    from twilio.rest import Client  # cold start: the Twilio SDK on first call

_TWILIO_HOST = re.compile(r"^https://[a-z0-9.-]*twilio\.com")


def make_http_client(api_base_url: str | None, timeout: float = 10.0) -> Any:
    from twilio.http.http_client import TwilioHttpClient  # cold start: the Twilio SDK on first call

    class _RebasedHttpClient(TwilioHttpClient):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if api_base_url:
                url = _TWILIO_HOST.sub(api_base_url.rstrip("/"), url)
            return super().request(method, url, *args, **kwargs)

    # The SDK logs each request's URL and query (a Messages list's To=+380...) at INFO: keep its
    # logger to warnings, whatever level the process's root logger runs at.
    quiet = logging.getLogger("twilio.http_client")
    quiet.setLevel(logging.WARNING)
    return _RebasedHttpClient(timeout=timeout, logger=quiet)


@functools.cache
def twilio_client(account_sid: str, auth_token: str, api_base_url: str | None) -> Client:
    from twilio.rest import Client  # cold start: the Twilio SDK on first call

    return Client(account_sid, auth_token, http_client=make_http_client(api_base_url))


class TwilioTelephony:
    """The ``Telephony`` and ``Messenger`` ports over Twilio's Calls and Messages APIs."""

    def __init__(self, account_sid: str, auth_token: Callable[[], str], api_base_url: str | None) -> None:
        # The token is read on the first REST call: building the port costs nothing and needs no secret.
        self._account_sid, self._auth_token, self._api_base_url = account_sid, auth_token, api_base_url

    @property
    def _credentials(self) -> tuple[str, str, str | None]:
        return self._account_sid, self._auth_token(), self._api_base_url

    def place_call(self, request: OutboundCall) -> str:
        import requests  # cold start: on first call
        from twilio.base.exceptions import TwilioRestException  # cold start: the Twilio SDK on first call

        amd: dict[str, str] = {}
        if request.detect_machine and request.async_amd_url:
            amd = {
                "async_amd": "true",
                "async_amd_status_callback": request.async_amd_url,
                "async_amd_status_callback_method": "POST",
            }
        try:
            call = twilio_client(*self._credentials).calls.create(
                to=request.to,
                from_=request.from_,
                url=request.answer_url,
                method="POST",
                status_callback=request.status_url,
                status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                timeout=request.ring_timeout_seconds,
                machine_detection="Enable" if request.detect_machine else None,
                **amd,
            )
        except TwilioRestException as error:  # Twilio answered: the call does not exist
            temporary = error.status == 429 or error.status >= 500
            raise CallNotPlacedError(f"Twilio {error.status} {error.code}: {error.msg}", temporary=temporary) from error
        except requests.ConnectTimeout as error:  # no connection: nothing was sent
            raise CallNotPlacedError(f"Twilio unreachable: {error}", temporary=True) from error
        except (requests.ReadTimeout, requests.ConnectionError) as error:  # maybe sent: the call may exist
            raise CallOutcomeUnknownError(str(error)) from error
        return str(call.sid)

    def fetch_call(self, call_sid: str) -> CallState:
        call = twilio_client(*self._credentials).calls(call_sid).fetch()
        return CallState(
            str(call.status),
            int(call.duration or 0),
            getattr(call, "answered_by", None),
            str(getattr(call, "from_", "") or ""),
            str(getattr(call, "to", "") or ""),
        )

    def redirect_call(self, call_sid: str, url: str) -> None:
        twilio_client(*self._credentials).calls(call_sid).update(url=url, method="POST")

    def end_call(self, call_sid: str) -> None:
        twilio_client(*self._credentials).calls(call_sid).update(status="completed")

    def send_sms(self, *, to: str, from_: str, body: str) -> str:
        import requests  # cold start: on first call
        from twilio.base.exceptions import TwilioRestException  # cold start: the Twilio SDK on first call

        try:
            message = twilio_client(*self._credentials).messages.create(to=to, from_=from_, body=body)
        except TwilioRestException as error:  # Twilio answered: the text does not exist
            temporary = error.status == 429 or error.status >= 500
            raise MessageNotSentError(
                f"Twilio {error.status} {error.code}: {error.msg}", temporary=temporary
            ) from error
        except requests.ReadTimeout as error:  # the request went: Twilio may have taken it
            raise MessageOutcomeUnknownError(str(error)) from error
        except requests.ConnectionError as error:
            if never_sent(error):  # refused, DNS, TLS, connect timeout: nothing left this machine
                raise MessageNotSentError(f"Twilio unreachable: {type(error).__name__}", temporary=True) from error
            raise MessageOutcomeUnknownError(str(error)) from error
        return str(message.sid)

    def find_sent_text(self, *, to: str, from_: str, body: str, since: datetime) -> str | None:
        """After a timeout: Twilio's own list of texts to ``to`` from ``from_`` since ``since``."""
        messages = twilio_client(*self._credentials).messages.list(
            to=to, from_=from_, date_sent_after=since - timedelta(days=1), limit=50
        )
        return next((str(m.sid) for m in messages if m.body == body), None)


def never_sent(error: Exception) -> bool:
    """Whether a ``requests.ConnectionError`` happened before the request left: no connection
    (refused, unreachable, DNS), a TLS handshake that failed, a connect timeout. A connection
    dropped after the request was written ("Connection aborted") may have reached Twilio."""
    import requests  # cold start: on first call
    from urllib3.exceptions import MaxRetryError, NewConnectionError, SSLError  # cold start: as requests

    if isinstance(error, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (NewConnectionError, SSLError))


class TwilioRecordings:
    """The ``RecordingDeletion`` port: Twilio's Recordings resource (DELETE)."""

    def __init__(self, account_sid: str, auth_token: Callable[[], str], api_base_url: str | None) -> None:
        self._account_sid, self._auth_token, self._api_base_url = account_sid, auth_token, api_base_url

    def delete_recording(self, recording_sid: str) -> bool:
        from twilio.base.exceptions import TwilioRestException  # cold start: the Twilio SDK on first call

        client = twilio_client(self._account_sid, self._auth_token(), self._api_base_url)
        try:
            return bool(client.recordings(recording_sid).delete())
        except TwilioRestException as error:
            if error.status == 404:
                return False  # gone already
            raise


class TwilioRecordingMedia:
    """The ``RecordingMedia`` port: recording media fetched with the account's credentials
    (Twilio's "Enforce HTTP Auth on Media URLs"), redirects not followed but passed on."""

    def __init__(
        self, account_sid: str, auth_token: Callable[[], str], api_base_url: str | None, timeout: float = 10.0
    ) -> None:
        self._account_sid, self._auth_token, self._api_base_url = account_sid, auth_token, api_base_url
        self._timeout = timeout

    def media_url(self, recording_sid: str) -> str:
        url = f"https://api.twilio.com/2010-04-01/Accounts/{self._account_sid}/Recordings/{recording_sid}.mp3"
        return _TWILIO_HOST.sub(self._api_base_url.rstrip("/"), url) if self._api_base_url else url

    def fetch(self, recording_sid: str) -> Any:
        from urllib.parse import urljoin  # cold start: only recordings

        import requests  # cold start: on first call

        from chalicelib.domain import recording_media as r  # cold start: only recordings

        url = self.media_url(recording_sid)
        try:
            with requests.get(
                url,
                auth=(self._account_sid, self._auth_token()),
                allow_redirects=False,
                stream=True,
                timeout=self._timeout,
            ) as response:
                if response.is_redirect and response.headers.get("Location"):
                    return r.MediaRedirect(urljoin(url, response.headers["Location"]))
                if response.status_code == 404:
                    return r.MediaMissing()
                if response.status_code != 200:
                    return r.MediaUnavailable()
                data = b""
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > r.MAX_PROXIED_BYTES:
                        return r.MediaTooLarge()
                content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                return r.MediaBody(data, _AUDIO_TYPES.get(content_type, "application/octet-stream"))
        except requests.RequestException:
            return r.MediaUnavailable()


# What Twilio (or the stand-in) calls its audio -> a type the API serves as binary.
_AUDIO_TYPES = {
    "audio/mpeg": "audio/mpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/wav": "audio/wav",
}
