"""Twilio as the services see it (adapters/twilio_rest.py): calls placed and texts sent, recorded."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime
from typing import Any

from chalicelib.services.ports import CallState, OutboundCall


class FakeTelephony:
    def __init__(self, fail: bool | Exception = False) -> None:
        self.placed: list[dict[str, Any]] = []
        self.texts: list[dict[str, str]] = []
        self.call_states: dict[str, CallState] = {}  # what Twilio would say of a call (reconciliation)
        self.redirects: list[tuple[str, str]] = []  # live calls sent to new TwiML
        self.ended: list[str] = []  # live calls hung up through the REST API
        self.fail = fail
        self._sids = itertools.count(1)

    def fetch_call(self, call_sid: str) -> CallState:
        return self.call_states.get(call_sid, CallState("in-progress", 0, None))

    def send_sms(self, *, to: str, from_: str, body: str) -> str:
        if self.fail:
            raise ConnectionError("Twilio unreachable")
        self.texts.append({"to": to, "from_": from_, "body": body})
        return f"SM{next(self._sids):032x}"

    def find_sent_text(self, *, to: str, from_: str, body: str, since: datetime) -> str | None:
        return None  # FakeTelephony takes a text or raises: none is ever half-sent

    def redirect_call(self, call_sid: str, url: str) -> None:
        self.redirects.append((call_sid, url))

    def end_call(self, call_sid: str) -> None:
        self.ended.append(call_sid)

    def place_call(self, call: OutboundCall) -> str:
        if isinstance(self.fail, Exception):
            raise self.fail
        if self.fail:
            raise ConnectionError("Twilio unreachable")
        self.placed.append(dataclasses.asdict(call))
        return f"CA{next(self._sids):032x}"
