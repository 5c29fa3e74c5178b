"""``GET /v1/recordings/{call_sid}?expires=...&signature=...``: a call's recording through an
expiring signed link (I9), the only way the system hands out recordings.

No API key: the link is the credential, made by ``services.recordings.recording_link`` for a
report's CSV (or an agent's screen) and valid until ``expires``. A bad or forged link, or one
past its expiry, gets 403 before anything is looked up; a good link to a call without a
recording gets 404.

Redirect or proxy: the route asks Twilio for the media with the account's credentials (so
Twilio's "Enforce HTTP Auth on Media URLs" can and should be on) and passes on its answer: a
redirect to Twilio's own short-lived media URL becomes this route's 302; media Twilio serves
directly is passed through (up to 4 MB, Lambda's limit). Redirecting to the stored
``RecordingUrl`` instead would either ask the browser for the account's token (media auth on)
or hand out a URL that never expires (media auth off). See the README's "Recordings".
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.config import settings
from chalicelib.services import recordings
from chalicelib.web.http import current_request, json_error
from chalicelib.wiring import recording_media, repository

recordings_api = Blueprint(__name__)
PRIVATE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


@recordings_api.route("/v1/recordings/{call_sid}", methods=["GET"])
def recording(call_sid: str) -> Response:
    params: dict[str, str] = dict(current_request(recordings_api).query_params or {})
    answer = recordings.open_recording(
        call_sid,
        params.get("expires"),
        params.get("signature"),
        secret=settings().recording_link_key(),
        calls=repository(),
        media=recording_media(),
        now=current_clock().now(),
    )
    if isinstance(answer, recordings.Refused):
        return json_error(answer.status, answer.error, answer.message)
    if isinstance(answer, recordings.MediaRedirect):
        return Response(body="", status_code=302, headers={"Location": answer.location, **PRIVATE})
    extension = "mp3" if answer.content_type == "audio/mpeg" else "wav"
    headers: dict[str, str | list[str]] = {
        "Content-Type": answer.content_type,
        "Content-Disposition": f'inline; filename="recording-{call_sid}.{extension}"',
        **PRIVATE,
    }
    return Response(body=answer.data, status_code=200, headers=headers)
