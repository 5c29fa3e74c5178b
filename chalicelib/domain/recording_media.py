"""What Twilio answers when asked for a recording's media (I9)."""

from __future__ import annotations

from dataclasses import dataclass

# Lambda answers at most 6 MB, and binary bodies travel base64-encoded (4 bytes per 3).
MAX_PROXIED_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class MediaRedirect:
    location: str  # Twilio's own short-lived URL of the media


@dataclass(frozen=True)
class MediaBody:
    data: bytes
    content_type: str


class MediaMissing:
    """Twilio has no such recording (deleted, or never finished)."""


class MediaTooLarge:
    """Twilio served the media directly and it is larger than a Lambda response may be."""


class MediaUnavailable:
    """Twilio could not be asked or answered with an error."""


MediaAnswer = MediaRedirect | MediaBody | MediaMissing | MediaTooLarge | MediaUnavailable
