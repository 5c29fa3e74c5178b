"""Executes TwiML on one call leg the way Twilio does, recording every step in the transcript."""

from __future__ import annotations

import logging
import math
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse

from devtools.twilio_standin.bridges import Bridge, BridgeOutcome
from devtools.twilio_standin.errors import (
    ApplicationError,
    CallInterrupted,
    Dequeued,
    HangupVerb,
    HungUpByApi,
    LeaveVerb,
    PartyHungUp,
    RedirectedByApi,
    TimeLimitReached,
)
from devtools.twilio_standin.legs import (
    DTMF_SECONDS,
    PLAY_SECONDS,
    CallLeg,
    Pace,
    RingPlan,
    StatusCallbackConfig,
    say_seconds,
    speech_seconds,
    whole_seconds,
)
from devtools.twilio_standin.parties import HangUp, Press, Silence, Speak
from devtools.twilio_standin.queues import DequeueOffer, QueueMember
from devtools.twilio_standin.transcript import APPLICATION_ERROR_SENTENCE
from devtools.twilio_standin.webhooks import MAX_TWIML_BYTES

if TYPE_CHECKING:
    from devtools.twilio_standin.calls import CallEngine

logger = logging.getLogger(__name__)

# loop="0" means "until something interrupts"; the stand-in stops after this many rounds.
ENDLESS_LOOP_ROUNDS = 1000
DEFAULT_HOLD_MUSIC_URL = "http://com.twilio.sounds.music.s3.amazonaws.com/ClockworkWaltz.mp3"
MIN_HOLD_ROUND_SECONDS = 1.0  # an empty wait document still takes a moment before it is fetched again
SPEECH_AUTO_TIMEOUT_SECONDS = 1.0
DIAL_RECORD_VALUES = frozenset(
    {"true", "record-from-answer", "record-from-ringing", "record-from-answer-dual", "record-from-ringing-dual"}
)

# Verbs allowed in each kind of document (Twilio's rules for wait and whisper TwiML).
CALL_VERBS = frozenset(
    {
        "Say",
        "Play",
        "Pause",
        "Gather",
        "Redirect",
        "Hangup",
        "Reject",
        "Record",
        "Enqueue",
        "Dial",
        "Sms",
        "Message",
        "Leave",
    }
)
CONTEXT_VERBS = {
    "call": CALL_VERBS,
    "wait": frozenset({"Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Leave"}),
    "agent-whisper": CALL_VERBS - {"Enqueue", "Dial", "Leave"},
    "caller-whisper": frozenset({"Say", "Play", "Pause", "Redirect"}),
}
KNOWN_UNSUPPORTED_VERBS = frozenset({"Connect", "Start", "Stop", "Pay", "Prompt", "Refer", "Echo", "Conference"})


@dataclass
class DocRequest:
    """Where the next TwiML document comes from."""

    url: str | None
    method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)
    purpose: str = "voice"
    twiml: str | None = None  # inline TwiML (Calls.create Twiml=...) instead of a URL
    # What Twilio posts once this request was answered (a <Record>'s recording status and
    # transcription callbacks: the file and the text are ready only after the action).
    then: Callable[[], None] | None = None


@dataclass
class Document:
    root: ET.Element
    url: str | None


@dataclass
class QueueExit:
    result: str  # QueueResult: bridged, leave, hangup, redirected, queue-full
    then_raise: BaseException | None = None


@dataclass(frozen=True)
class DialTarget:
    """A Number or Client noun of a Dial, read and checked before anything rings."""

    address: str
    callback: StatusCallbackConfig | None
    whisper_url: str | None
    whisper_method: str


@dataclass
class DialAttempt:
    """One Number or Client of a Dial, rung at the same time as the others."""

    child: CallLeg
    plan: RingPlan
    whisper_url: str | None
    whisper_method: str
    declined: bool = False

    def gives_up_at(self, timeout: float) -> float:
        """When, after the Dial began, this attempt stops ringing."""
        if self.plan.result in ("busy", "failed"):
            return min(self.plan.after_seconds, timeout)
        if self.plan.result == "answer" and self.plan.after_seconds < timeout:
            return self.plan.after_seconds
        return timeout

    def final_status(self) -> str:
        """DialCallStatus of an attempt that was not connected."""
        if self.plan.result in ("busy", "failed"):
            return self.plan.result
        return "no-answer"


@dataclass
class DialResult:
    status: str  # DialCallStatus
    child: CallLeg | None = None
    outcome: BridgeOutcome | None = None


def _text(element: ET.Element) -> str:
    return "".join(element.itertext()).strip()


