"""``GET /v1/recordings/{call_sid}`` on moto through the Chalice test client (I9): only a link
signed with the deployment's secret and not yet expired opens a recording; what Twilio
answers (a short-lived redirect, or the media) is passed on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamo.schema import CallItem
from chalicelib.clock import FixedClock
from chalicelib.services.recordings import MediaBody, MediaMissing, MediaRedirect, recording_link
from chalicelib.web import recordings as route
from tests.integration.conftest import LINK_SECRET, PUBLIC_BASE

pytestmark = pytest.mark.integration

NOW = datetime(2015, 11, 23, 10, 0, tzinfo=UTC)
RE_SID = "RE" + "f" * 32


class FakeMedia:
    def __init__(self) -> None:
        self.answer: object = MediaRedirect("https://media.twiliocdn.example/temp?Expires=14400&Signature=x")
        self.asked: list[str] = []

    def fetch(self, recording_sid: str) -> object:
        self.asked.append(recording_sid)
        return self.answer


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> FakeMedia:
    fake = FakeMedia()
    monkeypatch.setattr(route, "recording_media", lambda: fake)
    return fake


def recorded_call(call_sid: str = "CArec1", **fields: Any) -> None:
    CallItem(
        call_sid=call_sid,
        shop_id="demo",
        direction="inbound",
        customer_phone="+380501112233",
        shop_number="+380441234567",
        created_at=NOW,
        shop_day="demo#2015-11-23",
        **fields,
    ).save()


def path_of(call_sid: str = "CArec1", *, secret: bytes = LINK_SECRET.encode(), days: int = 7) -> str:
    link = recording_link(call_sid, base_url=PUBLIC_BASE, secret=secret, now=NOW, lifetime=timedelta(days=days))
    assert link.startswith(PUBLIC_BASE + "/v1/recordings/")
    parts = urlsplit(link)
    return parts.path.removeprefix(urlsplit(PUBLIC_BASE).path) + "?" + parts.query


def test_a_good_link_redirects_to_twilios_short_lived_url(client: Client, clock: FixedClock, media: FakeMedia) -> None:
    # GIVEN a recorded call; WHEN its link is followed
    recorded_call(
        recording_sid=RE_SID, recording_url=f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{RE_SID}"
    )
    response = client.http.get(path_of())
    # THEN a redirect to what Twilio answered, never cached or referred
    assert response.status_code == 302
    assert response.headers["Location"] == "https://media.twiliocdn.example/temp?Expires=14400&Signature=x"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert media.asked == [RE_SID]


def test_media_twilio_serves_itself_is_passed_through(client: Client, clock: FixedClock, media: FakeMedia) -> None:
    recorded_call(recording_sid=RE_SID)
    media.answer = MediaBody(b"RIFF-audio", "audio/wav")
    response = client.http.get(path_of(), headers={"Accept": "*/*"})
    assert response.status_code == 200
    assert response.body == b"RIFF-audio"
    assert response.headers["Content-Type"] == "audio/wav"
    assert response.headers["Content-Disposition"] == 'inline; filename="recording-CArec1.wav"'


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p.replace("CArec1", "CArec2"),  # another call with the same signature
        lambda p: p.replace("expires=", "expires=9"),  # a later expiry
        lambda p: p.replace("signature=", "signature=f")[:-1],  # a changed signature
        lambda p: p.split("&")[0],  # no signature
        lambda p: p.split("?")[0],  # nothing
    ],
    ids=["other call", "later expiry", "changed signature", "no signature", "no query"],
)
def test_a_tampered_link_is_403_and_looks_nothing_up(
    client: Client, clock: FixedClock, media: FakeMedia, tamper: object
) -> None:
    recorded_call(recording_sid=RE_SID)
    recorded_call("CArec2", recording_sid=RE_SID)
    response = client.http.get(tamper(path_of()))  # type: ignore[operator]
    assert response.status_code == 403
    assert response.json_body["error"] == "forbidden"
    assert media.asked == []


def test_a_link_signed_with_another_secret_is_403(client: Client, clock: FixedClock, media: FakeMedia) -> None:
    recorded_call(recording_sid=RE_SID)
    response = client.http.get(path_of(secret=b"someone-elses-recording-link-key-000"))
    assert response.status_code == 403 and media.asked == []


def test_an_expired_link_is_403(client: Client, clock: FixedClock, media: FakeMedia) -> None:
    recorded_call(recording_sid=RE_SID)
    path = path_of(days=7)
    clock.advance(days=7)
    response = client.http.get(path)
    assert response.status_code == 403
    assert response.json_body["error"] == "link_expired"
    assert media.asked == []


def test_a_good_link_to_an_unknown_or_unrecorded_call_is_404(
    client: Client, clock: FixedClock, media: FakeMedia
) -> None:
    recorded_call("CAplain")
    for call_sid in ("CAnobody", "CAplain"):
        response = client.http.get(path_of(call_sid))
        assert response.status_code == 404, call_sid
        assert response.json_body["error"] == "not_found"
    assert media.asked == []


def test_a_recording_twilio_no_longer_has_is_404(client: Client, clock: FixedClock, media: FakeMedia) -> None:
    recorded_call(recording_sid=RE_SID)
    media.answer = MediaMissing()
    assert client.http.get(path_of()).status_code == 404
