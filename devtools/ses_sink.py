"""A local stand-in for Amazon SES (v1 Query API) that writes sent mail to an outbox folder.

Point boto3 at it with ``AWS_ENDPOINT_URL_SES=<sink.base_url>`` (or ``endpoint_url=``). Each
accepted message becomes ``<UTC time>-<message id>.eml`` (the MIME message as sent, with
envelope headers on top) and ``.html`` (the HTML body with ``cid:`` images inlined as
``data:`` URIs, so a browser shows the charts; a text-only message is shown in ``<pre>``).

As SES in its sandbox, a sink given ``verified_identities`` rejects mail from any other
sender, and ``throttle_next(n)`` makes the next n sends fail with SES's throttling error.
"""

from __future__ import annotations

import base64
import html
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

from chalicelib.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

SES_XMLNS = "http://ses.amazonaws.com/doc/2010-12-01/"
MAX_RAW_MESSAGE_BYTES = 10 * 1024 * 1024  # SES v1 limit for SendRawEmail
_CID_REFERENCE = re.compile(r"cid:([^\"'\s)>]+)", re.IGNORECASE)
_MEMBER_INDEX = re.compile(r"\.member\.(\d+)$")


class SesError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, kind: str = "Sender") -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.kind = code, message, status, kind


@dataclass(frozen=True)
class OutboxMessage:
    message_id: str
    source: str
    destinations: tuple[str, ...]
    eml_path: Path
    html_path: Path

    @property
    def message(self) -> EmailMessage:
        """The message as written to the outbox, parsed."""
        with self.eml_path.open("rb") as eml:
            parsed: EmailMessage = BytesParser(policy=policy.default).parse(eml)
        return parsed


