"""An outgoing email as the services describe it: parts, not MIME (the mail adapter builds that)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class InlineImage:
    content_id: str  # the HTML refers to it as src="cid:<content_id>"
    data: bytes
    subtype: str = "png"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str = "text"
    subtype: str = "csv"


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str
    inline_images: tuple[InlineImage, ...] = field(default=())
    attachments: tuple[Attachment, ...] = field(default=())


def one_line(text: str) -> str:
    """Header-safe text: a line break in a subject would be a header injection."""
    return " ".join(text.split())
