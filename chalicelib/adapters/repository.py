"""DynamoDB persistence behind the services' ports, through the PynamoDB models.

Every state change that two Lambdas could race on is a conditional write: the condition
names the state the writer saw, and a failed condition means someone else got there first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.config_cache import TtlCache
from chalicelib.adapters.models import (
    AgentRecord,
    AgentTokenRecord,
    ApiKeyRecord,
    CallRecord,
    DedupClaimRecord,
    DialTaskRecord,
    OrderRecord,
    PhoneNumberRecord,
    ShopRecord,
)
from chalicelib.adapters.outbound_models import DoNotCallRecord, MessageRecord
from chalicelib.clock import storage_expiry
from chalicelib.domain.dedup import DedupClaim
from chalicelib.domain.entities import Call, DialTask, Order, TextMessage
from chalicelib.domain.priority import DueTask
from chalicelib.domain.robot_call_ref import RobotCallRef
from chalicelib.domain.shop import ShopSettings

# Configuration read on every request, cached per process (see config_cache for the price).
_shops, _number_routes, _api_key_shops = TtlCache(), TtlCache(), TtlCache()


def api_key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def _condition_failed(error: PutError | UpdateError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


def _updated(record: Model, *, actions: list[Action], condition: Condition) -> bool:
    """Apply a conditional update; False when the condition no longer holds (another writer, or
    a repeated event, got there first), which callers treat as a normal outcome."""
    try:
        record.update(actions=actions, condition=condition)
    except UpdateError as error:
        if _condition_failed(error):
            return False
        raise
    return True


def _update_task(record: DialTaskRecord, *, actions: list[Action], condition: Condition) -> bool:
    """A dial task's conditional state change that recognises its own write. When DynamoDB
    applied the update but the answer was lost, botocore sends it again and the condition fails
    on the state just written; the token written with it tells that the write was ours, so the
    caller goes on (sets the index keys) instead of leaving the task in a state no queue or
    sweep finds. On success (or our own lost write) ``record`` holds the task's new state."""
    token = secrets.token_hex(8)
    try:
        record.update(actions=[*actions, DialTaskRecord.write_token.set(token)], condition=condition)
    except UpdateError as error:
        if not _condition_failed(error):
            raise
        try:
            record.refresh(consistent_read=True)
        except DoesNotExist:
            return False
        return record.write_token == token
    return True


Write = tuple[Model, list[Action], Condition | None]
TRANSACTION_CONFLICT_RETRIES = 3