class SesSink:
    def __init__(
        self,
        outbox_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        verified_identities: set[str] | None = None,
        *,
        region: str = "us-east-1",
        clock: Clock | None = None,
    ) -> None:
        self.outbox_dir = Path(outbox_dir)
        self.host = host
        self.requested_port = port
        self.region = region
        self.clock: Clock = clock or SystemClock()
        # None: every sender is accepted (SES out of its sandbox, for a given domain).
        self.verified_identities = None if verified_identities is None else {i.lower() for i in verified_identities}
        self._known_identities: set[str] = set(self.verified_identities or ())
        self._lock = threading.Lock()
        self._throttle_remaining = 0
        self._sent: list[OutboxMessage] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> SesSink:
        if self._server is not None:
            return self
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        sink = self

        class RequestHandler(_SesRequestHandler):
            pass

        RequestHandler.sink = sink
        self._server = ThreadingHTTPServer((self.host, self.requested_port), RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="ses-sink", daemon=True
        )
        self._thread.start()
        logger.info("SES sink at %s writing to %s", self.base_url, self.outbox_dir)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> SesSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SesSink is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- test hooks and inspection --------------------------------------------------------

    def throttle_next(self, count: int = 1) -> None:
        """Make the next ``count`` sends fail with SES's Throttling error."""
        with self._lock:
            self._throttle_remaining = count

    def messages(self) -> list[OutboxMessage]:
        """Messages this sink accepted, oldest first."""
        with self._lock:
            return list(self._sent)

    # -- the SES actions ----------------------------------------------------------------

    def handle(self, params: dict[str, str]) -> str:
        """Answer one Query API call with the response XML (raises SesError)."""
        action = params.get("Action", "")
        if action == "SendRawEmail":
            return self._result(action, f"<MessageId>{escape(self._send_raw(params))}</MessageId>")
        if action == "SendEmail":
            return self._result(action, f"<MessageId>{escape(self._send_simple(params))}</MessageId>")
        if action == "VerifyEmailIdentity":
            self._verify(_required(params, "EmailAddress"))
            return self._result(action, "")
        if action == "VerifyDomainIdentity":
            self._verify(_required(params, "Domain"))
            token = base64.b64encode(uuid.uuid4().bytes).decode()
            return self._result(action, f"<VerificationToken>{token}</VerificationToken>")
        if action == "ListIdentities":
            return self._result(action, f"<Identities>{self._identity_members(params)}</Identities>")
        if action == "GetSendQuota":
            with self._lock:
                sent = len(self._sent)
            return self._result(
                action,
                "<Max24HourSend>200.0</Max24HourSend><MaxSendRate>1.0</MaxSendRate>"
                f"<SentLast24Hours>{float(sent)}</SentLast24Hours>",
            )
        raise SesError("InvalidAction", f"The action {action or '(none)'} is not valid for this endpoint.")

    def _send_raw(self, params: dict[str, str]) -> str:
        try:
            raw = base64.b64decode(_required(params, "RawMessage.Data"), validate=True)
        except ValueError as exc:
            raise SesError("InvalidParameterValue", "RawMessage.Data is not valid base64.") from exc
        if len(raw) > MAX_RAW_MESSAGE_BYTES:
            raise SesError(
                "MessageRejected", f"Message length is more than {MAX_RAW_MESSAGE_BYTES} bytes long: '{len(raw)}'."
            )
        message = BytesParser(policy=policy.default).parsebytes(raw)
        source = params.get("Source") or str(message.get("From", ""))
        destinations = _members(params, "Destinations") or _header_addresses(message, ("To", "Cc", "Bcc"))
        return self._accept(source, destinations, raw)

    def _send_simple(self, params: dict[str, str]) -> str:
        source = _required(params, "Source")
        to = _members(params, "Destination.ToAddresses")
        cc = _members(params, "Destination.CcAddresses")
        bcc = _members(params, "Destination.BccAddresses")
        message = EmailMessage()
        message["From"] = source
        if to:
            message["To"] = ", ".join(to)
        if cc:
            message["Cc"] = ", ".join(cc)
        reply_to = _members(params, "ReplyToAddresses")
        if reply_to:
            message["Reply-To"] = ", ".join(reply_to)
        message["Subject"] = params.get("Message.Subject.Data", "")
        text = params.get("Message.Body.Text.Data")
        html_body = params.get("Message.Body.Html.Data")
        if text is None and html_body is None:
            raise SesError("InvalidParameterValue", "Message body must have either text or HTML.")
        message.set_content(text if text is not None else "")
        if html_body is not None:
            if text is None:
                message.set_content(html_body, subtype="html")
            else:
                message.add_alternative(html_body, subtype="html")
        return self._accept(source, [*to, *cc, *bcc], message.as_bytes(policy=policy.SMTP))

    def _accept(self, source: str, destinations: list[str], raw: bytes) -> str:
        sender = parseaddr(source)[1].lower()
        if not sender or "@" not in sender:
            raise SesError("InvalidParameterValue", f"Missing final '@domain' in Source {source!r}.")
        if not destinations:
            raise SesError("InvalidParameterValue", "Missing required header 'To'.")
        with self._lock:
            if self._throttle_remaining > 0:
                self._throttle_remaining -= 1
                raise SesError("Throttling", "Maximum sending rate exceeded.")
            if self.verified_identities is not None and not _is_verified(sender, self.verified_identities):
                raise SesError(
                    "MessageRejected",
                    "Email address is not verified. The following identities failed the check in region "
                    f"{self.region.upper()}: {sender}",
                )
            message_id = f"{int(time.time() * 1000):016x}-{uuid.uuid4()}-000000"
            stamp = _file_stamp(self.clock.now())
            eml_path = self.outbox_dir / f"{stamp}-{message_id}.eml"
            html_path = eml_path.with_suffix(".html")
            stored = _with_envelope(raw, source=sender, destinations=destinations, message_id=message_id)
            eml_path.write_bytes(stored)
            parsed = BytesParser(policy=policy.default).parsebytes(stored)
            html_path.write_text(render_html(parsed), encoding="utf-8")
            self._sent.append(OutboxMessage(message_id, sender, tuple(destinations), eml_path, html_path))
        logger.info("SES sink: %s -> %s %r (%s)", sender, ", ".join(destinations), parsed["Subject"], eml_path.name)
        return message_id

    def _verify(self, identity: str) -> None:
        # Real SES mails a link first; locally the identity is verified at once.
        with self._lock:
            self._known_identities.add(identity.lower())
            if self.verified_identities is not None:
                self.verified_identities.add(identity.lower())

    def _identity_members(self, params: dict[str, str]) -> str:
        wanted = params.get("IdentityType")
        with self._lock:
            identities = sorted(self._known_identities)
        if wanted == "EmailAddress":
            identities = [i for i in identities if "@" in i]
        elif wanted == "Domain":
            identities = [i for i in identities if "@" not in i]
        return "".join(f"<member>{escape(identity)}</member>" for identity in identities)

    @staticmethod
    def _result(action: str, body: str) -> str:
        return (
            f'<{action}Response xmlns="{SES_XMLNS}">'
            f"<{action}Result>{body}</{action}Result>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            f"</{action}Response>"
        )


