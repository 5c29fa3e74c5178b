"""Recordings made by ``<Record>``, ``<Dial record>`` and ``Record=true``, served as small WAV files."""

from __future__ import annotations

import io
import secrets
import threading
import wave
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devtools.twilio_standin.legs import API_VERSION, rfc2822

FAKE_AUDIO_SAMPLE_RATE = 8000
FAKE_AUDIO_MAX_SECONDS = 1.0  # the served audio stays small whatever the recording's duration
MAX_TRANSCRIBED_SECONDS = 120  # Twilio transcribes <Record> recordings of up to two minutes


@dataclass
class Recording:
    account_sid: str
    call_sid: str
    duration: int
    source: str  # RecordVerb, DialVerb or OutboundAPI
    created: datetime
    spoken_text: str = ""
    transcription_sid: str | None = None  # <Record transcribe>: its text, once made
    transcription_text: str = ""
    sid: str = field(default_factory=lambda: "RE" + secrets.token_hex(16))

    def path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{self.sid}"

    def to_json(self) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "call_sid": self.call_sid,
            "channels": 1,
            "conference_sid": None,
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(self.created),
            "start_time": rfc2822(self.created),
            "duration": str(self.duration),
            "sid": self.sid,
            "source": self.source,
            "status": "completed",
            "uri": self.path() + ".json",
        }


def fake_wav(duration_seconds: float) -> bytes:
    """Silence in WAV form, at most a second long."""
    frames = int(FAKE_AUDIO_SAMPLE_RATE * min(max(duration_seconds, 0.1), FAKE_AUDIO_MAX_SECONDS))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(FAKE_AUDIO_SAMPLE_RATE)
        wav.writeframes(b"\x80" * frames)  # 8-bit PCM silence sits at mid-scale
    return buffer.getvalue()


class RecordingStore:
    def __init__(self) -> None:
        self._recordings: dict[str, Recording] = {}
        self._lock = threading.Lock()

    def add(self, recording: Recording) -> Recording:
        with self._lock:
            self._recordings[recording.sid] = recording
        return recording

    def get(self, sid: str) -> Recording | None:
        with self._lock:
            return self._recordings.get(sid)

    def remove(self, sid: str) -> Recording | None:
        with self._lock:
            return self._recordings.pop(sid, None)

    def all(self) -> list[Recording]:
        with self._lock:
            return list(self._recordings.values())
