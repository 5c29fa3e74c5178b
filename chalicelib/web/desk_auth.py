"""Who is calling an agent or shop route: an agent with their own token, or the shop with its
API key (a supervisor: the shop's back office). Both are ``Authorization: Bearer <secret>``,
stored only as SHA-256 digests and compared in constant time; the secret is never logged.

An agent's token works for the shop's ``desk.agent_token_days`` from its issue (401 "token
expired" after); one issued with ``--supervisor`` reads every customer's timeline, as the
shop's key does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalice import Response
from chalice.app import Request

from chalicelib.clock import current_clock
from chalicelib.domain.desk import AgentToken
from chalicelib.domain.shop import ShopSettings
from chalicelib.web.http import json_error


class CredentialStore(Protocol):
    def agent_token(self, token: str) -> tuple[ShopSettings, AgentToken] | None: ...
    def shop_for_api_key(self, api_key: str) -> ShopSettings | None: ...


@dataclass(frozen=True)
class Caller:
    shop: ShopSettings
    agent_id: str | None  # None: the shop's API key
    supervisor: bool = False  # every customer's timeline (the shop's key always)

    @property
    def is_agent(self) -> bool:
        return self.agent_id is not None

    def may_act_for(self, agent_id: str) -> bool:
        """An agent speaks only for themself; the shop's key for any of its agents."""
        return self.agent_id is None or self.agent_id == agent_id


def bearer(request: Request) -> str | None:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def caller_of(request: Request, store: CredentialStore, *, shop_key: bool = True) -> Caller | Response:
    """The agent (token) or, when ``shop_key``, the shop (API key) behind the request; 401 else."""
    secret = bearer(request)
    wanted = "an agent's token or the shop's API key" if shop_key else "the agent's token"
    if secret is None:
        return json_error(401, "unauthorized", f"send {wanted} as 'Authorization: Bearer <token>'")
    agent = store.agent_token(secret)
    if agent is not None:
        shop, token = agent
        if token.expired(current_clock().now(), shop.desk.agent_token_days):
            return json_error(401, "unauthorized", "token expired: ask for a new one")
        return Caller(shop=shop, agent_id=token.agent_id, supervisor=token.supervisor)
    if shop_key:
        shop_of_key = store.shop_for_api_key(secret)
        if shop_of_key is not None:
            return Caller(shop=shop_of_key, agent_id=None, supervisor=True)
        return json_error(401, "unauthorized", "unknown token or API key")
    return json_error(401, "unauthorized", "unknown agent token (the shop's API key cannot act as an agent)")


@dataclass(frozen=True)
class AgentCaller:
    shop: ShopSettings
    agent_id: str


def agent_of(request: Request, store: CredentialStore) -> AgentCaller | Response:
    """Routes only an agent may call (their screen pop, their outcomes)."""
    caller = caller_of(request, store, shop_key=False)
    if isinstance(caller, Response):
        return caller
    assert caller.agent_id is not None  # shop_key=False: only an agent's token passes
    return AgentCaller(caller.shop, caller.agent_id)


def not_yours(agent_id: str) -> Response:
    return json_error(
        403,
        "forbidden",
        f"agent_id: an agent's token acts only for that agent, not for {agent_id!r}",
        [{"field": "agent_id", "message": "not the agent of this token"}],
    )


def not_your_customer(phone: str) -> Response:
    return json_error(
        403,
        "forbidden",
        f"phone: {phone} is not a customer of this agent's calls (a supervisor's token or the shop's key reads any)",
        [{"field": "phone", "message": "not a customer of this agent's calls"}],
    )
