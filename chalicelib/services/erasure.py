"""Erase a customer of a shop (#18): ``cli.admin erase-customer`` and ``POST /v1/customers/erase``.

The recordings are deleted at Twilio first, each call forgetting its recording once Twilio has
deleted it (a Twilio failure leaves the rest for a second run, which is safe: every step finds
only what is left). Then the stored answers to the customer's orders' ``Idempotency-Key`` (before
the orders lose the keys, so a run that dies in between finds them again). Then the store erases
the rest (``domain.erasure`` says what stays). Logged
without the number.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.erasure import Erased
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger
from chalicelib.services.ports import CustomerErasure, ForgetOrderAnswers, RecordingDeletion


def erase_customer(
    shop: ShopSettings,
    phone: str,
    *,
    store: CustomerErasure,
    recordings: RecordingDeletion,
    order_answers: ForgetOrderAnswers,
    groups: set[str],
    now: datetime,
) -> Erased:
    """What was erased (all 0 for a number the shop does not know, or erased before). ``phone``
    is E.164; ``groups`` the shop's agent groups, whose queues may hold the customer."""
    deleted = 0
    for call_sid, recording_sid in store.recordings_of(shop.shop_id, phone):
        recordings.delete_recording(recording_sid)  # False: deleted at Twilio before; forget it too
        store.forget_recording(call_sid)
        deleted += 1
    answers = order_answers(shop.shop_id, store.order_answer_keys(shop.shop_id, phone))
    erased = store.erase(shop.shop_id, phone, set(groups), now)
    erased.recordings, erased.order_answers = deleted, answers
    logger.info("customer erased", extra={"shop_id": shop.shop_id, **erased.as_dict()})
    return erased
