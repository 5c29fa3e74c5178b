"""SMS: messages the app sends (REST or TwiML), inbound messages and their MessagingResponse."""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from devtools.twilio_standin.legs import API_VERSION, CallLeg, StatusCallbackConfig, rfc2822
from devtools.twilio_standin.webhooks import MAX_TWIML_BYTES, address_params

if TYPE_CHECKING:
    from devtools.twilio_standin.calls import CallEngine

logger = logging.getLogger(__name__)

# Twilio's default opt-out handling: these keywords (alone in a message) change the sender's consent.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
DELIVERY_STATUSES = ("queued", "sent", "delivered")
DELIVERY_STEP_SECONDS = 1.0  # virtual time between delivery statuses
MAX_BODY_CHARACTERS = 1600
MAX_MESSAGING_REDIRECTS = 10


def segments(body: str) -> int:
    """SMS segments: 160/153 GSM characters, or 70/67 UCS-2 ones (Cyrillic, for instance)."""
    single, multi = (160, 153) if body.isascii() else (70, 67)
    if len(body) <= single:
        return 1
    return math.ceil(len(body) / multi)


def opt_out_type(body: str) -> str | None:
    keyword = body.strip().upper()
    if keyword in OPT_OUT_KEYWORDS:
        return "STOP"
    if keyword in OPT_IN_KEYWORDS:
        return "START"
    if keyword in HELP_KEYWORDS:
        return "HELP"
    return None


@dataclass(eq=False)
class MessageRecord:
    """A Message resource, plus what the stand-in saw happen to it."""

    account_sid: str
    from_: str | None
    to: str
    body: str
    direction: str  # inbound, outbound-api, outbound-reply or outbound-call
    created: datetime
    status: str = "queued"
    messaging_service_sid: str | None = None
    status_callback: StatusCallbackConfig | None = None
    call_sid: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    sid: str = field(default_factory=lambda: "SM" + secrets.token_hex(16))
    events: list[dict[str, Any]] = field(default_factory=list)
    application_errors: list[dict[str, Any]] = field(default_factory=list)
    replies: list[MessageRecord] = field(default_factory=list)
    as_created: dict[str, Any] = field(default_factory=dict, repr=False)  # Twilio's answer to the create

    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def to_json(self) -> dict[str, Any]:
        sent = self.status in ("sent", "delivered", "received")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.created),
            "date_sent": rfc2822(self.created) if sent else None,
            "date_updated": rfc2822(self.created),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(segments(self.body)),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {"media": self.uri()[: -len(".json")] + "/Media.json"},
            "to": self.to,
            "uri": self.uri(),
        }

    def to_dict(self) -> dict[str, Any]:
        """The REST shape plus the stand-in's own record (for the control API)."""
        return self.to_json() | {
            "call_sid": self.call_sid,
            "events": list(self.events),
            "application_errors": list(self.application_errors),
            "replies": [reply.sid for reply in self.replies],
        }


