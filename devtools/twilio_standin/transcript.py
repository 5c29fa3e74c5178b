"""What happened on one call leg, in order, stamped with the leg's virtual time."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

APPLICATION_ERROR_SENTENCE = "We are sorry, an application error has occurred. Goodbye."

# Event kinds a Transcript records (data keys in brackets):
#   webhook            a request the stand-in made [purpose, url, method, status, params]
#   status             the leg's status changed [status]
#   say / play / pause what the party heard [text, voice, language | url | length]
#   gather / record    the TwiML asked for input [input, timeout, action, ...]
#   input              what the party did [digits | speech | silence | hangup | ignored]
#   redirect / enqueue / leave / dequeued / dial / bridge / message / reject / hangup
#   application_error  a failed TwiML webhook or invalid TwiML [url, status, reason, snippet]
#   callback_error     a failed status/action callback whose answer Twilio ignores
EVENT_KINDS = (
    "webhook",
    "status",
    "say",
    "play",
    "pause",
    "gather",
    "input",
    "redirect",
    "enqueue",
    "leave",
    "dequeued",
    "dial",
    "bridge",
    "record",
    "message",
    "reject",
    "hangup",
    "amd",
    "application_error",
    "callback_error",
)


@dataclass(frozen=True)
class TranscriptEvent:
    at: float  # virtual seconds since the leg was created
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "kind": self.kind, "data": self.data}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TranscriptEvent:
        return cls(at=float(raw["at"]), kind=str(raw["kind"]), data=dict(raw.get("data") or {}))

    def describe(self) -> str:
        data = self.data
        kind = self.kind
        if kind == "say":
            return f'hears "{data.get("text", "")}"'
        if kind == "play":
            return f"hears [play {data.get('url', '')}]"
        if kind == "pause":
            return f"silence {data.get('length')} s"
        if kind == "input":
            if "digits" in data:
                return f"presses {data['digits']}"
            if "speech" in data:
                return f'says "{data["speech"]}"'
            return str(data.get("what", "no input"))
        if kind == "webhook":
            return f"{data.get('method')} {data.get('url')} ({data.get('purpose')}) -> {data.get('status')}"
        if kind == "application_error":
            return f"APPLICATION ERROR {data.get('reason')}: {data.get('url')} status {data.get('status')}"
        if kind == "callback_error":
            return f"callback failed {data.get('reason')}: {data.get('url')} status {data.get('status')}"
        details = ", ".join(
            f"{key}={value}" for key, value in data.items() if key != "params" and value not in (None, "")
        )
        return f"{kind} {details}".rstrip()


class Transcript:
    """Ordered events of one call leg; safe to append to from several threads."""

    def __init__(
        self,
        call_sid: str,
        from_: str,
        to: str,
        direction: str,
        *,
        parent_call_sid: str | None = None,
        events: list[TranscriptEvent] | None = None,
        status: str | None = None,
        duration: int | None = None,
        answered_by: str | None = None,
    ) -> None:
        self.call_sid = call_sid
        self.from_ = from_
        self.to = to
        self.direction = direction
        self.parent_call_sid = parent_call_sid
        self.status = status
        self.duration = duration
        self.answered_by = answered_by
        self._events: list[TranscriptEvent] = list(events or [])
        self._lock = threading.Lock()

    def add(self, at: float, kind: str, **data: Any) -> TranscriptEvent:
        event = TranscriptEvent(at=round(at, 3), kind=kind, data=data)
        with self._lock:
            self._events.append(event)
        return event

    @property
    def events(self) -> list[TranscriptEvent]:
        with self._lock:
            return list(self._events)

    def of_kind(self, *kinds: str) -> list[TranscriptEvent]:
        return [event for event in self.events if event.kind in kinds]

    def heard(self) -> list[str]:
        """The texts the party heard, in order: Say texts and ``[play url]``."""
        heard: list[str] = []
        for event in self.of_kind("say", "play"):
            if event.kind == "say":
                heard.append(str(event.data.get("text", "")))
            else:
                heard.append(f"[play {event.data.get('url', '')}]")
        return heard

    @property
    def application_errors(self) -> list[TranscriptEvent]:
        return self.of_kind("application_error")

    @property
    def callback_errors(self) -> list[TranscriptEvent]:
        return self.of_kind("callback_error")

    def webhooks(self, purpose: str | None = None) -> list[TranscriptEvent]:
        return [e for e in self.of_kind("webhook") if purpose is None or e.data.get("purpose") == purpose]

    def pretty(self) -> str:
        """A readable account for the terminal."""
        header = f"Call {self.call_sid} {self.direction} {self.from_} -> {self.to}"
        if self.status:
            header += f": {self.status}"
            if self.duration is not None:
                header += f", {self.duration} s"
        lines = [header]
        for event in self.events:
            lines.append(f"  {event.at:8.1f}s  {event.describe()}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_sid": self.call_sid,
            "from": self.from_,
            "to": self.to,
            "direction": self.direction,
            "parent_call_sid": self.parent_call_sid,
            "status": self.status,
            "duration": self.duration,
            "answered_by": self.answered_by,
            "events": [event.to_dict() for event in self.events],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Transcript:
        return cls(
            call_sid=str(raw["call_sid"]),
            from_=str(raw.get("from", "")),
            to=str(raw.get("to", "")),
            direction=str(raw.get("direction", "")),
            parent_call_sid=raw.get("parent_call_sid"),
            status=raw.get("status"),
            duration=raw.get("duration"),
            answered_by=raw.get("answered_by"),
            events=[TranscriptEvent.from_dict(event) for event in raw.get("events") or []],
        )

    def __repr__(self) -> str:
        return f"<Transcript {self.call_sid} {self.status} {len(self._events)} events>"
