"""The agent's web page (issue 5): ``GET /agent`` serves one static HTML document with a little
vanilla JavaScript (no build step). The agent logs in with their token, which the page keeps
in the tab's sessionStorage and sends as ``Authorization: Bearer`` to the desk API: set status,
see the screen pop of the current call, record the outcome. The page itself holds no data, so
it needs no authentication.

Its Content-Security-Policy allows no inline script or style but the page's own, each named by
its SHA-256 hash (computed from the page as served): a script injected into the page, or an
inline event handler (``onclick=``), does not run. Script files come only from this origin
('self'): the browser softphone's (``web.softphone``: Twilio's Voice SDK and the page's phone,
their URLs naming their digests); the SDK talks to Twilio (``*.twilio.com``) and plays its
ringtone from Twilio's sound files."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path

from chalice import Blueprint, Response

from chalicelib.web.page_assets import ASSETS

agent_page = Blueprint(__name__)

PAGE = Path(__file__).resolve().parent.parent / "templates" / "agent_desk.html"
# Where the Voice SDK signals (wss://voice-js.<edge>.twilio.com), reports call quality and fetches its ringtone.
TWILIO = "wss://*.twilio.com https://*.twilio.com"
_BLOCK = {tag: re.compile(rf"<{tag}>(.*?)</{tag}>", re.DOTALL) for tag in ("script", "style")}


def _hashes(page: str, tag: str) -> str:
    """The CSP source list of the page's own ``<tag>`` blocks (attribute-less, as the page writes them)."""
    digests = (hashlib.sha256(body.encode("utf-8")).digest() for body in _BLOCK[tag].findall(page))
    return " ".join(f"'sha256-{base64.b64encode(digest).decode('ascii')}'" for digest in digests) or "'none'"


@functools.cache
def _page() -> tuple[str, str]:
    """The page and its Content-Security-Policy."""
    page = PAGE.read_text(encoding="utf-8")
    page = page.replace("__VOICE_SDK_URL__", ASSETS["voice-sdk"].page_url())
    page = page.replace("__SOFTPHONE_URL__", ASSETS["softphone"].page_url())
    policy = (
        f"default-src 'none'; script-src {_hashes(page, 'script')} 'self'; style-src {_hashes(page, 'style')}; "
        f"connect-src 'self' {TWILIO}; media-src 'self' https://sdk.twilio.com blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return page, policy


@agent_page.route("/agent", methods=["GET"])
def agent_desk_page() -> Response:
    page, policy = _page()
    return Response(
        body=page,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            # Only this page's own script and style (by hash); the API on the same origin; no framing.
            "Content-Security-Policy": policy,
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )
