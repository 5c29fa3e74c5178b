"""Orders as received and decided, and the dedup claims that tell a repeated order from a new
one. Reads of a customer's orders are Queries on ``by_shop_phone``, never Scans."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters.dynamo.items import count, day_key, day_of, from_item, saved, setting, shop_phone, updated
from chalicelib.adapters.dynamo.retention import kept_until
from chalicelib.adapters.dynamo.schema import DedupClaimItem, OrderItem
from chalicelib.clock import storage_expiry
from chalicelib.domain.dedup import DedupClaim
from chalicelib.domain.entities import Order
from chalicelib.domain.order_lanes import order_key, shop_order_keys

ACTIVE_ORDER_STATUSES = ("received", "queued")
ORDERS_BY_NUMBER_LIMIT = 100  # a shop's orders under one number: the original and its repeats


def shop_order_number(shop_id: str, order_number: str | None) -> str | None:
    """The ``by_shop_order_number`` key: the number as the dedup compares it (casefolded)."""
    return f"{shop_id}#{order_number.casefold()}" if order_number else None


def order_keys(shop_id: str, order_id: str) -> tuple[str, str]:
    """The orders table's (hash, range) key of an order: its id names its lane (#19), so no
    read finds it first."""
    return order_key(shop_id, order_id), order_id


def order_ref(shop_id: str, order_id: str) -> OrderItem:
    """The order's item by its key alone: for an update, a delete or a transaction."""
    return OrderItem(*order_keys(shop_id, order_id), shop_id=shop_id)


def shop_orders(shop_id: str, *, consistent_read: bool = False) -> Iterator[OrderItem]:
    """Every order of a shop, lane by lane: a Query per lane, never a Scan (tools and tests; the
    app reads a shop's orders by day, customer or number)."""
    for key in shop_order_keys(shop_id):
        yield from OrderItem.query(key, consistent_read=consistent_read)


def order_item(order: Order) -> OrderItem:
    return OrderItem(
        *order_keys(order.shop_id, order.order_id),
        shop_id=order.shop_id,
        order_number=order.order_number,
        phone=order.phone,
        phone_valid=order.phone_valid,
        phone_problem=order.phone_problem,
        customer_name=order.customer_name,
        language=order.language,
        payload=order.payload,
        total=str(order.total),
        currency=order.currency,
        status=order.status,
        received_at=order.received_at,
        shop_day=day_key(order.shop_id, order.day),
        shop_phone=shop_phone(order.shop_id, order.phone),
        shop_order_number=shop_order_number(order.shop_id, order.order_number),
        idempotency_key=order.idempotency_key,
    )


def order_entity(item: OrderItem) -> Order:
    return from_item(
        Order,
        item,
        phone_valid=bool(item.phone_valid),
        customer_name=item.customer_name or "",
        payload=item.payload or {},
        total=Decimal(item.total),
        reached=bool(item.reached),
        day=day_of(item.shop_day),
        cancel_misses=count(item.cancel_misses),
    )


