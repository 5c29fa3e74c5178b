"""Outgoing email: a plain message description, its MIME form, and the SES sender.

The MIME tree grows only as far as a message needs: text + HTML make a
multipart/alternative; inline images (referenced from the HTML as ``cid:<id>``) wrap the
HTML in multipart/related; attachments wrap everything in multipart/mixed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from typing import Any

from chalicelib.domain.email import OutgoingEmail, one_line
from chalicelib.observability import logger
from chalicelib.services.ports import EmailRejected

# SES's own codes for "slow down"; 5xx are retried as well.
_THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException"})
_REJECTION_CODES = frozenset({"MessageRejected", "MailFromDomainNotVerifiedException"})


class EmailSendFailed(Exception):
    """SES could not take the message even after retries."""


def build_mime_message(email: OutgoingEmail) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = one_line(email.subject)
    message["From"] = email.sender
    message["To"] = ", ".join(email.recipients)
    message["Date"] = formatdate(usegmt=True)
    # The sender's domain, not socket.getfqdn(): that is a DNS lookup on a Lambda cold start.
    message["Message-ID"] = make_msgid(domain=email.sender.rpartition("@")[2] or "localhost")
    message.set_content(email.text, subtype="plain", charset="utf-8")
    message.add_alternative(email.html, subtype="html", charset="utf-8")
    html_part = message.get_body(("html",))
    if email.inline_images and html_part is not None:
        for image in email.inline_images:
            html_part.add_related(image.data, maintype="image", subtype=image.subtype, cid=f"<{image.content_id}>")
    for attachment in email.attachments:
        if attachment.maintype == "text":
            # Text goes as UTF-8 with its charset named, so clients show a CSV's non-ASCII as written.
            message.add_attachment(
                attachment.data.decode("utf-8"),
                subtype=attachment.subtype,
                charset="utf-8",
                filename=attachment.filename,
            )
            continue
        message.add_attachment(
            attachment.data,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    return message


def _ses_client(region_name: str | None) -> Any:
    import boto3  # cold start: SES only when mail goes out
    from botocore.config import Config  # cold start: SES only when mail goes out

    # botocore's standard mode already backs off on throttling and 5xx; ours is a second, slower layer.
    config = Config(retries={"mode": "standard", "max_attempts": 4})
    return boto3.client("ses", region_name=region_name, config=config)


class SesEmailSender:
    """Sends ``OutgoingEmail`` through SES ``SendRawEmail``; returns the SES MessageId.

    The client is created on first send, never at import (moto and cold starts need this);
    boto3 honours ``AWS_ENDPOINT_URL_SES``. ``SES_REGION`` picks SES's region when it differs
    from the function's.
    """

    def __init__(
        self,
        *,
        region_name: str | None = None,
        client: Any = None,
        attempts: int = 3,
        base_delay_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._region_name = region_name or os.environ.get("SES_REGION") or None
        self._client = client
        self._attempts = max(1, attempts)
        self._base_delay_seconds = base_delay_seconds
        self._sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _ses_client(self._region_name)
        return self._client

    def send(self, email: OutgoingEmail) -> str:
        from botocore.exceptions import ClientError  # cold start: SES only when mail goes out

        raw = build_mime_message(email).as_bytes(policy=SMTP)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.client.send_raw_email(
                    Source=email.sender,
                    Destinations=list(email.recipients),
                    RawMessage={"Data": raw},
                )
                return str(response["MessageId"])
            except ClientError as error:
                failure, retryable = _ses_failure(error, email.sender)
                if not retryable:
                    raise failure from error
                if attempt >= self._attempts:
                    raise EmailSendFailed(f"{failure} (gave up after {attempt} attempts)") from error
                delay = self._base_delay_seconds * 2 ** (attempt - 1)
                logger.warning(
                    "SES busy, retrying",
                    extra={"attempt": attempt, "retry_in_seconds": delay, "error": str(failure)},
                )
                self._sleep(delay)


def _ses_failure(error: Any, sender: str) -> tuple[Exception, bool]:
    """The exception to raise for an SES error, and whether trying again may help."""
    details = error.response.get("Error", {})
    code, message = details.get("Code", ""), details.get("Message", "")
    if code in _REJECTION_CODES:
        return (
            EmailRejected(
                f"SES rejected the message from {sender}: {message or code}. Verify the sender's "
                "address or domain in SES (in the SES sandbox, the recipients too)."
            ),
            False,
        )
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    retryable = code in _THROTTLING_CODES or status >= 500
    return EmailSendFailed(f"SES did not take the message from {sender}: {code} {message}".strip()), retryable
