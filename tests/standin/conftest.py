"""A tiny webhook app (canned TwiML per path, every request recorded) and a started stand-in."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from chalicelib.adapters.twilio_rest import make_http_client
from devtools.twilio_standin import CallerScript, Transcript, TwilioStandIn

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "standin-test-token"
SHOP_NUMBER = "+380441234567"
CUSTOMER = "+380671112233"
AGENT_PHONE = "+380501112233"


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    url: str  # the full URL as requested (with the query string)
    params: dict[str, str]  # POST form, or the GET query
    signature: str | None

    def signature_valid(self, token: str = AUTH_TOKEN) -> bool:
        signed_params = self.params if self.method == "POST" else {}
        return RequestValidator(token).validate(self.url, signed_params, self.signature or "")


@dataclass(frozen=True)
class Reply:
    body: str = ""
    status: int = 200
    content_type: str = "text/xml"


Handler = Callable[[ReceivedRequest], Reply]


def twiml(inner: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'


class WebhookApp:
    """Stands for the app under test: serves canned answers per path and records every request."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self._routes: dict[str, Handler] = {}
        self._changed = threading.Condition()
        app = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, method: str) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                source = raw if method == "POST" else split.query
                request = ReceivedRequest(
                    method=method,
                    path=split.path,
                    url=f"http://{self.headers['Host']}{self.path}",
                    params=dict(parse_qsl(source, keep_blank_values=True)),
                    signature=self.headers.get("X-Twilio-Signature"),
                )
                reply = app._handle(request)
                body = reply.body.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    def start(self) -> WebhookApp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, answer: str | Handler, status: int = 200, content_type: str = "text/xml") -> None:
        if isinstance(answer, str):
            text = answer

            def fixed(_request: ReceivedRequest) -> Reply:
                return Reply(text, status, content_type)

            self._routes[path] = fixed
        else:
            self._routes[path] = answer

    def _handle(self, request: ReceivedRequest) -> Reply:
        handler = self._routes.get(request.path)
        reply = handler(request) if handler else Reply("no such route", 404, "text/plain")
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()
        return reply

    def to(self, path: str) -> list[ReceivedRequest]:
        with self._changed:
            return [request for request in self.requests if request.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 5.0) -> list[ReceivedRequest]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.to_unlocked(path)) >= count, timeout=timeout)
            return self.to_unlocked(path)

    def to_unlocked(self, path: str) -> list[ReceivedRequest]:
        return [request for request in self.requests if request.path == path]


@pytest.fixture
def app() -> Iterator[WebhookApp]:
    webhook_app = WebhookApp().start()
    yield webhook_app
    webhook_app.stop()


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    stand_in = TwilioStandIn(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, speed=0.0).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def shop(app: WebhookApp, standin: TwilioStandIn) -> WebhookApp:
    """The shop's number points at the webhook app: /voice, /status and /sms."""
    standin.register_number(
        SHOP_NUMBER, voice_url=app.url("/voice"), status_callback_url=app.url("/status"), sms_url=app.url("/sms")
    )
    app.route("/status", "", content_type="text/plain")
    return app


@pytest.fixture
def client(standin: TwilioStandIn) -> Client:
    """The real twilio SDK, pointed at the stand-in."""
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=make_http_client(standin.base_url))


def assert_all_signed(app: WebhookApp) -> None:
    assert app.requests, "the app received no webhook at all"
    for request in app.requests:
        assert request.signature_valid(), f"bad X-Twilio-Signature on {request.method} {request.url}"


class BackgroundCall:
    """An inbound call placed from another thread, for scenarios where the app must act meanwhile."""

    def __init__(self, standin: TwilioStandIn, from_: str, to: str, script: CallerScript | None = None) -> None:
        self._result: list[Transcript] = []
        self._error: list[BaseException] = []

        def place() -> None:
            try:
                self._result.append(standin.place_inbound_call(from_, to, script))
            except BaseException as exc:
                self._error.append(exc)

        self._thread = threading.Thread(target=place, daemon=True)
        self._thread.start()

    def transcript(self, timeout: float = 10.0) -> Transcript:
        self._thread.join(timeout)
        if self._error:
            raise self._error[0]
        assert self._result, "the call did not end in time"
        return self._result[0]