class TwimlRunner:
    """Runs documents on one leg in one context: the call itself, a queue's wait music, a whisper."""

    def __init__(self, engine: CallEngine, leg: CallLeg, context: str = "call", *, cut_at_start: bool = False) -> None:
        self.engine = engine
        self.leg = leg
        self.context = context
        # A conference's wait, hold or announcement music: Twilio stops it the moment the room
        # changes (the conference starts, the hold ends); the stand-in cannot cut a <Play> short,
        # so it plays at most PLAY_SECONDS of it at a time and looks at the room in between.
        self.cut_at_start = cut_at_start
        self.asked_for_input = False  # whether a wait document had a Gather (the caller was asked)

    # -- documents --------------------------------------------------------------------------
    def follow(self, request: DocRequest | None) -> None:
        """Fetch and run documents until the TwiML runs out of verbs."""
        while request is not None:
            document = self.fetch(request)
            if request.then is not None:
                request.then()
            request = self.execute(document)

    def fetch(self, request: DocRequest) -> Document:
        if request.twiml is not None:
            return Document(self._parse(request.twiml.encode("utf-8"), request.url or "inline TwiML"), request.url)
        assert request.url is not None
        params = self.engine.call_params(self.leg) | request.params
        response = self.engine.send_webhook(self.leg, request.purpose, request.url, request.method, params)
        if response.status is None:
            raise ApplicationError(request.url, f"no answer: {response.error}", None)
        if not response.ok:
            raise ApplicationError(request.url, f"HTTP {response.status}", response.status, response.snippet())
        if len(response.body) > MAX_TWIML_BYTES:
            raise ApplicationError(
                request.url, f"TwiML is {len(response.body)} bytes, over 64 kB", response.status, response.snippet()
            )
        if response.content_type.split(";")[0].strip().lower().startswith("audio/"):
            # Twilio plays an audio answer as if it were <Play>url</Play>.
            root = ET.Element("Response")
            ET.SubElement(root, "Play").text = request.url
            return Document(root, request.url)
        return Document(self._parse(response.body, request.url, response.status), request.url)

    @staticmethod
    def _parse(body: bytes, url: str, status: int | None = None) -> ET.Element:
        snippet = body[:300].decode("utf-8", errors="replace")
        if not body.strip():
            raise ApplicationError(url, "empty document, not TwiML", status, snippet)
        try:
            # TwiML comes from the app under test on this machine, not from strangers.
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise ApplicationError(url, f"not XML: {exc}", status, snippet) from exc
        if root.tag != "Response":
            raise ApplicationError(url, f"root element is <{root.tag}>, not <Response>", status, snippet)
        return root

    def execute(self, document: Document) -> DocRequest | None:
        leg = self.leg
        for element in document.root:
            if self.context == "call" and leg.answered_at is None and element.tag != "Reject":
                self.engine.answer(leg)
            next_request = self._verb(element, document)
            if next_request is not None:
                return next_request
        if self.context == "call" and leg.answered_at is None:
            self.engine.answer(leg)
        return None

    def _verb(self, element: ET.Element, document: Document) -> DocRequest | None:
        tag = element.tag
        allowed = CONTEXT_VERBS[self.context]
        if tag not in allowed:
            if tag in CALL_VERBS or tag in KNOWN_UNSUPPORTED_VERBS:
                reason = f"<{tag}> is not supported in {self.context} TwiML by the stand-in or Twilio"
            else:
                reason = f"unknown TwiML verb <{tag}>"
            # Twilio logs the warning and skips the verb; the transcript flags it so tests notice.
            self.leg.record("application_error", url=document.url, reason=reason, status=None, snippet="")
            logger.warning("call %s: %s in %s", self.leg.sid, reason, document.url)
            return None
        handler = getattr(self, f"_verb_{tag.lower()}")
        result: DocRequest | None = handler(element, document)
        return result

    # -- attribute helpers ------------------------------------------------------------------
    def _invalid(self, document: Document, reason: str) -> ApplicationError:
        return ApplicationError(document.url or "inline TwiML", f"invalid TwiML: {reason}", None)

    def _number(self, element: ET.Element, name: str, default: float, document: Document) -> float:
        raw = element.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise self._invalid(document, f"<{element.tag} {name}={raw!r}> is not a number") from None
        if value < 0 or math.isnan(value):
            raise self._invalid(document, f"<{element.tag} {name}={raw!r}> is negative")
        return value

    def _url(self, raw: str | None, document: Document) -> str | None:
        if raw is None or not raw.strip():
            return None
        url = urljoin(document.url, raw.strip()) if document.url else raw.strip()
        if urlparse(url).scheme not in ("http", "https"):
            raise self._invalid(document, f"URL {raw!r} is not absolute and cannot be resolved")
        return url

    @staticmethod
    def _method(element: ET.Element, name: str = "method") -> str:
        return (element.get(name) or "POST").upper()

    # -- what the caller hears --------------------------------------------------------------
    def _loop(
        self, element: ET.Element, document: Document, heard: dict[str, Any], seconds: float, pace: Pace | None = None
    ) -> None:
        """Say/Play ``loop`` times; ``loop="0"`` repeats until something interrupts.

        An endless loop is recorded once. At speed 0 it plays a single round: without real time
        nothing could interrupt it, and its virtual time would run to the call's TimeLimit
        (unless it is paced by a clock, as hold music is on the local stack).
        """
        loop = int(self._number(element, "loop", 1, document))
        kind = element.tag.lower()
        if loop > 0:
            for _ in range(loop):
                self.leg.record(kind, **heard)
                self.leg.spend(seconds, pace=pace)
            return
        self.leg.record(kind, **heard, loop=0)
        for _ in range(ENDLESS_LOOP_ROUNDS if self.engine.speed > 0 or pace is not None else 1):
            self.leg.spend(seconds, pace=pace)

    def _hold_music_pace(self) -> Pace | None:
        """Wait music at speed 0 plays on the stand-in's clock when it is told to (the local stack)."""
        if self.context == "wait" and self.engine.speed <= 0 and not self.cut_at_start:
            return self.engine.hold_music_pace
        return None

    def _verb_say(self, element: ET.Element, document: Document) -> None:
        text = _text(element)
        heard = {"text": text, "voice": element.get("voice", "man"), "language": element.get("language", "en-US")}
        self._loop(element, document, heard, say_seconds(text))

    def _verb_play(self, element: ET.Element, document: Document) -> None:
        digits = element.get("digits")
        if digits:
            self.leg.record("play", url=f"digits:{digits}")
            self.leg.spend(DTMF_SECONDS * len(digits))
            return
        url = self._url(_text(element), document)
        if url is None:
            raise self._invalid(document, "<Play> without a URL")
        seconds = self.engine.audio.seconds(url, hold_music=self.context == "wait")
        if self.cut_at_start:
            seconds = min(seconds, PLAY_SECONDS)
        self._loop(element, document, {"url": url}, seconds, self._hold_music_pace())

    def _verb_pause(self, element: ET.Element, document: Document) -> None:
        length = self._number(element, "length", 1, document)
        self.leg.record("pause", length=length)
        self.leg.spend(length)

    # -- input ------------------------------------------------------------------------------
    def _verb_gather(self, element: ET.Element, document: Document) -> DocRequest | None:
        leg = self.leg
        inputs = set((element.get("input") or "dtmf").lower().split())
        timeout = self._number(element, "timeout", 5, document)
        num_digits = int(self._number(element, "numDigits", 0, document))
        finish_on_key = element.get("finishOnKey", "#")
        action = self._url(element.get("action"), document) or document.url
        method = self._method(element)
        on_empty = (element.get("actionOnEmptyResult") or "false").lower() == "true"
        speech_timeout_raw = element.get("speechTimeout", "auto")
        speech_timeout = (
            SPEECH_AUTO_TIMEOUT_SECONDS
            if speech_timeout_raw == "auto"
            else self._number(element, "speechTimeout", timeout, document)
        )
        for child in element:
            if child.tag not in ("Say", "Play", "Pause"):
                raise self._invalid(document, f"<{child.tag}> cannot be nested in <Gather>")
        leg.record(
            "gather",
            input=" ".join(sorted(inputs)),
            timeout=timeout,
            num_digits=num_digits or None,
            finish_on_key=finish_on_key,
            action=action,
            hints=element.get("hints"),
            language=element.get("language"),
        )
        self.asked_for_input = True
        for child in element:  # the prompt is heard first
            self._verb(child, document)
        step, implicit = leg.party.next_input()
        params: dict[str, str] = {}
        if isinstance(step, HangUp):
            leg.record("input", what="hangup")
            raise PartyHungUp("the party hung up during <Gather>")
        if isinstance(step, Press) and "dtmf" in inputs:
            digits, key = self._collect_digits(step.digits, num_digits, finish_on_key)
            complete = key is not None or (num_digits > 0 and len(digits) >= num_digits)
            leg.record("input", digits=step.digits)
            leg.spend(DTMF_SECONDS * len(digits) + (0 if complete else timeout))
            if digits:
                params = {"Digits": digits, "msg": "Gather End"}
                if key is not None:
                    params["FinishedOnKey"] = key
        elif isinstance(step, Speak) and "speech" in inputs:
            leg.record("input", speech=step.text, confidence=step.confidence)
            leg.spend(speech_seconds(step.text) + speech_timeout)
            params = {"SpeechResult": step.text, "Confidence": f"{step.confidence:.2f}", "msg": "Gather End"}
        else:
            if isinstance(step, Silence):
                leg.record("input", what="silence")
            else:  # digits to a speech-only Gather, or words to a keypad-only one: nobody listens
                leg.record("input", what="ignored", step=type(step).__name__.lower())
            leg.spend(timeout)
        got_input = bool(params)
        if leg.party.note_gather_result(got_input=got_input, implicit_silence=implicit, on_hold=self.context == "wait"):
            leg.record("input", what="hangup", reason="script ended: two silent Gathers")
            raise PartyHungUp("the party's script ran out")
        if (got_input or on_empty) and action:
            return DocRequest(action, method, params, purpose="gather-action")
        return None

    @staticmethod
    def _collect_digits(pressed: str, num_digits: int, finish_on_key: str) -> tuple[str, str | None]:
        collected = ""
        for key in pressed:
            if finish_on_key and key in finish_on_key:
                return collected, key
            collected += key
            if num_digits and len(collected) >= num_digits:
                break
        return collected, None

    def _verb_record(self, element: ET.Element, document: Document) -> DocRequest | None:
        leg = self.leg
        action = self._url(element.get("action"), document) or document.url
        method = self._method(element)
        timeout = self._number(element, "timeout", 5, document)
        max_length = self._number(element, "maxLength", 3600, document)
        finish_on_key = element.get("finishOnKey", "1234567890*#")
        callback_url = self._url(element.get("recordingStatusCallback"), document)
        leg.record("record", action=action, max_length=max_length, timeout=timeout)
        if (element.get("playBeep") or "true").lower() != "false":
            leg.record("play", url="beep")
        step, _implicit = leg.party.next_input()
        if isinstance(step, HangUp):
            leg.record("input", what="hangup")
            raise PartyHungUp("the party hung up before speaking")
        if not isinstance(step, Speak):
            # Nothing was said: Twilio skips the action and goes on with the next verb.
            leg.record("input", what="silence" if isinstance(step, Silence) else "ignored")
            leg.spend(timeout if isinstance(step, Silence) else DTMF_SECONDS)
            return None
        duration = min(speech_seconds(step.text), max_length)
        leg.record("input", speech=step.text)
        leg.spend(duration)
        digits: str | None = None
        hung_up = False
        follow = leg.party.peek()
        if duration < max_length and isinstance(follow, Press) and follow.digits[0] in finish_on_key:
            leg.party.take_if(Press)
            digits = follow.digits[0]
            leg.record("input", digits=digits)
            leg.spend(DTMF_SECONDS)
        elif duration < max_length and isinstance(follow, HangUp):
            leg.party.take_if(HangUp)
            digits, hung_up = "hangup", True
            leg.record("input", what="hangup")
        elif duration < max_length:
            leg.spend(timeout)  # the silence that ends the recording
        recording = self.engine.make_recording(leg, duration, "RecordVerb", spoken_text=step.text)
        status_callback = (
            StatusCallbackConfig(callback_url, self._method(element, "recordingStatusCallbackMethod"))
            if callback_url
            else None
        )
        # transcribeCallback implies transcribe="true" (Twilio's rule).
        transcribe_url = self._url(element.get("transcribeCallback"), document)
        transcribe = (element.get("transcribe") or "false").lower() == "true" or bool(transcribe_url)

        def when_ready() -> None:
            """The recording's file, then its text: Twilio tells of each once it is ready."""
            if status_callback is not None:
                self.engine.post_recording_status(leg, recording, status_callback)
            if transcribe:
                self.engine.transcribe(leg, recording, transcribe_url)

        params = self.engine.recording_params(recording)
        if digits is not None:
            params["Digits"] = digits
        if hung_up:
            # Twilio still posts the recording to the action; the caller is gone, so the answer is unused.
            if action:
                self.engine.post_callback(leg, "record-action", action, method, self.engine.call_params(leg) | params)
            when_ready()
            raise PartyHungUp("the party hung up after recording")
        if not action:  # inline TwiML without an action: nothing to request, the call goes on
            when_ready()
            return None
        return DocRequest(action, method, params, purpose="record-action", then=when_ready)

    # -- flow -------------------------------------------------------------------------------
    def _verb_redirect(self, element: ET.Element, document: Document) -> DocRequest:
        url = self._url(_text(element), document)
        if url is None:
            raise self._invalid(document, "<Redirect> without a URL")
        self.leg.record("redirect", url=url)
        return DocRequest(url, self._method(element), purpose="redirect")

    def _verb_hangup(self, element: ET.Element, document: Document) -> None:
        raise HangupVerb()

    def _verb_reject(self, element: ET.Element, document: Document) -> None:
        reason = element.get("reason", "rejected")
        self.leg.record("reject", reason=reason)
        raise HangupVerb(reject_reason=reason)

    def _verb_leave(self, element: ET.Element, document: Document) -> None:
        if self.context == "wait":
            raise LeaveVerb()
        self.leg.record("leave", note="not in a queue: nothing to leave")

    # -- messages ---------------------------------------------------------------------------
    def _verb_sms(self, element: ET.Element, document: Document) -> DocRequest | None:
        return self._send_message(element, document)

    def _verb_message(self, element: ET.Element, document: Document) -> DocRequest | None:
        return self._send_message(element, document)

    def _send_message(self, element: ET.Element, document: Document) -> DocRequest | None:
        leg = self.leg
        body_element = element.find("Body")
        body = _text(body_element) if body_element is not None else _text(element)
        party_number = leg.from_ if leg.direction == "inbound" else leg.to
        our_number = leg.to if leg.direction == "inbound" else leg.from_
        to = element.get("to") or party_number
        from_ = element.get("from") or our_number
        callback = self._url(element.get("statusCallback"), document)
        action = self._url(element.get("action"), document)
        if element.tag == "Message" and callback is None:
            callback = action
        message = self.engine.messages.send_from_call(
            leg, from_, to, body, StatusCallbackConfig(callback, self._method(element)) if callback else None
        )
        leg.record("message", sid=message.sid, to=to, from_=from_, body=body, verb=element.tag)
        if element.tag == "Sms" and action:
            return DocRequest(
                action, self._method(element), {"SmsSid": message.sid, "SmsStatus": "sending"}, "sms-action"
            )
        return None

    # -- queues -----------------------------------------------------------------------------
    def _verb_enqueue(self, element: ET.Element, document: Document) -> DocRequest | None:
        leg = self.leg
        engine = self.engine
        name = _text(element)
        if not name or len(name) > 64:
            raise self._invalid(document, "<Enqueue> needs a queue name of 1 to 64 characters")
        action = self._url(element.get("action"), document)
        method = self._method(element)
        wait_url = self._url(element.get("waitUrl"), document)
        wait_method = self._method(element, "waitUrlMethod")
        member = engine.queues.join(name, leg)
        if member is None:
            queue = engine.queues.get(name)
            leg.record("enqueue", queue=name, result="queue-full")
            params = {"QueueResult": "queue-full", "QueueSid": queue.sid if queue else "", "QueueTime": "0"}
            return DocRequest(action, method, params, purpose="enqueue-action") if action else None
        leg.record("enqueue", queue=name, queue_sid=member.queue.sid)
        try:
            exit_ = self._hold(member, wait_url, wait_method)
        except RedirectedByApi:
            self._abandon_queue(member)
            self._post_queue_action(action, method, member, "redirected")
            raise
        except (CallInterrupted, HangupVerb):
            self._abandon_queue(member)
            self._post_queue_action(action, method, member, "hangup")
            raise
        except ApplicationError:
            self._abandon_queue(member)
            raise
        params = self._queue_result_params(member, exit_.result)
        if exit_.then_raise is not None:
            if action and not isinstance(exit_.then_raise, RedirectedByApi):
                self._post_queue_action(action, method, member, exit_.result)
            raise exit_.then_raise
        return DocRequest(action, method, params, purpose="enqueue-action") if action else None

    def _queue_result_params(self, member: QueueMember, result: str) -> dict[str, str]:
        left_at = member.left_at if member.left_at is not None else self.leg.clock.now
        waited = left_at - member.joined_at
        return {"QueueResult": result, "QueueSid": member.queue.sid, "QueueTime": str(int(waited))}

    def _post_queue_action(self, action: str | None, method: str, member: QueueMember, result: str) -> None:
        """The Enqueue action when the caller is already gone: Twilio calls it and ignores the answer."""
        if action:
            params = self.engine.call_params(self.leg) | self._queue_result_params(member, result)
            self.engine.post_callback(self.leg, "enqueue-action", action, method, params)

    def _abandon_queue(self, member: QueueMember) -> None:
        member.left_at = self.leg.clock.now
        if not self.engine.queues.leave(member) and member.offer is not None:
            self.leg.withdraw_dequeue_offer()
            member.offer.bridge.cancel("the caller left the queue")

    def _hold(self, member: QueueMember, wait_url: str | None, wait_method: str) -> QueueExit:
        leg = self.leg
        engine = self.engine
        try:
            while True:
                round_started = leg.clock.now
                asked = False
                if wait_url:
                    position, size = engine.queues.position(member)
                    params = {
                        "QueueSid": member.queue.sid,
                        "QueuePosition": str(position),
                        "QueueTime": str(int(leg.clock.now - member.joined_at)),
                        "AvgQueueTime": str(member.queue.average_wait),
                        "CurrentQueueSize": str(size),
                        "MaxQueueSize": str(member.queue.max_size),
                    }
                    wait_runner = TwimlRunner(engine, leg, context="wait")
                    wait_runner.follow(DocRequest(wait_url, wait_method, params, purpose="wait"))
                    asked = wait_runner.asked_for_input
                else:
                    leg.record("play", url=DEFAULT_HOLD_MUSIC_URL)
                    pace = engine.hold_music_pace if engine.speed <= 0 else None
                    leg.spend(engine.audio.seconds(DEFAULT_HOLD_MUSIC_URL, hold_music=True), pace=pace)
                if not asked and leg.party.take_if(HangUp) is not None:
                    leg.record("input", what="hangup", reason="on hold")
                    raise PartyHungUp("the party hung up on hold")
                spent = leg.clock.now - round_started
                if spent < MIN_HOLD_ROUND_SECONDS:
                    leg.spend(MIN_HOLD_ROUND_SECONDS - spent)
                engine.hold_pause(leg)
        except Dequeued as dequeued:
            return self._connect_dequeued(member, dequeued.offer)
        except LeaveVerb:
            member.left_at = leg.clock.now
            if not engine.queues.leave(member) and member.offer is not None:
                leg.withdraw_dequeue_offer()
                member.offer.bridge.cancel("the caller left the queue")
            leg.record("leave", queue=member.queue.name)
            return QueueExit("leave")

    def _connect_dequeued(self, member: QueueMember, offer: DequeueOffer) -> QueueExit:
        """This caller was taken out of the queue: hear the whisper, then talk until one side ends."""
        leg = self.leg
        engine = self.engine
        bridge = offer.bridge
        waited = leg.clock.now - member.joined_at
        member.left_at = leg.clock.now
        engine.queues.note_served(member, waited)
        leg.record("dequeued", queue=member.queue.name, by_call=offer.dequeuer.sid)
        whisper_started = leg.clock.now
        if offer.whisper_url:
            params = {
                "QueueSid": member.queue.sid,
                "QueueTime": str(int(waited)),
                "DequeingCallSid": offer.dequeuer.sid,  # sic: Twilio's spelling
            }
            try:
                TwimlRunner(engine, leg, context="caller-whisper").follow(
                    DocRequest(offer.whisper_url, offer.whisper_method, params, purpose="queue-whisper")
                )
            except BaseException:
                bridge.cancel("the dequeued caller did not reach the conversation")
                raise
        bridge.mark_ready(leg.clock.now - whisper_started)
        while not bridge.done.wait(0.05):
            if engine.stopping:
                break
        outcome = bridge.outcome
        if outcome is None:  # the stand-in stopped under us
            leg.check_interrupts()
            raise HungUpByApi("stopping")
        leg.clock.jump(outcome.seconds)
        leg.record("bridge", with_call=offer.dequeuer.sid, seconds=outcome.seconds, ended_by=outcome.ended_by.sid)
        then_raise = self._after_conversation(outcome)
        return QueueExit("bridged", then_raise)

    # -- dialing ----------------------------------------------------------------------------
    def _verb_dial(self, element: ET.Element, document: Document) -> DocRequest | None:
        leg = self.leg
        engine = self.engine
        action = self._url(element.get("action"), document)
        method = self._method(element)
        timeout = self._number(element, "timeout", 30, document)
        time_limit = self._number(element, "timeLimit", 0, document) or None
        caller_id = element.get("callerId") or leg.from_
        record = (element.get("record") or "do-not-record").lower() in DIAL_RECORD_VALUES
        nouns = [child for child in element if child.tag in ("Number", "Client", "Queue", "Sip", "Conference")]
        others = [child.tag for child in element if child not in nouns]
        if others:
            raise self._invalid(document, f"<{others[0]}> cannot be nested in <Dial>")
        if not nouns and _text(element):
            number = ET.Element("Number")
            number.text = _text(element)
            nouns = [number]
        if not nouns:
            raise self._invalid(document, "<Dial> with nothing to dial")
        leg.record("dial", targets=[f"{noun.tag}:{_text(noun)}" for noun in nouns], timeout=timeout, action=action)
        queues = [noun for noun in nouns if noun.tag == "Queue"]
        conferences = [noun for noun in nouns if noun.tag == "Conference"]
        unsupported = [noun.tag for noun in nouns if noun.tag == "Sip"]
        if unsupported:
            leg.record(
                "application_error",
                url=document.url,
                reason=f"<Dial><{unsupported[0]}> is not supported by the stand-in",
                status=None,
                snippet="",
            )
            result = DialResult("failed")
        elif conferences:
            return self._dial_conference(conferences[0], document, action, method)
        elif queues:
            result = self._dial_queue(queues[0], document, timeout, time_limit)
        else:
            result = self._dial_parties(nouns, document, timeout, time_limit, caller_id)
        params: dict[str, str] = {"DialCallStatus": result.status, "DialBridged": str(bool(result.outcome)).lower()}
        if result.child is not None:
            params["DialCallSid"] = result.child.sid
        if result.outcome is not None:
            params["DialCallDuration"] = str(whole_seconds(result.outcome.seconds))
            if record:
                recording = engine.make_recording(
                    leg,
                    result.outcome.seconds,
                    "DialVerb",
                    status_callback=self._recording_callback(element, document),
                )
                params |= engine.recording_params(recording)
        leg.record("dial", result=result.status, call=result.child.sid if result.child else None)
        then_raise = self._after_conversation(result.outcome)
        if then_raise is not None:
            if action and not isinstance(then_raise, RedirectedByApi):
                engine.post_callback(leg, "dial-action", action, method, engine.call_params(leg) | params)
            raise then_raise
        return DocRequest(action, method, params, purpose="dial-action") if action else None

    def _dial_conference(
        self, noun: ET.Element, document: Document, action: str | None, method: str
    ) -> DocRequest | None:
        """``<Dial><Conference>`` (devtools.twilio_standin.conference_attend): the action comes
        when this leg leaves the room, with ``DialCallStatus=completed`` and its time in it."""
        from devtools.twilio_standin.conference_attend import attend, settings_of

        exit_ = attend(self, settings_of(self, noun, document))
        params = {"DialCallStatus": "completed", "DialCallDuration": str(whole_seconds(exit_.seconds))}
        self.leg.record("dial", result="completed", conference=_text(noun), seconds=exit_.seconds)
        if exit_.then_raise is not None:
            if action and not isinstance(exit_.then_raise, RedirectedByApi):
                self.engine.post_callback(
                    self.leg, "dial-action", action, method, self.engine.call_params(self.leg) | params
                )
            raise exit_.then_raise
        return DocRequest(action, method, params, purpose="dial-action") if action else None

    def _recording_callback(self, element: ET.Element, document: Document) -> StatusCallbackConfig | None:
        url = self._url(element.get("recordingStatusCallback"), document)
        return StatusCallbackConfig(url, self._method(element, "recordingStatusCallbackMethod")) if url else None

    def _after_conversation(self, outcome: BridgeOutcome | None) -> BaseException | None:
        """What the end of a conversation means for this leg: go on, or stop with this exception."""
        leg = self.leg
        if outcome is None:
            return None
        if outcome.party_hung_up(leg):
            leg.record("input", what="hangup", reason="ended the conversation")
            return PartyHungUp("the party hung up after talking")
        if outcome.ended_by is leg and outcome.reason == "time-limit":
            return TimeLimitReached("TimeLimit reached while talking")
        try:
            leg.check_interrupts()
        except CallInterrupted as exc:
            return exc
        return None

    def _dial_queue(self, noun: ET.Element, document: Document, timeout: float, time_limit: float | None) -> DialResult:
        leg = self.leg
        engine = self.engine
        name = _text(noun)
        whisper_url = self._url(noun.get("url"), document)
        whisper_method = self._method(noun)
        give_up_at = time.monotonic() + engine.real_wait_seconds(timeout)
        exists = True
        while True:
            remaining = max(0.0, give_up_at - time.monotonic())
            offer, exists = engine.queues.take(
                name,
                leg,
                whisper_url,
                whisper_method,
                remaining,
                give_up=lambda: leg.attention.is_set() or engine.stopping,
            )
            if offer is None:
                leg.spend(timeout, sleep=False)  # the real wait already happened
                return DialResult("no-answer" if exists else "failed")
            bridge = offer.bridge
            try:
                while not bridge.ready.wait(0.05):
                    if leg.hangup_requested or leg.redirect_pending or engine.stopping:
                        break
                leg.check_interrupts()
                if bridge.cancelled_reason is not None:
                    continue  # that caller left meanwhile: take the next one
                leg.spend(bridge.whisper_seconds, sleep=False)
            except BaseException:
                bridge.abort("the dialing call ended before the conversation")
                raise
            outcome = self._converse(bridge, time_limit)
            return DialResult("completed", offer.member.leg, outcome)

    def _converse(self, bridge: Bridge, time_limit: float | None) -> BridgeOutcome:
        leg = self.leg
        other = bridge.other
        leg.record("bridge", with_call=other.sid, phase="start")
        outcome = bridge.run(time_limit=time_limit)
        leg.record("bridge", with_call=other.sid, seconds=outcome.seconds, ended_by=outcome.ended_by.sid)
        return outcome

    def _dial_parties(
        self,
        nouns: list[ET.Element],
        document: Document,
        timeout: float,
        time_limit: float | None,
        caller_id: str,
    ) -> DialResult:
        """Ring every Number/Client at once; the first to answer and accept the whisper is connected."""
        leg = self.leg
        engine = self.engine
        targets = [self._dial_target(noun, document) for noun in nouns]  # all valid before any rings
        attempts = [self._start_attempt(target, caller_id, timeout) for target in targets]
        answering = sorted(
            (a for a in attempts if a.plan.result == "answer" and a.plan.after_seconds < timeout),
            key=lambda a: a.plan.after_seconds,
        )
        elapsed = 0.0
        try:
            for attempt in answering:
                if attempt.plan.after_seconds > elapsed:
                    leg.spend(attempt.plan.after_seconds - elapsed)
                    elapsed = attempt.plan.after_seconds
                child = attempt.child
                child.clock.jump(attempt.plan.after_seconds - child.clock.now)
                engine.answer(child)
                whisper_started = child.clock.now
                accepted = self._whisper_to_child(child, attempt.whisper_url, attempt.whisper_method)
                whisper_seconds = child.clock.now - whisper_started
                leg.spend(whisper_seconds, sleep=False)
                elapsed += whisper_seconds
                attempt.declined = not accepted
                if not accepted:
                    if child.is_live:
                        engine.finish(child, "completed", reason="declined the call")
                    continue
                for other in attempts:
                    if other is not attempt and other.child.is_live:
                        engine.finish(other.child, "canceled", reason="another party answered")
                outcome = self._converse(Bridge(leg, child), time_limit)
                child.clock.jump(outcome.seconds)
                child.record("bridge", with_call=leg.sid, seconds=outcome.seconds, ended_by=outcome.ended_by.sid)
                if child.is_live:
                    engine.finish(child, "completed", reason="the conversation ended")
                return DialResult("completed", child, outcome)
            # Nobody was connected: the Dial ends when the last attempt gives up.
            gives_up_at = max(attempt.gives_up_at(timeout) for attempt in attempts)
            if gives_up_at > elapsed:
                leg.spend(gives_up_at - elapsed)
        except BaseException:
            for attempt in attempts:
                if attempt.child.is_live:
                    engine.finish(attempt.child, "canceled", reason="the caller left")
            raise
        statuses = [attempt.final_status() for attempt in attempts]
        for attempt, status in zip(attempts, statuses, strict=True):
            if attempt.child.is_live:
                attempt.child.clock.jump(attempt.gives_up_at(timeout) - attempt.child.clock.now)
                engine.finish(attempt.child, status, reason="not connected")
        single_child = attempts[0].child if len(attempts) == 1 else None
        for status in ("no-answer", "busy"):
            if status in statuses:
                return DialResult(status, single_child)
        return DialResult("failed", single_child)

    def _dial_target(self, noun: ET.Element, document: Document) -> DialTarget:
        if noun.tag == "Client":
            identity_element = noun.find("Identity")
            identity = _text(identity_element) if identity_element is not None else (noun.text or "").strip()
            address = f"client:{identity}"
        else:
            address = _text(noun)
        if not address or address == "client:":
            raise self._invalid(document, f"<{noun.tag}> without an address")
        callback_url = self._url(noun.get("statusCallback"), document)
        callback = None
        if callback_url:
            events = frozenset((noun.get("statusCallbackEvent") or "completed").replace(",", " ").split())
            callback = StatusCallbackConfig(callback_url, self._method(noun, "statusCallbackMethod"), events)
        return DialTarget(address, callback, self._url(noun.get("url"), document), self._method(noun))

    def _start_attempt(self, target: DialTarget, caller_id: str, timeout: float) -> DialAttempt:
        child, plan = self.engine.start_dial_child(self.leg, target.address, caller_id, target.callback, timeout)
        return DialAttempt(child, plan, target.whisper_url, target.whisper_method)

    def _whisper_to_child(self, child: CallLeg, url: str | None, method: str) -> bool:
        """Run the Number/Client url TwiML on the answering party; False when they decline."""
        if url is None:
            return True
        try:
            TwimlRunner(self.engine, child, context="agent-whisper").follow(DocRequest(url, method, purpose="whisper"))
        except ApplicationError as error:
            run_application_error(child, error)
            return False
        except (HangupVerb, CallInterrupted) as exc:
            child.record("hangup", reason=f"whisper ended: {type(exc).__name__}")
            return False
        return True


def run_application_error(leg: CallLeg, error: ApplicationError) -> None:
    """Record the fault and play Twilio's sentence; the caller then gets hung up on."""
    leg.record("application_error", **error.to_event_data())
    logger.warning("call %s: application error: %s", leg.sid, error)
    try:
        leg.record("say", text=APPLICATION_ERROR_SENTENCE, voice="twilio", language="en-US")
        leg.spend(say_seconds(APPLICATION_ERROR_SENTENCE))
    except CallInterrupted:
        pass