class MessageCenter:
    def __init__(self, engine: CallEngine) -> None:
        self._engine = engine
        self._messages: dict[str, MessageRecord] = {}
        self._opted_out: set[tuple[str, str]] = set()  # (recipient, our number)
        self._lock = threading.Lock()

    # -- records ----------------------------------------------------------------------------
    def all(self) -> list[MessageRecord]:
        with self._lock:
            return list(self._messages.values())

    def get(self, sid: str) -> MessageRecord | None:
        with self._lock:
            return self._messages.get(sid)

    def _add(self, message: MessageRecord) -> MessageRecord:
        with self._lock:
            self._messages[message.sid] = message
        return message

    def opt_out(self, recipient: str, sender: str) -> None:
        """A recipient who unsubscribed from ``sender`` at Twilio (REST sends then fail with 21610)."""
        with self._lock:
            self._opted_out.add((recipient, sender))

    def is_opted_out(self, recipient: str, sender: str | None) -> bool:
        with self._lock:
            if sender is None:  # sending through a messaging service: any of our numbers counts
                return any(person == recipient for person, _ in self._opted_out)
            return (recipient, sender) in self._opted_out

    # -- outbound ---------------------------------------------------------------------------
    def send(
        self,
        *,
        from_: str | None,
        to: str,
        body: str,
        direction: str,
        status_callback: StatusCallbackConfig | None,
        messaging_service_sid: str | None = None,
        call_sid: str | None = None,
    ) -> MessageRecord:
        """Accept a message, then deliver it in the background with its status callbacks."""
        engine = self._engine
        message = self._add(
            MessageRecord(
                account_sid=engine.account_sid,
                from_=from_,
                to=to,
                body=body,
                direction=direction,
                created=engine.clock(),
                messaging_service_sid=messaging_service_sid,
                status_callback=status_callback,
                call_sid=call_sid,
            )
        )
        message.events.append({"status": "queued"})
        if self.is_opted_out(to, from_):
            # Twilio refuses REST sends up front (21610); a TwiML reply just fails.
            message.status, message.error_code = "failed", 21610
            message.error_message = "Attempt to send to unsubscribed recipient"
            message.events.append({"status": "failed", "error_code": 21610})
            return message
        message.as_created = message.to_json()  # before delivery can move it on
        engine.spawn(f"standin-sms-{message.sid[:10]}", lambda: self._deliver(message))
        return message

    def send_from_call(
        self, leg: CallLeg, from_: str, to: str, body: str, status_callback: StatusCallbackConfig | None
    ) -> MessageRecord:
        return self.send(
            from_=from_,
            to=to,
            body=body,
            direction="outbound-call",
            status_callback=status_callback,
            call_sid=leg.sid,
        )

    def _deliver(self, message: MessageRecord) -> None:
        engine = self._engine
        for index, status in enumerate(DELIVERY_STATUSES):
            if index and engine.speed > 0:
                time.sleep(DELIVERY_STEP_SECONDS / engine.speed)
            if engine.stopping:
                return
            message.status = status
            if index:
                message.events.append({"status": status})
            if message.status_callback is None:
                continue
            params = {
                "AccountSid": engine.account_sid,
                "ApiVersion": API_VERSION,
                "MessageSid": message.sid,
                "SmsSid": message.sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "From": message.from_ or "",
                "To": message.to,
            }
            if message.messaging_service_sid:
                params["MessagingServiceSid"] = message.messaging_service_sid
            response = engine.webhooks.send(message.status_callback.url, message.status_callback.method, params)
            message.events.append(
                {"webhook": "status-callback", "url": response.url, "status": response.status, "sent": status}
            )

    # -- inbound ----------------------------------------------------------------------------
    def receive(self, from_: str, to: str, body: str) -> MessageRecord:
        """An SMS from a person to one of our numbers; its TwiML replies become ``replies``."""
        engine = self._engine
        number = engine.numbers.get(to)
        if number is None:
            from devtools.twilio_standin.calls import UnknownNumberError

            raise UnknownNumberError(f"{to} is not a registered number")
        inbound = self._add(
            MessageRecord(
                account_sid=engine.account_sid,
                from_=from_,
                to=to,
                body=body,
                direction="inbound",
                created=engine.clock(),
                status="received",
            )
        )
        consent = opt_out_type(body)
        with self._lock:
            if consent == "STOP":
                self._opted_out.add((from_, to))
            elif consent == "START":
                self._opted_out.discard((from_, to))
        if not number.sms_url or number.sms_application_sid:  # an application's texts: not the stand-in's
            return inbound
        params = {
            "AccountSid": engine.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": inbound.sid,
            "SmsMessageSid": inbound.sid,
            "SmsSid": inbound.sid,
            "SmsStatus": "received",
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(segments(body)),
            **address_params("From", from_),
            **address_params("To", to),
        }
        if consent is not None:
            params["OptOutType"] = consent
        url, method = number.sms_url, number.sms_method
        for _ in range(MAX_MESSAGING_REDIRECTS):
            redirect = self._run_messaging_twiml(inbound, url, method, params)
            if redirect is None:
                break
            url, method = redirect
        return inbound

    def _run_messaging_twiml(
        self, inbound: MessageRecord, url: str, method: str, params: dict[str, str]
    ) -> tuple[str, str] | None:
        engine = self._engine
        response = engine.webhooks.send(url, method, params)
        inbound.events.append({"webhook": "sms", "url": response.url, "status": response.status})

        def fault(reason: str) -> None:
            error = {"url": url, "status": response.status, "reason": reason, "snippet": response.snippet()}
            inbound.application_errors.append(error)
            logger.warning("SMS webhook %s failed: %s", url, reason)

        if not response.ok:
            fault(response.error or f"HTTP {response.status}")
            return None
        if not response.body.strip():
            return None  # an empty answer means no reply
        if len(response.body) > MAX_TWIML_BYTES:
            fault("TwiML over 64 kB")
            return None
        try:
            root = ET.fromstring(response.body)  # TwiML from the local app under test
        except ET.ParseError as exc:
            fault(f"not XML: {exc}")
            return None
        if root.tag != "Response":
            fault(f"root element is <{root.tag}>, not <Response>")
            return None
        for element in root:
            if element.tag == "Message":
                body_element = element.find("Body")
                text = "".join((body_element if body_element is not None else element).itertext()).strip()
                callback_url = element.get("statusCallback") or element.get("action")
                callback = (
                    StatusCallbackConfig(urljoin(url, callback_url), (element.get("method") or "POST").upper())
                    if callback_url
                    else None
                )
                reply = self.send(
                    from_=element.get("from") or inbound.to,
                    to=element.get("to") or inbound.from_ or "",
                    body=text,
                    direction="outbound-reply",
                    status_callback=callback,
                )
                inbound.replies.append(reply)
            elif element.tag == "Redirect":
                target = "".join(element.itertext()).strip()
                return urljoin(url, target), (element.get("method") or "POST").upper()
            else:
                fault(f"unknown messaging TwiML verb <{element.tag}>")
        return None
