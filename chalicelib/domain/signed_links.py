"""Expiring signed links (I9): whoever holds the link may GET that one path until it expires.

The signature is HMAC-SHA256 with a server-side secret over the path and the expiry (POSIX
seconds), hex-encoded. Only the path is signed, never the host: the same link verifies behind
API Gateway's stage prefix, a custom domain or the local stack. Pure: the secret and the
clock are arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from urllib.parse import urlencode

SIGNATURE_HEX_LENGTH = 64
# POSIX seconds in ASCII digits, up to the year 33658: '²' is a digit to str.isdigit() but not to
# int(), and int() refuses over 4,300 digits; either would be a 500, not a refused link.
_EXPIRES = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(rf"[0-9a-fA-F]{{{SIGNATURE_HEX_LENGTH}}}")


class LinkCheck(Enum):
    VALID = "valid"
    BAD = "bad"  # missing, malformed or forged: no hint of which
    EXPIRED = "expired"


@dataclass(frozen=True)
class SignedLink:
    path: str
    expires: int
    signature: str

    @property
    def relative(self) -> str:
        """The path with its query: append to the public base URL."""
        return f"{self.path}?{urlencode({'expires': self.expires, 'signature': self.signature})}"


def signature(path: str, expires: int, secret: bytes) -> str:
    if not secret:
        raise ValueError("a signed link needs a secret")
    message = f"{path}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(path: str, *, secret: bytes, now: datetime, lifetime: timedelta) -> SignedLink:
    """A link to ``path`` valid from ``now`` for ``lifetime`` (to the second)."""
    expires = int((now + lifetime).timestamp())
    return SignedLink(path, expires, signature(path, expires, secret))


def verify(path: str, expires: str | None, given: str | None, *, secret: bytes, now: datetime) -> LinkCheck:
    """Whether a request for ``path`` with these query values may be served at ``now``. The
    signature is checked first, in constant time, so an expired answer is only ever given
    for a link that was really issued."""
    if not (expires and given and _EXPIRES.fullmatch(expires) and _SIGNATURE.fullmatch(given)):
        return LinkCheck.BAD
    expected = signature(path, int(expires), secret)
    if not hmac.compare_digest(expected.encode(), given.lower().encode()):
        return LinkCheck.BAD
    if now.timestamp() >= int(expires):
        return LinkCheck.EXPIRED
    return LinkCheck.VALID
