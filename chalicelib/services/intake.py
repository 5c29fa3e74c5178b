"""Orders in: accept a shop's POST (O1, O2), then on the orders stream decide what each order
is (O3: fake, duplicate, or a customer to call) and queue its dial task.

Both halves are safe to repeat: the order id is fixed before the write, every transition is
conditional on the state it starts from, and the task id is derived from the order id.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Literal

from chalicelib.domain.dedup import dedup_claim_for, fake_reason
from chalicelib.domain.entities import DialTask, Order
from chalicelib.domain.orders import OrderIn, local_day
from chalicelib.domain.phones import normalise_phone
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.ports import OrderStore, TaskStore

Outcome = Literal["fake", "duplicate", "queued", "already-decided"]


class OrderMissingError(LookupError):
    """The stream named an order the table doesn't return (yet): retry the record."""


def new_order_id(now: datetime) -> str:
    """Time-ordered and unguessable: 'ord_' + milliseconds (hex) + 40 random bits."""
    return f"ord_{int(now.timestamp() * 1000):011x}{secrets.token_hex(5)}"


def task_id_for(order_id: str) -> str:
    return "tsk_" + order_id.removeprefix("ord_")


def accept_order(shop: ShopSettings, order_in: OrderIn, *, store: OrderStore, now: datetime, order_id: str) -> Order:
    phone = normalise_phone(order_in.phone, shop.default_region)
    order = Order(
        shop_id=shop.shop_id,
        order_id=order_id,
        order_number=order_in.order_number,
        phone=phone.e164 or phone.raw,
        phone_valid=phone.valid,
        phone_problem=phone.problem,
        customer_name=order_in.customer_name,
        language=order_in.language,
        payload=json.loads(order_in.model_dump_json(exclude={"phone"})),
        total=order_in.total,
        currency=order_in.currency or shop.currency,
        received_at=now,
        day=local_day(now, shop.timezone),
    )
    store.insert_order(order)
    return order


def decide_new_order(
    shop: ShopSettings, order_id: str, *, store: OrderStore, tasks: TaskStore, now: datetime
) -> Outcome:
    order = store.get_order(shop.shop_id, order_id)
    if order is None:
        raise OrderMissingError(order_id)
    if order.status != "received":
        return "already-decided"

    reason = fake_reason(order.phone_problem, order.customer_name, shop.test_names)
    if reason:
        store.transition_order(shop.shop_id, order_id, {"received"}, "fake", fake_reason=reason, decided_at=now)
        return "fake"

    claim = dedup_claim_for(shop.shop_id, shop.dedup, order.phone, order.order_number, order.received_at)
    owner = store.claim_dedup(claim, order_id, order.received_at)
    if owner != order_id:
        store.transition_order(shop.shop_id, order_id, {"received"}, "duplicate", duplicate_of=owner, decided_at=now)
        return "duplicate"

    task = DialTask(
        task_id=task_id_for(order_id),
        shop_id=shop.shop_id,
        phone=order.phone,
        order_ids=[order_id],
        language=order.language or shop.main_language,
        created_at=now,
        due_at=now,
    )
    tasks.insert_task(task)  # False on redelivery: the task is already there
    store.transition_order(shop.shop_id, order_id, {"received"}, "queued", task_id=task.task_id)
    return "queued"
