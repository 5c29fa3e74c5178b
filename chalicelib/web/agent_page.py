"""The agent's web page (issue 5): ``GET /agent`` serves one static HTML document with a little
vanilla JavaScript (no build step). The agent logs in with their token, which the page keeps
in the tab's sessionStorage and sends as ``Authorization: Bearer`` to the desk API: set status,
see the screen pop of the current call, record the outcome. The page itself holds no data, so
it needs no authentication."""

from __future__ import annotations

import functools
from pathlib import Path

from chalice import Blueprint, Response

agent_page = Blueprint(__name__)

PAGE = Path(__file__).resolve().parent.parent / "templates" / "agent_desk.html"


@functools.cache
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


@agent_page.route("/agent", methods=["GET"])
def agent_desk_page() -> Response:
    return Response(
        body=_page(),
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            # Only this page's own script and style; the API on the same origin; no framing.
            "Content-Security-Policy": (
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
            ),
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )
