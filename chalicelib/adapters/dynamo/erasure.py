"""Erasing one customer of one shop (#18) across the tables, found by the customer indexes
(Query, never a Scan). Records the report counts are anonymised and moved off the customer's
index key; the rest is deleted. Every step is safe to repeat: a second run finds nothing."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters.dynamo.items import shop_phone
from chalicelib.adapters.dynamo.schema import (
    CallItem,
    CrmEventItem,
    DedupClaimItem,
    DialTaskItem,
    DoNotCallItem,
    MessageItem,
    OrderItem,
    OutcomeItem,
    QueueEntryItem,
    TextOutItem,
)
from chalicelib.domain.dedup import dedup_claim_keys
from chalicelib.domain.erasure import (
    ERASED,
    Erased,
    anonymised_payload,
    customer_hash,
    do_not_call_hash,
    erased_shop_phone,
)
from chalicelib.domain.queue import queue_key


class DynamoErasure:
    def recordings_of(self, shop_id: str, phone: str) -> list[tuple[str, str]]:
        """(CallSid, RecordingSid) of the customer's recorded calls."""
        calls = CallItem.by_shop_phone.query(shop_phone(shop_id, phone))
        return [(c.call_sid, c.recording_sid) for c in calls if c.recording_sid]

    def order_answer_keys(self, shop_id: str, phone: str) -> list[str]:
        """The ``Idempotency-Key``s of the customer's orders: their stored answers name them."""
        orders = OrderItem.by_shop_phone.query(shop_phone(shop_id, phone))
        return [order.idempotency_key for order in orders if order.idempotency_key]

    def erase(self, shop_id: str, phone: str, groups: set[str], now: datetime) -> Erased:
        """Everything about ``phone`` in the shop but the recordings at Twilio (deleted first by
        the caller: a call keeps its recording's sid until then)."""
        erased = Erased()
        key, gone = shop_phone(shop_id, phone), erased_shop_phone(shop_id)
        task_ids: set[str] = set()
        for order in list(OrderItem.by_shop_phone.query(key)):
            erased.dedup_claims += _delete_claims(dedup_claim_keys(shop_id, phone, order.order_number))
            task_ids |= {order.task_id} if order.task_id else set()
            order.update(
                actions=[
                    OrderItem.phone.set(ERASED),
                    OrderItem.customer_name.set(""),
                    OrderItem.payload.set(anonymised_payload(dict(order.payload or {}))),
                    OrderItem.shop_phone.set(gone),
                    OrderItem.idempotency_key.remove(),
                ]
            )
            erased.orders += 1
        for call in list(CallItem.by_shop_phone.query(key)):
            groups |= {call.group} if call.group else set()
            task_ids |= {t for t in (call.callback_task_id, call.task_id) if t}
            call.update(
                actions=[
                    CallItem.customer_phone.set(ERASED),
                    CallItem.shop_phone.set(gone),
                    CallItem.transcription.remove(),
                    CallItem.recording_url.remove(),
                ]
            )
            erased.calls += 1
        for outcome in list(OutcomeItem.by_shop_phone.query(key)):
            outcome.update(
                actions=[OutcomeItem.phone.set(ERASED), OutcomeItem.shop_phone.set(gone), OutcomeItem.comment.set("")]
            )
            erased.outcomes += 1
        for message in list(MessageItem.query(key)):
            message.delete()
            erased.texts += 1
        for text in list(TextOutItem.by_customer.query(key)):
            TextOutItem(text.text_id).delete()
            erased.outbox_texts += 1
        for event in list(CrmEventItem.by_customer.query(customer_hash(shop_id, phone))):
            CrmEventItem(event.event_id).delete()
            erased.crm_events += 1
        erased.callback_tasks = _delete_tasks(task_ids, phone)
        erased.queue_entries = _delete_queue_entries(shop_id, groups, phone)
        erased.do_not_call_hashed = _hash_do_not_call(shop_id, phone, now)
        return erased

    def forget_recording(self, call_sid: str) -> None:
        CallItem(call_sid).update(actions=[CallItem.recording_sid.remove(), CallItem.recording_url.remove()])


def _delete_claims(keys: list[str]) -> int:
    count = 0
    for claim_key in keys:
        try:
            DedupClaimItem.get(claim_key).delete()
            count += 1
        except DoesNotExist:
            pass
    return count


def _delete_tasks(task_ids: set[str], phone: str) -> int:
    count = 0
    for task_id in sorted(task_ids):
        try:
            task = DialTaskItem.get(task_id, consistent_read=True)
        except DoesNotExist:
            continue
        if task.phone == phone:  # a task is one customer's: never another's
            task.delete()
            count += 1
    return count


def _delete_queue_entries(shop_id: str, groups: set[str], phone: str) -> int:
    count = 0
    for group in sorted(groups):
        for entry in list(
            QueueEntryItem.query(queue_key(shop_id, group), filter_condition=QueueEntryItem.phone == phone)
        ):
            entry.delete()
            count += 1
    return count


def _hash_do_not_call(shop_id: str, phone: str, now: datetime) -> int:
    """The opt-out kept as a hash: the clear entry goes, the hashed one stays (both read by
    ``is_do_not_call``). 1 when this run turned the entry into a hash (0 when it was one before)."""
    hashed = shop_phone(shop_id, do_not_call_hash(shop_id, phone))
    try:
        clear = DoNotCallItem.get(shop_phone(shop_id, phone), consistent_read=True)
    except DoesNotExist:
        return 0
    DoNotCallItem(hashed, added_at=clear.added_at or now, source=clear.source).save()
    clear.delete()
    return 1
