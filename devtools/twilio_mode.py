"""Which Twilio ``make run`` talks to: the stand-in (the default), or a real Twilio account when
a developer gives its credentials and a public URL that reaches this machine (a tunnel).

Real Twilio needs all three of ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and
``PUBLIC_BASE_URL``, from the environment or the project's ``.env`` (the environment wins).
The account SID is the switch: without one it is the stand-in, as always; with one, a missing
token or URL is an error rather than a quiet fall back to the stand-in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]"}
REAL_TWILIO_VARIABLES = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL")


class TwilioModeError(ValueError):
    """Real Twilio was asked for but cannot work as given."""


@dataclass(frozen=True)
class RealTwilio:
    account_sid: str
    auth_token: str = field(repr=False)
    public_base_url: str


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines (``export`` and quotes allowed, ``#`` comments); a missing file is empty."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("#") or "=" not in text:
            continue
        key, _, value = text.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def choose_twilio(
    environ: Mapping[str, str], dotenv: Mapping[str, str], *, local_account_sid: str
) -> RealTwilio | None:
    """Real Twilio as given, or None for the stand-in."""
    given = {name: (environ.get(name) or dotenv.get(name) or "").strip() for name in REAL_TWILIO_VARIABLES}
    account_sid = given["TWILIO_ACCOUNT_SID"]
    if not account_sid or account_sid == local_account_sid:
        return None
    if not ACCOUNT_SID.match(account_sid):
        raise TwilioModeError("TWILIO_ACCOUNT_SID must be 'AC' and 32 hex digits (Twilio console → Account info)")
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise TwilioModeError(f"real Twilio (TWILIO_ACCOUNT_SID is set) needs {' and '.join(missing)} too")
    base_url = given["PUBLIC_BASE_URL"].rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TwilioModeError(f"PUBLIC_BASE_URL {base_url!r} is not an http(s) URL")
    if parts.hostname in LOCAL_HOSTS or parts.hostname.startswith("127."):
        raise TwilioModeError(
            f"PUBLIC_BASE_URL {base_url!r} is this machine's own address, which Twilio cannot reach: "
            "give the tunnel's public URL"
        )
    return RealTwilio(account_sid, given["TWILIO_AUTH_TOKEN"], base_url)
