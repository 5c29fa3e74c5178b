"""One leg's time in a conference (``<Dial><Conference>``), run in the leg's own thread.

Until the conference starts the leg hears its ``waitUrl`` rounds (a ``HangUp`` step of the
party's script ends the wait after a round, as on a queue's hold); on hold it hears the
``holdUrl`` once per hold (Twilio loops it) and then waits; an announcement is played when it
comes; otherwise it talks. A party with a bound (an agent's or callee's ``talk_seconds``, a
caller's ``hangup_after_seconds``, TimeLimit) leaves when it is reached; one without stays until
the conference ends, it is removed, or its call is redirected or hung up through the API.

At speed 0 the legs still meet in real time: a leg polls every 50 ms for changes, and of the
parties with a bound only the one whose bound comes first in conference time leaves (so who
hangs up first does not depend on the threads' luck); a wait without a bound takes no virtual
time at speed 0.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devtools.twilio_standin.conferences import BEEP_VALUES, CONFERENCE_EVENTS, ConferenceSettings, Participant
from devtools.twilio_standin.errors import CallInterrupted, PartyHungUp, TimeLimitReached
from devtools.twilio_standin.legs import PLAY_SECONDS, CallLeg, StatusCallbackConfig
from devtools.twilio_standin.parties import HangUp

if TYPE_CHECKING:
    from devtools.twilio_standin.twiml_runner import Document, TwimlRunner

POLL_REAL_SECONDS = 0.05
DEFAULT_WAIT_MUSIC_URL = "http://twimlets.com/holdmusic?Bucket=com.twilio.music.classical"
MIN_WAIT_ROUND_SECONDS = 1.0


@dataclass
class ConferenceExit:
    seconds: float  # conference time the leg spent in the room
    then_raise: BaseException | None = None


def settings_of(runner: TwimlRunner, noun: ET.Element, document: Document) -> ConferenceSettings:
    """Read and check a ``<Conference>`` noun's attributes."""
    name = "".join(noun.itertext()).strip()
    if not name:
        raise runner._invalid(document, "<Conference> without a name")

    def flag(attribute: str, default: bool) -> bool:
        raw = (noun.get(attribute) or str(default)).strip().lower()
        if raw not in ("true", "false"):
            raise runner._invalid(document, f"<Conference {attribute}={raw!r}> is not true or false")
        return raw == "true"

    beep = (noun.get("beep") or "true").strip().lower()
    if beep not in BEEP_VALUES:
        raise runner._invalid(document, f"<Conference beep={beep!r}> is not true, false, onEnter or onExit")
    callback_url = runner._url(noun.get("statusCallback"), document)
    callback = None
    if callback_url:
        events = frozenset((noun.get("statusCallbackEvent") or "").replace(",", " ").split())
        if events - CONFERENCE_EVENTS:
            raise runner._invalid(
                document, f"<Conference statusCallbackEvent> unknown: {sorted(events - CONFERENCE_EVENTS)}"
            )
        # Without statusCallbackEvent Twilio sends none but conference-end... the stand-in follows the list.
        callback = StatusCallbackConfig(callback_url, runner._method(noun, "statusCallbackMethod"), events)
    record = (noun.get("record") or "do-not-record").lower() == "record-from-start"
    recording_url = runner._url(noun.get("recordingStatusCallback"), document)
    return ConferenceSettings(
        name=name,
        start_on_enter=flag("startConferenceOnEnter", True),
        end_on_exit=flag("endConferenceOnExit", False),
        muted=flag("muted", False),
        beep=beep,
        wait_url=runner._url(noun.get("waitUrl"), document),
        wait_method=runner._method(noun, "waitMethod"),
        wait_url_given=noun.get("waitUrl") is not None,
        label=noun.get("participantLabel") or None,
        coaching=flag("coach", False) if noun.get("coach") is not None else False,
        call_sid_to_coach=noun.get("callSidToCoach") or None,
        callback=callback,
        record=record,
        recording_callback=StatusCallbackConfig(recording_url, runner._method(noun, "recordingStatusCallbackMethod"))
        if recording_url
        else None,
    )


def attend(runner: TwimlRunner, settings: ConferenceSettings) -> ConferenceExit:
    """Join, stay until something takes the leg out, leave; the Dial goes on after."""
    engine = runner.engine
    leg = runner.leg
    registry = engine.conferences
    participant = registry.join(leg, settings)
    conference = participant.conference
    talking = False
    try:
        while True:
            catch_up(participant)
            leg.check_interrupts()
            if conference.status == "completed":
                if not talking and participant.talk_started is not None:  # the whole talk passed while it waited
                    _talking(leg, conference.friendly_name)
                leg.record("conference", event="ended", conference=conference.friendly_name)
                return ConferenceExit(_spent(participant))
            if participant.removed:
                registry.leave(participant, "participant_updated_via_api", kicked=True)
                return ConferenceExit(_spent(participant))
            if participant.announcements:
                url, method = participant.announcements.popleft()
                _play(runner, url, method, "announce", participant)
                registry.event(conference, "announcement", participant)
                continue
            if participant.hold:
                if not participant.hold_heard:
                    participant.hold_heard = True
                    _play(runner, participant.hold_url, participant.hold_method, "hold", participant)
                    continue
                _stay(runner, participant)
                continue
            if conference.status == "init":
                _wait_round(runner, participant)
                continue
            if not talking:
                if participant.talk_started is None:
                    participant.talk_started = conference.now
                _talking(leg, conference.friendly_name)
                talking = True
            _stay(runner, participant)
    except PartyHungUp as exc:
        registry.leave(participant, "participant_hung_up")
        return ConferenceExit(_spent(participant), exc)
    except TimeLimitReached as exc:
        registry.leave(participant, "participant_hung_up")
        return ConferenceExit(_spent(participant), exc)
    except CallInterrupted as exc:
        registry.leave(participant, "participant_updated_via_api")
        return ConferenceExit(_spent(participant), exc)
    except BaseException:
        registry.leave(participant, "participant_hung_up")
        raise


