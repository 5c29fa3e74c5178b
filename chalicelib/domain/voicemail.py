"""What counts as a voicemail, from the parameters Twilio posts about a ``<Record>`` (its
action, the recording status callback, the transcription callback). Pure.

A recording shorter than ``MIN_MESSAGE_SECONDS`` (or with no duration at all) is no message:
a breath, a click, "uh" before hanging up. Such a caller gets what any caller who hung up
unserved gets (I7: a plain callback task, never a voicemail: no email, not counted as one).
Twilio itself posts nothing for a recording with no sound at all (it skips the action).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.twilio_fields import twilio_count

MIN_MESSAGE_SECONDS = 2
RECORDING_READY = "completed"  # RecordingStatus when the file is there (else absent or failed)
TRANSCRIBED = "completed"  # TranscriptionStatus with a text (else failed)


def message_seconds(form: dict[str, str]) -> int | None:
    """The recording's length when it is long enough to be a message, else None."""
    seconds = twilio_count(form.get("RecordingDuration"))
    return seconds if seconds is not None and seconds >= MIN_MESSAGE_SECONDS else None


@dataclass(frozen=True)
class Recorded:
    """A ``<Record>``'s recording as its action or status callback describes it."""

    call_sid: str
    recording_sid: str
    recording_url: str
    seconds: int | None  # None: too short to be a message

    @property
    def is_message(self) -> bool:
        return self.seconds is not None

    def fields(self) -> dict[str, object]:
        """What the call record keeps of a message."""
        stored: dict[str, object] = {"result": "voicemail", "voicemail_seconds": self.seconds}
        if self.recording_sid:
            stored["recording_sid"] = self.recording_sid
        if self.recording_url:
            stored["recording_url"] = self.recording_url
        return stored


def recorded(form: dict[str, str]) -> Recorded:
    return Recorded(
        call_sid=form.get("CallSid", ""),
        recording_sid=form.get("RecordingSid", ""),
        recording_url=form.get("RecordingUrl", ""),
        seconds=message_seconds(form),
    )


def recording_ready(form: dict[str, str]) -> bool:
    return form.get("RecordingStatus", "") == RECORDING_READY


@dataclass(frozen=True)
class Transcription:
    """Twilio's transcription of a voicemail (``transcribeCallback``)."""

    call_sid: str
    recording_sid: str
    status: str  # completed | failed
    text: str

    @property
    def has_text(self) -> bool:
        return self.status == TRANSCRIBED and bool(self.text.strip())


def transcription(form: dict[str, str]) -> Transcription:
    return Transcription(
        call_sid=form.get("CallSid", ""),
        recording_sid=form.get("RecordingSid", ""),
        status=form.get("TranscriptionStatus", ""),
        text=" ".join(form.get("TranscriptionText", "").split())[:MAX_TRANSCRIPTION_CHARS],
    )


MAX_TRANSCRIPTION_CHARS = 4000  # two minutes of speech is far less; the record stays small
