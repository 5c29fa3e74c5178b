"""Scripted parties: the people and machines on the far end of each call leg.

A ``CallerScript`` is a list of steps consumed in order, one each time the TwiML asks the
party for input: a ``<Gather>``, a ``<Record>``, and (for ``HangUp`` only) each round of a
queue's wait music. When the steps run out the party stays silent, and once two Gathers in
a row have timed out on that silence it hangs up, so every scripted call ends.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

ANSWER_KINDS = ("human", "machine", "busy", "no-answer", "failed")
DTMF_KEYS = set("0123456789*#")

# After the script runs out, a party hangs up once this many Gathers in a row timed out.
SILENT_GATHERS_BEFORE_HANGUP = 2
# How long a voicemail machine listens before it hangs up, unless its script says otherwise.
MACHINE_HANGUP_AFTER_SECONDS = 60.0


@dataclass(frozen=True)
class Press:
    """DTMF keys; several digits allowed, with or without the Gather's finishOnKey."""

    digits: str

    def __post_init__(self) -> None:
        if not self.digits or not set(self.digits) <= DTMF_KEYS:
            raise ValueError(f"Press needs DTMF keys 0-9, * or #, got {self.digits!r}")


@dataclass(frozen=True)
class Speak:
    """Speech, heard only by a Gather whose input includes speech (and by Record)."""

    text: str
    confidence: float = 0.92


@dataclass(frozen=True)
class Silence:
    """No input: the Gather times out."""


@dataclass(frozen=True)
class HangUp:
    """The party hangs up at this point."""


Step = Press | Speak | Silence | HangUp


def step_to_dict(step: Step) -> dict[str, Any]:
    if isinstance(step, Press):
        return {"press": step.digits}
    if isinstance(step, Speak):
        return {"speak": step.text, "confidence": step.confidence}
    if isinstance(step, Silence):
        return {"silence": True}
    return {"hangup": True}


def step_from_dict(data: dict[str, Any]) -> Step:
    if "press" in data:
        return Press(str(data["press"]))
    if "speak" in data:
        return Speak(str(data["speak"]), float(data.get("confidence", 0.92)))
    if data.get("silence"):
        return Silence()
    if data.get("hangup"):
        return HangUp()
    raise ValueError(f"unknown step {data!r}: use press, speak, silence or hangup")


def parse_step(text: str) -> Step:
    """A step from the terminal: ``1``, ``press:12#``, ``speak:yes please``, ``silence``, ``hangup``."""
    kind, _, value = text.partition(":")
    kind = kind.strip().lower()
    if kind == "press":
        return Press(value.strip())
    if kind == "speak":
        return Speak(value.strip())
    if kind == "silence" and not value:
        return Silence()
    if kind == "hangup" and not value:
        return HangUp()
    if not value:
        return Press(text.strip())
    raise ValueError(f"unknown step {text!r}: use press:KEYS, speak:TEXT, silence or hangup")


@dataclass
class CallerScript:
    """What a party does, in order; ``hangup_after_seconds`` counts virtual time since answer."""

    steps: list[Step] = field(default_factory=list)
    hangup_after_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [step_to_dict(step) for step in self.steps],
            "hangup_after_seconds": self.hangup_after_seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallerScript:
        hangup_after = data.get("hangup_after_seconds")
        return cls(
            steps=[step_from_dict(step) for step in data.get("steps") or []],
            hangup_after_seconds=None if hangup_after is None else float(hangup_after),
        )


