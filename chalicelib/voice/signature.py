"""``X-Twilio-Signature`` checks against the public URL Twilio actually called.

Behind API Gateway the app sees a different host, stage prefix and port than Twilio used, so
the URL is rebuilt from ``PUBLIC_BASE_URL`` plus the route path and query string.

A JSON body is signed differently: Twilio puts its SHA-256 in the URL (``bodySHA256=<hex>``) and
signs the URL alone; the body must then hash to that value.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, urlencode, urlsplit

from twilio.request_validator import RequestValidator


class _MultiParams(dict[str, list[str]]):
    """Repeated form keys, in the shape RequestValidator reads (``getall``)."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def parse_form(body: bytes | None) -> dict[str, list[str]]:
    """The form's parameters; UnicodeDecodeError when the body or a percent-escape in it is not
    UTF-8 (never read with replacement characters: that is not what Twilio signed)."""
    # Blank values are signed too (e.g. 'CalledCity='): keep them.
    return parse_qs((body or b"").decode("utf-8"), keep_blank_values=True, errors="strict")


def public_url(base_url: str, path: str, query: Mapping[str, Sequence[str]] | None, *, sort_keys: bool = False) -> str:
    """The URL Twilio signed: keys in the order given (as Twilio called it), or sorted."""
    url = base_url.rstrip("/") + path
    if query:
        pairs = [(k, v) for k, values in query.items() for v in values]
        url += "?" + urlencode(sorted(pairs) if sort_keys else pairs)
    return url


def signature_is_valid(
    auth_token: str,
    url: str,
    form: Mapping[str, list[str]],
    signature: str | None,
    *,
    body: bytes | str | None = None,
) -> bool:
    """``form`` for form-encoded requests; ``body`` (the raw bytes) for a URL carrying
    ``bodySHA256``, where the body's hash and the URL are what Twilio signed."""
    if not signature:
        return False
    validator = RequestValidator(auth_token)
    hashes = parse_qs(urlsplit(url).query).get("bodySHA256")
    if body is not None and hashes:
        raw = body.encode() if isinstance(body, str) else body
        given = hashes[0].encode("utf-8", "surrogatepass")  # bytes: compare_digest refuses non-ASCII text
        body_matches = hmac.compare_digest(hashlib.sha256(raw).hexdigest().encode(), given)
        return body_matches and bool(validator.validate(url, {}, signature))
    return bool(validator.validate(url, _MultiParams(form), signature))
