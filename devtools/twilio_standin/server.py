"""HTTP front of the stand-in: Twilio's REST API, recordings, and a control API for other processes."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from devtools.twilio_standin import dialing_permissions, numbers
from devtools.twilio_standin.calls import UnknownNumberError
from devtools.twilio_standin.conference_rest import ConferenceApi
from devtools.twilio_standin.errors import ApiError
from devtools.twilio_standin.parties import AgentBehaviour, Callee, CallerScript
from devtools.twilio_standin.recordings import fake_wav
from devtools.twilio_standin.rest import FormParams, RestApi

if TYPE_CHECKING:
    from devtools.twilio_standin.standin import TwilioStandIn

logger = logging.getLogger(__name__)

ACCOUNT = r"^/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})"
ACCOUNT_PATH = re.compile(ACCOUNT + r"\.json$")
CALLS_PATH = re.compile(ACCOUNT + r"/Calls\.json$")
CALL_PATH = re.compile(ACCOUNT + r"/Calls/(?P<sid>CA[0-9a-fA-F]{32})\.json$")
MESSAGES_PATH = re.compile(ACCOUNT + r"/Messages\.json$")
MESSAGE_PATH = re.compile(ACCOUNT + r"/Messages/(?P<sid>SM[0-9a-fA-F]{32})\.json$")
RECORDING_PATH = re.compile(ACCOUNT + r"/Recordings/(?P<sid>RE[0-9a-fA-F]{32})(?P<ext>\.json|\.wav|\.mp3)?$")
NUMBERS_PATH = re.compile(ACCOUNT + r"/IncomingPhoneNumbers\.json$")
NUMBER_PATH = re.compile(ACCOUNT + r"/IncomingPhoneNumbers/(?P<sid>PN[0-9a-fA-F]{32})\.json$")
CONFERENCES_PATH = re.compile(ACCOUNT + r"/Conferences\.json$")
CONFERENCE_PATH = re.compile(ACCOUNT + r"/Conferences/(?P<sid>CF[0-9a-fA-F]{32})\.json$")
PARTICIPANTS_PATH = re.compile(ACCOUNT + r"/Conferences/(?P<conf>[^/]+)/Participants\.json$")
PARTICIPANT_PATH = re.compile(ACCOUNT + r"/Conferences/(?P<conf>CF[0-9a-fA-F]{32})/Participants/(?P<key>[^/]+)\.json$")
CONTROL_CALL_PATH = re.compile(r"^/_standin/calls/(?P<sid>CA[0-9a-fA-F]{32})$")
MAX_REQUEST_BYTES = 1024 * 1024


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class StandInHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], standin: TwilioStandIn) -> None:
        self.standin = standin
        self.rest = RestApi(standin.engine, strict_caller_id=standin.strict_caller_id)
        self.conferences = ConferenceApi(standin.engine, self.rest)
        super().__init__(address, StandInRequestHandler)


class StandInRequestHandler(BaseHTTPRequestHandler):
    server: StandInHTTPServer
    server_version = "TwilioStandIn/1.0"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("stand-in HTTP: " + format, *args)

    # -- plumbing ---------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        parsed = urlsplit(self.path)
        path = parsed.path
        query = parse_qs(parsed.query, keep_blank_values=True)
        try:
            body = self._read_body()
            if path.startswith("/_standin/"):
                self._control(method, path, body)
            elif path.startswith("/2010-04-01/"):
                self._rest(method, path, query, body)
            elif path == dialing_permissions.COUNTRIES_PATH:
                self._voice_countries(method, query)
            elif path == "/" and method == "GET":
                self._json(200, {"twilio_standin": True, "base_url": self.server.standin.base_url})
            else:
                raise ApiError(404, 20404, f"The requested resource {path} was not found")
        except ApiError as error:
            self._json(error.status, error.to_json())
        except ControlError as error:
            self._json(error.status, {"error": error.message})
        except Exception:
            logger.exception("stand-in failed on %s %s", method, self.path)
            self._json(500, ApiError(500, 20500, "Internal Server Error").to_json())

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            raise ApiError(413, 20001, "Request body too large")
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json", headers)

    # -- REST -------------------------------------------------------------------------------
    def _authenticate(self, account: str) -> None:
        standin = self.server.standin
        header = self.headers.get("Authorization") or ""
        scheme, _, encoded = header.partition(" ")
        user, password = "", ""
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = ""
        if not (
            hmac.compare_digest(user.encode(), standin.account_sid.encode())
            and hmac.compare_digest(password.encode(), standin.auth_token.encode())
        ):
            error = ApiError(401, 20003, "Authenticate")
            self._json(401, error.to_json(), {"WWW-Authenticate": 'Basic realm="Twilio API"'})
            raise _Answered
        if account != standin.account_sid:
            raise ApiError(404, 20404, f"The requested resource {self.path} was not found")

    def _voice_countries(self, method: str, query: FormParams) -> None:
        """voice.twilio.com's Dialing Permissions Countries list (read only)."""
        if method != "GET":
            raise ApiError(405, 20004, f"Method {method} not allowed on {self.path}")
        try:
            self._authenticate(self.server.standin.account_sid)
        except _Answered:
            return
        self._json(200, dialing_permissions.list_countries(self.server.rest.engine.voice_countries, query))

    def _rest(self, method: str, path: str, query: FormParams, body: bytes) -> None:
        rest = self.server.rest
        outage = self.server.standin.outage_status
        if outage:  # a test's Twilio outage: every REST request fails as Twilio's own trouble
            raise ApiError(outage, 20500 if outage >= 500 else 20429, "Service Unavailable (stand-in outage)")
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True) if body else {}
        recording = RECORDING_PATH.match(path)
        if recording and method == "GET" and recording.group("ext") != ".json":
            # Recording media is public by default on Twilio (HTTP auth on media is an account option).
            found = rest.fetch_recording(recording.group("sid"), path)
            self._send(200, fake_wav(found.duration), "audio/x-wav")
            return
        routes: list[tuple[re.Pattern[str], str, Callable[[re.Match[str]], tuple[int, Any]]]] = [
            (ACCOUNT_PATH, "GET", lambda m: (200, rest.account_json())),
            (CALLS_PATH, "POST", lambda m: (201, rest.create_call(form))),
            (CALLS_PATH, "GET", lambda m: (200, rest.list_calls(query, path))),
            (CALL_PATH, "GET", lambda m: (200, rest.fetch_call(m.group("sid"), path).to_json())),
            (
                CALL_PATH,
                "POST",
                lambda m: (200, rest.updated_call_json(rest.update_call(m.group("sid"), form, path), form)),
            ),
            (MESSAGES_PATH, "POST", lambda m: (201, rest.create_message(form).as_created)),
            (MESSAGES_PATH, "GET", lambda m: (200, rest.list_messages(query, path))),
            (MESSAGE_PATH, "GET", lambda m: (200, rest.fetch_message(m.group("sid"), path).to_json())),
            (RECORDING_PATH, "GET", lambda m: (200, rest.fetch_recording(m.group("sid"), path).to_json())),
            (RECORDING_PATH, "DELETE", lambda m: (204, rest.delete_recording(m.group("sid"), path))),
            (NUMBERS_PATH, "GET", lambda m: (200, rest.list_numbers(query, path))),
            (NUMBER_PATH, "GET", lambda m: (200, numbers.fetch_number(rest.engine, m.group("sid"), path))),
            (NUMBER_PATH, "POST", lambda m: (200, numbers.update_number(rest.engine, m.group("sid"), form, path))),
            *self._conference_routes(form, query, path),
        ]
        matched_path = False
        for pattern, route_method, handler in routes:
            match = pattern.match(path)
            if match is None:
                continue
            matched_path = True
            if route_method != method:
                continue
            try:
                self._authenticate(match.group("account"))
            except _Answered:
                return
            status, payload = handler(match)
            if status == 204:  # No Content: Twilio's answer to a DELETE
                self.send_response(204)
                self.end_headers()
                return
            self._json(status, payload)
            return
        if matched_path:
            raise ApiError(405, 20004, f"Method {method} not allowed on {path}")
        raise ApiError(404, 20404, f"The requested resource {path} was not found")

    def _conference_routes(
        self, form: FormParams, query: FormParams, path: str
    ) -> list[tuple[re.Pattern[str], str, Callable[[re.Match[str]], tuple[int, Any]]]]:
        api = self.server.conferences

        def deleted(match: re.Match[str]) -> tuple[int, Any]:
            api.delete_participant(match.group("conf"), unquote(match.group("key")), path)
            return 204, None

        return [
            (CONFERENCES_PATH, "GET", lambda m: (200, api.list_conferences(query, path))),
            (CONFERENCE_PATH, "GET", lambda m: (200, api.conference(m.group("sid"), path).to_json())),
            (CONFERENCE_PATH, "POST", lambda m: (200, api.update_conference(m.group("sid"), form, path))),
            (
                PARTICIPANTS_PATH,
                "POST",
                lambda m: (201, api.create_participant(unquote(m.group("conf")), form, path)),
            ),
            (PARTICIPANTS_PATH, "GET", lambda m: (200, api.list_participants(m.group("conf"), query, path))),
            (
                PARTICIPANT_PATH,
                "GET",
                lambda m: (200, api.participant(m.group("conf"), unquote(m.group("key")), path).to_json()),
            ),
            (
                PARTICIPANT_PATH,
                "POST",
                lambda m: (200, api.update_participant(m.group("conf"), unquote(m.group("key")), form, path)),
            ),
            (PARTICIPANT_PATH, "DELETE", deleted),
        ]

    # -- control API ------------------------------------------------------------------------
    def _control(self, method: str, path: str, body: bytes) -> None:
        standin = self.server.standin
        payload: dict[str, Any] = {}
        if method == "POST":
            try:
                payload = json.loads(body or b"{}")
            except json.JSONDecodeError as exc:
                raise ControlError(400, f"body is not JSON: {exc}") from exc
            if not isinstance(payload, dict):
                raise ControlError(400, "body must be a JSON object")
        try:
            self._control_route(standin, method, path, payload)
        except (KeyError, ValueError, TypeError) as exc:
            raise ControlError(400, f"bad request: {exc}") from exc
        except UnknownNumberError as exc:
            raise ControlError(404, str(exc)) from exc

    def _control_route(self, standin: TwilioStandIn, method: str, path: str, payload: dict[str, Any]) -> None:
        if (method, path) == ("POST", "/_standin/inbound-calls"):
            script = CallerScript.from_dict(payload)
            transcript = standin.place_inbound_call(from_=payload["from"], to=payload["to"], script=script)
            self._json(200, transcript.to_dict())
        elif (method, path) == ("POST", "/_standin/inbound-sms"):
            inbound = standin.receive_inbound_sms(from_=payload["from"], to=payload["to"], body=payload["body"])
            self._json(200, {"message": inbound.to_dict(), "replies": [reply.to_dict() for reply in inbound.replies]})
        elif (method, path) == ("POST", "/_standin/callees"):
            callee = Callee.from_dict(payload)
            if payload.get("default"):
                standin.set_default_callee(callee)
            else:
                standin.set_callee(str(payload["number"]), callee)
            self._json(200, {"ok": True})
        elif (method, path) == ("POST", "/_standin/agents"):
            standin.register_agent(str(payload["address"]), AgentBehaviour.from_dict(payload))
            self._json(200, {"ok": True})
        elif (method, path) == ("POST", "/_standin/numbers"):
            standin.register_number(
                str(payload["number"]),
                voice_url=payload.get("voice_url"),
                status_callback_url=payload.get("status_callback_url"),
                sms_url=payload.get("sms_url"),
            )
            self._json(200, {"ok": True})
        elif (method, path) == ("POST", "/_standin/outage"):
            standin.set_outage(int(payload["status"]) if payload.get("status") else None)
            self._json(200, {"outage_status": standin.outage_status})
        elif (method, path) == ("POST", "/_standin/wait-idle"):
            self._json(200, {"idle": standin.wait_idle(timeout=float(payload.get("timeout", 10.0)))})
        elif (method, path) == ("GET", "/_standin/calls"):
            self._json(200, {"calls": [standin.call_record(leg.sid) for leg in standin.calls]})
        elif (method, path) == ("GET", "/_standin/messages"):
            self._json(200, {"messages": [message.to_dict() for message in standin.messages]})
        elif method == "GET" and (match := CONTROL_CALL_PATH.match(path)):
            record = standin.call_record(match.group("sid"))
            if record is None:
                raise ControlError(404, f"no call {match.group('sid')}")
            self._json(200, record)
        else:
            raise ControlError(404, f"no control endpoint {method} {path}")


class _Answered(Exception):
    """The response went out already (401): nothing more to send."""
