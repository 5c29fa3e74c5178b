"""The call engine: numbers, far ends, call legs from start to finish, and Twilio's callbacks."""

from __future__ import annotations

import logging
import math
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devtools.twilio_standin.audio import AudioLengths
from devtools.twilio_standin.conference_registry import ConferenceRegistry
from devtools.twilio_standin.dialing_permissions import default_voice_countries
from devtools.twilio_standin.errors import (
    ApplicationError,
    CallInterrupted,
    HangupVerb,
    HungUpByApi,
    PartyHungUp,
    RedirectedByApi,
    StandInStopping,
    TimeLimitReached,
)
from devtools.twilio_standin.legs import (
    API_VERSION,
    CallLeg,
    Pace,
    RingPlan,
    StatusCallbackConfig,
    rfc2822,
    whole_seconds,
)
from devtools.twilio_standin.messages import MessageCenter
from devtools.twilio_standin.pages import AgentPages
from devtools.twilio_standin.parties import AgentBehaviour, Callee, CallerScript, Party
from devtools.twilio_standin.queues import QueueRegistry
from devtools.twilio_standin.recordings import MAX_TRANSCRIBED_SECONDS, Recording, RecordingStore
from devtools.twilio_standin.transcript import Transcript
from devtools.twilio_standin.twiml_runner import DocRequest, TwimlRunner, run_application_error
from devtools.twilio_standin.webhooks import WebhookClient, WebhookResponse, address_params

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
CLIENT_ADDRESS = re.compile(r"^client:[A-Za-z0-9_.@\-]+$")
HOLD_POLL_REAL_SECONDS = 0.05  # how long a caller on hold waits for real between wait-music rounds
# Answering-machine detection: (AnsweredBy, virtual seconds the detection takes) per mode and answerer.
AMD_RESULTS = {
    ("Enable", "human"): ("human", 2.0),
    ("Enable", "machine"): ("machine_start", 3.0),
    ("DetectMessageEnd", "human"): ("human", 2.0),
    ("DetectMessageEnd", "machine"): ("machine_end_beep", 8.0),
}


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def is_call_address(value: str) -> bool:
    return bool(E164.match(value) or CLIENT_ADDRESS.match(value))


def is_withheld_caller_id(value: str) -> bool:
    """What Twilio gives as ``From`` for a caller who withholds their number: nothing, or a word
    ("anonymous", "Restricted"); the keypad spellings ('+266696687') are E.164-shaped already."""
    return value == "" or value.isalpha()


@dataclass
class NumberConfig:
    """A phone number of the account, as configured in Twilio's console."""

    number: str
    voice_url: str | None = None
    voice_method: str = "POST"
    status_callback_url: str | None = None
    status_callback_method: str = "POST"
    sms_url: str | None = None
    sms_method: str = "POST"
    sid: str = ""
    # The rest of what Twilio's IncomingPhoneNumber resource holds (devtools.twilio_standin.numbers).
    voice_fallback_url: str | None = None
    voice_fallback_method: str = "POST"
    sms_fallback_url: str | None = None
    sms_fallback_method: str = "POST"
    voice_application_sid: str | None = None  # set: Twilio ignores every voice URL above
    sms_application_sid: str | None = None  # set: Twilio ignores every SMS URL above
    trunk_sid: str | None = None  # set: calls go to the SIP trunk, not to voice_url
    friendly_name: str = ""
    created: datetime | None = None
    updated: datetime | None = None

    def __post_init__(self) -> None:
        self.sid = self.sid or new_sid("PN")
        self.friendly_name = self.friendly_name or self.number


@dataclass(frozen=True)
class OutboundCallRequest:
    """A validated ``Calls.create``."""

    to: str
    from_: str
    first_document: DocRequest
    status_callback: StatusCallbackConfig | None
    timeout: float
    machine_detection: str | None
    async_amd: bool
    async_amd_callback: StatusCallbackConfig | None
    time_limit: float
    record: bool
    recording_status_callback: StatusCallbackConfig | None


class UnknownNumberError(LookupError):
    """An inbound call or SMS to a number the stand-in does not have."""


