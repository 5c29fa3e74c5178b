"""Twilio's REST API for Calls, Messages, Recordings and IncomingPhoneNumbers: validation, errors and
JSON, without HTTP."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlparse

from devtools.twilio_standin.calls import E164, CallEngine, OutboundCallRequest, is_call_address
from devtools.twilio_standin.errors import ApiError
from devtools.twilio_standin.legs import API_VERSION, DEFAULT_TIME_LIMIT_SECONDS, CallLeg, StatusCallbackConfig
from devtools.twilio_standin.messages import MAX_BODY_CHARACTERS, MessageRecord
from devtools.twilio_standin.numbers import listed_numbers
from devtools.twilio_standin.recordings import Recording
from devtools.twilio_standin.twiml_runner import DocRequest

FormParams = dict[str, list[str]]

CALL_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
MACHINE_DETECTION_MODES = frozenset({"Enable", "DetectMessageEnd"})
MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
MAX_INLINE_TWIML_CHARACTERS = 4000
MAX_CALL_TIMEOUT_SECONDS = 600
DEFAULT_CALL_TIMEOUT_SECONDS = 60
DEFAULT_PAGE_SIZE = 50


def first(form: FormParams, name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _bad_request(message: str, code: int = 21200) -> ApiError:
    return ApiError(400, code, message)


def _absolute_url(value: str | None, name: str, code: int = 21200) -> str | None:
    if value is None or value == "":
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise _bad_request(f"{name} is not a valid URL: {value}", code)
    return value


def _method(form: FormParams, name: str) -> str:
    method = (first(form, name) or "POST").upper()
    if method not in ("GET", "POST"):
        raise _bad_request(f"{name} must be GET or POST, got {method}")
    return method


def _integer(form: FormParams, name: str, default: int) -> int:
    raw = first(form, name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _bad_request(f"{name} must be an integer, got {raw!r}") from None


class RestApi:
    def __init__(self, engine: CallEngine, *, strict_caller_id: bool) -> None:
        self.engine = engine
        self.strict_caller_id = strict_caller_id

    def _owns(self, number: str) -> bool:
        return number in self.engine.numbers

    # -- calls ------------------------------------------------------------------------------
    def create_call(self, form: FormParams) -> dict[str, Any]:
        """Start an outbound call; returns Twilio's answer (the call, still queued)."""
        to = first(form, "To")
        from_ = first(form, "From")
        if not to:
            raise _bad_request("No 'To' number is specified", 21201)
        if not from_:
            raise _bad_request("No 'From' number is specified", 21213)
        if not is_call_address(to):
            raise _bad_request(f"The 'To' number {to} is not a valid phone number.", 21211)
        if not is_call_address(from_):
            raise _bad_request(
                f"The 'From' number {from_} is not a valid phone number, shortcode, or alphanumeric sender ID.",
                21212,
            )
        if self.strict_caller_id and not from_.startswith("client:") and not self._owns(from_):
            raise _bad_request(
                f"The source phone number provided, {from_}, is not yet verified for your account. "
                "You may only make calls from phone numbers that you've verified or purchased from Twilio.",
                21210,
            )
        url = _absolute_url(first(form, "Url"), "Url", 21205)
        twiml = first(form, "Twiml")
        if first(form, "ApplicationSid"):
            raise _bad_request("ApplicationSid is not supported by the Twilio stand-in: use Url or Twiml", 21218)
        if url is None and not twiml:
            raise _bad_request("Url parameter is required. Use Url, Twiml or ApplicationSid.", 21205)
        if twiml and len(twiml) > MAX_INLINE_TWIML_CHARACTERS:
            raise _bad_request(f"Twiml must be at most {MAX_INLINE_TWIML_CHARACTERS} characters")
        events: set[str] = set()
        for value in form.get("StatusCallbackEvent", []):
            events.update(value.replace(",", " ").split())
        if events - CALL_EVENTS:
            raise _bad_request(f"StatusCallbackEvent has unknown events: {sorted(events - CALL_EVENTS)}")
        status_callback_url = _absolute_url(first(form, "StatusCallback"), "StatusCallback")
        status_callback = (
            StatusCallbackConfig(
                status_callback_url, _method(form, "StatusCallbackMethod"), frozenset(events | {"completed"})
            )
            if status_callback_url
            else None
        )
        machine_detection = first(form, "MachineDetection") or None
        if machine_detection is not None and machine_detection not in MACHINE_DETECTION_MODES:
            raise _bad_request(f"MachineDetection must be Enable or DetectMessageEnd, got {machine_detection}")
        async_amd = (first(form, "AsyncAmd") or "false").lower() == "true"
        amd_callback_url = _absolute_url(first(form, "AsyncAmdStatusCallback"), "AsyncAmdStatusCallback")
        recording_callback_url = _absolute_url(first(form, "RecordingStatusCallback"), "RecordingStatusCallback")
        timeout = min(_integer(form, "Timeout", DEFAULT_CALL_TIMEOUT_SECONDS), MAX_CALL_TIMEOUT_SECONDS)
        if timeout <= 0:
            raise _bad_request("Timeout must be a positive number of seconds")
        request = OutboundCallRequest(
            to=to,
            from_=from_,
            first_document=DocRequest(url, _method(form, "Method"), purpose="voice", twiml=twiml or None),
            status_callback=status_callback,
            timeout=timeout,
            machine_detection=machine_detection,
            async_amd=async_amd and machine_detection is not None,
            async_amd_callback=StatusCallbackConfig(amd_callback_url, _method(form, "AsyncAmdStatusCallbackMethod"))
            if amd_callback_url
            else None,
            time_limit=_integer(form, "TimeLimit", DEFAULT_TIME_LIMIT_SECONDS),
            record=(first(form, "Record") or "false").lower() == "true",
            recording_status_callback=StatusCallbackConfig(
                recording_callback_url, _method(form, "RecordingStatusCallbackMethod")
            )
            if recording_callback_url
            else None,
        )
        _leg, created = self.engine.start_outbound_call(request)
        return created

    def fetch_call(self, sid: str, path: str) -> CallLeg:
        leg = self.engine.leg(sid)
        if leg is None:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        return leg

    def update_call(self, sid: str, form: FormParams, path: str) -> CallLeg:
        leg = self.fetch_call(sid, path)
        status = first(form, "Status")
        if status is not None and status not in ("completed", "canceled"):
            raise _bad_request(f"Status must be completed or canceled, got {status}", 21218)
        url = _absolute_url(first(form, "Url"), "Url", 21205)
        twiml = first(form, "Twiml") or None
        if (url or twiml) and not leg.is_live:
            raise _bad_request("Call is not in-progress. Cannot redirect.", 21220)
        if twiml and len(twiml) > MAX_INLINE_TWIML_CHARACTERS:
            raise _bad_request(f"Twiml must be at most {MAX_INLINE_TWIML_CHARACTERS} characters")
        if leg.is_live:
            self.engine.update_call(leg, status=status, url=url, method=_method(form, "Method"), twiml=twiml)
        return leg

    @staticmethod
    def updated_call_json(leg: CallLeg, form: FormParams) -> dict[str, Any]:
        """Twilio answers a hang-up with the call already ended; the leg's thread catches up soon after."""
        rendered = leg.to_json()
        requested = first(form, "Status")
        # Status=canceled leaves an answered call alone, as on Twilio.
        if requested is not None and leg.is_live and (requested == "completed" or leg.answered_at is None):
            rendered["status"] = "completed" if leg.answered_at is not None else "canceled"
        return rendered

    def list_calls(self, query: FormParams, path: str) -> dict[str, Any]:
        legs = self.engine.legs
        filters = {"To": "to", "From": "from_", "Status": "status", "ParentCallSid": "parent_call_sid"}
        for param, attribute in filters.items():
            wanted = first(query, param)
            if wanted:
                legs = [leg for leg in legs if getattr(leg, attribute) == wanted]
        legs.reverse()  # newest first, as Twilio lists them
        return self._page("calls", [leg.to_json() for leg in legs], query, path)

    # -- messages ---------------------------------------------------------------------------
    def create_message(self, form: FormParams) -> MessageRecord:
        to = first(form, "To")
        from_ = first(form, "From") or None
        service = first(form, "MessagingServiceSid") or None
        body = first(form, "Body") or ""
        if not to:
            raise _bad_request("A 'To' phone number is required.", 21604)
        if not E164.match(to):
            raise _bad_request(f"Invalid 'To' Phone Number: {to}", 21211)
        if from_ is None and service is None:
            raise _bad_request("A 'From' or 'MessagingServiceSid' parameter is required to send a message.", 21603)
        if service is not None and not MESSAGING_SERVICE_SID.match(service):
            raise _bad_request(f"The Messaging Service Sid {service} is invalid.", 21701)
        if from_ is not None and self.strict_caller_id and not self._owns(from_):
            raise _bad_request(
                f"The From phone number {from_} is not a valid, SMS-capable inbound phone number "
                "or short code for your account.",
                21606,
            )
        if not body.strip() and not form.get("MediaUrl"):
            raise _bad_request("Message body is required.", 21602)
        if len(body) > MAX_BODY_CHARACTERS:
            raise _bad_request("The concatenated message body exceeds the 1600 character limit.", 21617)
        if self.engine.messages.is_opted_out(to, from_):
            raise _bad_request("Attempt to send to unsubscribed recipient", 21610)
        callback_url = _absolute_url(first(form, "StatusCallback"), "StatusCallback")
        return self.engine.messages.send(
            from_=from_,
            to=to,
            body=body,
            direction="outbound-api",
            status_callback=StatusCallbackConfig(callback_url, "POST") if callback_url else None,
            messaging_service_sid=service,
        )

    def fetch_message(self, sid: str, path: str) -> MessageRecord:
        message = self.engine.messages.get(sid)
        if message is None:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        return message

    def list_messages(self, query: FormParams, path: str) -> dict[str, Any]:
        messages = self.engine.messages.all()
        for param, attribute in {"To": "to", "From": "from_"}.items():
            wanted = first(query, param)
            if wanted:
                messages = [message for message in messages if getattr(message, attribute) == wanted]
        messages.reverse()
        return self._page("messages", [message.to_json() for message in messages], query, path)

    # -- recordings -------------------------------------------------------------------------
    def fetch_recording(self, sid: str, path: str) -> Recording:
        recording = self.engine.recordings.get(sid)
        if recording is None:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        return recording

    def delete_recording(self, sid: str, path: str) -> dict[str, Any]:
        """Twilio's DELETE of a recording: gone for good (404 after, as on Twilio); no body."""
        if self.engine.recordings.remove(sid) is None:
            raise ApiError(404, 20404, f"The requested resource {path} was not found")
        return {}

    # -- phone numbers (devtools.twilio_standin.numbers) ------------------------------------
    def list_numbers(self, query: FormParams, path: str) -> dict[str, Any]:
        return self._page("incoming_phone_numbers", listed_numbers(self.engine, query), query, path)

    def account_json(self) -> dict[str, Any]:
        sid = self.engine.account_sid
        return {
            "sid": sid,
            "friendly_name": "Twilio stand-in",
            "status": "active",
            "type": "Full",
            "uri": f"/{API_VERSION}/Accounts/{sid}.json",
        }

    @staticmethod
    def _page(key: str, items: list[dict[str, Any]], query: FormParams, path: str) -> dict[str, Any]:
        page_size = max(1, min(_integer(query, "PageSize", DEFAULT_PAGE_SIZE), 1000))
        page = max(0, _integer(query, "Page", 0))
        start = page * page_size
        chunk = items[start : start + page_size]

        def page_uri(number: int) -> str:
            return f"{path}?{urlencode({'PageSize': page_size, 'Page': number})}"

        return {
            key: chunk,
            "page": page,
            "page_size": page_size,
            "start": start,
            "end": start + max(0, len(chunk) - 1),
            "uri": page_uri(page),
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if start + page_size < len(items) else None,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        }
