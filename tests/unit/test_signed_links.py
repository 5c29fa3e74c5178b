"""Expiring signed links (I9): signing and checking, tampering, expiry on an injected clock,
the secret's settings, and what following a recording link gives."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.adapters.twilio_rest import TwilioRecordingMedia
from chalicelib.config import Settings
from chalicelib.domain import signed_links
from chalicelib.domain.recording_media import (
    MAX_PROXIED_BYTES,
    MediaAnswer,
    MediaBody,
    MediaMissing,
    MediaRedirect,
    MediaTooLarge,
    MediaUnavailable,
)
from chalicelib.domain.report.facts import CallFact
from chalicelib.domain.signed_links import LinkCheck, sign, verify
from chalicelib.services.recordings import (
    Refused,
    ReportRecordingLinks,
    open_recording,
    recording_link,
)

SECRET = b"unit-test-recording-link-key-0123456789"
NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
PATH = "/v1/recordings/CA0123"
RE_SID = "RE" + "a" * 32


def query(link: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}


# ---- sign and verify -------------------------------------------------------------------------
def test_a_fresh_link_verifies_until_its_expiry_and_not_after() -> None:
    link = sign(PATH, secret=SECRET, now=NOW, lifetime=WEEK)
    assert link.expires == int((NOW + WEEK).timestamp())
    expires = str(link.expires)
    assert verify(PATH, expires, link.signature, secret=SECRET, now=NOW) is LinkCheck.VALID
    just_before = NOW + WEEK - timedelta(seconds=1)
    assert verify(PATH, expires, link.signature, secret=SECRET, now=just_before) is LinkCheck.VALID
    assert verify(PATH, expires, link.signature, secret=SECRET, now=NOW + WEEK) is LinkCheck.EXPIRED
    assert verify(PATH, expires, link.signature, secret=SECRET, now=NOW + WEEK * 10) is LinkCheck.EXPIRED


def test_the_relative_link_carries_expiry_and_signature_in_its_query() -> None:
    link = sign(PATH, secret=SECRET, now=NOW, lifetime=WEEK)
    assert link.relative.startswith(PATH + "?")
    assert query(link.relative) == {"expires": str(link.expires), "signature": link.signature}


@pytest.mark.parametrize(
    ("path", "expires_delta", "mutate"),
    [
        ("/v1/recordings/CA0124", 0, None),  # another call
        (PATH, 3600, None),  # a later expiry
        (PATH, 0, "flip"),  # a changed signature
        (PATH, 0, "upper"),  # hex in upper case is the same signature, still accepted
    ],
)
def test_a_link_changed_in_any_part_is_bad(path: str, expires_delta: int, mutate: str | None) -> None:
    link = sign(PATH, secret=SECRET, now=NOW, lifetime=WEEK)
    given = link.signature
    if mutate == "flip":
        given = ("0" if given[0] != "0" else "1") + given[1:]
    if mutate == "upper":
        given = given.upper()
    check = verify(path, str(link.expires + expires_delta), given, secret=SECRET, now=NOW)
    assert check is (LinkCheck.VALID if mutate == "upper" else LinkCheck.BAD)


def test_a_link_signed_with_another_secret_is_bad_even_when_expired() -> None:
    link = sign(PATH, secret=b"another-secret-another-secret-0000", now=NOW, lifetime=WEEK)
    # an expired answer is only given for links we issued: a forged one is just bad
    assert verify(PATH, str(link.expires), link.signature, secret=SECRET, now=NOW + WEEK * 2) is LinkCheck.BAD


@pytest.mark.parametrize(
    ("expires", "given"),
    [(None, "a" * 64), ("", "a" * 64), ("123", None), ("123", ""), ("-5", "a" * 64), ("12.5", "a" * 64), ("1", "ab")],
)
def test_missing_or_malformed_values_are_bad(expires: str | None, given: str | None) -> None:
    assert verify(PATH, expires, given, secret=SECRET, now=NOW) is LinkCheck.BAD


def test_the_signature_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signed_links.hmac, "compare_digest", spy)
    link = sign(PATH, secret=SECRET, now=NOW, lifetime=WEEK)
    assert verify(PATH, str(link.expires), link.signature, secret=SECRET, now=NOW) is LinkCheck.VALID
    assert len(calls) == 1


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        sign(PATH, secret=b"", now=NOW, lifetime=WEEK)


# ---- the secret's settings -------------------------------------------------------------------
def test_the_link_secret_comes_from_the_environment_and_never_shows_in_the_settings_repr() -> None:
    config = Settings(recording_link_secret="s" * 40)
    assert config.recording_link_key() == b"s" * 40
    assert "s" * 40 not in repr(config) and "s" * 40 not in str(config)


def test_no_secret_or_a_short_one_refuses_to_make_links() -> None:
    with pytest.raises(RuntimeError, match="RECORDING_LINK_SECRET or RECORDING_LINK_SECRET_PARAM"):
        Settings().recording_link_key()
    with pytest.raises(RuntimeError, match="at least 32"):
        Settings(recording_link_secret="short").recording_link_key()


def test_links_last_seven_days_unless_configured() -> None:
    assert Settings().recording_link_days == 7
    assert Settings(recording_link_days=2).recording_link_days == 2
    with pytest.raises(ValueError):
        Settings(recording_link_days=0)


# ---- links in the report ---------------------------------------------------------------------
def call_fact(**fields: Any) -> CallFact:
    values: dict[str, Any] = {
        "call_sid": "CA0123",
        "direction": "inbound",
        "status": "completed",
        "answered_by": None,
        "answered_at": NOW,
        "created_at": NOW,
    }
    return CallFact(**(values | fields))


def test_the_report_links_each_recorded_call_and_asks_for_the_secret_once() -> None:
    asked: list[int] = []

    def secret() -> bytes:
        asked.append(1)
        return SECRET

    links = ReportRecordingLinks(base_url="https://calls.example/api/", secret=secret, now=NOW, days=3)
    assert links(call_fact()) is None  # not recorded: no link, no secret needed
    assert asked == []
    first = links(call_fact(recording_sid=RE_SID))
    second = links(call_fact(call_sid="CA0999", recording_url=f"https://api.twilio.com/x/Recordings/{RE_SID}"))
    assert first is not None and second is not None
    assert first.startswith("https://calls.example/api/v1/recordings/CA0123?expires=")
    assert RE_SID not in first and "twilio" not in first
    assert query(first)["expires"] == str(int((NOW + timedelta(days=3)).timestamp()))
    assert verify(PATH, query(first)["expires"], query(first)["signature"], secret=SECRET, now=NOW) is LinkCheck.VALID
    assert asked == [1]


# ---- following a link ------------------------------------------------------------------------
class FakeCall:
    def __init__(self, recording_sid: str | None = None, recording_url: str | None = None) -> None:
        self.recording_sid, self.recording_url = recording_sid, recording_url


class FakeCalls:
    def __init__(self, calls: dict[str, FakeCall]) -> None:
        self.calls, self.looked_up = calls, 0

    def get_call(self, call_sid: str) -> FakeCall | None:
        self.looked_up += 1
        return self.calls.get(call_sid)


class FakeMedia:
    def __init__(self, answer: MediaAnswer) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def fetch(self, recording_sid: str) -> MediaAnswer:
        self.asked.append(recording_sid)
        return self.answer


def follow(link: str, calls: FakeCalls, media: FakeMedia, now: datetime = NOW) -> MediaRedirect | MediaBody | Refused:
    q = query(link)
    call_sid = urlsplit(link).path.rpartition("/")[2]
    return open_recording(
        call_sid, q.get("expires"), q.get("signature"), secret=SECRET, calls=calls, media=media, now=now
    )


def link_for(call_sid: str = "CA0123") -> str:
    return recording_link(call_sid, base_url="https://x", secret=SECRET, now=NOW, lifetime=WEEK)


def test_a_good_link_gets_twilios_short_lived_redirect() -> None:
    media = FakeMedia(MediaRedirect("https://media.example/short-lived?sig=1"))
    answer = follow(link_for(), FakeCalls({"CA0123": FakeCall(recording_sid=RE_SID)}), media)
    assert answer == MediaRedirect("https://media.example/short-lived?sig=1")
    assert media.asked == [RE_SID]


def test_a_bad_link_is_refused_before_anything_is_looked_up() -> None:
    calls, media = FakeCalls({"CA0123": FakeCall(recording_sid=RE_SID)}), FakeMedia(MediaMissing())
    answer = follow(link_for().replace("signature=", "signature=0"), calls, media)
    assert answer == Refused(403, "forbidden", "this link is not valid")
    assert (calls.looked_up, media.asked) == (0, [])


def test_an_expired_link_is_refused_with_its_own_error() -> None:
    calls, media = FakeCalls({"CA0123": FakeCall(recording_sid=RE_SID)}), FakeMedia(MediaMissing())
    answer = follow(link_for(), calls, media, now=NOW + WEEK)
    assert isinstance(answer, Refused) and (answer.status, answer.error) == (403, "link_expired")
    assert (calls.looked_up, media.asked) == (0, [])


@pytest.mark.parametrize(
    "calls",
    [{}, {"CA0123": FakeCall()}, {"CA0123": FakeCall(recording_sid="RE-not-a-sid")}],
    ids=["unknown call", "not recorded", "malformed recording sid"],
)
def test_a_good_link_to_no_recording_is_404(calls: dict[str, FakeCall]) -> None:
    media = FakeMedia(MediaBody(b"x", "audio/mpeg"))
    answer = follow(link_for(), FakeCalls(calls), media)
    assert isinstance(answer, Refused) and answer.status == 404
    assert media.asked == []


@pytest.mark.parametrize(
    ("media_answer", "status", "error"),
    [
        (MediaMissing(), 404, "not_found"),
        (MediaTooLarge(), 502, "recording_too_large"),
        (MediaUnavailable(), 502, "recording_unavailable"),
    ],
)
def test_what_twilio_could_not_give_is_said_plainly(media_answer: MediaAnswer, status: int, error: str) -> None:
    answer = follow(
        link_for(),
        FakeCalls({"CA0123": FakeCall(recording_url=f"https://t/Recordings/{RE_SID}")}),
        FakeMedia(media_answer),
    )
    assert isinstance(answer, Refused) and (answer.status, answer.error) == (status, error)


# ---- the Twilio adapter against a small HTTP server ------------------------------------------
class _Media(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        status, headers, body = self.answers.get(self.path.rsplit("/", 1)[-1], (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def media_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Media)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Media.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_adapter_asks_with_the_account_credentials_and_passes_a_redirect_on(media_server: str) -> None:
    sid = "RE" + "b" * 32
    _Media.answers = {f"{sid}.mp3": (302, {"Location": "https://media.example/temp?Expires=1"}, b"")}
    adapter = TwilioRecordingMedia("AC" + "0" * 32, lambda: "token", media_server)
    assert adapter.fetch(sid) == MediaRedirect("https://media.example/temp?Expires=1")
    [(path, authorization)] = _Media.seen
    assert path == f"/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{sid}.mp3"
    assert authorization == "Basic " + __import__("base64").b64encode(f"AC{'0' * 32}:token".encode()).decode()


def test_the_adapter_passes_media_through_and_refuses_what_is_too_large(media_server: str) -> None:
    small, large, missing = "RE" + "c" * 32, "RE" + "d" * 32, "RE" + "e" * 32
    _Media.answers = {
        f"{small}.mp3": (200, {"Content-Type": "audio/x-wav"}, b"RIFF...."),
        f"{large}.mp3": (200, {"Content-Type": "audio/mpeg"}, b"0" * (MAX_PROXIED_BYTES + 1)),
    }
    adapter = TwilioRecordingMedia("AC" + "0" * 32, lambda: "token", media_server)
    assert adapter.fetch(small) == MediaBody(b"RIFF....", "audio/wav")
    assert isinstance(adapter.fetch(large), MediaTooLarge)
    assert isinstance(adapter.fetch(missing), MediaMissing)
    assert isinstance(
        TwilioRecordingMedia("AC" + "0" * 32, lambda: "t", "http://127.0.0.1:9").fetch(small), MediaUnavailable
    )


def test_the_adapter_builds_twilios_url_without_a_local_base() -> None:
    adapter = TwilioRecordingMedia("AC" + "1" * 32, lambda: "token", None)
    assert (
        adapter.media_url(RE_SID) == f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Recordings/{RE_SID}.mp3"
    )
