"""The agent's browser softphone (issue 17): the access token of the logged-in agent, and the
page's two scripts served with it (no CDN at run time).

- ``GET /v1/agent/voice-token`` (agent token only): ``{"token", "identity", "expires_at",
  "ttl_seconds"}``, a Twilio access token with a ``VoiceGrant`` for the agent's client identity,
  lasting ``services.softphone.VOICE_TOKEN_TTL``; never cached. 401 logged out, 409
  ``phone_agent`` (the agent takes calls on a phone) or ``not_available`` (go available first),
  503 when the deployment has no API key for tokens.
- ``GET /agent/voice-sdk/{digest}/twilio.min.js``: Twilio's Voice JavaScript SDK as npm locked it
  (``package.json``), and ``GET /agent/softphone/{digest}/softphone.js``: the page's phone. Each
  URL names its content's digest, so both are cached for a year; another digest is 404.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.observability import logger
from chalicelib.services.softphone import SoftphoneRefused, voice_token
from chalicelib.web.desk_auth import agent_of
from chalicelib.web.http import current_request, json_error, json_response
from chalicelib.web.page_assets import ASSETS, Asset
from chalicelib.wiring import desk_store, voice_tokens

softphone = Blueprint(__name__)
A_YEAR = 365 * 24 * 3600


@softphone.route("/v1/agent/voice-token", methods=["GET"])
def agent_voice_token() -> Response:
    caller = agent_of(current_request(softphone), desk_store())
    if isinstance(caller, Response):
        return caller
    try:
        token = voice_token(
            caller.shop, caller.agent_id, agents=desk_store(), tokens=voice_tokens(), now=current_clock().now()
        )
    except SoftphoneRefused as refused:
        return json_error(refused.status, refused.error, str(refused))
    logger.info("softphone token issued", extra={"agent_id": caller.agent_id, "expires_at": token.expires_at})
    response = json_response(token.public_view())
    response.headers["Cache-Control"] = "no-store"
    return response


def _serve(asset: Asset, digest: str) -> Response:
    if digest != asset.digest():
        return json_error(404, "not_found", f"digest: no {asset.name} {digest!r} here (reload the page)")
    return Response(
        body=asset.body(),
        status_code=200,
        headers={
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": f"public, max-age={A_YEAR}, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


@softphone.route(ASSETS["voice-sdk"].route, methods=["GET"])
def voice_sdk(digest: str) -> Response:
    return _serve(ASSETS["voice-sdk"], digest)


@softphone.route(ASSETS["softphone"].route, methods=["GET"])
def softphone_script(digest: str) -> Response:
    return _serve(ASSETS["softphone"], digest)
