"""DynamoDB persistence of inbound calls: agents and their status log, the per-group queue,
handle times, callers' active orders and callback tasks.

Reserving an agent is a conditional write on the agent's item (free -> busy for this call):
two callers racing for one agent never both get them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.adapters.dialer_models import DialLineRecord, line_key
from chalicelib.adapters.inbound_models import GroupStatsRecord, QueueEntryRecord
from chalicelib.adapters.models import AgentRecord, AgentStatusRecord, DialTaskRecord, OrderRecord
from chalicelib.adapters.repository import DynamoRepository, _condition_failed, _order_entity, _updated
from chalicelib.domain.entities import Order
from chalicelib.domain.orders import local_day
from chalicelib.domain.predictive import STALE_LINE, DialLine, is_in_flight
from chalicelib.domain.queue_estimate import remember
from chalicelib.domain.routing import Agent

ACTIVE_ORDER_STATUSES = ("received", "queued")
# A callback task waits in this state until an agent is free for it. The robot dialer serves
# only "queued" tasks, so it never robot-dials a callback.
CALLBACK_WAITING = "waiting"


@dataclass
class QueueEntry:
    shop_id: str
    group: str
    kind: str  # caller | callback
    ref: str
    phone: str
    language: str
    queued_at: datetime
    announced_position: int | None = None

    @property
    def queue_key(self) -> str:
        return queue_key(self.shop_id, self.group)

    @property
    def entry_key(self) -> str:
        return entry_key(self.queued_at, self.ref)


def queue_key(shop_id: str, group: str) -> str:
    return f"{shop_id}#{group}"


def entry_key(queued_at: datetime, ref: str) -> str:
    """Sorts by arrival: UTC, fixed width, then the id to keep equal instants apart."""
    return f"{queued_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{ref}"


class InboundRepository(DynamoRepository):
    # ---- agents --------------------------------------------------------------------------
    def list_agents(self, shop_id: str) -> list[Agent]:
        return [_agent(record) for record in AgentRecord.query(shop_id, consistent_read=True)]

    def get_agent(self, shop_id: str, agent_id: str) -> Agent | None:
        try:
            return _agent(AgentRecord.get(shop_id, agent_id, consistent_read=True))
        except DoesNotExist:
            return None

    def set_agent_status(
        self,
        shop_id: str,
        agent_id: str,
        status: str,
        now: datetime,
        *,
        source: str,
        timezone: str,
        only_from: set[str] | None = None,
    ) -> Agent | None:
        """Change the status and log the change with its time; None when the agent is unknown
        (or not in one of ``only_from``)."""
        agent = self.get_agent(shop_id, agent_id)
        if agent is None:
            return None
        condition = AgentRecord.agent_id.exists()
        if only_from is not None:
            condition &= AgentRecord.status.is_in(*only_from)
        actions: list[Action] = [AgentRecord.status.set(status), AgentRecord.status_since.set(now)]
        if status not in ("busy",):
            actions.append(AgentRecord.reserved_call_sid.remove())
        try:
            AgentRecord(shop_id, agent_id).update(actions=actions, condition=condition)
        except UpdateError as error:
            if _condition_failed(error):
                return None
            raise
        self._log_status(agent, status, now, source, timezone)
        agent.status, agent.status_since = status, now
        return agent

    def reserve_agent(self, agent: Agent, call_sid: str, now: datetime, *, wrap_up_seconds: int, timezone: str) -> bool:
        """free -> busy for ``call_sid``; False when someone else got the agent first."""
        cutoff = now - timedelta(seconds=wrap_up_seconds)
        free = (AgentRecord.status == "available") | (
            (AgentRecord.status == "wrap-up") & (AgentRecord.status_since <= cutoff)
        )
        try:
            AgentRecord(agent.shop_id, agent.agent_id).update(
                actions=[
                    AgentRecord.status.set("busy"),
                    AgentRecord.status_since.set(now),
                    AgentRecord.reserved_call_sid.set(call_sid),
                ],
                condition=AgentRecord.agent_id.exists() & free,
            )
        except UpdateError as error:
            if _condition_failed(error):
                return False
            raise
        if agent.status == "wrap-up" and agent.status_since is not None:
            # wrap-up ended by itself before this call: the log shows it
            ended = agent.status_since + timedelta(seconds=wrap_up_seconds)
            self._log_status(agent, "available", ended, "system", timezone)
            agent.status = "available"
        self._log_status(agent, "busy", now, "system", timezone)
        return True

    def release_agent(
        self,
        shop_id: str,
        agent_id: str,
        call_sid: str,
        status: str,
        now: datetime,
        *,
        timezone: str,
        talked: bool = False,
        missed: bool = False,
    ) -> bool:
        """End the agent's reservation for ``call_sid``: wrap-up after a conversation, away
        after a missed offer, available when the caller left first. Repeats do nothing."""
        agent = self.get_agent(shop_id, agent_id)
        if agent is None:
            return False
        actions: list[Action] = [
            AgentRecord.status.set(status),
            AgentRecord.status_since.set(now),
            AgentRecord.reserved_call_sid.remove(),
        ]
        if talked:
            actions.append(AgentRecord.last_call_ended_at.set(now))
        if missed:
            actions.append(AgentRecord.missed_calls.add(1))
        try:
            AgentRecord(shop_id, agent_id).update(actions=actions, condition=AgentRecord.reserved_call_sid == call_sid)
        except UpdateError as error:
            if _condition_failed(error):
                return False
            raise
        self._log_status(agent, status, now, "system", timezone)
        return True

    def _log_status(self, agent: Agent, status: str, at: datetime, source: str, timezone: str) -> None:
        AgentStatusRecord(
            f"{agent.shop_id}#{agent.agent_id}",
            at,
            shop_id=agent.shop_id,
            agent_id=agent.agent_id,
            status=status,
            previous_status=agent.status,
            source=source,
            shop_day=f"{agent.shop_id}#{local_day(at, timezone)}",
        ).save()

    def status_log(self, shop_id: str, agent_id: str) -> list[tuple[datetime, str, str]]:
        return [
            (record.changed_at, record.status, record.source)
            for record in AgentStatusRecord.query(f"{shop_id}#{agent_id}", consistent_read=True)
        ]

    def customer_lines_in_flight(self, shop_id: str, now: datetime) -> int:
        """The shop's customer-first calls a person may still answer (O8; see
        ``chalicelib.domain.predictive.is_in_flight``): only the last few minutes' lines are read."""
        since = line_key(now - STALE_LINE, "")
        query = DialLineRecord.query(shop_id, DialLineRecord.line_key > since, consistent_read=True)
        return sum(1 for r in query if is_in_flight(DialLine(r.task_id, r.placed_at, r.phase), now))

    # ---- queue ---------------------------------------------------------------------------
    def add_queue_entry(self, entry: QueueEntry) -> None:
        """Put the entry in its group's queue (repeating it changes nothing)."""
        QueueEntryRecord(
            entry.queue_key,
            entry.entry_key,
            kind=entry.kind,
            ref=entry.ref,
            phone=entry.phone,
            language=entry.language,
            queued_at=entry.queued_at,
        ).save()

    def remove_queue_entry(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> bool:
        """Take the entry out; False when it was gone already (someone else took it)."""
        try:
            QueueEntryRecord(queue_key(shop_id, group), entry_key(queued_at, ref)).delete(
                condition=QueueEntryRecord.entry_key.exists()
            )
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def queue_entries(self, shop_id: str, group: str, limit: int = 50) -> list[QueueEntry]:
        return [
            _entry(shop_id, group, record)
            for record in QueueEntryRecord.query(queue_key(shop_id, group), consistent_read=True, limit=limit)
        ]

    def queue_position(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> tuple[int, int]:
        """(1-based position of the entry, queue size); position 0 when it is not queued."""
        key = queue_key(shop_id, group)
        mine = entry_key(queued_at, ref)
        keys = [record.entry_key for record in QueueEntryRecord.query(key, consistent_read=True)]
        position = keys.index(mine) + 1 if mine in keys else 0
        return position, len(keys)

    def note_announced_position(self, shop_id: str, group: str, queued_at: datetime, ref: str, position: int) -> None:
        try:
            QueueEntryRecord(queue_key(shop_id, group), entry_key(queued_at, ref)).update(
                actions=[QueueEntryRecord.announced_position.set(position)],
                condition=QueueEntryRecord.entry_key.exists(),
            )
        except UpdateError as error:
            if not _condition_failed(error):
                raise

    def announced_position(self, shop_id: str, group: str, queued_at: datetime, ref: str) -> int | None:
        try:
            record = QueueEntryRecord.get(queue_key(shop_id, group), entry_key(queued_at, ref), consistent_read=True)
        except DoesNotExist:
            return None
        return int(record.announced_position) if record.announced_position is not None else None

    # ---- handle times --------------------------------------------------------------------
    def recent_handle_seconds(self, shop_id: str, group: str) -> list[float]:
        try:
            record = GroupStatsRecord.get(queue_key(shop_id, group))
        except DoesNotExist:
            return []
        return [float(value) for value in record.handle_seconds or []]  # type: ignore[arg-type]

    def remember_handle_seconds(self, shop_id: str, group: str, seconds: float) -> None:
        for _ in range(5):  # optimistic locking: retry when another call's end wrote meanwhile
            try:
                record = GroupStatsRecord.get(queue_key(shop_id, group), consistent_read=True)
            except DoesNotExist:
                record = GroupStatsRecord(queue_key(shop_id, group), handle_seconds=[])
            recent = [float(v) for v in record.handle_seconds or []]  # type: ignore[arg-type]
            record.handle_seconds = remember(recent, seconds)  # type: ignore[assignment]
            try:
                record.save()
                return
            except PutError as error:
                if not _condition_failed(error):
                    raise

    # ---- the caller's orders -------------------------------------------------------------
    def active_orders(self, shop_id: str, phone: str) -> list[Order]:
        query = OrderRecord.by_shop_phone.query(
            f"{shop_id}#{phone}", filter_condition=OrderRecord.status.is_in(*ACTIVE_ORDER_STATUSES)
        )
        return sorted((_order_entity(record) for record in query), key=lambda order: order.received_at)

    def choose_delivery_slot(self, shop_id: str, order_id: str, slot: dict[str, str]) -> Order | None:
        """Store the caller's delivery slot on an order still active; None when it is not."""
        record = OrderRecord(shop_id, order_id)
        condition = OrderRecord.order_id.exists() & OrderRecord.status.is_in(*ACTIVE_ORDER_STATUSES)
        if not _updated(record, actions=[OrderRecord.delivery_slot.set(slot)], condition=condition):
            return None
        return _order_entity(record)

    # ---- callback tasks ------------------------------------------------------------------
    def insert_callback_task(
        self, task_id: str, shop_id: str, phone: str, language: str, arrived_at: datetime, now: datetime
    ) -> bool:
        """A callback (I6, I7) keeping the caller's original arrival time as its due time."""
        record = DialTaskRecord(
            task_id,
            shop_id=shop_id,
            phone=phone,
            kind="callback",
            language=language,
            state=CALLBACK_WAITING,
            attempts=0,
            created_at=now,
            queue_key=f"{shop_id}#callback",
            due_at=arrived_at,
        )
        if not DialTaskRecord.order_ids.null:  # a required list in older schemas
            record.order_ids = []  # type: ignore[assignment]
        try:
            record.save(condition=DialTaskRecord.task_id.does_not_exist())
        except PutError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def claim_callback(self, task_id: str, agent_id: str, now: datetime) -> bool:
        try:
            DialTaskRecord(task_id).update(
                actions=[
                    DialTaskRecord.state.set("dialing"),
                    DialTaskRecord.attempts.add(1),
                    DialTaskRecord.dialing_at.set(now),
                    DialTaskRecord.result.set(f"agent:{agent_id}"),
                ],
                condition=DialTaskRecord.state == CALLBACK_WAITING,
            )
        except UpdateError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def finish_callback(self, task_id: str, result: str) -> None:
        DialTaskRecord(task_id).update(
            actions=[
                DialTaskRecord.state.set("done"),
                DialTaskRecord.result.set(result),
                DialTaskRecord.queue_key.remove(),
                DialTaskRecord.due_at.remove(),
                DialTaskRecord.dialing_at.remove(),
            ],
            condition=DialTaskRecord.task_id.exists(),
        )


@functools.cache
def inbound_store() -> InboundRepository:
    return InboundRepository()


def _agent(record: AgentRecord) -> Agent:
    return Agent(
        shop_id=record.shop_id,
        agent_id=record.agent_id,
        name=record.name,
        phone=record.phone,
        client_identity=record.client_identity,
        groups=[str(group) for group in record.groups or []],
        languages=[str(language) for language in record.languages or []],
        status=record.status or "offline",
        status_since=record.status_since,
        reserved_call_sid=record.reserved_call_sid,
        last_call_ended_at=record.last_call_ended_at,
        missed_calls=int(record.missed_calls or 0),
    )


def _entry(shop_id: str, group: str, record: QueueEntryRecord) -> QueueEntry:
    return QueueEntry(
        shop_id=shop_id,
        group=group,
        kind=record.kind,
        ref=record.ref,
        phone=record.phone,
        language=record.language,
        queued_at=record.queued_at,
        announced_position=int(record.announced_position) if record.announced_position is not None else None,
    )
