"""Every text out goes through here (#18): stored in the outbox, then tried at once; the minute
sweep tries again what Twilio could not take, oldest first, until a day has passed.

- ``send`` stores the text under its id (``domain.text_outbox.text_id``) unless it is there
  already, then tries it unless an earlier text to the same recipient still waits (texts go in
  the order they were written). A second ``send`` of the same id (a retry, a redelivered stream
  record) sends nothing new; it only tries a pending one that is due.
- ``try_text`` claims the record, checks the do-not-call list again for a customer's text (the
  customer may have opted out while it waited), sends, and records the answer: sent (a
  customer's text then goes on their timeline, at the time it really went); retried with
  backoff after 5xx, 429, a timeout or no connection; failed with Twilio's reason when Twilio
  refuses it (an invalid number); parked after a day of failures.
- After a timeout (Twilio may have taken the text), the next try first asks Twilio for the text
  and records it as sent if it is there: never a second text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.entities import TextMessage
from chalicelib.domain.text_outbox import OutgoingText, due, next_attempt_at
from chalicelib.observability import logger
from chalicelib.services.ports import (
    MessageNotSentError,
    MessageOutcomeUnknownError,
    Messenger,
    SentTexts,
    TextOutbox,
    TextStore,
)

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings  # cold start: pydantic, never at import

LEASE = timedelta(minutes=2)  # a claimed try that never reports back is tried again after this
SWEEP_LIMIT = 200
FAILURES_BEFORE_PAUSE = 3


@dataclass(frozen=True)
class TextLine:
    """What every text goes through: the outbox, Twilio, Twilio's own log of texts (after a
    timeout), and the store that logs customer texts and keeps the do-not-call list."""

    outbox: TextOutbox
    messenger: Messenger
    sent_texts: SentTexts
    store: TextStore  # the do-not-call list, the timeline's texts, the orders they asked about
    shop_of: Callable[[str], ShopSettings | None]  # a customer text's local day on the timeline


def send(text: OutgoingText, *, line: TextLine, now: datetime) -> str:
    """``queued`` (new, waiting behind an earlier one or for Twilio), ``sent``, ``failed``,
    ``parked``, or ``duplicate`` (this text was written before)."""
    if not line.outbox.add(text):
        stored = line.outbox.get(text.text_id)
        if stored is not None and due(stored, now):
            try_text(text.text_id, line=line, now=now)
        return "duplicate"
    if line.outbox.pending_before(text.shop_id, text.to, text.created_at):
        logger.info("text queued behind an earlier one", extra={"text_id": text.text_id})
        return "queued"
    result = try_text(text.text_id, line=line, now=now)
    return "queued" if result in ("retry", "skipped") else result


def try_text(text_id: str, *, line: TextLine, now: datetime) -> str:
    """One try of a pending, due text: ``sent``, ``retry``, ``failed``, ``parked`` or
    ``skipped`` (not pending, not due, or taken by another run)."""
    outbox = line.outbox
    text = outbox.get(text_id)
    if text is None or not due(text, now):
        return "skipped"
    log_keys = {"text_id": text_id, "shop_id": text.shop_id, "purpose": text.purpose}
    if text.kind == "customer" and line.store.is_do_not_call(text.shop_id, text.to):
        outbox.failed(text_id, now, "on the do-not-call list")
        logger.info("text not sent: the customer opted out", extra=log_keys)
        return "failed"
    if not outbox.claim(text_id, text.attempts, now + LEASE):
        return "skipped"
    attempts = text.attempts + 1
    try:
        sid = _earlier_send(text, line) if text.uncertain else None
        sid = sid or line.messenger.send_sms(to=text.to, from_=text.from_, body=text.body)
    except MessageNotSentError as error:
        if not error.temporary:
            outbox.failed(text_id, now, str(error)[:500])
            logger.warning("text refused by Twilio", extra={**log_keys, "error": str(error)})
            return "failed"
        return _retry(text, attempts, now, str(error), outbox, uncertain=False)
    except MessageOutcomeUnknownError as error:
        return _retry(text, attempts, now, f"timed out: {error}", outbox, uncertain=True)
    except Exception as error:  # anything else before Twilio's answer: try again later
        return _retry(text, attempts, now, f"{type(error).__name__}: {error}", outbox, uncertain=text.uncertain)
    outbox.sent(text_id, now, sid)
    if text.kind == "customer":
        _log_sent(replace(text, message_sid=sid, sent_at=now), line)
    logger.info("text sent", extra={**log_keys, "attempts": attempts})
    return "sent"


def _earlier_send(text: OutgoingText, line: TextLine) -> str | None:
    return line.sent_texts.find_sent_text(to=text.to, from_=text.from_, body=text.body, since=text.created_at)


def _retry(text: OutgoingText, attempts: int, now: datetime, error: str, outbox: TextOutbox, *, uncertain: bool) -> str:
    log_keys = {"text_id": text.text_id, "shop_id": text.shop_id, "attempts": attempts, "error": error[:200]}
    at = next_attempt_at(attempts, text.retrying_since or text.created_at, now)
    if at is None:
        outbox.park(text.text_id, text.shop_id, now, f"gave up after {attempts} tries: {error}"[:500])
        logger.warning("text parked after a day of failures", extra=log_keys)
        return "parked"
    outbox.retry_at(text.text_id, at, error[:500], uncertain=uncertain)
    logger.info("text will be retried", extra={**log_keys, "next_attempt_at": at.isoformat()})
    return "retry"


def _log_sent(text: OutgoingText, line: TextLine) -> None:
    shop: ShopSettings | None = line.shop_of(text.shop_id)
    if shop is None:
        return
    at = text.sent_at or text.created_at
    line.store.log_message(
        TextMessage.of(
            shop,
            text.to,
            text.message_sid or "",
            "outbound",
            text.body,
            at,
            purpose=text.purpose,
            order_ids=text.order_ids,
        )
    )
    if text.purpose == "confirm-request" and text.order_ids:
        line.store.mark_orders(shop.shop_id, text.order_ids, asked_by="sms")  # a reply now decides them


def sweep_due(*, line: TextLine, now: datetime, limit: int = SWEEP_LIMIT) -> dict[str, int]:
    """Try every due text, in the order they were written. A recipient whose text fails gets
    nothing more in this run (a later text must not overtake it); after a few failures in a row
    Twilio is taken to be down and the rest wait for the next minute."""
    texts = [t for t in (line.outbox.get(i) for i in line.outbox.due(now, limit)) if t is not None]
    counts: dict[str, int] = {}
    held: set[tuple[str, str]] = set()
    failures_in_a_row = 0
    for text in sorted(texts, key=lambda t: (t.created_at, t.text_id)):
        recipient = (text.shop_id, text.to)
        if recipient in held or line.outbox.pending_before(text.shop_id, text.to, text.created_at):
            held.add(recipient)  # an earlier text to them waits out its backoff: this one waits too
            continue
        result = try_text(text.text_id, line=line, now=now)
        counts[result] = counts.get(result, 0) + 1
        failed = result in ("retry", "parked")
        failures_in_a_row = failures_in_a_row + 1 if failed else 0
        if failed:
            held.add(recipient)
        if failures_in_a_row >= FAILURES_BEFORE_PAUSE:
            break
    return counts


# ---- operator ------------------------------------------------------------------------------------
def parked_texts(shops: list[ShopSettings], *, outbox: TextOutbox) -> list[OutgoingText]:
    return [text for shop in shops for text in outbox.parked(shop.shop_id)]


def replay(text_ids: list[str], *, outbox: TextOutbox, now: datetime) -> dict[str, bool]:
    """Each parked text back to pending (the next sweep sends it); False for one unknown or not parked."""
    return {text_id: outbox.replay(text_id, now) for text_id in text_ids}