def error_xml(error: SesError) -> str:
    return (
        f'<ErrorResponse xmlns="{SES_XMLNS}">'
        f"<Error><Type>{error.kind}</Type><Code>{escape(error.code)}</Code>"
        f"<Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId>"
        "</ErrorResponse>"
    )


class _SesRequestHandler(BaseHTTPRequestHandler):
    sink: SesSink
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        params = {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}
        try:
            status, payload = 200, self.sink.handle(params)
        except SesError as exc:
            logger.info("SES sink refused %s: %s %s", params.get("Action"), exc.code, exc.message)
            status, payload = exc.status, error_xml(exc)
        except Exception:
            logger.exception("SES sink failed on %s", params.get("Action"))
            status, payload = 500, error_xml(SesError("InternalFailure", "The sink failed.", 500, "Receiver"))
        encoded = payload.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(encoded)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("SES sink %s - " + format, self.address_string(), *args)


# -- rendering ----------------------------------------------------------------------------


def render_html(message: EmailMessage) -> str:
    """A browser-ready page for a message: its HTML with inline images, or its text."""
    html_part = message.get_body(preferencelist=("html",))
    if html_part is not None:
        inline = _inline_parts(message)

        def to_data_uri(match: re.Match[str]) -> str:
            return inline.get(unquote(match.group(1)).strip("<>"), match.group(0))

        page = _CID_REFERENCE.sub(to_data_uri, str(html_part.get_content()))
        if "charset" not in page[:2048].lower():
            page = '<meta charset="utf-8">\n' + page  # the file is written as UTF-8
        return page
    text_part = message.get_body(preferencelist=("plain",))
    text = str(text_part.get_content()) if text_part is not None else ""
    subject = html.escape(str(message.get("Subject", "")))
    headers = "".join(
        f"<tr><th>{name}</th><td>{html.escape(str(message.get(name, '')))}</td></tr>"
        for name in ("From", "To", "Cc", "Subject", "Date")
        if message.get(name)
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{subject}</title></head><body>"
        f"<table>{headers}</table><pre>{html.escape(text)}</pre></body></html>\n"
    )


def _inline_parts(message: Message) -> dict[str, str]:
    """Content-ID (without angle brackets) -> data: URI, for every part that has one."""
    inline: dict[str, str] = {}
    for part in message.walk():
        content_id = part.get("Content-ID")
        if not content_id or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        encoded = base64.b64encode(payload).decode("ascii")
        inline[str(content_id).strip().strip("<>")] = f"data:{part.get_content_type()};base64,{encoded}"
    return inline


# -- helpers ------------------------------------------------------------------------------


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise SesError("ValidationError", f"1 validation error detected: Value null at '{name}' must not be null")
    return value


def _members(params: dict[str, str], prefix: str) -> list[str]:
    """``Prefix.member.1``, ``Prefix.member.2``... in index order."""
    found = []
    for name, value in params.items():
        if name.startswith(prefix + ".member.") and (match := _MEMBER_INDEX.search(name)):
            found.append((int(match.group(1)), value))
    return [value for _, value in sorted(found)]


def _header_addresses(message: Message, headers: Iterable[str]) -> list[str]:
    values = [str(value) for header in headers for value in message.get_all(header, [])]
    return [address for _, address in getaddresses(values) if address]


def _is_verified(sender: str, verified: set[str]) -> bool:
    return sender in verified or sender.rpartition("@")[2] in verified


def _with_envelope(raw: bytes, *, source: str, destinations: list[str], message_id: str) -> bytes:
    """Prepend what a receiving server records (the envelope, so Bcc recipients show)."""
    newline = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
    lines = [
        f"Return-Path: <{source}>",
        f"X-SES-Envelope-To: {', '.join(destinations)}",
    ]
    header_block = raw.split(newline + newline, 1)[0].lower()
    if not header_block.startswith(b"message-id:") and newline + b"message-id:" not in header_block:
        lines.append(f"Message-ID: <{message_id}@email.amazonses.com>")  # SES adds one when absent
    # Envelope values come from the request: strip anything that could start a new header.
    cleaned = [re.sub(r"[\r\n]+", " ", line) for line in lines]
    return newline.join(line.encode("utf-8") for line in cleaned) + newline + raw


def _file_stamp(instant: datetime) -> str:
    utc = instant.astimezone(UTC)
    return utc.strftime("%Y%m%dT%H%M%S.") + f"{utc.microsecond // 1000:03d}Z"
