"""Call recordings, reachable only through expiring signed links (I9).

``recording_link`` makes the link for a call (the report's CSV uses it through
``ReportRecordingLinks``; the agent timeline can call it the same way). ``open_recording``
is what ``GET /v1/recordings/{call_sid}`` does with a link someone followed.

Why the route asks Twilio itself instead of redirecting to the stored ``RecordingUrl``: Twilio
accounts created since mid-2023 enforce HTTP authentication on recording media (older ones
can turn it on, and should), so a browser sent to the stored URL would be asked for the
account's SID and token; and where media is not protected, that URL is public for ever, which
would make the link's expiry meaningless. So the route fetches the media with the account's
credentials, server side, from a URL it builds from the recording's SID (never from a stored
URL, so it cannot be made to fetch anything else), and passes on what Twilio answers: a
redirect to Twilio's own short-lived media URL is handed to the browser as is; media served
directly is passed through, up to ``MAX_PROXIED_BYTES`` (Lambda's response limit).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from chalicelib.domain.recording_media import MediaBody, MediaMissing, MediaRedirect, MediaTooLarge
from chalicelib.domain.report.facts import CallFact
from chalicelib.domain.signed_links import LinkCheck, sign, verify
from chalicelib.observability import logger
from chalicelib.services.ports import CallLookup, RecordingMedia

RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")


def recording_path(call_sid: str) -> str:
    return f"/v1/recordings/{quote(call_sid, safe='')}"


def recording_link(call_sid: str, *, base_url: str, secret: bytes, now: datetime, lifetime: timedelta) -> str:
    """The absolute link to a call's recording, valid for ``lifetime`` from ``now``."""
    return base_url.rstrip("/") + sign(recording_path(call_sid), secret=secret, now=now, lifetime=lifetime).relative


def recording_sid_of(recording_sid: str | None, recording_url: str | None) -> str | None:
    """The recording's SID: as stored, else the last part of Twilio's recording URL."""
    candidate = recording_sid or (recording_url or "").rstrip("/").rpartition("/")[2].split(".")[0]
    return candidate if RECORDING_SID.match(candidate or "") else None


class ReportRecordingLinks:
    """The report's ``recording_link``: an expiring link for each recorded call, lasting
    ``days`` from ``now``. The secret is asked for on the first recorded call, so a report
    without recordings needs none."""

    def __init__(self, *, base_url: str, secret: Callable[[], bytes], now: datetime, days: int) -> None:
        self.base_url, self.now, self.days = base_url, now, days
        self._secret = functools.cache(secret)

    def __call__(self, call: CallFact) -> str | None:
        if not (call.recording_sid or call.recording_url):
            return None
        lifetime = timedelta(days=self.days)
        return recording_link(
            call.call_sid, base_url=self.base_url, secret=self._secret(), now=self.now, lifetime=lifetime
        )


# ---- following a link ------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    status: int  # 403 bad or expired link, 404 no such recording, 502 Twilio failed or too large
    error: str
    message: str


def open_recording(
    call_sid: str,
    expires: str | None,
    signature: str | None,
    *,
    secret: bytes,
    calls: CallLookup,
    media: RecordingMedia,
    now: datetime,
) -> MediaRedirect | MediaBody | Refused:
    """Check the link first (nothing is looked up for a bad one), then the call, then ask
    Twilio for the media."""
    check = verify(recording_path(call_sid), expires, signature, secret=secret, now=now)
    if check is LinkCheck.BAD:
        logger.warning("recording link refused", extra={"reason": "bad signature"})
        return Refused(403, "forbidden", "this link is not valid")
    if check is LinkCheck.EXPIRED:
        return Refused(403, "link_expired", "this link has expired: ask for a new report or link")
    call = calls.get_call(call_sid)
    sid = recording_sid_of(getattr(call, "recording_sid", None), getattr(call, "recording_url", None))
    if call is None or sid is None:
        return Refused(404, "not_found", "no recording for this call")
    answer = media.fetch(sid)
    logger.info("recording link followed", extra={"call_sid": call_sid, "answer": type(answer).__name__})
    if isinstance(answer, MediaRedirect | MediaBody):
        return answer
    if isinstance(answer, MediaMissing):
        return Refused(404, "not_found", "the recording is no longer stored")
    if isinstance(answer, MediaTooLarge):
        return Refused(502, "recording_too_large", "the recording is too large to pass on; open it in Twilio's console")
    return Refused(502, "recording_unavailable", "the recording could not be fetched now; try again")
