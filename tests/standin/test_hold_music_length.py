"""<Play> lasts the audio's real length (issue 17): WAV files on this machine are read, unread
hold music lasts minutes, a test may set a URL's length, and on a clock (the local stack's) a
REST redirect takes the caller out in the middle of the music, as on Twilio."""

from __future__ import annotations

import threading
import time
import wave
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from twilio.rest import Client

from chalicelib.adapters.twilio_rest import make_http_client
from devtools.simclock import SimClock
from devtools.twilio_standin import CallerScript, TwilioStandIn
from devtools.twilio_standin.audio import UNREAD_HOLD_MUSIC_SECONDS, wav_seconds
from tests.standin.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    SHOP_NUMBER,
    BackgroundCall,
    WebhookApp,
    twiml,
)

FAR_DAY = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


def _wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(1)
        audio.setframerate(rate)
        audio.writeframes(b"\x80" * int(seconds * rate))
    return path


@pytest.fixture
def files(tmp_path: Path) -> Iterator[str]:
    """A folder served over http on this machine, as a shop's own audio files would be."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietFiles, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


def test_a_wav_file_plays_for_its_own_length_loop_times(
    standin: TwilioStandIn, shop: WebhookApp, tmp_path: Path, files: str
) -> None:
    # GIVEN a 7 s recording served on this machine, played twice, then a Say
    _wav(tmp_path / "notice.wav", 7)
    music = f"{files}/notice.wav"
    shop.route("/voice", twiml(f'<Play loop="2">{music}</Play><Say>Bye</Say>'))

    # WHEN a caller calls
    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    # THEN they heard it twice and the call lasted the two plays and the Say
    assert transcript.heard() == [f"[play {music}]", f"[play {music}]", "Bye"]
    assert transcript.duration == 15  # 2 x 7 s + 0.5 s of "Bye", rounded up


def test_not_a_wav_file_has_no_length() -> None:
    assert wav_seconds(b"ID3\x03\x00 an mp3 header") is None


def test_unread_hold_music_lasts_minutes_a_round(standin: TwilioStandIn, shop: WebhookApp) -> None:
    # GIVEN wait music the stand-in cannot read (an mp3, served nowhere)
    shop.route("/voice", twiml('<Enqueue waitUrl="/wait" action="/after-queue">support</Enqueue>'))
    shop.route("/wait", twiml("<Play>/hold.mp3</Play>"))
    shop.route("/after-queue", twiml(""))

    # WHEN a caller waits 400 s and hangs up
    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER, CallerScript(hangup_after_seconds=400))

    # THEN a new wait round began only when the three-minute music ended: at 0, 180 and 360 s
    assert UNREAD_HOLD_MUSIC_SECONDS == 180
    assert [r.params["QueueTime"] for r in shop.to("/wait")] == ["0", "180", "360"]
    assert transcript.duration == 400
    assert shop.to("/after-queue")[0].params["QueueResult"] == "hangup"


def test_a_test_sets_how_long_a_url_plays(standin: TwilioStandIn, shop: WebhookApp) -> None:
    standin.set_audio_seconds(shop.url("/jingle.mp3"), 42)
    shop.route("/voice", twiml("<Play>/jingle.mp3</Play>"))

    transcript = standin.place_inbound_call(CUSTOMER, SHOP_NUMBER)

    assert transcript.duration == 42
    with pytest.raises(ValueError):
        standin.set_audio_seconds(shop.url("/silence.mp3"), 0)


@pytest.fixture
def clock() -> SimClock:
    return SimClock(FAR_DAY, speed=0)  # paused: only the test moves it


@pytest.fixture
def standin_on_clock(clock: SimClock) -> Iterator[TwilioStandIn]:
    stand_in = TwilioStandIn(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, speed=0.0, clock=clock.now, hold_music_on_clock=True
    ).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def held(app: WebhookApp, standin_on_clock: TwilioStandIn) -> WebhookApp:
    """A shop whose queue plays two minutes of music a round."""
    standin_on_clock.register_number(SHOP_NUMBER, voice_url=app.url("/voice"))
    standin_on_clock.set_audio_seconds(app.url("/hold.mp3"), 120)
    app.route("/voice", twiml('<Enqueue waitUrl="/wait" action="/left">support</Enqueue>'))
    app.route("/wait", twiml("<Play>/hold.mp3</Play>"))
    app.route("/left", twiml("<Say>ignored</Say>"))
    app.route("/agent-free", twiml("<Say>Connecting you now</Say>"))
    return app


def _music_started(standin: TwilioStandIn, call_sid: str, rounds: int = 1) -> None:
    deadline = time.monotonic() + 5
    while sum(text.startswith("[play") for text in standin.call(call_sid).transcript.heard()) < rounds:
        assert time.monotonic() < deadline, "the music did not start"
        time.sleep(0.01)


def test_on_the_clock_the_next_wait_round_comes_only_after_the_music(
    standin_on_clock: TwilioStandIn, held: WebhookApp, clock: SimClock
) -> None:
    # GIVEN a caller on hold, one round begun
    caller = BackgroundCall(standin_on_clock, CUSTOMER, SHOP_NUMBER, CallerScript(hangup_after_seconds=200))
    _music_started(standin_on_clock, held.wait_for("/wait")[0].params["CallSid"])

    # WHEN a minute of the clock passes: still the first round
    clock.advance(timedelta(seconds=60))
    assert len(held.wait_for("/wait", count=2, timeout=0.5)) == 1

    # WHEN the music's two minutes are over: the second round
    clock.advance(timedelta(seconds=61))
    rounds = held.wait_for("/wait", count=2)
    assert [r.params["QueueTime"] for r in rounds] == ["0", "120"]  # the music ended at 120 s
    _music_started(standin_on_clock, rounds[0].params["CallSid"], rounds=2)
    clock.advance(timedelta(seconds=100))
    assert caller.transcript().duration == 200


def test_on_the_clock_a_rest_redirect_cuts_the_music_at_once(
    standin_on_clock: TwilioStandIn, held: WebhookApp, clock: SimClock
) -> None:
    # GIVEN a caller 30 s into two minutes of hold music
    caller = BackgroundCall(standin_on_clock, CUSTOMER, SHOP_NUMBER)
    call_sid = held.wait_for("/wait")[0].params["CallSid"]
    _music_started(standin_on_clock, call_sid)
    clock.advance(timedelta(seconds=30))

    # WHEN the app redirects the call through the REST API (the clock does not move)
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=make_http_client(standin_on_clock.base_url))
    client.calls(call_sid).update(url=held.url("/agent-free"), method="POST")
    transcript = caller.transcript()

    # THEN the caller left the queue 30 s in, without another round, and heard the new TwiML
    assert transcript.heard()[-1] == "Connecting you now"
    assert len(held.to("/wait")) == 1
    left = held.to("/left")[0].params
    assert (left["QueueResult"], left["QueueTime"]) == ("redirected", "30")
