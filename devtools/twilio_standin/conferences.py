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

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from devtools.twilio_standin.legs import API_VERSION, CallLeg, StatusCallbackConfig, rfc2822

if TYPE_CHECKING:
    pass

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
