"""How long a ``<Play>`` lasts: the audio's own length, as on Twilio.

Twilio plays a file to its end (``loop`` times) before the next verb, and starts the next
``<Enqueue waitUrl>`` round only after the wait document's ``<Play>`` ended; hold music runs
for minutes. The stand-in reads the length of what it can read:

- a WAV file (Python's ``wave``) served on this machine (loopback http) or on disk (``file:``);
- a length a test set for a URL (``TwilioStandIn.set_audio_seconds``), which wins over reading.

No locked library reads MP3 lengths, and the stand-in fetches nothing from the internet, so an
audio URL it cannot read lasts ``UNREAD_HOLD_MUSIC_SECONDS`` (three minutes, near Twilio's own
hold-music files: ClockworkWaltz.mp3 is about 2.5 minutes, MARKOVICHAMP-Borghestral.mp3 about
5) in a wait document, and ``PLAY_SECONDS`` elsewhere (a short recorded prompt).
"""

from __future__ import annotations

import io
import threading
import urllib.request
import wave
from pathlib import Path
from urllib.parse import unquote, urlparse

from devtools.twilio_standin.legs import PLAY_SECONDS

UNREAD_HOLD_MUSIC_SECONDS = 180.0
FETCH_TIMEOUT_SECONDS = 5.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_AUDIO_BYTES = 64 * 1024 * 1024


def wav_seconds(data: bytes) -> float | None:
    """The length of a WAV file, None when ``data`` is not one."""
    try:
        with wave.open(io.BytesIO(data)) as audio:
            rate = audio.getframerate()
            return audio.getnframes() / rate if rate else None
    except (wave.Error, EOFError):
        return None


class AudioLengths:
    """Lengths of the audio URLs calls play, read once per URL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set: dict[str, float] = {}
        self._read: dict[str, float | None] = {}

    def set(self, url: str, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError("an audio file lasts a positive number of seconds")
        with self._lock:
            self._set[url] = float(seconds)

    def seconds(self, url: str, *, hold_music: bool) -> float:
        """How long one play of ``url`` lasts (``hold_music``: it plays in a wait document)."""
        with self._lock:
            if url in self._set:
                return self._set[url]
            known = url in self._read
            length = self._read.get(url)
        if not known:
            length = self._read_length(url)
            with self._lock:
                self._read[url] = length
        if length is not None:
            return length
        return UNREAD_HOLD_MUSIC_SECONDS if hold_music else PLAY_SECONDS

    @staticmethod
    def _read_length(url: str) -> float | None:
        parsed = urlparse(url)
        try:
            if parsed.scheme == "file":
                data = Path(unquote(parsed.path)).read_bytes()[:MAX_AUDIO_BYTES]
            elif parsed.scheme in ("http", "https") and parsed.hostname in LOOPBACK_HOSTS:
                # Only this machine's files: the stand-in never reaches the internet.
                with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
                    data = response.read(MAX_AUDIO_BYTES)
            else:
                return None
        except OSError:
            return None
        return wav_seconds(data)
