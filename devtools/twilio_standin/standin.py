"""``TwilioStandIn``: the object tests and the local stack hold."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from devtools.twilio_standin.calls import CallEngine, NumberConfig
from devtools.twilio_standin.legs import CallLeg
from devtools.twilio_standin.messages import MessageRecord
from devtools.twilio_standin.pages import PageAction
from devtools.twilio_standin.parties import AgentBehaviour, Callee, CallerScript
from devtools.twilio_standin.recordings import Recording
from devtools.twilio_standin.server import StandInHTTPServer
from devtools.twilio_standin.transcript import Transcript
from devtools.twilio_standin.webhooks import WEBHOOK_TIMEOUT_SECONDS

logger = logging.getLogger(__name__)

SERVER_POLL_SECONDS = 0.02  # how quickly stop() returns
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TwilioStandIn:
    """Twilio's side of the wire on one machine: REST API, webhooks, scripted people.

    ``speed`` is how many virtual seconds pass per real second; 0 means no sleeping at all.
    ``hold_music_on_clock`` (speed 0): wait music lasts its length on ``clock`` (the local stack's
    simulated clock, which tests move) instead of passing at once, so a caller on hold meets an
    agent at the end of the music unless the app takes them out of the queue through the API.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 0.0,
        *,
        clock: Callable[[], datetime] | None = None,
        webhook_timeout: float = WEBHOOK_TIMEOUT_SECONDS,
        strict_caller_id: bool = True,
        rendezvous_grace_seconds: float = 2.0,
        hold_music_on_clock: bool = False,
    ) -> None:
        if not ACCOUNT_SID.match(account_sid):
            raise ValueError("account_sid must be 'AC' followed by 32 hex digits")
        if speed < 0:
            raise ValueError("speed must be 0 (no sleeping) or positive")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.port = port
        self.speed = speed
        # Twilio refuses a From that is not one of the account's numbers (21210/21606).
        self.strict_caller_id = strict_caller_id
        self.engine = CallEngine(
            account_sid,
            auth_token,
            speed=speed,
            clock=clock or _utc_now,
            webhook_timeout=webhook_timeout,
            rendezvous_grace_seconds=rendezvous_grace_seconds,
        )
        if hold_music_on_clock:
            self.engine.hold_music_pace = self.engine.clock
        self._server: StandInHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.outage_status: int | None = None  # while set, every REST request fails with it

    def set_outage(self, status: int | None) -> None:
        """A Twilio outage for tests: every REST request answers ``status`` (503...) until
        ``set_outage(None)``; webhooks and the control API go on."""
        if status is not None and not 400 <= status <= 599:
            raise ValueError("an outage answers a 4xx or 5xx status")
        self.outage_status = status

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> TwilioStandIn:
        if self._server is not None:
            return self
        self._server = StandInHTTPServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self.engine.base_url = self.base_url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SERVER_POLL_SECONDS},
            name="standin-http",
            daemon=True,
        )
        self._thread.start()
        logger.info("Twilio stand-in listening at %s (speed %s)", self.base_url, self.speed)
        return self

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        """End every live call (without calling the app any more) and close the server."""
        self.engine.stop()
        self.engine.wait_idle(timeout)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> TwilioStandIn:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- configuration ----------------------------------------------------------------------
    def register_number(
        self,
        number: str,
        voice_url: str | None = None,
        status_callback_url: str | None = None,
        sms_url: str | None = None,
        *,
        voice_method: str = "POST",
        status_callback_method: str = "POST",
        sms_method: str = "POST",
    ) -> NumberConfig:
        """A phone number of the account, configured like Twilio's console does."""
        config = NumberConfig(
            number=number,
            voice_url=voice_url,
            voice_method=voice_method.upper(),
            status_callback_url=status_callback_url,
            status_callback_method=status_callback_method.upper(),
            sms_url=sms_url,
            sms_method=sms_method.upper(),
            created=self.engine.clock(),
        )
        self.engine.numbers[number] = config
        return config

    def set_callee(self, number: str, callee: Callee) -> None:
        """How a number the app dials behaves."""
        self.engine.callees[number] = callee

    def set_default_callee(self, callee: Callee) -> None:
        """How every number without its own Callee behaves (a silent human by default)."""
        self.engine.default_callee = callee

    def set_audio_seconds(self, url: str, seconds: float) -> None:
        """How long ``url`` plays (instead of reading the file, or the default for one unread)."""
        self.engine.audio.set(url, seconds)

    def register_agent(self, address: str, behaviour: AgentBehaviour | None = None) -> None:
        """An agent's phone number or ``client:identity``."""
        self.engine.agents[address] = behaviour or AgentBehaviour()

    def page_accepts(self, call_sid: str, digits: str | None = "1") -> None:
        """A browser agent's page (``AgentBehaviour(on_page=True)``) accepted the call ringing it,
        and the agent pressed ``digits`` at the whisper (``pages``)."""
        self.engine.pages.relay(call_sid, PageAction(accepted=True, digits=digits))

    def page_rejects(self, call_sid: str) -> None:
        """A browser agent's page rejected the call ringing it: the leg ends ``busy``."""
        self.engine.pages.relay(call_sid, PageAction(accepted=False))

    def page_rings_out(self, call_sid: str) -> None:
        """The ring time of the call ringing a browser agent's page ran out before the page
        acted: the leg ends ``no-answer``, when the test says (the page's SDK is told first)."""
        self.engine.pages.relay(call_sid, PageAction(accepted=False, rang_out=True))

    # -- people calling and texting ---------------------------------------------------------
    def place_inbound_call(self, from_: str, to: str, script: CallerScript | None = None) -> Transcript:
        """Call one of the registered numbers; blocks until the call ends."""
        return self.engine.place_inbound_call(from_, to, script or CallerScript())

    def place_client_call(
        self, identity: str, to: str, voice_url: str, script: CallerScript | None = None, *, application_sid: str = ""
    ) -> Transcript:
        """An agent's page calls ``to`` through the TwiML App whose Voice URL is ``voice_url``
        (what the Voice SDK's ``device.connect`` makes Twilio do); blocks until the call ends."""
        return self.engine.place_client_call(identity, to, application_sid, voice_url, script or CallerScript())

    def receive_inbound_sms(self, from_: str, to: str, body: str) -> MessageRecord:
        """Text a registered number; the returned inbound message lists the replies."""
        return self.engine.messages.receive(from_, to, body)

    def send_inbound_sms(self, from_: str, to: str, body: str) -> list[MessageRecord]:
        """Text a registered number; returns the replies its MessagingResponse sent."""
        return list(self.receive_inbound_sms(from_, to, body).replies)

    # -- records ----------------------------------------------------------------------------
    @property
    def calls(self) -> list[CallLeg]:
        return self.engine.legs

    def call(self, sid: str) -> CallLeg:
        leg = self.engine.leg(sid)
        if leg is None:
            raise KeyError(sid)
        return leg

    def call_record(self, sid: str) -> dict[str, Any] | None:
        """A call's REST JSON with its transcript (what the control API serves)."""
        leg = self.engine.leg(sid)
        if leg is None:
            return None
        return leg.to_json() | {"transcript": leg.transcript.to_dict()}

    @property
    def messages(self) -> list[MessageRecord]:
        return self.engine.messages.all()

    def message(self, sid: str) -> MessageRecord:
        message = self.engine.messages.get(sid)
        if message is None:
            raise KeyError(sid)
        return message

    @property
    def recordings(self) -> list[Recording]:
        return self.engine.recordings.all()

    def application_errors(self) -> list[dict[str, Any]]:
        """Every failed TwiML webhook so far, across calls and inbound messages."""
        errors: list[dict[str, Any]] = []
        for leg in self.calls:
            for event in leg.transcript.application_errors:
                errors.append({"call_sid": leg.sid, "at": event.at, **event.data})
        for message in self.messages:
            for error in message.application_errors:
                errors.append({"message_sid": message.sid, **error})
        return errors

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no call is in progress and no callback is pending; False on timeout."""
        return self.engine.wait_idle(timeout)

    def busy(self) -> list[str]:
        """What keeps ``wait_idle`` waiting (calls, conferences, background work); empty when idle."""
        return self.engine.busy()
