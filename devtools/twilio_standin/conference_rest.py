"""Twilio's REST API for Conferences and their Participants, without HTTP (routes in ``server``).

- ``GET Conferences.json`` (``FriendlyName``, ``Status`` filters, newest first), ``GET/POST
  Conferences/{CF}.json`` (``Status=completed`` ends it; ``AnnounceUrl`` to a whole conference is
  refused by the stand-in).
- ``POST Conferences/{CF or friendly name}/Participants.json`` dials ``To`` from ``From`` and, once
  answered, puts the call in the conference (created when the name is new), with ``Label``,
  ``StatusCallback``/``StatusCallbackEvent`` (the call's progress), ``ConferenceStatusCallback``/
  ``ConferenceStatusCallbackEvent``, ``StartConferenceOnEnter``, ``EndConferenceOnExit``,
  ``Muted``, ``Beep``, ``WaitUrl``, ``Timeout``, ``TimeLimit``, ``Coaching``/``CallSidToCoach``.
- ``GET Participants.json`` / ``Participants/{CallSid or Label}.json``; ``POST`` the same to update
  ``Hold``/``HoldUrl``/``HoldMethod``, ``Muted``, ``EndConferenceOnExit``, ``Coaching``/
  ``CallSidToCoach``, ``AnnounceUrl``/``AnnounceMethod``; ``DELETE`` removes the participant
  (its call goes on with the TwiML after its ``<Dial>``).

Where it differs from Twilio: a participant being dialled is not listed (nor fetchable) until
it answers and joins (Twilio lists it as ``queued``/``ringing``), and one that never answers
gets no ``participant-leave`` event (the call's own status callback tells, as on Twilio); a
create by a new name opens the conference at once (status ``init``), and it stays so when
nobody ever joins;
``EarlyMedia``, ``Record``, ``Region``, SIP and AMD parameters are accepted and ignored.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from devtools.twilio_standin.calls import CallEngine, OutboundCallRequest, is_call_address
from devtools.twilio_standin.conferences import CONFERENCE_EVENTS, Conference, Participant
from devtools.twilio_standin.errors import ApiError
from devtools.twilio_standin.legs import DEFAULT_TIME_LIMIT_SECONDS, StatusCallbackConfig
from devtools.twilio_standin.rest import (
    CALL_EVENTS,
    DEFAULT_CALL_TIMEOUT_SECONDS,
    FormParams,
    RestApi,
    _absolute_url,
    _bad_request,
    _integer,
    _method,
    first,
)
from devtools.twilio_standin.twiml_runner import DocRequest

CONFERENCE_STATUSES = frozenset({"init", "in-progress", "completed"})


def _flag(form: FormParams, name: str) -> bool | None:
    raw = first(form, name)
    if raw is None or raw == "":
        return None
    return raw.lower() == "true"  # Twilio: anything but true is false


def _events(form: FormParams, name: str, allowed: frozenset[str]) -> frozenset[str]:
    events: set[str] = set()
    for value in form.get(name, []):
        events.update(value.replace(",", " ").split())
    if events - allowed:
        raise _bad_request(f"{name} has unknown events: {sorted(events - allowed)}")
    return frozenset(events)


class ConferenceApi:
    def __init__(self, engine: CallEngine, rest: RestApi) -> None:
        self.engine = engine
        self.rest = rest

    # -- conferences ----------------------------------------------------------------------
    def conference(self, sid: str, path: str) -> Conference:
        found = self.engine.conferences.get(sid)
        if found is None:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        return found

    def list_conferences(self, query: FormParams, path: str) -> dict[str, Any]:
        conferences = self.engine.conferences.all()
        name = first(query, "FriendlyName")
        status = first(query, "Status")
        if name:
            conferences = [c for c in conferences if c.friendly_name == name]
        if status:
            conferences = [c for c in conferences if c.status == status]
        conferences.reverse()
        return self.rest._page("conferences", [c.to_json() for c in conferences], query, path)

    def update_conference(self, sid: str, form: FormParams, path: str) -> dict[str, Any]:
        conference = self.conference(sid, path)
        status = first(form, "Status")
        if first(form, "AnnounceUrl"):
            raise _bad_request("AnnounceUrl to a whole conference is not supported by the Twilio stand-in")
        if status is not None and status != "completed":
            raise _bad_request(f"Status must be completed, got {status}")
        if status == "completed" and conference.status != "completed":
            self.engine.conferences.end(conference, "conference-ended-via-api", None, None)
        return conference.to_json()

    # -- participants ---------------------------------------------------------------------
    def participant(self, conference_sid: str, key: str, path: str) -> Participant:
        conference = self.conference(conference_sid, path)
        found = conference.participant(key)
        if found is None:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        return found

    def list_participants(self, conference_sid: str, query: FormParams, path: str) -> dict[str, Any]:
        conference = self.conference(conference_sid, path)
        participants = conference.live()
        for param, attribute in (("Hold", "hold"), ("Muted", "muted"), ("Coaching", "coaching")):
            wanted = _flag(query, param)
            if wanted is not None:
                participants = [p for p in participants if getattr(p, attribute) == wanted]
        return self.rest._page("participants", [p.to_json() for p in participants], query, path)

    def update_participant(self, conference_sid: str, key: str, form: FormParams, path: str) -> dict[str, Any]:
        participant = self.participant(conference_sid, key, path)
        changes: dict[str, Any] = {}
        for param, name in (("Muted", "muted"), ("Hold", "hold"), ("EndConferenceOnExit", "end_on_exit")):
            value = _flag(form, param)
            if value is not None:
                changes[name] = value
        hold_url = _absolute_url(first(form, "HoldUrl"), "HoldUrl")
        if hold_url:
            changes["hold_url"] = hold_url
            changes["hold_method"] = (first(form, "HoldMethod") or "GET").upper()
        coaching = _flag(form, "Coaching")
        to_coach = first(form, "CallSidToCoach")
        if coaching and not to_coach:
            raise _bad_request("CallSidToCoach is required when Coaching is true", 16601)
        if coaching is not None:
            changes["coaching"] = coaching
        if to_coach:
            if participant.conference.participant(to_coach) is None:
                raise _bad_request(f"CallSidToCoach {to_coach} is not a participant of this conference", 16601)
            changes["call_sid_to_coach"] = to_coach
            changes.setdefault("coaching", True)
        announce = _absolute_url(first(form, "AnnounceUrl"), "AnnounceUrl")
        if announce:
            changes["announce"] = (announce, _method(form, "AnnounceMethod"))
        self.engine.conferences.update(participant, changes)
        return participant.to_json()

    def delete_participant(self, conference_sid: str, key: str, path: str) -> None:
        self.engine.conferences.remove(self.participant(conference_sid, key, path))

    def create_participant(self, conference_key: str, form: FormParams, path: str) -> dict[str, Any]:
        """Dial a new participant in; Twilio answers with the participant, still queued."""
        conference = self.engine.conferences.get(conference_key)
        name = conference.friendly_name if conference is not None else conference_key
        if conference is None and conference_key.startswith("CF"):
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        if conference is not None and conference.status == "completed":
            raise _bad_request("The conference has already ended", 16602)
        to, from_ = first(form, "To"), first(form, "From")
        if not to or not is_call_address(to):
            raise _bad_request(f"The 'To' number {to} is not a valid phone number.", 21211)
        if not from_ or not is_call_address(from_):
            raise _bad_request(f"The 'From' number {from_} is not a valid phone number.", 21212)
        if self.rest.strict_caller_id and not from_.startswith("client:") and from_ not in self.engine.numbers:
            raise _bad_request(
                f"The source phone number provided, {from_}, is not yet verified for your account.", 21210
            )
        call_events = _events(form, "StatusCallbackEvent", CALL_EVENTS)
        call_callback_url = _absolute_url(first(form, "StatusCallback"), "StatusCallback")
        noun = ET.Element("Conference")
        noun.text = name
        for param, attribute in (
            ("StartConferenceOnEnter", "startConferenceOnEnter"),
            ("EndConferenceOnExit", "endConferenceOnExit"),
            ("Muted", "muted"),
            ("Coaching", "coach"),
        ):
            value = _flag(form, param)
            if value is not None:
                noun.set(attribute, str(value).lower())
        for param, attribute in (("Beep", "beep"), ("Label", "participantLabel"), ("CallSidToCoach", "callSidToCoach")):
            text = first(form, param)
            if text:
                noun.set(attribute, text)
        wait_url = first(form, "WaitUrl")
        if wait_url is not None:
            noun.set("waitUrl", wait_url)
            noun.set("waitMethod", _method(form, "WaitMethod"))
        conference_callback = _absolute_url(first(form, "ConferenceStatusCallback"), "ConferenceStatusCallback")
        if conference_callback:
            noun.set("statusCallback", conference_callback)
            noun.set("statusCallbackMethod", _method(form, "ConferenceStatusCallbackMethod"))
            events = _events(form, "ConferenceStatusCallbackEvent", CONFERENCE_EVENTS)
            noun.set("statusCallbackEvent", " ".join(sorted(events)))
        response = ET.Element("Response")
        ET.SubElement(response, "Dial").append(noun)
        timeout = _integer(form, "Timeout", DEFAULT_CALL_TIMEOUT_SECONDS)
        request = OutboundCallRequest(
            to=to,
            from_=from_,
            first_document=DocRequest(None, "POST", purpose="participant", twiml=ET.tostring(response, "unicode")),
            status_callback=StatusCallbackConfig(
                call_callback_url, _method(form, "StatusCallbackMethod"), call_events | {"completed"}
            )
            if call_callback_url
            else None,
            timeout=max(5, min(timeout, 600)),
            machine_detection=None,
            async_amd=False,
            async_amd_callback=None,
            time_limit=_integer(form, "TimeLimit", DEFAULT_TIME_LIMIT_SECONDS),
            record=False,
            recording_status_callback=None,
        )
        leg, _created = self.engine.start_outbound_call(request)
        opened = conference or self.engine.conferences.open(name)
        return {
            "account_sid": self.engine.account_sid,
            "call_sid": leg.sid,
            "call_sid_to_coach": first(form, "CallSidToCoach"),
            "coaching": bool(_flag(form, "Coaching")),
            "conference_sid": opened.sid,
            "date_created": opened.to_json()["date_updated"],
            "date_updated": opened.to_json()["date_updated"],
            "end_conference_on_exit": bool(_flag(form, "EndConferenceOnExit")),
            "hold": False,
            "label": first(form, "Label"),
            "muted": bool(_flag(form, "Muted")),
            "queue_time": "0",
            "start_conference_on_enter": _flag(form, "StartConferenceOnEnter") is not False,
            "status": "queued",
            "uri": f"{opened.uri()[: -len('.json')]}/Participants/{leg.sid}.json",
        }
