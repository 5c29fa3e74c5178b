"""A shop's CRM on loopback for the local stack and the tests: takes the call center's signed
event POSTs, answers each from a script (say 503 first, then 200), and keeps what it received.
It checks the signature as a real CRM should (``chalicelib.domain.crm.verify_signature``,
against its own, real clock) and answers 401 to a bad one."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.clock import wall_now
from chalicelib.domain.crm import EVENT_ID_HEADER, SIGNATURE_HEADER, SignatureRefused, verify_signature


@dataclass(frozen=True)
class Received:
    path: str
    event_id: str
    signature: str
    body: bytes
    answered: int
    signature_ok: bool

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class CrmReceiver:
    def __init__(self, secret: bytes, now: Callable[[], datetime] = wall_now, answers: list[int] | None = None) -> None:
        self.secret = secret
        self.now = now
        self.answers = list(answers or [200])  # the last one repeats
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/crm/events"

    def answer_with(self, *answers: int) -> None:
        with self._lock:
            self.answers = list(answers)

    def delivered(self) -> list[Received]:
        """What the CRM accepted (2xx), in arrival order."""
        with self._lock:
            return [r for r in self.received if 200 <= r.answered < 300]

    def start(self) -> CrmReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                signature = self.headers.get(SIGNATURE_HEADER, "")
                try:
                    verify_signature(signature, body, receiver.secret, receiver.now())
                    ok = True
                except SignatureRefused:
                    ok = False
                with receiver._lock:
                    status = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                    status = status if ok else 401
                    receiver.received.append(
                        Received(self.path, self.headers.get(EVENT_ID_HEADER, ""), signature, body, status, ok)
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="crm-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> CrmReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
