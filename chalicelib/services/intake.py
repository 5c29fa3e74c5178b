"""Orders in: accept a shop's POST (O1, O2), then on the orders stream decide what each order
is (O3: fake or duplicate; O5: confirmed at once, for the robot, or for an agent) and add it to
the customer's dial task (O4).

Both halves are safe to repeat: the order id is fixed before the write, every transition is
conditional on the state it starts from, and the task id is derived from the shop and phone.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from typing import Literal

from chalicelib.domain.dedup import dedup_claim_for, fake_reason
from chalicelib.domain.entities import DialTask, Order
from chalicelib.domain.order_lanes import lane_digit, lane_of_phone
from chalicelib.domain.orders import OrderIn, local_day
from chalicelib.domain.phones import normalise_phone
from chalicelib.domain.shop import ShopSettings
from chalicelib.domain.triage import triage
from chalicelib.services.ports import OrderStore, TaskStore

Outcome = Literal["fake", "duplicate", "queued", "auto-confirmed", "already-decided"]
# A task's result when the shop's cancel (#16 item 14) left it with nothing to ask about, or the
# shop moved its last order to another phone.
WITHDRAWN = "withdrawn-by-shop"
MOVED = "moved-by-shop"


class OrderMissingError(LookupError):
    """The stream named an order the table doesn't return (yet): retry the record."""


def new_order_id(now: datetime, phone: str) -> str:
    """Time-ordered and unguessable: 'ord_' + milliseconds (hex) + the customer's lane (one hex
    digit: the id alone addresses the order's partition, #19) + 40 random bits. ``phone`` as
    stored (``stored_phone``)."""
    return f"ord_{int(now.timestamp() * 1000):011x}{lane_digit(lane_of_phone(phone))}{secrets.token_hex(5)}"


def stored_phone(shop: ShopSettings, order_in: OrderIn) -> str:
    """The order's phone as stored: E.164 when valid, else as sent."""
    return normalise_phone(order_in.phone, shop.default_region).stored


def customer_task_id(shop_id: str, phone: str) -> str:
    """One dial task per customer of a shop (O4). Hashed: task ids travel in webhook URLs and
    access logs, phone numbers must not."""
    return "tsk_" + hashlib.sha256(f"{shop_id}#{phone}".encode()).hexdigest()[:24]


def accept_order(
    shop: ShopSettings,
    order_in: OrderIn,
    *,
    store: OrderStore,
    now: datetime,
    order_id: str,
    idempotency_key: str | None = None,
) -> Order:
    phone = normalise_phone(order_in.phone, shop.default_region)
    order = Order(
        shop_id=shop.shop_id,
        order_id=order_id,
        order_number=order_in.order_number,
        phone=phone.stored,
        phone_valid=phone.valid,
        phone_problem=phone.problem,
        customer_name=order_in.customer_name,
        language=order_in.language,
        payload=json.loads(order_in.model_dump_json(exclude={"phone"})),
        total=order_in.total,
        currency=order_in.currency or shop.currency,
        received_at=now,
        day=local_day(now, shop.timezone),
        idempotency_key=idempotency_key,
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

    payload = order.payload
    route, reason = triage(
        shop.triage,
        total=order.total,
        prepaid=bool(payload.get("prepaid")),
        in_stock=bool(payload.get("in_stock", True)),
        needs_call=bool(payload.get("needs_call")),
    )
    if route == "auto_confirm":
        store.transition_order(
            shop.shop_id, order_id, {"received"}, "confirmed", route=route, route_reason=reason, decided_at=now
        )
        return "auto-confirmed"
    task = DialTask(
        task_id=customer_task_id(shop.shop_id, order.phone),
        shop_id=shop.shop_id,
        phone=order.phone,
        order_ids=[order_id],
        language=order.language or shop.main_language,
        created_at=now,
        kind=route,
    )
    # Joins the customer's open task if there is one: one call covers all their orders.
    tasks.open_customer_task(task, order_id, now)
    queued = store.transition_order(
        shop.shop_id, order_id, {"received"}, "queued", task_id=task.task_id, route=route, route_reason=reason
    )
    if queued is None:  # decided meanwhile: the shop's cancel (#16 item 14), or this very step
        now_stored = store.get_order(shop.shop_id, order_id)
        if now_stored is None or now_stored.task_id != task.task_id:
            tasks.drop_orders_from_task(task.task_id, [order_id], WITHDRAWN)  # nothing to call about
        return "already-decided"
    if queued.phone != order.phone:  # the shop gave it a new phone meanwhile: the call goes there
        follow_phone(shop, queued, store=store, tasks=tasks, now=now)
    return "queued"


def follow_phone(shop: ShopSettings, order: Order, *, store: OrderStore, tasks: TaskStore, now: datetime) -> Order:
    """An order waiting for a call (queued, or unreachable on its old number) whose phone is
    not its task's moves to the new customer's task, as a new order is routed (#16 item 14);
    the order as stored after."""
    target = customer_task_id(shop.shop_id, order.phone)
    if order.status not in ("queued", "unreachable") or order.task_id == target:
        return order
    task = DialTask(
        task_id=target,
        shop_id=shop.shop_id,
        phone=order.phone,
        order_ids=[order.order_id],
        language=order.language or shop.main_language,
        created_at=now,
        kind=order.route or "robot",
    )
    tasks.open_customer_task(task, order.order_id, now)
    moved = store.transition_order(shop.shop_id, order.order_id, {order.status}, "queued", task_id=target)
    if moved is None:  # decided meanwhile (a cancel, a text): not for the new task either
        tasks.drop_orders_from_task(target, [order.order_id], MOVED)
        return store.get_order(shop.shop_id, order.order_id) or order
    if order.task_id:
        tasks.drop_orders_from_task(order.task_id, [order.order_id], MOVED)
    return moved