def _talking(leg: CallLeg, room: str) -> None:
    leg.party.mark_bridged()
    leg.record("conference", event="talking", conference=room)


def _spent(participant: Participant) -> float:
    joined = participant.joined_at or 0.0
    left = participant.left_at if participant.left_at is not None else participant.conference_now()
    return max(0.0, left - joined)


def catch_up(participant: Participant) -> None:
    """Time that passed in the room (another leg's talk) passes on this leg too."""
    behind = participant.conference.now - participant.conference_now()
    if behind > 1e-9:
        participant.leg.clock.jump(behind)


def own_end(participant: Participant) -> float | None:
    """The conference instant this party leaves by itself, if it ever does."""
    ends: list[float] = []
    leg = participant.leg
    if participant.talk_started is not None and not participant.hold and leg.party.talk_seconds is not None:
        ends.append(participant.talk_started + leg.party.talk_seconds)
    deadline = leg.deadline()
    if deadline is not None and deadline[1] is PartyHungUp:  # not TimeLimit: hours away, never first
        ends.append(deadline[0] + participant.offset)
    return min(ends) if ends else None


def _stay(runner: TwimlRunner, participant: Participant) -> None:
    """Talk (or wait on hold) until this party's own end or a change in the room."""
    leg = runner.leg
    conference = participant.conference
    end = own_end(participant)
    if runner.engine.speed <= 0:
        earliest = conference.earliest_end(own_end)
        if end is not None and earliest is not None and end <= earliest + 1e-9:
            leg.spend(max(0.0, end - participant.conference_now()))  # raises at the deadline
            conference.advance(participant)
            raise PartyHungUp("the party hung up in the conference")
        leg.attention.wait(POLL_REAL_SECONDS)
        return
    chunk = POLL_REAL_SECONDS * runner.engine.speed
    if end is not None:
        chunk = min(chunk, max(0.0, end - participant.conference_now()))
    leg.spend(chunk)
    conference.advance(participant)
    if end is not None and participant.conference_now() >= end - 1e-9:
        raise PartyHungUp("the party hung up in the conference")


def _play(runner: TwimlRunner, url: str | None, method: str, purpose: str, participant: Participant) -> None:
    """Hold music or an announcement: a TwiML document of Play/Say/Pause/Redirect, or audio."""
    from devtools.twilio_standin.twiml_runner import DocRequest, TwimlRunner

    leg = runner.leg
    if url is None:
        leg.record("play", url=DEFAULT_WAIT_MUSIC_URL)
        leg.spend(PLAY_SECONDS)
        return
    params = {"ConferenceSid": participant.conference.sid, "FriendlyName": participant.conference.friendly_name}
    TwimlRunner(runner.engine, leg, context="wait", cut_at_start=True).follow(
        DocRequest(url, method, params, purpose=f"conference-{purpose}")
    )


def _wait_round(runner: TwimlRunner, participant: Participant) -> None:
    """One round of the music before the conference starts."""
    from devtools.twilio_standin.twiml_runner import DocRequest, TwimlRunner

    leg = runner.leg
    settings = participant.settings
    started = leg.clock.now
    asked = False
    if settings.wait_url:
        params = {"ConferenceSid": participant.conference.sid, "FriendlyName": participant.conference.friendly_name}
        waiter = TwimlRunner(runner.engine, leg, context="wait", cut_at_start=True)
        waiter.follow(DocRequest(settings.wait_url, settings.wait_method, params, purpose="conference-wait"))
        asked = waiter.asked_for_input
    elif not settings.wait_url_given:
        leg.record("play", url=DEFAULT_WAIT_MUSIC_URL)
        leg.spend(PLAY_SECONDS)
    if not asked and leg.party.take_if(HangUp) is not None:
        leg.record("input", what="hangup", reason="waiting for the conference")
        raise PartyHungUp("the party hung up waiting for the conference")
    spent = leg.clock.now - started
    if spent < MIN_WAIT_ROUND_SECONDS:
        leg.spend(MIN_WAIT_ROUND_SECONDS - spent)
    participant.conference.advance(participant)
    runner.engine.hold_pause(leg)
