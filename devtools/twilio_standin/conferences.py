"""Twilio conferences: rooms named by the app, their participants, and the conference events.

A ``Conference`` is created by the first ``<Dial><Conference>`` (or ``Participants.create``)
naming it and lives until it ends; its participants are the legs in it now. It starts once two
participants are in and one of them has ``startConferenceOnEnter`` (until then everyone hears
the ``waitUrl`` music); it ends when a participant with ``endConferenceOnExit`` leaves, when
the last one leaves, or when the REST API completes it. Conference time is a timeline of its
own: a leg joins at the conference's latest known instant (its clock is mapped by an offset),
and when a participant leaves at conference time T the others catch up to T.

Events (``statusCallbackEvent``: start end join leave mute hold modify announcement) are
posted in order, one at a time, by a background worker, with ``ConferenceSid``,
``FriendlyName``, ``StatusCallbackEvent`` (``conference-start``, ``participant-join``...),
``SequenceNumber``, ``Timestamp`` and, for a participant's events, ``CallSid``, ``Muted``,
``Hold``, ``Coaching``, ``EndConferenceOnExit``, ``StartConferenceOnEnter``,
``ParticipantLabel``; ``participant-leave`` adds ``ReasonParticipantLeft`` and
``ParticipantCallStatus``; ``conference-end`` adds ``ReasonConferenceEnded`` and
``CallSidEndingConference``.

Where it differs from Twilio: the conference's status callback is the first one any
participant names (Twilio takes the one of the participant that creates the conference);
``beep`` is recorded as a ``play`` of ``beep`` in the transcripts, not mixed audio; ``muted``
and coaching change only the flags and events (nobody's speech is modelled); an
announcement to the whole conference is not supported (to one participant it is); speaker
events are never sent; ``maxParticipants``, ``trim``, regions and jitter buffers are ignored.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from devtools.twilio_standin.legs import API_VERSION, CallLeg, StatusCallbackConfig, rfc2822

if TYPE_CHECKING:
    from devtools.twilio_standin.calls import CallEngine

CONFERENCE_EVENTS = frozenset({"start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"})
BEEP_VALUES = frozenset({"true", "false", "onenter", "onexit"})


@dataclass(frozen=True)
class ConferenceSettings:
    """The attributes of a ``<Conference>`` noun (or a ``Participants.create``)."""

    name: str
    start_on_enter: bool = True
    end_on_exit: bool = False
    muted: bool = False
    beep: str = "true"
    wait_url: str | None = None
    wait_method: str = "POST"
    wait_url_given: bool = False  # waitUrl="" means silence, absent means Twilio's default music
    label: str | None = None
    coaching: bool = False
    call_sid_to_coach: str | None = None
    callback: StatusCallbackConfig | None = None
    record: bool = False
    recording_callback: StatusCallbackConfig | None = None


@dataclass(eq=False)
class Participant:
    leg: CallLeg
    conference: Conference
    settings: ConferenceSettings
    created: datetime
    status: str = "connected"  # queued, connecting, ringing, connected, complete, failed
    muted: bool = False
    hold: bool = False
    hold_url: str | None = None
    hold_method: str = "GET"
    hold_heard: bool = False  # this hold's music was played
    end_on_exit: bool = False
    coaching: bool = False
    call_sid_to_coach: str | None = None
    offset: float = 0.0  # conference time = leg time + offset
    joined_at: float | None = None  # conference time
    talk_started: float | None = None  # conference time
    left_at: float | None = None
    removed: bool = False
    announcements: deque[tuple[str, str]] = field(default_factory=deque)

    @property
    def call_sid(self) -> str:
        return self.leg.sid

    @property
    def label(self) -> str | None:
        return self.settings.label

    def conference_now(self) -> float:
        return self.leg.clock.now + self.offset

    def to_json(self) -> dict[str, Any]:
        conference = self.conference
        return {
            "account_sid": conference.account_sid,
            "call_sid": self.call_sid,
            "call_sid_to_coach": self.call_sid_to_coach,
            "coaching": self.coaching,
            "conference_sid": conference.sid,
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(conference.updated),
            "end_conference_on_exit": self.end_on_exit,
            "hold": self.hold,
            "label": self.label,
            "muted": self.muted,
            "queue_time": "0",
            "start_conference_on_enter": self.settings.start_on_enter,
            "status": self.status,
            "uri": f"{conference.uri()[: -len('.json')]}/Participants/{self.call_sid}.json",
        }


@dataclass(eq=False)
class Conference:
    sid: str
    account_sid: str
    friendly_name: str
    created: datetime
    status: str = "init"  # init, in-progress, completed
    updated: datetime = field(init=False)
    reason_ended: str | None = None
    call_sid_ending: str | None = None
    callback: StatusCallbackConfig | None = None
    participants: dict[str, Participant] = field(default_factory=dict)  # by call sid, the live ones
    now: float = 0.0  # conference time, virtual seconds
    recording: tuple[float, StatusCallbackConfig | None, CallLeg] | None = None  # since, callback, first leg

    def __post_init__(self) -> None:
        self.updated = self.created
        self.lock = threading.RLock()
        self._events: deque[tuple[CallLeg, dict[str, str]]] = deque()
        self._posting = False
        self._sequence = 0

    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Conferences/{self.sid}.json"

    def to_json(self) -> dict[str, Any]:
        base = self.uri()[: -len(".json")]
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "call_sid_ending_conference": self.call_sid_ending,
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(self.updated),
            "friendly_name": self.friendly_name,
            "reason_conference_ended": self.reason_ended,
            "region": "us1",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "participants": f"{base}/Participants.json",
                "recordings": f"{base}/Recordings.json",
            },
            "uri": self.uri(),
        }

    def participant(self, call_sid_or_label: str) -> Participant | None:
        with self.lock:
            found = self.participants.get(call_sid_or_label)
            if found is not None:
                return found
            for participant in self.participants.values():
                if participant.label == call_sid_or_label:
                    return participant
            return None

    def live(self) -> list[Participant]:
        with self.lock:
            return list(self.participants.values())

    def poke(self) -> None:
        """Wake every participant's leg: something changed in the room."""
        for participant in self.live():
            participant.leg.attention.set()

    def advance(self, participant: Participant) -> None:
        with self.lock:
            self.now = max(self.now, participant.conference_now())

    def earliest_end(self, ends: Callable[[Participant], float | None]) -> float | None:
        """The soonest conference instant at which a participant present leaves by itself."""
        found = [end for participant in self.live() if (end := ends(participant)) is not None]
        return min(found) if found else None