class OrderRepository:
    def insert_order(self, order: Order) -> bool:
        """Store a new order; False when that order id is already stored."""
        item = order_item(order)
        item.expires_ttl = kept_until(order.shop_id)
        return saved(item, OrderItem.order_id.does_not_exist())

    def get_order(self, shop_id: str, order_id: str) -> Order | None:
        try:
            return order_entity(OrderItem.get(*order_keys(shop_id, order_id), consistent_read=True))
        except DoesNotExist:
            return None

    def transition_order(
        self, shop_id: str, order_id: str, from_statuses: set[str], to_status: str, **fields: Any
    ) -> Order | None:
        """Move an order to ``to_status`` if it is still in one of ``from_statuses``."""
        item = order_ref(shop_id, order_id)
        if not updated(
            item,
            actions=[OrderItem.status.set(to_status), *setting(OrderItem, fields)],
            condition=OrderItem.order_id.exists() & OrderItem.status.is_in(*from_statuses),
        ):
            return None
        return order_entity(item)

    def mark_orders(self, shop_id: str, order_ids: list[str], **fields: Any) -> list[Order]:
        """Set ``fields`` on each order; the orders as stored (each update returns ALL_NEW, so
        no read follows)."""
        marked = []
        for order_id in order_ids:
            item = order_ref(shop_id, order_id)
            item.update(actions=setting(OrderItem, fields), condition=OrderItem.order_id.exists())
            marked.append(order_entity(item))
        return marked

    def note_first_dial(self, shop_id: str, order_ids: list[str], now: datetime) -> None:
        for order_id in order_ids:
            order_ref(shop_id, order_id).update(
                actions=[OrderItem.first_dial_at.set(OrderItem.first_dial_at | now)],
                condition=OrderItem.order_id.exists(),
            )

    def orders_by_ids(self, shop_id: str, order_ids: list[str]) -> list[Order]:
        keys = [order_keys(shop_id, order_id) for order_id in order_ids]
        # Strongly consistent: a robot call speaks of the orders still open right now.
        found = {item.order_id: order_entity(item) for item in OrderItem.batch_get(keys, consistent_read=True)}
        return [found[order_id] for order_id in order_ids if order_id in found]

    # ---- one customer's orders ---------------------------------------------------------------
    def open_orders_of(self, shop_id: str, phone: str) -> list[Order]:
        """The customer's orders still waiting for a yes or no (queued, or given up on by phone)."""
        return list(self._of_customer(shop_id, phone, "queued", "unreachable"))

    def active_orders(self, shop_id: str, phone: str) -> list[Order]:
        """The caller's orders still open (received or queued), oldest first."""
        orders = self._of_customer(shop_id, phone, *ACTIVE_ORDER_STATUSES)
        return sorted(orders, key=lambda order: order.received_at)

    @staticmethod
    def _of_customer(shop_id: str, phone: str, *statuses: str) -> Iterator[Order]:
        query = OrderItem.by_shop_phone.query(
            shop_phone(shop_id, phone), filter_condition=OrderItem.status.is_in(*statuses)
        )
        return (order_entity(item) for item in query)

    def orders_of_customer(self, shop_id: str, phone: str, until: datetime | None) -> Iterator[Order]:
        """Timeline source: lazy, newest first, from ``until`` back (inclusive: the domain drops
        what the previous page already showed)."""
        condition = OrderItem.received_at <= until if until else None
        query = OrderItem.by_shop_phone.query(shop_phone(shop_id, phone), condition, scan_index_forward=False)
        return (order_entity(item) for item in query)

    def choose_delivery_slot(self, shop_id: str, order_id: str, slot: dict[str, str]) -> Order | None:
        """Store the caller's delivery slot on an order still active; None when it is not."""
        item = order_ref(shop_id, order_id)
        condition = OrderItem.order_id.exists() & OrderItem.status.is_in(*ACTIVE_ORDER_STATUSES)
        if not updated(item, actions=[OrderItem.delivery_slot.set(slot)], condition=condition):
            return None
        return order_entity(item)

    # ---- the shop's own number, and its changes (#16 item 14) ---------------------------------
    def orders_by_number(self, shop_id: str, order_number: str) -> list[Order]:
        """The shop's orders under its own number, newest first (a Query, never a Scan)."""
        key = shop_order_number(shop_id, order_number)
        if key is None:
            return []
        query = OrderItem.by_shop_order_number.query(key, scan_index_forward=False, limit=ORDERS_BY_NUMBER_LIMIT)
        return [order_entity(item) for item in query]

    def index_order_numbers(self) -> int:
        """Give the orders stored before the ``by_shop_order_number`` index their key: a one-off
        Scan after upgrading (``cli.admin index-order-numbers``), safe to repeat. How many
        orders it keyed."""
        keyed = 0
        missing = OrderItem.order_number.exists() & OrderItem.shop_order_number.does_not_exist()
        for stored in OrderItem.scan(missing):
            item = order_ref(stored.shop_id, stored.order_id)
            key = shop_order_number(stored.shop_id, stored.order_number)
            condition = OrderItem.order_id.exists() & OrderItem.shop_order_number.does_not_exist()
            if key and updated(item, actions=[OrderItem.shop_order_number.set(key)], condition=condition):
                keyed += 1
        return keyed

    def edit_open_order(
        self, seen: Order, from_statuses: set[str], fields: dict[str, Any], *, forget_caller_slot: bool
    ) -> Order | None:
        """Set ``fields`` on the order as ``seen``, if it is still in one of ``from_statuses``
        and no other change came in since it was read; None when either does not hold."""
        item = order_ref(seen.shop_id, seen.order_id)
        # A field given as None is removed (a PynamoDB attribute cannot be SET to null).
        actions = setting(OrderItem, {name: value for name, value in fields.items() if value is not None})
        actions += [getattr(OrderItem, name).remove() for name, value in fields.items() if value is None]
        if "phone" in fields:
            actions.append(OrderItem.shop_phone.set(shop_phone(seen.shop_id, fields["phone"])))
        if forget_caller_slot:
            actions.append(OrderItem.delivery_slot.remove())
        unchanged = (
            OrderItem.changed_at.does_not_exist()
            if seen.changed_at is None
            else OrderItem.changed_at == seen.changed_at
        )
        condition = OrderItem.order_id.exists() & OrderItem.status.is_in(*from_statuses) & unchanged
        if not updated(item, actions=actions, condition=condition):
            return None
        return order_entity(item)

    # ---- dedup -------------------------------------------------------------------------------
    def claim_dedup(self, claim: DedupClaim, order_id: str, received_at: datetime) -> str:
        """The id of the order that owns the claim: ``order_id`` if it won it (or already had it)."""
        item = DedupClaimItem(
            claim.key,
            order_id=order_id,
            claimed_at=received_at,
            expires_at=claim.expires_at,
            # DynamoDB sweeps by its own clock: the claim's business lifetime from now, in real time.
            expires_ttl=storage_expiry(claim.expires_at - received_at) if claim.expires_at else None,
        )
        # Read first: a duplicate then costs a read instead of a failed conditional write (and
        # its follow-up read of the owner); the write below still settles any race.
        try:
            held = DedupClaimItem.get(claim.key, consistent_read=True)
            if held.order_id != order_id and (held.expires_at is None or held.expires_at >= received_at):
                return str(held.order_id)
        except DoesNotExist:
            pass
        free = (
            DedupClaimItem.claim_key.does_not_exist()
            | (DedupClaimItem.order_id == order_id)
            | (DedupClaimItem.expires_at < received_at)
        )
        if not saved(item, free):
            return str(DedupClaimItem.get(claim.key, consistent_read=True).order_id)
        return order_id
