"""The ``ConferenceParticipant`` port over Twilio's Conferences and Participants resources.

A room is found by its friendly name among the conferences not yet completed; a participant
by its call's SID. A participant that left meanwhile (Twilio answers 404) is reported as gone
rather than raised: the caller of the port decides what that means.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.adapters.twilio_rest import twilio_client
from chalicelib.services.ports import CallNotPlacedError


class TwilioConferences:
    def __init__(self, account_sid: str, auth_token: Callable[[], str], api_base_url: str | None) -> None:
        self._account_sid, self._auth_token, self._api_base_url = account_sid, auth_token, api_base_url

    def _room_sid(self, room: str) -> str | None:
        client = twilio_client(self._account_sid, self._auth_token(), self._api_base_url)
        for status in ("in-progress", "init"):
            found = client.conferences.list(friendly_name=room, status=status, limit=1)
            if found:
                return str(found[0].sid)
        return None

    def _participant_update(self, room: str, call_sid: str, **changes: object) -> bool:
        from twilio.base.exceptions import TwilioRestException  # cold start: the Twilio SDK on first call

        sid = self._room_sid(room)
        if sid is None:
            return False
        client = twilio_client(self._account_sid, self._auth_token(), self._api_base_url)
        try:
            client.conferences(sid).participants(call_sid).update(**changes)
        except TwilioRestException as error:
            if error.status == 404:
                return False
            raise
        return True

    def hold(self, room: str, call_sid: str, *, on: bool, music_url: str | None) -> bool:
        changes: dict[str, object] = {"hold": on}
        if on and music_url:
            changes |= {"hold_url": music_url, "hold_method": "POST"}
        return self._participant_update(room, call_sid, **changes)

    def set_end_on_exit(self, room: str, call_sid: str, *, end: bool) -> bool:
        return self._participant_update(room, call_sid, end_conference_on_exit=end)

    def remove(self, room: str, call_sid: str) -> bool:
        from twilio.base.exceptions import TwilioRestException  # cold start: the Twilio SDK on first call

        sid = self._room_sid(room)
        if sid is None:
            return False
        client = twilio_client(self._account_sid, self._auth_token(), self._api_base_url)
        try:
            return bool(client.conferences(sid).participants(call_sid).delete())
        except TwilioRestException as error:
            if error.status == 404:
                return False
            raise

    def end(self, room: str) -> None:
        sid = self._room_sid(room)
        if sid is not None:
            twilio_client(self._account_sid, self._auth_token(), self._api_base_url).conferences(sid).update(
                status="completed"
            )

    def add(self, room: str, *, to: str, from_: str, label: str, status_url: str, ring_seconds: int) -> str:
        from twilio.base.exceptions import TwilioRestException  # cold start: the Twilio SDK on first call

        client = twilio_client(self._account_sid, self._auth_token(), self._api_base_url)
        try:
            participant = client.conferences(room).participants.create(
                from_=from_,
                to=to,
                label=label,
                status_callback=status_url,
                status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                timeout=ring_seconds,
                start_conference_on_enter=True,
                end_conference_on_exit=False,
                beep="false",
                early_media=True,
            )
        except TwilioRestException as error:
            raise CallNotPlacedError(f"Twilio {error.status} {error.code}: {error.msg}", temporary=False) from error
        return str(participant.call_sid)
