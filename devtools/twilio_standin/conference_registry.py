"""The account's conferences (``conferences`` has the rooms and where the stand-in differs from
Twilio): joining, starting, leaving and ending them, changes through the REST API, and the
conference events posted in order by a background worker."""

from __future__ import annotations

import secrets
import threading
from typing import TYPE_CHECKING, Any

from devtools.twilio_standin.conferences import Conference, ConferenceSettings, Participant
from devtools.twilio_standin.legs import CallLeg, StatusCallbackConfig, rfc2822

if TYPE_CHECKING:
    from devtools.twilio_standin.calls import CallEngine


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
            for waiting in conference.live():  # everyone in the room talks from now, whichever thread sees it first
                if waiting.talk_started is None and not waiting.hold:
                    waiting.talk_started = conference.now
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
