"""The shop takes an order back or changes it after posting it (#16 item 14).

- ``cancel_order``: an open order (received, queued, unreachable) or a confirmed one becomes
  ``cancelled``, decided by the shop, now. It leaves the customer's dial task, and a task left
  with nothing to ask about is closed, so no dialer (robot, agent-first, customer-first) calls
  about it. Cancelling again changes nothing. Duplicates and fakes are not the shop's to cancel.
- ``change_order``: an open order takes a new phone, name, delivery, comment or language. A new
  phone moves it off the old customer's task onto the new one's, through the intake's own
  routing (``intake.customer_task_id``, the order's route), so the next call goes to the new
  number; an order given up on as unreachable starts a new round there. It takes the new phone's
  dedup claim too, so a repost with the corrected phone is its duplicate. The same change again
  changes nothing.
- A call already under way may finish, but decides nothing of this: every decision on an order
  is a conditional write from the status its maker saw (``transition_order``), and a robot call
  decides only orders still on its own task (``RobotCallRepository.decide_robot_call``).

Each step is safe to repeat and to race with the orders stream: the order's state is the
condition of every write, and ``follow_phone`` runs again wherever the intake sees the phone
moved under it.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.dedup import dedup_claim_for
from chalicelib.domain.entities import Order
from chalicelib.domain.order_changes import SHOP, OrderChangeIn, PhoneRefused, order_edit
from chalicelib.domain.orders import CANCELLABLE_STATUSES, OPEN_STATUSES
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger
from chalicelib.services.intake import WITHDRAWN, customer_task_id, follow_phone
from chalicelib.services.ports import OrderChangeStore, OrderStore, TaskStore

RACE_RETRIES = 3


class OrderChangeRefused(Exception):
    """The change cannot be made: HTTP status, error code, the field at fault, a message."""

    def __init__(self, status: int, error: str, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status, self.error, self.field, self.message = status, error, field, message


def _order(shop: ShopSettings, order_id: str, store: OrderStore) -> Order:
    order = store.get_order(shop.shop_id, order_id)
    if order is None:
        raise OrderChangeRefused(404, "not_found", "order_id", f"no order {order_id!r} for this shop")
    return order


def _refuse_status(order: Order, allowed: frozenset[str], doing: str) -> OrderChangeRefused:
    listed = ", ".join(sorted(allowed))
    return OrderChangeRefused(
        409, "order_not_open", "status", f"the order is {order.status}: only {listed} orders can be {doing}"
    )


def _busy(order_id: str) -> OrderChangeRefused:
    return OrderChangeRefused(409, "order_changing", "order_id", f"order {order_id!r} kept changing meanwhile: retry")


# ---- cancel -------------------------------------------------------------------------------------
def cancel_order(shop: ShopSettings, order_id: str, reason: str, *, store: OrderChangeStore, now: datetime) -> Order:
    """The order as cancelled by the shop (or as it already stood, cancelled)."""
    for _ in range(RACE_RETRIES):
        order = _order(shop, order_id, store)
        if order.status == "cancelled":
            withdraw(shop, order, store)  # finishes a cancel whose answer was lost half-way
            return order
        if order.status not in CANCELLABLE_STATUSES:
            raise _refuse_status(order, CANCELLABLE_STATUSES, "cancelled")
        fields: dict[str, object] = {"decided_at": now, "decided_by": SHOP}
        if reason:
            fields["cancel_reason"] = reason
        cancelled = store.transition_order(shop.shop_id, order_id, {order.status}, "cancelled", **fields)
        if cancelled is not None:
            withdraw(shop, cancelled, store)
            logger.info("order cancelled by the shop", extra={"order_id": order_id, "was": order.status})
            return cancelled
    raise _busy(order_id)


def withdraw(shop: ShopSettings, order: Order, tasks: TaskStore) -> None:
    """The order leaves the task it is on, and the one the intake may be adding it to right now
    (the customer's, by phone); a queued task left empty is closed."""
    task_ids = {customer_task_id(shop.shop_id, order.phone)} | ({order.task_id} if order.task_id else set())
    for task_id in sorted(task_ids):
        tasks.drop_orders_from_task(task_id, [order.order_id], WITHDRAWN)


# ---- change -------------------------------------------------------------------------------------
def _claim_new_phone(shop: ShopSettings, order: Order, store: OrderChangeStore) -> None:
    """The order also owns the dedup claim of its new phone (the old claim stays: both numbers
    name this order), so the shop's repost of it with the corrected phone is its duplicate, not
    a second order and a second call. A claim another order holds stays theirs."""
    claim = dedup_claim_for(shop.shop_id, shop.dedup, order.phone, order.order_number, order.received_at)
    owner = store.claim_dedup(claim, order.order_id, order.received_at)
    if owner != order.order_id:
        logger.info("the new phone's dedup claim is another order's", extra={"order_id": order.order_id})


def change_order(
    shop: ShopSettings, order_id: str, change: OrderChangeIn, *, store: OrderChangeStore, now: datetime
) -> Order:
    """The order as changed (or as it already stood, when the change says nothing new)."""
    for _ in range(RACE_RETRIES):
        order = _order(shop, order_id, store)
        if order.status not in OPEN_STATUSES:
            raise _refuse_status(order, OPEN_STATUSES, "changed")
        try:
            edit = order_edit(order, change, shop.default_region)
        except PhoneRefused as refused:
            raise OrderChangeRefused(422, "validation_failed", "phone", str(refused)) from None
        if not edit.changed:
            return follow_phone(shop, order, store=store, tasks=store, now=now)  # finishes a move cut short
        fields = {**edit.fields, "changed_at": now}
        edited = store.edit_open_order(order, {order.status}, fields, forget_caller_slot=edit.forget_caller_slot)
        if edited is None:
            continue  # decided or changed meanwhile: look again
        logger.info("order changed by the shop", extra={"order_id": order_id, "fields": sorted(edit.fields)})
        if edit.phone_changed:
            _claim_new_phone(shop, edited, store)
        if "language" in edit.fields and edited.task_id and edited.language:
            store.set_task_language(edited.task_id, edited.language)
        return follow_phone(shop, edited, store=store, tasks=store, now=now)
    raise _busy(order_id)
