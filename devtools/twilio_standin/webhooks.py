"""Requests to the app, made the way Twilio makes them: form-encoded, signed, 15 s at most."""

from __future__ import annotations

import functools
import logging
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 15.0  # Twilio gives a webhook 15 s in all
MAX_TWIML_BYTES = 64 * 1024
USER_AGENT = "TwilioProxy/1.1"


@dataclass(frozen=True)
class WebhookResponse:
    url: str  # exactly the URL requested (for GET, with the parameters in the query)
    method: str
    status: int | None  # None when the app did not answer at all
    body: bytes
    content_type: str
    error: str | None = None  # connection refused, timeout, ...

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def snippet(self, limit: int = 300) -> str:
        return self.text()[:limit]


@functools.cache
def _region_of(number: str) -> str:
    """ISO country of an E.164 number, as Twilio puts it in FromCountry/ToCountry."""
    if not number.startswith("+"):
        return ""
    try:
        import phonenumbers  # the app's own dependency; a blank country is fine without it
    except ImportError:  # pragma: no cover - phonenumbers ships with the app
        return ""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number)) or ""
    except phonenumbers.NumberParseException:
        return ""


def address_params(prefix: str, number: str) -> dict[str, str]:
    """FromCity/FromState/FromZip/FromCountry (blank where Twilio has nothing)."""
    return {
        f"{prefix}City": "",
        f"{prefix}State": "",
        f"{prefix}Zip": "",
        f"{prefix}Country": _region_of(number),
    }


class WebhookClient:
    """Signs and sends webhook requests; never raises for what the app answers."""

    def __init__(self, auth_token: str, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> None:
        self._validator = RequestValidator(auth_token)
        self._timeout = timeout
        self._local = threading.local()
        self.enabled = True

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def send(self, url: str, method: str, params: dict[str, str]) -> WebhookResponse:
        method = (method or "POST").upper()
        if method not in ("GET", "POST"):
            method = "POST"
        if method == "GET":
            separator = "&" if "?" in url else "?"
            request = requests.Request("GET", url + separator + urlencode(params) if params else url)
        else:
            request = requests.Request("POST", url, data=params)
        try:
            prepared = request.prepare()
        except (requests.RequestException, ValueError) as exc:
            return WebhookResponse(url, method, None, b"", "", error=f"invalid URL: {exc}")
        requested_url = str(prepared.url)
        # Twilio signs the URL it requests plus the sorted POST parameters (none for GET).
        signature = self._validator.compute_signature(requested_url, params if method == "POST" else {})
        prepared.headers["X-Twilio-Signature"] = signature
        prepared.headers["User-Agent"] = USER_AGENT
        prepared.headers["I-Twilio-Idempotency-Token"] = secrets.token_hex(16)
        prepared.headers["Accept"] = "*/*"
        if not self.enabled:
            return WebhookResponse(requested_url, method, None, b"", "", error="stand-in stopping")
        try:
            response = self._session().send(prepared, timeout=self._timeout, allow_redirects=True)
        except requests.Timeout:
            logger.warning("webhook %s %s did not answer within %.0f s", method, requested_url, self._timeout)
            return WebhookResponse(requested_url, method, None, b"", "", error="timeout")
        except requests.RequestException as exc:
            logger.warning("webhook %s %s failed: %s", method, requested_url, exc)
            return WebhookResponse(requested_url, method, None, b"", "", error=f"unreachable: {exc}")
        logger.debug("webhook %s %s -> %s", method, requested_url, response.status_code)
        return WebhookResponse(
            requested_url,
            method,
            response.status_code,
            response.content,
            response.headers.get("Content-Type", ""),
        )
