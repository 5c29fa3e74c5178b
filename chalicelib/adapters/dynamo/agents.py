"""Agents: their items, the log of every status change (A1, R4), their desk tokens (A3, stored
only as digests, like shop API keys) and how the desk sees them.

Reserving an agent is a conditional write on the agent's item (free -> busy for this call):
two callers racing for one agent never both get them. Likewise a softphone identity: the agent
and the identity's claim are written in one transaction, the claim only if free or the agent's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamo.items import count, day_key, from_item, saved, updated
from chalicelib.adapters.dynamo.schema import AgentItem, AgentStatusItem, AgentTokenItem, SoftphoneIdentityItem
from chalicelib.adapters.dynamo.shops import ShopRepository, api_key_digest, by_digest
from chalicelib.domain.desk import AgentToken, DeskAgent
from chalicelib.domain.routing import Agent
from chalicelib.domain.values import local_day

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition
    from pynamodb.expressions.update import Action

    from chalicelib.domain.shop import ShopSettings


DESK_CALL_KEY = "desk"  # the by_desk_call index's one key: a browser call's writes are few
# A reservation's end takes the agent out of the index, whichever call it was for.
_DESK_CALL_CLEARED: list[Action] = [AgentItem.desk_call_key.remove(), AgentItem.desk_call_checked_at.remove()]


CLAIM_ROUNDS = 5  # reads and writes of one agent before giving up when others keep changing it


def _free_or_theirs(shop_id: str, agent_id: str) -> Condition:
    item = SoftphoneIdentityItem
    return item.identity.does_not_exist() | ((item.shop_id == shop_id) & (item.agent_id == agent_id))


def agent_entity(item: AgentItem) -> Agent:
    return from_item(
        Agent,
        item,
        groups=[str(group) for group in item.groups or []],
        languages=[str(language) for language in item.languages or []],
        status=item.status or "offline",
        missed_calls=count(item.missed_calls),
    )


class AgentRepository:
    def __init__(self, shops: ShopRepository) -> None:
        self._shops = shops  # a token names its agent's shop

    def save_agent(self, shop_id: str, agent: dict[str, Any]) -> tuple[str, str] | None:
        """Save the agent with their softphone identity's claim, and free the identity they had,
        in one transaction. None when saved; (shop id, agent id) of the identity's holder when it
        is another agent's (nothing saved)."""
        agent_id, identity = agent["agent_id"], agent.get("client_identity")
        item = AgentItem(shop_id, agent_id, **{k: v for k, v in agent.items() if k != "agent_id"})
        return self._claimed_write(shop_id, agent_id, identity, lambda tx, unchanged: tx.save(item, unchanged))

    def delete_agent(self, shop_id: str, agent_id: str) -> bool:
        """Delete the agent and free their softphone identity together; False when unknown."""
        if not self.has_agent(shop_id, agent_id):
            return False
        item = AgentItem(shop_id, agent_id)
        self._claimed_write(shop_id, agent_id, None, lambda tx, unchanged: tx.delete(item, unchanged))
        return True

    def claim_identity(self, shop_id: str, agent_id: str, identity: str) -> tuple[str, str] | None:
        """Claim an identity for an agent stored before claims existed (cli.admin
        claim-softphone-identities); None when claimed (or theirs already), else its holder."""
        claim = SoftphoneIdentityItem(identity, shop_id=shop_id, agent_id=agent_id)
        if saved(claim, _free_or_theirs(shop_id, agent_id)):
            return None
        return self._identity_holder(identity)

    def _claimed_write(
        self,
        shop_id: str,
        agent_id: str,
        identity: str | None,
        write: Callable[[TransactWrite, Condition], None],
    ) -> tuple[str, str] | None:
        # The identity the agent has now is read first: the transaction frees it on the condition
        # that it is still theirs (another writer changing it meanwhile: read again).
        for _ in range(CLAIM_ROUNDS):
            previous, unchanged = self._stored_identity(shop_id, agent_id)
            try:
                with TransactWrite(connection=AgentItem._get_connection().connection) as transaction:
                    write(transaction, unchanged)
                    if identity:
                        transaction.update(
                            SoftphoneIdentityItem(identity),
                            actions=[
                                SoftphoneIdentityItem.shop_id.set(shop_id),
                                SoftphoneIdentityItem.agent_id.set(agent_id),
                            ],
                            condition=_free_or_theirs(shop_id, agent_id),
                        )
                    if previous and previous != identity:
                        transaction.delete(SoftphoneIdentityItem(previous), _free_or_theirs(shop_id, agent_id))
            except TransactWriteError as error:
                codes = [reason.code if reason else None for reason in error.cancellation_reasons]
                if identity and len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                    holder = self._identity_holder(identity)
                    if holder is not None and holder != (shop_id, agent_id):
                        return holder
                if any(code in ("ConditionalCheckFailed", "TransactionConflict") for code in codes):
                    continue  # a writer met on the agent or a claim: read again, write again
                raise
            return None
        raise RuntimeError(f"agent {shop_id}/{agent_id}: changed by others {CLAIM_ROUNDS} times meanwhile; try again")

    def _stored_identity(self, shop_id: str, agent_id: str) -> tuple[str | None, Condition]:
        """The agent's identity as stored, and the condition that it is still so."""
        try:
            stored = AgentItem.get(shop_id, agent_id, consistent_read=True, attributes_to_get=["client_identity"])
        except DoesNotExist:
            return None, AgentItem.agent_id.does_not_exist()
        if stored.client_identity is None:
            return None, AgentItem.agent_id.exists() & AgentItem.client_identity.does_not_exist()
        return stored.client_identity, AgentItem.client_identity == stored.client_identity

    def _identity_holder(self, identity: str) -> tuple[str, str] | None:
        try:
            claim = SoftphoneIdentityItem.get(identity, consistent_read=True)
        except DoesNotExist:
            return None
        return claim.shop_id, claim.agent_id

    def has_agent(self, shop_id: str, agent_id: str) -> bool:
        try:
            AgentItem.get(shop_id, agent_id, attributes_to_get=["agent_id"])
        except DoesNotExist:
            return False
        return True

    def list_agents(self, shop_id: str) -> list[Agent]:
        return [agent_entity(item) for item in AgentItem.query(shop_id, consistent_read=True)]

    def agents_with_identity(self, identity: str) -> list[Agent]:
        # The index is eventually consistent: each agent it names is read as stored now, and
        # dropped if their identity has changed meanwhile.
        keys = [(item.shop_id, item.agent_id) for item in AgentItem.by_client_identity.query(identity)]
        agents = [self.get_agent(shop_id, agent_id) for shop_id, agent_id in keys]
        return [agent for agent in agents if agent is not None and agent.client_identity == identity]

    def get_agent(self, shop_id: str, agent_id: str) -> Agent | None:
        try:
            return agent_entity(AgentItem.get(shop_id, agent_id, consistent_read=True))
        except DoesNotExist:
            return None

    def desk_agent(self, shop_id: str, agent_id: str) -> DeskAgent | None:
        try:
            agent = AgentItem.get(shop_id, agent_id, consistent_read=True)
        except DoesNotExist:
            return None
        return DeskAgent(
            shop_id=shop_id,
            agent_id=agent_id,
            name=agent.name,
            status=agent.status or "offline",
            current_call_sid=agent.current_call_sid,
            sees_phone_numbers=bool(agent.sees_phone_numbers),
        )

    # ---- status ------------------------------------------------------------------------------
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
        condition = AgentItem.agent_id.exists()
        if only_from is not None:
            condition &= AgentItem.status.is_in(*only_from)
        actions: list[Action] = [AgentItem.status.set(status), AgentItem.status_since.set(now)]
        if status not in ("busy",):
            actions += [AgentItem.reserved_call_sid.remove(), *_DESK_CALL_CLEARED]
        if not updated(AgentItem(shop_id, agent_id), actions=actions, condition=condition):
            return None
        self._log_status(agent, status, now, source, timezone)
        agent.status, agent.status_since = status, now
        return agent

    def reserve_agent(self, agent: Agent, call_sid: str, now: datetime, *, wrap_up_seconds: int, timezone: str) -> bool:
        """free -> busy for ``call_sid``; False when someone else got the agent first."""
        cutoff = now - timedelta(seconds=wrap_up_seconds)
        free = (AgentItem.status == "available") | (
            (AgentItem.status == "wrap-up") & (AgentItem.status_since <= cutoff)
        )
        if not updated(
            AgentItem(agent.shop_id, agent.agent_id),
            actions=[
                AgentItem.status.set("busy"),
                AgentItem.status_since.set(now),
                AgentItem.reserved_call_sid.set(call_sid),
            ],
            condition=AgentItem.agent_id.exists() & free,
        ):
            return False
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
            AgentItem.status.set(status),
            AgentItem.status_since.set(now),
            AgentItem.reserved_call_sid.remove(),
            *_DESK_CALL_CLEARED,
        ]
        if talked:
            actions.append(AgentItem.last_call_ended_at.set(now))
        if missed:
            actions.append(AgentItem.missed_calls.add(1))
        if not updated(
            AgentItem(shop_id, agent_id), actions=actions, condition=AgentItem.reserved_call_sid == call_sid
        ):
            return False
        self._log_status(agent, status, now, "system", timezone)
        return True

    # ---- browser calls whose end may be lost (#17) -------------------------------------------
    def note_desk_call(self, shop_id: str, agent_id: str, call_sid: str, now: datetime) -> None:
        updated(
            AgentItem(shop_id, agent_id),
            actions=[AgentItem.desk_call_key.set(DESK_CALL_KEY), AgentItem.desk_call_checked_at.set(now)],
            condition=AgentItem.reserved_call_sid == call_sid,
        )

    def desk_calls_unchecked_since(self, before: datetime) -> list[tuple[str, str]]:
        query = AgentItem.by_desk_call.query(DESK_CALL_KEY, AgentItem.desk_call_checked_at <= before)
        return [(item.shop_id, item.agent_id) for item in query]

    def recheck_desk_call_later(self, shop_id: str, agent_id: str, now: datetime) -> None:
        updated(
            AgentItem(shop_id, agent_id),
            actions=[AgentItem.desk_call_checked_at.set(now)],
            condition=AgentItem.desk_call_key.exists(),
        )

    def _log_status(self, agent: Agent, status: str, at: datetime, source: str, timezone: str) -> None:
        AgentStatusItem(
            f"{agent.shop_id}#{agent.agent_id}",
            at,
            shop_id=agent.shop_id,
            agent_id=agent.agent_id,
            status=status,
            previous_status=agent.status,
            source=source,
            shop_day=day_key(agent.shop_id, local_day(at, timezone)),
        ).save()

    def status_log(self, shop_id: str, agent_id: str) -> list[tuple[datetime, str, str]]:
        return [
            (item.changed_at, item.status, item.source)
            for item in AgentStatusItem.query(f"{shop_id}#{agent_id}", consistent_read=True)
        ]

    # ---- desk tokens -------------------------------------------------------------------------
    def agent_for_token(self, token: str) -> tuple[ShopSettings, str] | None:
        """(shop, agent id) of an agent's token; None when unknown or revoked."""
        found = self.agent_token(token)
        return (found[0], found[1].agent_id) if found else None

    def agent_token(self, token: str) -> tuple[ShopSettings, AgentToken] | None:
        """The agent's shop and what the token stands for (issued when, supervisor or not);
        None when unknown or revoked. Expiry is the caller's to judge, by the shop's setting."""
        item = by_digest(AgentTokenItem, token, "token_hash")
        if item is None:
            return None
        shop = self._shops.get_shop(item.shop_id)
        if shop is None:
            return None
        return shop, AgentToken(item.shop_id, item.agent_id, item.created_at, bool(item.supervisor))

    def save_agent_token(
        self, shop_id: str, agent_id: str, token: str, token_id: str, now: datetime, *, supervisor: bool = False
    ) -> None:
        AgentTokenItem(
            api_key_digest(token),
            shop_id=shop_id,
            agent_id=agent_id,
            agent_key=f"{shop_id}#{agent_id}",
            token_id=token_id,
            created_at=now,
            supervisor=supervisor or None,
        ).save()

    def revoke_agent_tokens(self, shop_id: str, agent_id: str) -> int:
        """Delete every token of the agent; how many there were."""
        revoked = 0
        for item in AgentTokenItem.by_agent.query(f"{shop_id}#{agent_id}"):
            AgentTokenItem(item.token_hash).delete()
            revoked += 1
        return revoked