class CallEngine:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        speed: float,
        clock: Callable[[], datetime],
        webhook_timeout: float,
        rendezvous_grace_seconds: float,
    ) -> None:
        self.account_sid = account_sid
        self.speed = speed
        self.clock = clock
        self.rendezvous_grace_seconds = rendezvous_grace_seconds
        self.base_url = ""
        self.webhooks = WebhookClient(auth_token, webhook_timeout)
        self.queues = QueueRegistry()
        self.conferences = ConferenceRegistry(self)
        self.audio = AudioLengths()  # how long each <Play> lasts
        self.hold_music_pace: Pace | None = None  # at speed 0: wait music plays on this clock
        self.recordings = RecordingStore()
        self.messages = MessageCenter(self)
        self.numbers: dict[str, NumberConfig] = {}
        self.voice_countries = default_voice_countries()  # Voice Dialing Permissions (Geo Permissions)
        self.callees: dict[str, Callee] = {}
        self.default_callee = Callee()
        self.agents: dict[str, AgentBehaviour] = {}
        self.pages = AgentPages()  # what browser agents' pages did (``pages``)
        self.stopping = False
        self._legs: dict[str, CallLeg] = {}
        self._lock = threading.Lock()
        self._work = 0
        self._background: dict[str, int] = {}  # spawned work still running, by name
        self._idle = threading.Condition(self._lock)
        self._finishing: set[str] = set()

    # -- bookkeeping ------------------------------------------------------------------------
    def _register(self, leg: CallLeg) -> None:
        with self._lock:
            self._legs[leg.sid] = leg
            self._work += 1

    def work_started(self) -> None:
        with self._lock:
            self._work += 1

    def work_done(self) -> None:
        with self._lock:
            self._work -= 1
            self._idle.notify_all()

    def spawn(self, name: str, target: Callable[[], None]) -> threading.Thread:
        """Run background work that ``wait_idle`` waits for."""
        with self._lock:
            self._background[name] = self._background.get(name, 0) + 1
        self.work_started()

        def run() -> None:
            try:
                target()
            except Exception:
                logger.exception("stand-in background work %s failed", name)
            finally:
                with self._lock:
                    self._background[name] -= 1
                    if not self._background[name]:
                        del self._background[name]
                self.work_done()

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._work == 0, timeout=timeout)

    def busy(self) -> list[str]:
        """What keeps ``wait_idle`` waiting, in words: calls not finished (with the last thing
        that happened on each), conferences still open, background work (texts, conference
        callbacks) still running. Empty when idle."""
        with self._lock:
            unfinished = [leg for leg in self._legs.values() if not leg.ended.is_set()]
            background = dict(self._background)
        lines = []
        for leg in unfinished:
            events = leg.transcript.events
            last = f", last: {events[-1].describe()}" if events else ""
            lines.append(f"call {leg.sid} {leg.direction} {leg.from_} -> {leg.to} {leg.status}{last}")
        for conference in self.conferences.all():
            if conference.status != "completed":
                who = ", ".join(sorted(conference.participants)) or "nobody"
                lines.append(f"conference {conference.friendly_name} {conference.status} with {who}")
        lines += [f"background {name}" + (f" x{count}" if count > 1 else "") for name, count in background.items()]
        return lines

    @property
    def legs(self) -> list[CallLeg]:
        with self._lock:
            return list(self._legs.values())

    def leg(self, sid: str) -> CallLeg | None:
        with self._lock:
            return self._legs.get(sid)

    def stop(self) -> None:
        self.stopping = True
        self.webhooks.enabled = False
        for leg in self.legs:
            if leg.is_live:
                leg.request_hangup("stopping")

    # -- timing -----------------------------------------------------------------------------
    def real_wait_seconds(self, virtual_seconds: float) -> float:
        """Real time to wait for another call to arrive (at speed 0, a short grace period)."""
        if self.speed > 0:
            return virtual_seconds / self.speed
        return self.rendezvous_grace_seconds

    def hold_pause(self, leg: CallLeg) -> None:
        """Between rounds of wait music: let other calls (dequeuers) catch up in real time."""
        leg.attention.wait(HOLD_POLL_REAL_SECONDS)
        leg.check_interrupts()

    # -- what Twilio sends ------------------------------------------------------------------
    def call_params(self, leg: CallLeg) -> dict[str, str]:
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": leg.sid,
            "CallStatus": leg.status if leg.status != "queued" else "ringing",
            "Direction": leg.direction,
            "From": leg.from_,
            "To": leg.to,
            "Caller": leg.from_,
            "Called": leg.to,
            **address_params("From", leg.from_),
            **address_params("To", leg.to),
            **address_params("Caller", leg.from_),
            **address_params("Called", leg.to),
        }
        if leg.parent_call_sid:
            params["ParentCallSid"] = leg.parent_call_sid
        if leg.application_sid:
            params["ApplicationSid"] = leg.application_sid
        if leg.answered_by:
            params["AnsweredBy"] = leg.answered_by
        return params

    def send_webhook(
        self, leg: CallLeg, purpose: str, url: str, method: str, params: dict[str, str]
    ) -> WebhookResponse:
        response = self.webhooks.send(url, method, params)
        leg.record(
            "webhook",
            purpose=purpose,
            method=response.method,
            url=response.url,
            status=response.status,
            error=response.error,
            params=params,
        )
        return response

    def post_callback(self, leg: CallLeg, purpose: str, url: str, method: str, params: dict[str, str]) -> None:
        """A request whose answer Twilio ignores; failures are recorded, the call goes on."""
        response = self.send_webhook(leg, purpose, url, method, params)
        if not response.ok and not self.stopping:
            leg.record(
                "callback_error",
                url=url,
                purpose=purpose,
                status=response.status,
                reason=response.error or f"HTTP {response.status}",
                snippet=response.snippet(),
            )

    def notify_status(self, leg: CallLeg, event: str, extra: dict[str, str] | None = None) -> None:
        """A call-progress event; ``completed`` always goes out, the others only when asked for."""
        config = leg.status_callback
        if config is None or (event != "completed" and event not in config.events):
            return
        status = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}.get(event, leg.status)
        params = self.call_params(leg) | {
            "CallStatus": status,
            "Timestamp": rfc2822(leg.wall_time()),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(leg.next_sequence_number()),
        }
        if event == "completed":
            params["CallDuration"] = str(leg.duration)
            params["Duration"] = str(math.ceil(leg.duration / 60))
        params |= extra or {}
        self.post_callback(leg, f"status-callback:{event}", config.url, config.method, params)

    # -- recordings -------------------------------------------------------------------------
    def make_recording(
        self,
        leg: CallLeg,
        duration: float,
        source: str,
        *,
        spoken_text: str = "",
        status_callback: StatusCallbackConfig | None = None,
    ) -> Recording:
        recording = self.recordings.add(
            Recording(
                account_sid=self.account_sid,
                call_sid=leg.sid,
                duration=whole_seconds(duration),
                source=source,
                created=leg.wall_time(),
                spoken_text=spoken_text,
            )
        )
        leg.recording_sids.append(recording.sid)
        leg.record("record", recording_sid=recording.sid, duration=recording.duration, source=source)
        if status_callback is not None:
            self.post_recording_status(leg, recording, status_callback)
        return recording

    def post_recording_status(self, leg: CallLeg, recording: Recording, callback: StatusCallbackConfig) -> None:
        """The recording status callback: the recording's file is ready."""
        params = {
            "AccountSid": self.account_sid,
            "CallSid": leg.sid,
            "RecordingSid": recording.sid,
            "RecordingUrl": self.recording_url(recording),
            "RecordingStatus": "completed",
            "RecordingDuration": str(recording.duration),
            "RecordingChannels": "1",
            "RecordingSource": recording.source,
            "RecordingStartTime": rfc2822(recording.created),
            "ErrorCode": "0",
        }
        self.post_callback(leg, "recording-status-callback", callback.url, callback.method, params)

    def transcribe(self, leg: CallLeg, recording: Recording, callback_url: str | None) -> None:
        """``<Record transcribe>``: the text of what was said, posted to ``transcribeCallback``
        (with the call's parameters, as Twilio posts it). Twilio transcribes recordings of up to
        two minutes: a longer one's transcription fails, with no text."""
        recording.transcription_sid = "TR" + secrets.token_hex(16)
        failed = recording.duration > MAX_TRANSCRIBED_SECONDS
        recording.transcription_text = "" if failed else recording.spoken_text
        leg.record("transcription", recording_sid=recording.sid, status="failed" if failed else "completed")
        if not callback_url:
            return
        path = f"/{API_VERSION}/Accounts/{self.account_sid}/Transcriptions/{recording.transcription_sid}"
        params = self.call_params(leg) | {
            "TranscriptionSid": recording.transcription_sid,
            "TranscriptionText": recording.transcription_text,
            "TranscriptionStatus": "failed" if failed else "completed",
            "TranscriptionUrl": self.base_url + path,
            "TranscriptionType": "fast",
            "RecordingSid": recording.sid,
            "RecordingUrl": self.recording_url(recording),
        }
        self.post_callback(leg, "transcribe-callback", callback_url, "POST", params)

    def recording_url(self, recording: Recording) -> str:
        return self.base_url + recording.path()

    def recording_params(self, recording: Recording) -> dict[str, str]:
        return {
            "RecordingUrl": self.recording_url(recording),
            "RecordingSid": recording.sid,
            "RecordingDuration": str(recording.duration),
        }

    # -- the far ends -----------------------------------------------------------------------
    def far_end(self, address: str) -> AgentBehaviour | Callee:
        with self._lock:
            agent = self.agents.get(address)
            if agent is not None:
                return agent
            return self.callees.get(address, self.default_callee)

    @staticmethod
    def party_for(far_end: AgentBehaviour | Callee) -> Party:
        if isinstance(far_end, AgentBehaviour):
            return Party.for_agent(far_end)
        return Party.for_callee(far_end)

    @staticmethod
    def ring_plan(far_end: AgentBehaviour | Callee, timeout: float) -> RingPlan:
        if isinstance(far_end, AgentBehaviour):
            if far_end.answers and far_end.ring_seconds < timeout:
                return RingPlan("answer", far_end.ring_seconds)
            return RingPlan("no-answer", timeout)
        if far_end.answer == "failed":
            return RingPlan("failed", 0.0)
        if far_end.answer == "busy":
            return RingPlan("busy", min(far_end.ring_seconds, timeout))
        if far_end.answer == "no-answer" or far_end.ring_seconds >= timeout:
            return RingPlan("no-answer", timeout)
        return RingPlan("answer", far_end.ring_seconds)

    # -- legs -------------------------------------------------------------------------------
    def _new_leg(self, **fields: Any) -> CallLeg:
        leg = CallLeg(
            sid=new_sid("CA"),
            account_sid=self.account_sid,
            speed=self.speed,
            wall_start=self.clock(),
            **fields,
        )
        self._register(leg)
        return leg

    def answer(self, leg: CallLeg) -> None:
        if leg.answered_at is None:
            leg.answer()
            self.notify_status(leg, "answered")

    def finish(self, leg: CallLeg, status: str, *, reason: str) -> None:
        """End a leg: final status, whole-call recording, the ``completed`` status callback."""
        with self._lock:
            if leg.sid in self._finishing:
                return
            self._finishing.add(leg.sid)
        try:
            leg.ended_at = leg.clock.now
            leg.record("hangup", reason=reason)
            leg.set_status(status)
            transcript = leg.transcript
            transcript.status = status
            transcript.duration = leg.duration
            transcript.answered_by = leg.answered_by
            extra: dict[str, str] = {}
            if leg.record_call and leg.answered_at is not None:
                recording = self.make_recording(
                    leg, leg.duration, "OutboundAPI", status_callback=leg.recording_status_callback
                )
                extra = self.recording_params(recording)
            self.notify_status(leg, "completed", extra)
        finally:
            leg.ended.set()
            self.work_done()
        logger.info("call %s %s -> %s ended %s: %s", leg.sid, leg.from_, leg.to, status, reason)

    def drive(self, leg: CallLeg, request: DocRequest) -> None:
        """Follow the app's TwiML on a leg until the call ends, then finish it."""
        runner = TwimlRunner(self, leg)
        status, reason = "completed", "the TwiML ran out of verbs"
        while True:
            try:
                runner.follow(request)
            except RedirectedByApi as redirect:
                leg.record("redirect", url=redirect.url or "inline TwiML", by="api")
                request = DocRequest(redirect.url, redirect.method, purpose="redirect", twiml=redirect.twiml)
                continue
            except HangupVerb as verb:
                if verb.reject_reason and leg.answered_at is None:
                    status = "busy" if verb.reject_reason == "busy" else "no-answer"
                    reason = f"<Reject reason={verb.reject_reason}>"
                else:
                    reason = "<Hangup>"
            except StandInStopping:
                status = "completed" if leg.answered_at is not None else "canceled"
                reason = "the stand-in stopped"
            except HungUpByApi:
                status = "completed" if leg.answered_at is not None else "canceled"
                reason = "ended through the REST API"
            except PartyHungUp:
                reason = "the party hung up"
            except TimeLimitReached:
                reason = "TimeLimit reached"
            except ApplicationError as error:
                if leg.answered_at is None:
                    self.answer(leg)  # Twilio picks up to say the sentence
                run_application_error(leg, error)
                reason = "application error"
            break
        self.finish(leg, status, reason=reason)

    def _guarded(self, leg: CallLeg, body: Callable[[], None]) -> None:
        """Whatever goes wrong inside the stand-in, the leg still ends (so wait_idle returns)."""
        try:
            body()
        except Exception:
            logger.exception("stand-in failure on call %s", leg.sid)
            leg.record("application_error", url=None, reason="stand-in internal error", status=None, snippet="")
            if not leg.ended.is_set():
                self.finish(leg, "failed", reason="stand-in internal error")

    # -- inbound ----------------------------------------------------------------------------
    def place_inbound_call(self, from_: str, to: str, script: CallerScript) -> Transcript:
        if not (is_call_address(from_) or is_withheld_caller_id(from_)):
            raise ValueError(f"from_ must be E.164, client:identity or a withheld caller ID, got {from_!r}")
        with self._lock:
            number = self.numbers.get(to)
        if number is None or not number.voice_url:
            raise UnknownNumberError(f"{to} is not a registered number with a voice_url")
        if number.voice_application_sid or number.trunk_sid:
            # Twilio would hand the call to the TwiML App or SIP trunk and never request voice_url.
            raise UnknownNumberError(f"{to} sends its calls to an application or trunk, not to its voice_url")
        callback = (
            StatusCallbackConfig(number.status_callback_url, number.status_callback_method)
            if number.status_callback_url
            else None
        )
        leg = self._new_leg(
            direction="inbound",
            from_=from_,
            to=to,
            party=Party("caller", script),
            status="ringing",
            status_callback=callback,
            phone_number_sid=number.sid,
        )
        leg.record("status", status="ringing")
        voice_url = number.voice_url
        self._guarded(leg, lambda: self.drive(leg, DocRequest(voice_url, number.voice_method, purpose="voice")))
        return leg.transcript

    def place_client_call(
        self, identity: str, to: str, application_sid: str, voice_url: str, script: CallerScript
    ) -> Transcript:
        """A browser's Voice SDK places a call (``device.connect({params: {To}})``): Twilio asks
        the TwiML App's Voice URL (POST) what to do, the call ``inbound`` from
        ``client:<identity>`` to the ``To`` the page passed, with the app's ``ApplicationSid``;
        the page's side is ``script``. Blocks until the call ends."""
        leg = self._new_leg(
            direction="inbound",
            from_=f"client:{identity}",
            to=to,
            party=Party("caller", script),
            status="ringing",
            application_sid=application_sid,
        )
        leg.record("status", status="ringing")
        self._guarded(leg, lambda: self.drive(leg, DocRequest(voice_url, "POST", purpose="voice")))
        return leg.transcript

    # -- outbound (REST) --------------------------------------------------------------------
    def start_outbound_call(self, request: OutboundCallRequest) -> tuple[CallLeg, dict[str, Any]]:
        """Create the call and run it in the background; returns it as it was when created."""
        far_end = self.far_end(request.to)
        leg = self._new_leg(
            direction="outbound-api",
            from_=request.from_,
            to=request.to,
            party=self.party_for(far_end),
            status="queued",
            status_callback=request.status_callback,
            time_limit=request.time_limit,
            record_call=request.record,
            recording_status_callback=request.recording_status_callback,
        )
        leg.record("status", status="queued")
        created = leg.to_json()  # before the call's thread can move it on
        thread = threading.Thread(
            target=self._guarded,
            args=(leg, lambda: self._run_outbound(leg, far_end, request)),
            name=f"standin-call-{leg.sid[:10]}",
            daemon=True,
        )
        thread.start()
        return leg, created

    def _run_outbound(self, leg: CallLeg, far_end: AgentBehaviour | Callee, request: OutboundCallRequest) -> None:
        first = request.first_document
        plan = self.ring_plan(far_end, request.timeout)
        self.notify_status(leg, "initiated")
        if plan.result == "failed":
            self.finish(leg, "failed", reason="the number could not be reached")
            return
        if plan.result != "busy":
            leg.set_status("ringing")
            self.notify_status(leg, "ringing")
        remaining = plan.after_seconds
        while True:
            started = leg.clock.now
            try:
                if isinstance(far_end, AgentBehaviour) and far_end.on_page:
                    plan = self._ring_page(leg)
                    remaining = 0.0
                leg.spend(remaining)
                break
            except RedirectedByApi as redirect:  # applies once the call is answered
                first = DocRequest(redirect.url, redirect.method, purpose="voice", twiml=redirect.twiml)
                remaining -= leg.clock.now - started
            except HungUpByApi:
                self.finish(leg, "canceled", reason="canceled through the REST API")
                return
            except CallInterrupted:
                self.finish(leg, "canceled", reason="ended while ringing")
                return
        if plan.result in ("busy", "no-answer"):
            self.finish(leg, plan.result, reason=f"the far end: {plan.result}")
            return
        self.answer(leg)
        if request.machine_detection:
            answerer = "machine" if isinstance(far_end, Callee) and far_end.answer == "machine" else "human"
            answered_by, seconds = AMD_RESULTS[(request.machine_detection, answerer)]
            amd_params = {"AnsweredBy": answered_by, "MachineDetectionDuration": str(int(seconds * 1000))}
            if request.async_amd:
                self._send_async_amd(leg, request.async_amd_callback, amd_params, seconds)
            else:
                try:
                    leg.spend(seconds)
                except CallInterrupted:
                    self.finish(leg, "completed", reason="ended during answering-machine detection")
                    return
                leg.answered_by = answered_by  # from now on every request carries AnsweredBy
                leg.record("amd", answered_by=answered_by, seconds=seconds)
                first = DocRequest(
                    first.url,
                    first.method,
                    {**first.params, "MachineDetectionDuration": amd_params["MachineDetectionDuration"]},
                    first.purpose,
                    first.twiml,
                )
        self.drive(leg, first)

    def _ring_page(self, leg: CallLeg) -> RingPlan:
        """A browser agent's leg rings until its page acts (``pages``)."""
        action = self.pages.wait(leg)
        if action is None or action.rang_out:
            return RingPlan("no-answer", 0.0)
        if not action.accepted:
            return RingPlan("busy", 0.0)
        leg.party.pressed_on_page(action.digits)
        return RingPlan("answer", 0.0)

    def _send_async_amd(
        self, leg: CallLeg, callback: StatusCallbackConfig | None, amd_params: dict[str, str], seconds: float
    ) -> None:
        """Async AMD: the TwiML runs at once; the verdict comes when the call's clock reaches it."""

        def deliver() -> None:
            leg.answered_by = amd_params["AnsweredBy"]
            leg.record("amd", answered_by=leg.answered_by, seconds=seconds, mode="async")
            if callback is not None:
                params = {"AccountSid": self.account_sid, "CallSid": leg.sid} | amd_params
                self.post_callback(leg, "amd-callback", callback.url, callback.method, params)

        leg.schedule(leg.clock.now + seconds, deliver)

    def update_call(self, leg: CallLeg, *, status: str | None, url: str | None, method: str, twiml: str | None) -> None:
        """``calls(sid).update(...)``: hang up, cancel, or redirect a live call to new TwiML."""
        if url is not None or twiml is not None:
            leg.request_redirect(url, method, twiml)
        if status == "completed" or (status == "canceled" and leg.answered_at is None):
            leg.request_hangup(status)

    # -- dialing from TwiML -----------------------------------------------------------------
    def start_dial_child(
        self,
        parent: CallLeg,
        address: str,
        caller_id: str,
        callback: StatusCallbackConfig | None,
        timeout: float,
    ) -> tuple[CallLeg, RingPlan]:
        """Create the child leg of a ``<Dial>`` and start it ringing."""
        far_end = self.far_end(address)
        child = self._new_leg(
            direction="outbound-dial",
            from_=caller_id,
            to=address,
            party=self.party_for(far_end),
            parent_call_sid=parent.sid,
            status="queued",
            status_callback=callback,
        )
        plan = self.ring_plan(far_end, timeout)
        self.notify_status(child, "initiated")
        if plan.result in ("answer", "no-answer"):
            child.set_status("ringing")
            self.notify_status(child, "ringing")
        return child, plan