class ConferenceRegistry:
    """Every conference of the account (ended ones stay listed, as on Twilio)."""

    def __init__(self, engine: CallEngine) -> None:
        self.engine = engine
        self._by_sid: dict[str, Conference] = {}
        self._lock = threading.RLock()

    def all(self) -> list[Conference]:
        with self._lock:
            return list(self._by_sid.values())

    def get(self, sid: str) -> Conference | None:
        with self._lock:
            return self._by_sid.get(sid)

    def live_named(self, name: str) -> Conference | None:
        with self._lock:
            for conference in self._by_sid.values():
                if conference.friendly_name == name and conference.status != "completed":
                    return conference
            return None

    def open(self, name: str) -> Conference:
        """The live conference of that name, or a new one (status init)."""
        with self._lock:
            conference = self.live_named(name)
            if conference is None:
                conference = Conference(
                    "CF" + secrets.token_hex(16), self.engine.account_sid, name, self.engine.clock()
                )
                self._by_sid[conference.sid] = conference
            return conference

    # -- membership -----------------------------------------------------------------------
    def join(self, leg: CallLeg, settings: ConferenceSettings) -> Participant:
        conference = self.open(settings.name)
        with conference.lock:
            participant = Participant(
                leg,
                conference,
                settings,
                self.engine.clock(),
                muted=settings.muted,
                end_on_exit=settings.end_on_exit,
                coaching=settings.coaching,
                call_sid_to_coach=settings.call_sid_to_coach,
            )
            participant.offset = conference.now - leg.clock.now
            participant.joined_at = conference.now
            conference.participants[leg.sid] = participant
            if conference.callback is None and settings.callback is not None:
                conference.callback = settings.callback
            conference.updated = self.engine.clock()
            starts = (
                conference.status == "init"
                and len(conference.participants) >= 2
                and any(p.settings.start_on_enter for p in conference.participants.values())
            )
        leg.record("conference", event="join", conference=conference.friendly_name, conference_sid=conference.sid)
        if settings.beep in ("true", "onenter"):
            for other in conference.live():
                if other is not participant:
                    other.leg.record("play", url="beep")
        self.event(conference, "join", participant)
        if starts:
            self.start(conference, participant)
        conference.poke()
        return participant

    def start(self, conference: Conference, by: Participant) -> None:
        with conference.lock:
            if conference.status != "init":
                return
            conference.status = "in-progress"
            conference.updated = self.engine.clock()
            record = next((p.settings for p in conference.live() if p.settings.record), None)
            if record is not None:
                conference.recording = (conference.now, record.recording_callback, by.leg)
        self.event(conference, "start", by)

    def leave(self, participant: Participant, reason: str, *, kicked: bool = False) -> None:
        """The participant is out (hung up, removed, redirected, or the conference ended)."""
        conference = participant.conference
        with conference.lock:
            if conference.participants.get(participant.call_sid) is not participant:
                return
            conference.advance(participant)
            participant.left_at = conference.now
            participant.status = "complete"
            del conference.participants[participant.call_sid]
            conference.updated = self.engine.clock()
            remaining = list(conference.participants.values())
        participant.leg.record("conference", event="leave", conference=conference.friendly_name, reason=reason)
        if participant.settings.beep in ("true", "onexit"):
            for other in remaining:
                other.leg.record("play", url="beep")
        call_status = participant.leg.status if participant.leg.status != "queued" else "in-progress"
        if reason == "participant_hung_up":
            call_status = "completed"
        self.event(
            conference, "leave", participant, {"ReasonParticipantLeft": reason, "ParticipantCallStatus": call_status}
        )
        if conference.status == "completed":
            return
        if participant.end_on_exit and conference.status == "in-progress":
            why = f"participant-with-end-conference-on-exit-{'kicked' if kicked else 'left'}"
            self.end(conference, why, participant.call_sid, participant.leg)
        elif not remaining:
            self.end(
                conference, f"last-participant-{'kicked' if kicked else 'left'}", participant.call_sid, participant.leg
            )
        else:
            conference.poke()

    def end(self, conference: Conference, reason: str, ending_call_sid: str | None, leg: CallLeg | None) -> None:
        with conference.lock:
            if conference.status == "completed":
                return
            conference.status = "completed"
            conference.reason_ended = reason
            conference.call_sid_ending = ending_call_sid
            conference.updated = self.engine.clock()
            recording = conference.recording
            if leg is None and conference.participants:  # ended through the API: told on a leg in it
                leg = next(iter(conference.participants.values())).leg
        if recording is not None:
            since, callback, first_leg = recording
            made = self.engine.make_recording(first_leg, max(0.0, conference.now - since), "Conference")
            made.conference_sid = conference.sid  # type: ignore[attr-defined]
            if callback is not None:
                params = {
                    "AccountSid": self.engine.account_sid,
                    "ConferenceSid": conference.sid,
                    "RecordingSid": made.sid,
                    "RecordingUrl": self.engine.recording_url(made),
                    "RecordingStatus": "completed",
                    "RecordingDuration": str(made.duration),
                    "RecordingChannels": "1",
                    "RecordingSource": "Conference",
                    "RecordingStartTime": rfc2822(made.created),
                    "ErrorCode": "0",
                }
                self._queue(conference, first_leg, params, callback, "conference-recording-status-callback")
        extra = {"ReasonConferenceEnded": reason}
        if ending_call_sid:
            extra["CallSidEndingConference"] = ending_call_sid
        self.event(conference, "end", None, extra, leg=leg)
        conference.poke()

    # -- changes through the REST API -----------------------------------------------------
    def update(self, participant: Participant, changes: dict[str, Any]) -> None:
        conference = participant.conference
        events: list[str] = []
        with conference.lock:
            if "muted" in changes and changes["muted"] != participant.muted:
                participant.muted = changes["muted"]
                events.append("mute")
            if "hold_url" in changes:
                participant.hold_url = changes["hold_url"]
                participant.hold_method = changes.get("hold_method", "GET")
            if "hold" in changes and changes["hold"] != participant.hold:
                participant.hold = changes["hold"]
                participant.hold_heard = False
                events.append("hold")
            if "end_on_exit" in changes:
                participant.end_on_exit = changes["end_on_exit"]
            if "coaching" in changes or "call_sid_to_coach" in changes:
                participant.coaching = changes.get("coaching", participant.coaching)
                participant.call_sid_to_coach = changes.get("call_sid_to_coach", participant.call_sid_to_coach)
                events.append("modify")
            if "announce" in changes:
                participant.announcements.append(changes["announce"])
            conference.updated = self.engine.clock()
        for change in events:
            participant.leg.record("conference", event=change, **{k: str(v) for k, v in changes.items()})
            self.event(conference, change, participant)
        participant.leg.attention.set()

    def remove(self, participant: Participant) -> None:
        """``participants(sid).delete()``: out of the room; the leg goes on after its Dial."""
        participant.removed = True
        participant.leg.attention.set()

    # -- events ---------------------------------------------------------------------------
    def event(
        self,
        conference: Conference,
        kind: str,
        participant: Participant | None,
        extra: dict[str, str] | None = None,
        *,
        leg: CallLeg | None = None,
    ) -> None:
        callback = conference.callback
        if callback is None or kind not in callback.events:
            return
        name = {
            "start": "conference-start",
            "end": "conference-end",
            "join": "participant-join",
            "leave": "participant-leave",
            "modify": "participant-modify",
            "announcement": "announcement-end",
        }.get(kind)
        if kind == "mute" and participant is not None:
            name = "participant-mute" if participant.muted else "participant-unmute"
        if kind == "hold" and participant is not None:
            name = "participant-hold" if participant.hold else "participant-unhold"
        if name is None:
            return
        with conference.lock:
            sequence = conference._sequence
            conference._sequence += 1
        params = {
            "AccountSid": self.engine.account_sid,
            "ConferenceSid": conference.sid,
            "FriendlyName": conference.friendly_name,
            "StatusCallbackEvent": name,
            "SequenceNumber": str(sequence),
            "Timestamp": rfc2822(self.engine.clock()),
        }
        if participant is not None:
            params |= {
                "CallSid": participant.call_sid,
                "Muted": str(participant.muted).lower(),
                "Hold": str(participant.hold).lower(),
                "Coaching": str(participant.coaching).lower(),
                "EndConferenceOnExit": str(participant.end_on_exit).lower(),
                "StartConferenceOnEnter": str(participant.settings.start_on_enter).lower(),
            }
            if participant.label:
                params["ParticipantLabel"] = participant.label
        params |= extra or {}
        owner = leg or (participant.leg if participant is not None else None)
        if owner is None:
            return
        self._queue(conference, owner, params, callback, f"conference-status-callback:{name}")

    def _queue(
        self, conference: Conference, leg: CallLeg, params: dict[str, str], callback: StatusCallbackConfig, purpose: str
    ) -> None:
        """Events go out in order, one at a time, off the legs' threads (a REST request may cause one)."""
        with conference.lock:
            conference._events.append(
                (leg, params | {"_purpose": purpose, "_url": callback.url, "_method": callback.method})
            )
            if conference._posting:
                return
            conference._posting = True
        self.engine.spawn(f"standin-conference-{conference.sid[:10]}", lambda: self._drain(conference))

    def _drain(self, conference: Conference) -> None:
        while True:
            with conference.lock:
                if not conference._events:
                    conference._posting = False
                    return
                leg, params = conference._events.popleft()
            purpose, url, method = params.pop("_purpose"), params.pop("_url"), params.pop("_method")
            self.engine.post_callback(leg, purpose, url, method, params)