def _transact(writes: list[Write]) -> set[int]:
    """The ``writes`` (model, actions, condition) as one TransactWriteItems: all applied, or none.
    The positions of the writes whose condition failed (empty when all were applied).

    botocore gives every transaction a ClientRequestToken and keeps it across its own retries,
    so a transaction applied whose answer was lost is not applied twice. A transaction that met
    another writer on one of its items (TransactionConflict) is made again, at most a few times.
    """
    connection = DialTaskRecord._get_connection().connection  # one long-lived client for all tables
    for attempt in range(TRANSACTION_CONFLICT_RETRIES + 1):
        try:
            with TransactWrite(connection=connection) as transaction:
                for model, actions, condition in writes:
                    transaction.update(model, actions=actions, condition=condition)
        except TransactWriteError as error:
            codes = [reason.code if reason else None for reason in error.cancellation_reasons]
            failed = {i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"}
            if failed:
                return failed
            if "TransactionConflict" in codes and attempt < TRANSACTION_CONFLICT_RETRIES:
                continue
            raise
        return set()
    raise AssertionError("unreachable")  # pragma: no cover


class DynamoRepository:
    # ---- shops, numbers, keys, agents -------------------------------------------------
    def get_shop(self, shop_id: str) -> ShopSettings | None:
        key = (ShopRecord.Meta.table_name, shop_id)
        cached: ShopSettings | None = _shops.get(key)
        if cached is not None:
            return cached
        try:
            record = ShopRecord.get(shop_id)
        except DoesNotExist:
            return None
        shop = ShopSettings.model_validate(record.settings)
        _shops.put(key, shop)
        return shop

    def list_shops(self) -> list[ShopSettings]:
        # The shops table holds configuration only (a handful of items), never activity.
        return [ShopSettings.model_validate(record.settings) for record in ShopRecord.scan()]

    def save_shop(self, shop: ShopSettings, now: datetime) -> None:
        settings = json.loads(shop.model_dump_json())
        try:
            record = ShopRecord.get(shop.shop_id)
            record.settings = settings
        except DoesNotExist:
            record = ShopRecord(shop.shop_id, settings=settings, created_at=now)
        record.save()
        _shops.forget((ShopRecord.Meta.table_name, shop.shop_id))

    def shop_for_number(self, number: str) -> tuple[ShopSettings, str] | None:
        if not number:  # DynamoDB refuses an empty key; a webhook without To has no shop
            return None
        key = (PhoneNumberRecord.Meta.table_name, number)
        route: tuple[str, str] | None = _number_routes.get(key)
        if route is None:
            try:
                record = PhoneNumberRecord.get(number)
            except DoesNotExist:
                return None
            route = (record.shop_id, record.group)
            _number_routes.put(key, route)
        shop = self.get_shop(route[0])
        return (shop, route[1]) if shop else None

    def save_number(self, number: str, shop_id: str, group: str) -> None:
        PhoneNumberRecord(number, shop_id=shop_id, group=group).save()
        _number_routes.forget((PhoneNumberRecord.Meta.table_name, number))

    def shop_for_api_key(self, api_key: str) -> ShopSettings | None:
        digest = api_key_digest(api_key)
        key = (ApiKeyRecord.Meta.table_name, digest)
        shop_id: str | None = _api_key_shops.get(key)
        if shop_id is None:
            try:
                record = ApiKeyRecord.get(digest)
            except DoesNotExist:
                return None
            if not hmac.compare_digest(record.key_hash, digest):
                return None
            shop_id = record.shop_id
            _api_key_shops.put(key, shop_id)
        return self.get_shop(shop_id)

    def save_api_key(self, shop_id: str, api_key: str, key_id: str, now: datetime) -> None:
        ApiKeyRecord(api_key_digest(api_key), shop_id=shop_id, key_id=key_id, created_at=now).save()
        _api_key_shops.forget((ApiKeyRecord.Meta.table_name, api_key_digest(api_key)))

    def api_key_owner(self, api_key: str) -> tuple[str, str] | None:
        """(shop id, key id) of a shop API key, read every time (API Gateway's authorizer
        caches its answers itself); None when unknown or revoked."""
        digest = api_key_digest(api_key)
        try:
            record = ApiKeyRecord.get(digest)
        except DoesNotExist:
            return None
        if not hmac.compare_digest(record.key_hash, digest):
            return None
        return record.shop_id, record.key_id

    def api_key_ids(self) -> list[tuple[str, str]]:
        """(shop id, key id) of every shop API key (an operator's listing: a scan)."""
        return sorted(
            (record.shop_id, record.key_id)
            for record in ApiKeyRecord.scan(attributes_to_get=["key_hash", "shop_id", "key_id"])
        )

    def revoke_api_key(self, key_id: str) -> str | None:
        """Delete the key ``key_id``; its shop id, or None when there was no such key."""
        shop_id = None
        for record in ApiKeyRecord.scan(ApiKeyRecord.key_id == key_id):
            record.delete()
            _api_key_shops.forget((ApiKeyRecord.Meta.table_name, record.key_hash))
            shop_id = record.shop_id
        return shop_id

    def save_agent(self, shop_id: str, agent: dict[str, Any]) -> None:
        AgentRecord(shop_id, agent["agent_id"], **{k: v for k, v in agent.items() if k != "agent_id"}).save()

    def has_agent(self, shop_id: str, agent_id: str) -> bool:
        try:
            AgentRecord.get(shop_id, agent_id, attributes_to_get=["agent_id"])
        except DoesNotExist:
            return False
        return True

    # ---- agents' tokens (the same digest scheme as shop API keys) ------------------------
    def agent_for_token(self, token: str) -> tuple[ShopSettings, str] | None:
        """(shop, agent id) of an agent's token; None when unknown or revoked."""
        digest = api_key_digest(token)
        try:
            record = AgentTokenRecord.get(digest)
        except DoesNotExist:
            return None
        if not hmac.compare_digest(record.token_hash, digest):
            return None
        shop = self.get_shop(record.shop_id)
        return (shop, record.agent_id) if shop else None

    def save_agent_token(self, shop_id: str, agent_id: str, token: str, token_id: str, now: datetime) -> None:
        AgentTokenRecord(
            api_key_digest(token),
            shop_id=shop_id,
            agent_id=agent_id,
            agent_key=f"{shop_id}#{agent_id}",
            token_id=token_id,
            created_at=now,
        ).save()

    def revoke_agent_tokens(self, shop_id: str, agent_id: str) -> int:
        """Delete every token of the agent; how many there were."""
        revoked = 0
        for record in AgentTokenRecord.by_agent.query(f"{shop_id}#{agent_id}"):
            AgentTokenRecord(record.token_hash).delete()
            revoked += 1
        return revoked

    # ---- orders ------------------------------------------------------------------------
    def insert_order(self, order: Order) -> bool:
        """Store a new order; False when that order id is already stored."""
        record = _order_record(order)
        try:
            record.save(condition=OrderRecord.order_id.does_not_exist())
        except PutError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def get_order(self, shop_id: str, order_id: str) -> Order | None:
        try:
            return _order_entity(OrderRecord.get(shop_id, order_id, consistent_read=True))
        except DoesNotExist:
            return None

    def transition_order(
        self, shop_id: str, order_id: str, from_statuses: set[str], to_status: str, **fields: Any
    ) -> Order | None:
        """Move an order to ``to_status`` if it is still in one of ``from_statuses``."""
        record = OrderRecord(shop_id, order_id)
        actions: list[Action] = [OrderRecord.status.set(to_status)]
        actions += [getattr(OrderRecord, name).set(value) for name, value in fields.items()]
        if not _updated(
            record,
            actions=actions,
            condition=OrderRecord.order_id.exists() & OrderRecord.status.is_in(*from_statuses),
        ):
            return None
        return _order_entity(record)

    def mark_orders(self, shop_id: str, order_ids: list[str], **fields: Any) -> list[Order]:
        """Set ``fields`` on each order; the orders as stored (each update returns ALL_NEW, so
        no read follows)."""
        marked = []
        for order_id in order_ids:
            record = OrderRecord(shop_id, order_id)
            record.update(
                actions=[getattr(OrderRecord, name).set(value) for name, value in fields.items()],
                condition=OrderRecord.order_id.exists(),
            )
            marked.append(_order_entity(record))
        return marked

    def note_first_dial(self, shop_id: str, order_ids: list[str], now: datetime) -> None:
        for order_id in order_ids:
            OrderRecord(shop_id, order_id).update(
                actions=[OrderRecord.first_dial_at.set(OrderRecord.first_dial_at | now)],
                condition=OrderRecord.order_id.exists(),
            )

    def orders_by_ids(self, shop_id: str, order_ids: list[str]) -> list[Order]:
        keys = [(shop_id, order_id) for order_id in order_ids]
        # Strongly consistent: a robot call speaks of the orders still open right now.
        found = {r.order_id: _order_entity(r) for r in OrderRecord.batch_get(keys, consistent_read=True)}
        return [found[order_id] for order_id in order_ids if order_id in found]

    # ---- dedup -----------------------------------------------------------------------
    def claim_dedup(self, claim: DedupClaim, order_id: str, received_at: datetime) -> str:
        """The id of the order that owns the claim: ``order_id`` if it won it (or already had it)."""
        record = DedupClaimRecord(
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
            held = DedupClaimRecord.get(claim.key, consistent_read=True)
            if held.order_id != order_id and (held.expires_at is None or held.expires_at >= received_at):
                return str(held.order_id)
        except DoesNotExist:
            pass
        free = (
            DedupClaimRecord.claim_key.does_not_exist()
            | (DedupClaimRecord.order_id == order_id)
            | (DedupClaimRecord.expires_at < received_at)
        )
        try:
            record.save(condition=free)
        except PutError as error:
            if not _condition_failed(error):
                raise
            return str(DedupClaimRecord.get(claim.key, consistent_read=True).order_id)
        return order_id

    # ---- dial tasks --------------------------------------------------------------------
    def open_customer_task(self, task: DialTask, order_id: str, now: datetime) -> DialTask:
        """Add an open order to the customer's task, creating the task or reopening a finished
        one. Safe under redelivery and races: adding to a set is idempotent, and only one writer
        can move the task from 'no state'/'finished' to 'queued'."""
        record = DialTaskRecord(task.task_id)
        identity: list[Action] = [
            DialTaskRecord.order_ids.add({order_id}),
            DialTaskRecord.shop_id.set(DialTaskRecord.shop_id | task.shop_id),
            DialTaskRecord.phone.set(DialTaskRecord.phone | task.phone),
            DialTaskRecord.language.set(DialTaskRecord.language | task.language),
            DialTaskRecord.created_at.set(DialTaskRecord.created_at | now),
            DialTaskRecord.attempts.set(DialTaskRecord.attempts | 0),
        ]
        # A person is needed if any open order needs one; never downgraded while orders are open.
        identity.append(
            DialTaskRecord.kind.set(task.kind)
            if task.kind == "agent"
            else DialTaskRecord.kind.set(DialTaskRecord.kind | task.kind)
        )
        record.update(actions=identity)
        if record.state in (None, "done", "failed"):
            # The identity update returned the shop and kind: one write queues the task.
            queued = self._queue_again(
                task.task_id, now, from_states=("done", "failed"), queue_key=_queue_key(record.shop_id, record.kind)
            )
            if queued is not None:
                return _task_entity(queued)
        elif record.state == "queued" and task.kind == "agent":
            self._move_queue(task.task_id, f"{task.shop_id}#agent")
        return _task_entity(DialTaskRecord.get(task.task_id, consistent_read=True))

    def _queue_again(
        self, task_id: str, now: datetime, *, from_states: tuple[str, ...], queue_key: str | None = None
    ) -> DialTaskRecord | None:
        """A new round of attempts for a task that has open orders and no call going on; the
        task as stored, or None if it was not in ``from_states``. ``queue_key`` when the caller
        knows it (else a second write sets it from the shop and kind read back)."""
        record = DialTaskRecord(task_id)
        actions: list[Action] = [
            DialTaskRecord.state.set("queued"),
            DialTaskRecord.attempts.set(0),
            DialTaskRecord.due_at.set(now),
            DialTaskRecord.contacted.remove(),
            DialTaskRecord.result.remove(),
            DialTaskRecord.last_call_result.remove(),
            DialTaskRecord.call_order_ids.remove(),
        ]
        if queue_key is not None:
            actions.append(DialTaskRecord.queue_key.set(queue_key))
        if not _update_task(
            record,
            actions=actions,
            condition=(DialTaskRecord.state.does_not_exist() | DialTaskRecord.state.is_in(*from_states))
            & DialTaskRecord.order_ids.exists(),
        ):
            return None
        if queue_key is None:
            record.update(actions=[DialTaskRecord.queue_key.set(_queue_key(record.shop_id, record.kind))])
        return record

    def _move_queue(self, task_id: str, queue_key: str) -> None:
        _updated(
            DialTaskRecord(task_id),
            actions=[DialTaskRecord.queue_key.set(queue_key)],
            condition=DialTaskRecord.state == "queued",
        )

    def insert_task(self, task: DialTask) -> bool:
        """Store a task made whole elsewhere (callbacks); False when that id exists."""
        record = DialTaskRecord(
            task.task_id,
            shop_id=task.shop_id,
            phone=task.phone,
            order_ids=set(task.order_ids) or None,
            kind=task.kind,
            language=task.language,
            state=task.state,
            attempts=task.attempts,
            created_at=task.created_at,
            queue_key=_queue_key(task.shop_id, task.kind),
            due_at=task.due_at or task.created_at,
            callback_at=task.callback_at,
        )
        try:
            record.save(condition=DialTaskRecord.task_id.does_not_exist())
        except PutError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def get_task(self, task_id: str) -> DialTask | None:
        if not task_id:
            return None
        try:
            return _task_entity(DialTaskRecord.get(task_id, consistent_read=True))
        except DoesNotExist:
            return None

    def claim_task_for_dial(self, task_id: str, now: datetime) -> DialTask | None:
        """queued and due -> dialing, counting the attempt and fixing which orders this call is
        about; None if another dialer took it."""
        record = DialTaskRecord(task_id)
        if not _update_task(
            record,
            actions=[
                DialTaskRecord.state.set("dialing"),
                DialTaskRecord.attempts.add(1),
                DialTaskRecord.dialing_at.set(now),
                DialTaskRecord.call_order_ids.set(DialTaskRecord.order_ids),
                DialTaskRecord.queue_key.remove(),
                DialTaskRecord.due_at.remove(),
                DialTaskRecord.last_call_sid.remove(),
                DialTaskRecord.result.remove(),
            ],
            condition=(DialTaskRecord.state == "queued")
            & (DialTaskRecord.due_at <= now)
            & DialTaskRecord.order_ids.exists(),
        ):
            return None
        # The capacity index key needs the shop and kind, known only after the read-back.
        record.update(actions=[DialTaskRecord.active_key.set(_queue_key(record.shop_id, record.kind))])
        return _task_entity(record)

    def attach_call(self, task_id: str, call_sid: str) -> bool:
        """Tie the call to its dialing task; safe to repeat, and from whichever side sees it first
        (the dialer after Calls.create, or a webhook that outran it)."""
        return _updated(
            DialTaskRecord(task_id),
            actions=[DialTaskRecord.last_call_sid.set(call_sid)],
            condition=(DialTaskRecord.state == "dialing")
            & (DialTaskRecord.last_call_sid.does_not_exist() | (DialTaskRecord.last_call_sid == call_sid)),
        )

    def answer_task(self, task_id: str, call_sid: str, *, contacted: bool) -> DialTask | None:
        """``attach_call`` for the answer webhook, marking the customer reached when a person
        answered, and returning the task as stored (ALL_NEW: no read before or after); None if
        the task is not dialing this call."""
        record = DialTaskRecord(task_id)
        actions: list[Action] = [DialTaskRecord.last_call_sid.set(call_sid)]
        if contacted:
            actions.append(DialTaskRecord.contacted.set(True))
        if not _updated(record, actions=actions, condition=_dialing_call(call_sid)):
            return None
        return _task_entity(record)

    def answer_robot_call(self, ref: RobotCallRef, call_sid: str, *, person: bool, **call_fields: Any) -> bool:
        """The answer webhook's writes as one TransactWriteItems: the task attaches the call (and
        notes the customer reached if a person answered) only while it is dialing this call on
        this attempt; the call record takes ``call_fields``; when a person answered, the orders
        the call is about are marked reached. All or nothing: False (nothing written) when the
        task is not dialing this call.

        The call record is not required to exist: a webhook may outrun the dialer's
        ``upsert_call``, which then adds the identity (if_not_exists) to what is written here."""
        if not call_sid:
            return False  # no call to attach (and DynamoDB refuses an empty key)
        task_actions: list[Action] = [DialTaskRecord.last_call_sid.set(call_sid)]
        if person:
            task_actions.append(DialTaskRecord.contacted.set(True))
        writes: list[Write] = [
            (DialTaskRecord(ref.task_id), task_actions, _attempt_call(ref, call_sid)),
            (CallRecord(call_sid), [getattr(CallRecord, k).set(v) for k, v in call_fields.items()], None),
        ]
        if person:
            writes += [
                (OrderRecord(ref.shop_id, order_id), [OrderRecord.reached.set(True)], OrderRecord.order_id.exists())
                for order_id in ref.order_ids
            ]
        while True:
            failed = _transact(writes)
            if not failed:
                return True
            if 0 in failed:
                return False
            writes = [write for i, write in enumerate(writes) if i not in failed]  # an order gone: skip it

    def decide_robot_call(
        self, ref: RobotCallRef, call_sid: str, decision: str, *, order_status: str | None, now: datetime
    ) -> list[str] | None:
        """The keypress webhook's writes as one TransactWriteItems: the task takes the customer's
        decision only while it is dialing this call on this attempt; the call record its result;
        with ``order_status``, each order the call is about moves queued -> ``order_status``
        (decided_at ``now``). The orders that moved, or None (nothing written) when the task is
        not dialing this call. An order no longer queued (decided meanwhile, e.g. by a text
        reply) is left as it is: the transaction is made again without it."""
        if not call_sid:
            return None  # no call to decide on (and DynamoDB refuses an empty key)
        writes: list[Write] = [
            (
                DialTaskRecord(ref.task_id),
                [DialTaskRecord.last_call_sid.set(call_sid), DialTaskRecord.result.set(decision)],
                _attempt_call(ref, call_sid),
            ),
            (CallRecord(call_sid), [CallRecord.result.set(decision)], None),
        ]
        orders = list(ref.order_ids) if order_status else []
        writes += [
            (
                OrderRecord(ref.shop_id, order_id),
                [OrderRecord.status.set(order_status or ""), OrderRecord.decided_at.set(now)],
                OrderRecord.order_id.exists() & OrderRecord.status.is_in("queued"),
            )
            for order_id in orders
        ]
        while True:
            failed = _transact(writes)
            if not failed:
                return orders
            if 0 in failed:
                return None
            orders = [order_id for i, order_id in enumerate(orders, start=2) if i not in failed]
            writes = [write for i, write in enumerate(writes) if i not in failed]

    def mark_contacted(self, task_id: str) -> None:
        DialTaskRecord(task_id).update(actions=[DialTaskRecord.contacted.set(True)])

    def defer_task(self, task_id: str, due_at: datetime) -> None:
        """Keep a queued task waiting until ``due_at`` (outside calling hours)."""
        _updated(
            DialTaskRecord(task_id),
            actions=[DialTaskRecord.due_at.set(due_at)],
            condition=DialTaskRecord.state == "queued",
        )

    def set_task_result(self, task_id: str, call_sid: str, result: str) -> DialTask | None:
        """Remember the customer's decision during the call it was made on (attaching the call
        if the webhook outran the dialer); the task as stored, or None if it is not dialing
        this call."""
        record = DialTaskRecord(task_id)
        if not _updated(
            record,
            actions=[DialTaskRecord.last_call_sid.set(call_sid), DialTaskRecord.result.set(result)],
            condition=_dialing_call(call_sid),
        ):
            return None
        return _task_entity(record)

    def end_attempt(
        self,
        task_id: str,
        call_sid: str | None,
        *,
        call_result: str,
        requeue_at: datetime | None,
        final_result: str | None,
        now: datetime,
        seen: DialTask | None = None,
    ) -> DialTask | None:
        """dialing -> queued (retry at ``requeue_at``) or finished with ``final_result``, the orders
        the call was about leaving the task; a task that still has open orders (they came in
        during the call) starts a new round at once. None if the attempt was already ended.

        ``seen``: the task as the caller read it during this attempt. Its shop, kind and call
        orders let one conditional UpdateItem do all of it (also attaching the call if the
        status callback outran the dialer), instead of an update, a follow-up and a read."""
        if seen is not None:
            return self._end_seen_attempt(seen, call_sid, call_result, requeue_at, final_result, now)
        record = DialTaskRecord(task_id)
        actions: list[Action] = [
            DialTaskRecord.active_key.remove(),
            DialTaskRecord.dialing_at.remove(),
            DialTaskRecord.last_call_result.set(call_result),
        ]
        if requeue_at is not None:
            actions += [DialTaskRecord.state.set("queued"), DialTaskRecord.due_at.set(requeue_at)]
        else:
            actions += [
                DialTaskRecord.state.set("done" if final_result != "unreachable" else "failed"),
                DialTaskRecord.result.set(final_result or "done"),
            ]
        condition = DialTaskRecord.state == "dialing"
        if call_sid is not None:
            condition &= DialTaskRecord.last_call_sid == call_sid
        if not _update_task(record, actions=actions, condition=condition):
            return None
        if requeue_at is not None:
            record.update(actions=[DialTaskRecord.queue_key.set(_queue_key(record.shop_id, record.kind))])
        elif record.call_order_ids:
            record.update(actions=[DialTaskRecord.order_ids.delete(set(record.call_order_ids))])
            if record.order_ids:
                self._queue_again(task_id, now, from_states=("done", "failed"))
        return _task_entity(DialTaskRecord.get(task_id, consistent_read=True))

    def _end_seen_attempt(
        self,
        seen: DialTask,
        call_sid: str | None,
        call_result: str,
        requeue_at: datetime | None,
        final_result: str | None,
        now: datetime,
    ) -> DialTask | None:
        record = DialTaskRecord(seen.task_id)
        actions: list[Action] = [
            DialTaskRecord.active_key.remove(),
            DialTaskRecord.dialing_at.remove(),
            DialTaskRecord.last_call_result.set(call_result),
        ]
        if requeue_at is not None:
            actions += [
                DialTaskRecord.state.set("queued"),
                DialTaskRecord.due_at.set(requeue_at),
                DialTaskRecord.queue_key.set(_queue_key(seen.shop_id, seen.kind)),
            ]
        else:
            actions += [
                DialTaskRecord.state.set("done" if final_result != "unreachable" else "failed"),
                DialTaskRecord.result.set(final_result or "done"),
            ]
            if seen.call_order_ids:
                actions.append(DialTaskRecord.order_ids.delete(set(seen.call_order_ids)))
        # The same attempt as seen (attempts and call orders are fixed when a claim starts one),
        # with no decision made since.
        condition = (DialTaskRecord.state == "dialing") & (DialTaskRecord.attempts == seen.attempts)
        condition &= (
            DialTaskRecord.result.does_not_exist() if seen.result is None else DialTaskRecord.result == seen.result
        )
        if call_sid is not None:
            actions.append(DialTaskRecord.last_call_sid.set(call_sid))
            condition &= _dialing_call(call_sid)
        if not _updated(record, actions=actions, condition=condition):
            return None
        if requeue_at is None and seen.call_order_ids and record.order_ids:
            # Orders came in during the call: a new round at once (rare, so read back after).
            self._queue_again(seen.task_id, now, from_states=("done", "failed"))
            return self.get_task(seen.task_id)
        return _task_entity(record)

    def release_claim(self, task_id: str, due_at: datetime) -> bool:
        """dialing -> queued for a call that was never placed: the attempt is not counted."""
        record = DialTaskRecord(task_id)
        if not _update_task(
            record,
            actions=[
                DialTaskRecord.state.set("queued"),
                DialTaskRecord.attempts.add(-1),
                DialTaskRecord.due_at.set(due_at),
                DialTaskRecord.active_key.remove(),
                DialTaskRecord.dialing_at.remove(),
                DialTaskRecord.call_order_ids.remove(),
            ],
            condition=(DialTaskRecord.state == "dialing") & DialTaskRecord.last_call_sid.does_not_exist(),
        ):
            return False
        record.update(actions=[DialTaskRecord.queue_key.set(_queue_key(record.shop_id, record.kind))])
        return True

    # ---- tasks for people (agent dialer): agent tasks and callbacks ----------------------
    def claim_person_task(self, task_id: str, now: datetime, *, with_orders: bool) -> DialTask | None:
        """queued/waiting and due -> dialing for an agent-first call, counting the attempt and
        fixing which orders (if any: callbacks may have none) the call is about; None if another
        dialer took it."""
        record = DialTaskRecord(task_id)
        actions: list[Action] = [
            DialTaskRecord.state.set("dialing"),
            DialTaskRecord.attempts.add(1),
            DialTaskRecord.dialing_at.set(now),
            DialTaskRecord.queue_key.remove(),
            DialTaskRecord.due_at.remove(),
            DialTaskRecord.last_call_sid.remove(),
            DialTaskRecord.result.remove(),
        ]
        condition = DialTaskRecord.state.is_in("queued", "waiting") & (DialTaskRecord.due_at <= now)
        if with_orders:
            actions.append(DialTaskRecord.call_order_ids.set(DialTaskRecord.order_ids))
            condition &= DialTaskRecord.order_ids.exists()
        if not _update_task(record, actions=actions, condition=condition):
            return None
        record.update(actions=[DialTaskRecord.active_key.set(_queue_key(record.shop_id, record.kind))])
        return _task_entity(record)

    def return_person_task(self, task_id: str, call_sid: str | None, state: str, due_at: datetime) -> bool:
        """dialing -> ``state`` (queued or waiting) due at ``due_at`` when the agent never took
        the call (or it was never placed): the attempt is not counted."""
        record = DialTaskRecord(task_id)
        condition = DialTaskRecord.state == "dialing"
        condition &= (
            DialTaskRecord.last_call_sid.does_not_exist()
            if call_sid is None
            else (DialTaskRecord.last_call_sid.does_not_exist() | (DialTaskRecord.last_call_sid == call_sid))
        )
        if not _update_task(
            record,
            actions=[
                DialTaskRecord.state.set(state),
                DialTaskRecord.attempts.add(-1),
                DialTaskRecord.due_at.set(due_at),
                DialTaskRecord.active_key.remove(),
                DialTaskRecord.dialing_at.remove(),
                DialTaskRecord.call_order_ids.remove(),
                DialTaskRecord.last_call_sid.remove(),
            ],
            condition=condition,
        ):
            return False
        record.update(actions=[DialTaskRecord.queue_key.set(_queue_key(record.shop_id, record.kind))])
        return True

    def defer_person_task(self, task_id: str, due_at: datetime) -> None:
        """Keep a waiting agent task or callback until ``due_at`` (outside calling hours)."""
        _updated(
            DialTaskRecord(task_id),
            actions=[DialTaskRecord.due_at.set(due_at)],
            condition=DialTaskRecord.state.is_in("queued", "waiting"),
        )

    def stale_dialing_task_ids(self, shop_id: str, kind: str, dialing_before: datetime) -> list[str]:
        query = DialTaskRecord.by_active.query(_queue_key(shop_id, kind), DialTaskRecord.dialing_at <= dialing_before)
        return [record.task_id for record in query]

    def count_active_tasks(self, shop_id: str, kind: str) -> int:
        return DialTaskRecord.by_active.count(_queue_key(shop_id, kind))

    def due_tasks(self, shop_id: str, kind: str, now: datetime, limit: int) -> list[DueTask]:
        query = DialTaskRecord.by_queue_due.query(_queue_key(shop_id, kind), DialTaskRecord.due_at <= now, limit=limit)
        return [
            DueTask(
                task_id=record.task_id,
                attempts=int(record.attempts or 0),
                due_at=record.due_at or now,
                callback_at=record.callback_at,
                contacted=bool(record.contacted),
            )
            for record in query
        ]

    def drop_orders_from_task(self, task_id: str, order_ids: list[str]) -> None:
        """Orders decided outside a call (a text reply) leave the customer's task; a waiting task
        left with nothing to ask about is done."""
        record = DialTaskRecord(task_id)
        try:
            record.update(
                actions=[DialTaskRecord.order_ids.delete(set(order_ids))], condition=DialTaskRecord.task_id.exists()
            )
        except UpdateError as error:
            if _condition_failed(error):
                return
            raise
        if not record.order_ids and record.state == "queued":
            _updated(
                record,
                actions=[
                    DialTaskRecord.state.set("done"),
                    DialTaskRecord.result.set("decided-by-sms"),
                    DialTaskRecord.queue_key.remove(),
                    DialTaskRecord.due_at.remove(),
                ],
                condition=(DialTaskRecord.state == "queued") & DialTaskRecord.order_ids.does_not_exist(),
            )

    # ---- do-not-call and text messages -------------------------------------------------
    def is_do_not_call(self, shop_id: str, phone: str) -> bool:
        try:
            DoNotCallRecord.get(f"{shop_id}#{phone}", consistent_read=True)
        except DoesNotExist:
            return False
        return True

    def add_do_not_call(self, shop_id: str, phone: str, source: str, now: datetime) -> None:
        DoNotCallRecord(f"{shop_id}#{phone}", added_at=now, source=source).save()

    def remove_do_not_call(self, shop_id: str, phone: str) -> None:
        DoNotCallRecord(f"{shop_id}#{phone}").delete()

    def log_message(self, message: TextMessage) -> None:
        MessageRecord(
            f"{message.shop_id}#{message.phone}",
            f"{message.at.isoformat()}#{message.message_sid}",
            at=message.at,
            message_sid=message.message_sid,
            direction=message.direction,
            body=message.body,
            purpose=message.purpose,
            intent=message.intent,
            order_ids=set(message.order_ids) or None,
            shop_id=message.shop_id,
            shop_day=_day_key(message.shop_id, message.day),
        ).save()

    def messages_of(self, shop_id: str, phone: str) -> list[TextMessage]:
        return [
            TextMessage(
                shop_id=record.shop_id,
                phone=phone,
                message_sid=record.message_sid,
                direction=record.direction,
                body=record.body,
                at=record.at,
                day=_day_of(record.shop_day),
                purpose=record.purpose,
                intent=record.intent,
                order_ids=sorted(record.order_ids or ()),
            )
            for record in MessageRecord.query(f"{shop_id}#{phone}")
        ]

    def open_orders_of(self, shop_id: str, phone: str) -> list[Order]:
        """The customer's orders still waiting for a yes or no (queued, or given up on by phone)."""
        query = OrderRecord.by_shop_phone.query(
            f"{shop_id}#{phone}", filter_condition=OrderRecord.status.is_in("queued", "unreachable")
        )
        return [_order_entity(record) for record in query]

    # ---- calls -------------------------------------------------------------------------
    def upsert_call(self, call: Call, **fields: Any) -> Call:
        """Create the call record or leave its identity as first written (webhooks may repeat
        or arrive before the dialer records the call), set ``fields`` as given, and return the
        record as stored (one UpdateItem, ALL_NEW)."""
        record = CallRecord(call.call_sid)
        record.update(actions=self._call_actions(call, fields))
        return _call_entity(record)

    @staticmethod
    def _call_actions(call: Call, fields: dict[str, Any]) -> list[Action]:
        """The identity kept as first written (if_not_exists), then ``fields`` as given (a field
        given wins over the same identity attribute: one path may appear once)."""
        static = {
            "shop_id": call.shop_id,
            "direction": call.direction,
            "customer_phone": call.customer_phone,
            "shop_number": call.shop_number,
            "created_at": call.created_at,
            "shop_day": _day_key(call.shop_id, call.day),
            "status": call.status,
            "shop_phone": f"{call.shop_id}#{call.customer_phone}",
        }
        if call.task_id:
            static["task_id"] = call.task_id
        if call.language:
            static["language"] = call.language
        actions: list[Action] = []
        for name, value in static.items():
            if name not in fields:
                attribute = getattr(CallRecord, name)
                actions.append(attribute.set(attribute | value))  # if_not_exists
        return actions + [getattr(CallRecord, name).set(value) for name, value in fields.items()]

    def get_call(self, call_sid: str) -> Call | None:
        if not call_sid:
            return None
        try:
            return _call_entity(CallRecord.get(call_sid, consistent_read=True))
        except DoesNotExist:
            return None

    def update_call(self, call_sid: str, **fields: Any) -> None:
        record = CallRecord(call_sid)
        record.update(
            actions=[getattr(CallRecord, name).set(value) for name, value in fields.items()],
            condition=CallRecord.call_sid.exists(),
        )
        if fields.get("agent_id") and record.shop_id:
            # The call an agent is given becomes the one on their desk (A3). The update read
            # the record back, so its shop is known.
            _updated(
                AgentRecord(record.shop_id, fields["agent_id"]),
                actions=[AgentRecord.current_call_sid.set(call_sid)],
                condition=AgentRecord.agent_id.exists(),
            )

    def apply_call_status(self, call_sid: str, sequence: int, **fields: Any) -> bool:
        """Apply a status callback unless a later one was applied already (callbacks reorder)."""
        actions: list[Action] = [CallRecord.last_sequence.set(sequence)]
        actions += [getattr(CallRecord, name).set(value) for name, value in fields.items()]
        return _updated(
            CallRecord(call_sid),
            actions=actions,
            condition=CallRecord.last_sequence.does_not_exist() | (CallRecord.last_sequence < sequence),
        )

    def upsert_call_with_status(self, call: Call, sequence: int, **fields: Any) -> tuple[bool, Call]:
        """``upsert_call`` and ``apply_call_status`` in one UpdateItem: whether the status was
        applied (False for a callback older than one applied already), and the call as stored."""
        record = CallRecord(call.call_sid)
        actions = self._call_actions(call, {"last_sequence": sequence, **fields})
        if _updated(
            record,
            actions=actions,
            condition=CallRecord.last_sequence.does_not_exist() | (CallRecord.last_sequence < sequence),
        ):
            return True, _call_entity(record)
        return False, self.upsert_call(call)  # a late callback: only make sure the record exists

    def calls_of_day(self, shop_id: str, day: str) -> Iterator[Call]:
        for record in CallRecord.by_shop_day.query(_day_key(shop_id, day)):
            yield _call_entity(record)


def _attempt_call(ref: RobotCallRef, call_sid: str) -> Condition:
    """The task is dialing this call (or none attached yet) on the attempt the webhook belongs to."""
    return _dialing_call(call_sid) & (DialTaskRecord.attempts == ref.attempt)


def _dialing_call(call_sid: str) -> Condition:
    """The task is dialing, and this call is its current one (or no call is attached yet)."""
    return (DialTaskRecord.state == "dialing") & (
        DialTaskRecord.last_call_sid.does_not_exist() | (DialTaskRecord.last_call_sid == call_sid)
    )


def _day_key(shop_id: str, day: str) -> str:
    """The ``by_shop_day`` index key: one partition per shop and local day."""
    return f"{shop_id}#{day}"


def _day_of(day_key: str) -> str:
    return day_key.rpartition("#")[2]


def _queue_key(shop_id: str, kind: str) -> str:
    return f"{shop_id}#{kind}"


def _order_record(order: Order) -> OrderRecord:
    return OrderRecord(
        order.shop_id,
        order.order_id,
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
        shop_day=_day_key(order.shop_id, order.day),
        shop_phone=f"{order.shop_id}#{order.phone}",
    )


def _order_entity(record: OrderRecord) -> Order:
    return Order(
        shop_id=record.shop_id,
        order_id=record.order_id,
        order_number=record.order_number,
        phone=record.phone,
        phone_valid=bool(record.phone_valid),
        phone_problem=record.phone_problem,
        customer_name=record.customer_name or "",
        language=record.language,
        payload=record.payload or {},
        total=Decimal(record.total),
        currency=record.currency,
        status=record.status,
        duplicate_of=record.duplicate_of,
        fake_reason=record.fake_reason,
        task_id=record.task_id,
        route=record.route,
        route_reason=record.route_reason,
        reached=bool(record.reached),
        received_at=record.received_at,
        day=_day_of(record.shop_day),
        decided_at=record.decided_at,
        first_dial_at=record.first_dial_at,
        delivery_slot=record.delivery_slot,
    )


def _task_entity(record: DialTaskRecord) -> DialTask:
    return DialTask(
        task_id=record.task_id,
        shop_id=record.shop_id,
        phone=record.phone,
        order_ids=sorted(record.order_ids or ()),
        call_order_ids=sorted(record.call_order_ids or ()),
        callback_at=record.callback_at,
        contacted=bool(record.contacted),
        language=record.language,
        created_at=record.created_at,
        kind=record.kind,
        state=record.state or "new",
        attempts=int(record.attempts or 0),
        due_at=record.due_at,
        result=record.result,
        last_call_sid=record.last_call_sid,
        last_call_result=record.last_call_result,
    )


def _call_entity(record: CallRecord) -> Call:
    return Call(
        call_sid=record.call_sid,
        shop_id=record.shop_id,
        direction=record.direction,
        customer_phone=record.customer_phone,
        shop_number=record.shop_number,
        created_at=record.created_at,
        day=_day_of(record.shop_day),
        task_id=record.task_id,
        status=record.status,
        answered_by=record.answered_by,
        result=record.result,
        duration_seconds=int(record.duration_seconds or 0),
        answered_at=record.answered_at,
        ended_at=record.ended_at,
        recording_url=record.recording_url,
        recording_sid=record.recording_sid,
        language=record.language,
        group=record.group,
        after_hours=record.after_hours,
        queued_at=record.queued_at,
        wait_seconds=int(record.wait_seconds) if record.wait_seconds is not None else None,
        agent_id=record.agent_id,
        abandoned=record.abandoned,
        callback_task_id=record.callback_task_id,
        survey=record.survey,
    )