@dataclass
class Callee:
    """How a number the app dials behaves: who answers, after how long, and what they do."""

    answer: str = "human"
    ring_seconds: float = 3.0
    script: CallerScript = field(default_factory=CallerScript)
    # How long the callee talks once bridged to another party by <Dial> or in a conference;
    # None: stays until something else ends the call (the room's end, the REST API).
    talk_seconds: float | None = 30.0

    def __post_init__(self) -> None:
        if self.answer not in ANSWER_KINDS:
            raise ValueError(f"Callee answer must be one of {ANSWER_KINDS}, got {self.answer!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "ring_seconds": self.ring_seconds,
            "talk_seconds": self.talk_seconds,
            **self.script.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Callee:
        return cls(
            answer=str(data.get("answer", "human")),
            ring_seconds=float(data.get("ring_seconds", 3.0)),
            talk_seconds=None if data.get("talk_seconds", 30.0) is None else float(data.get("talk_seconds", 30.0)),
            script=CallerScript.from_dict(data),
        )


@dataclass
class AgentBehaviour:
    """An agent's phone or softphone: answers (or not), accepts the whisper, talks, hangs up."""

    answers: bool = True
    accept_digits: str | None = "1"
    talk_seconds: float | None = 60.0  # None: stays in a conference until something ends it
    ring_seconds: float = 2.0
    # Input for Gathers on the agent's leg after the conversation (keypad outcomes).
    after_call: CallerScript = field(default_factory=CallerScript)
    # A browser agent whose page decides, as on Twilio: a leg the app places through the REST
    # API rings until the page's Accept or Reject is relayed (``TwilioStandIn.page_accepts``,
    # ``page_rejects``), and the whisper's Gather gets the key the agent pressed there, not
    # ``accept_digits``. ``answers``, ``ring_seconds`` and ``accept_digits`` are then unused.
    on_page: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "answers": self.answers,
            "accept_digits": self.accept_digits,
            "talk_seconds": self.talk_seconds,
            "ring_seconds": self.ring_seconds,
            "after_call": self.after_call.to_dict(),
            "on_page": self.on_page,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentBehaviour:
        accept = data.get("accept_digits", "1")
        return cls(
            answers=bool(data.get("answers", True)),
            accept_digits=None if accept in (None, "") else str(accept),
            talk_seconds=None if data.get("talk_seconds", 60.0) is None else float(data.get("talk_seconds", 60.0)),
            ring_seconds=float(data.get("ring_seconds", 2.0)),
            after_call=CallerScript.from_dict(data.get("after_call") or {}),
            on_page=bool(data.get("on_page", False)),
        )


class Party:
    """The live state of one party on one call leg: which step comes next, how patient it is."""

    def __init__(
        self,
        role: str,
        script: CallerScript | None = None,
        *,
        talk_seconds: float | None = None,
        accept_digits: str | None = None,
        after_call: CallerScript | None = None,
    ) -> None:
        self.role = role  # caller, callee, machine or agent
        script = script or CallerScript()
        self._steps: deque[Step] = deque(script.steps)
        self.hangup_after_seconds = script.hangup_after_seconds
        if role == "machine" and self.hangup_after_seconds is None:
            self.hangup_after_seconds = MACHINE_HANGUP_AFTER_SECONDS
        self.talk_seconds = talk_seconds
        self._accept_digits = accept_digits
        self._after_call = after_call
        self._bridged = False
        self._silent_gathers = 0
        self._lock = threading.Lock()

    @classmethod
    def for_agent(cls, behaviour: AgentBehaviour) -> Party:
        return cls(
            "agent",
            CallerScript(hangup_after_seconds=None),
            talk_seconds=behaviour.talk_seconds,
            accept_digits=None if behaviour.on_page else behaviour.accept_digits,  # the page's keys, later
            after_call=behaviour.after_call,
        )

    def pressed_on_page(self, digits: str | None) -> None:
        """The keys a browser agent pressed on the page once it accepted (the whisper's answer)."""
        with self._lock:
            self._accept_digits = digits

    @classmethod
    def for_callee(cls, callee: Callee) -> Party:
        role = "machine" if callee.answer == "machine" else "callee"
        return cls(role, callee.script, talk_seconds=callee.talk_seconds)

    def mark_bridged(self) -> None:
        """After its first conversation an agent answers Gathers from its after-call script."""
        with self._lock:
            if self.role == "agent" and not self._bridged and self._after_call is not None:
                self._steps = deque(self._after_call.steps)
                if self._after_call.hangup_after_seconds is not None:
                    self.hangup_after_seconds = self._after_call.hangup_after_seconds
            self._bridged = True

    def next_input(self) -> tuple[Step, bool]:
        """The party's answer to a request for input, and whether it is the silence of a spent script."""
        with self._lock:
            if self.role == "machine":
                return Silence(), True
            if self.role == "agent" and not self._bridged:
                if self._accept_digits:
                    return Press(self._accept_digits), False
                return Silence(), True
            if self._steps:
                return self._steps.popleft(), False
            return Silence(), True

    def peek(self) -> Step | None:
        with self._lock:
            if self.role == "machine" or (self.role == "agent" and not self._bridged):
                return None
            return self._steps[0] if self._steps else None

    def take_if(self, kind: type) -> Step | None:
        """Consume the next step only when it is of ``kind`` (e.g. a HangUp while on hold)."""
        with self._lock:
            if self._steps and isinstance(self._steps[0], kind) and self.peek_allowed():
                return self._steps.popleft()
            return None

    def peek_allowed(self) -> bool:
        return self.role != "machine" and not (self.role == "agent" and not self._bridged)

    def note_gather_result(self, *, got_input: bool, implicit_silence: bool, on_hold: bool) -> bool:
        """Count silent Gathers after the script ran out; True when the party now hangs up."""
        with self._lock:
            if got_input or not implicit_silence:
                self._silent_gathers = 0
                return False
            if on_hold:  # callers on hold wait patiently through the queue's menus
                return False
            self._silent_gathers += 1
            return self._silent_gathers >= SILENT_GATHERS_BEFORE_HANGUP
