"""Operator tasks (P3): shops, numbers, agents and API keys, one at a time or from a file."""

from __future__ import annotations

import secrets
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.domain.crm import OutboxEvent, crm_url_problem
from chalicelib.domain.orders import field_problems
from chalicelib.domain.phones import normalise_phone
from chalicelib.domain.shop import LanguageCode, ShopSettings, merged_settings
from chalicelib.services.crm_push import parked_events, replay
from chalicelib.services.ports import AdminStore, KeyStore, Outbox, UsagePlan


class AdminError(ValueError):
    pass


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = None
    client_identity: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    groups: list[str] = Field(default_factory=lambda: ["main"])
    languages: list[str] = Field(default_factory=list)  # those the agent takes calls in (routing)
    language: LanguageCode | None = None  # what the agent hears (whisper, keypad menu); default: the shop's first
    sees_phone_numbers: bool = False  # callers' numbers in full on the agent's desk (masked otherwise)


class NumberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str
    group: str = "main"


def new_api_key() -> tuple[str, str]:
    """(key id, secret key): the key is shown once and stored only as a digest."""
    return "key_" + secrets.token_hex(4), "sk_" + secrets.token_urlsafe(32)


def create_shop(
    settings: dict[str, Any],
    *,
    store: AdminStore,
    now: datetime,
    local: bool | None = None,
    replace: bool = False,
) -> ShopSettings:
    """Create the shop ``settings["shop_id"]`` names, or update it. An update changes only what
    is given: the given settings are merged over the stored ones (``merged_settings``: tables key
    by key, values and lists replaced) and everything else stays as stored. With ``replace`` the
    given settings are the whole of them and whatever is not given takes its default. The result
    is checked whole before anything is saved: a problem names its field and changes nothing.
    ``local``: whether a CRM may be http on loopback (default: the deployment's mode)."""
    shop_id = settings.get("shop_id")
    stored = store.get_shop(shop_id) if isinstance(shop_id, str) and shop_id else None
    if stored is None and not replace and isinstance(shop_id, str) and "name" not in settings:
        raise AdminError(f"no shop {shop_id!r} to update: give its name to create it")
    whole = settings if replace or stored is None else merged_settings(stored.model_dump(mode="json"), settings)
    try:
        shop = ShopSettings.model_validate(whole)
    except ValidationError as error:
        problems = "; ".join(f"{problem.field}: {problem.message}" for problem in field_problems(error, ShopSettings))
        raise AdminError(f"shop {shop_id!r}: {problems}") from None
    if shop.crm is not None:
        if local is None:
            from chalicelib.config import settings as deployment  # the admin CLI passes none: the deployment decides

            local = deployment().local_mode
        problem = crm_url_problem(shop.crm.url, local=local)
        if problem:
            raise AdminError(f"crm.url: {problem}")
    if shop.caller_id:
        shop = shop.model_copy(update={"caller_id": _e164(shop.caller_id, shop.default_region)})
    store.save_shop(shop, now)
    return shop


def add_number(shop_id: str, number: str, group: str, *, store: AdminStore, now: datetime) -> str:
    shop = _shop(shop_id, store)
    e164 = _e164(number, shop.default_region)
    store.save_number(e164, shop.shop_id, group)
    if not shop.caller_id:  # the first number also becomes the outbound caller ID
        store.save_shop(shop.model_copy(update={"caller_id": e164}), now)
    return e164


def add_agent(shop_id: str, agent: dict[str, Any], *, store: AdminStore) -> AgentIn:
    shop = _shop(shop_id, store)
    parsed = AgentIn.model_validate(agent)
    if not parsed.phone and not parsed.client_identity:
        raise AdminError(f"agent {parsed.agent_id}: give a phone or a client_identity")
    if parsed.phone:
        parsed = parsed.model_copy(update={"phone": _e164(parsed.phone, shop.default_region)})
    if parsed.language is None:
        parsed = parsed.model_copy(update={"language": shop.main_language})
    if parsed.client_identity:
        _identity_free(parsed.client_identity, shop.shop_id, parsed.agent_id, store=store)
    holder = store.save_agent(shop.shop_id, parsed.model_dump(exclude_none=True))
    if holder is not None and parsed.client_identity:  # another operator's add won the race
        raise _identity_taken(parsed.agent_id, parsed.client_identity, holder)
    return parsed


def remove_agent(shop_id: str, agent_id: str, *, store: AdminStore) -> int:
    """Delete the agent (their softphone identity is free at once) and revoke their desk
    tokens; how many tokens were revoked."""
    _shop(shop_id, store)
    if not store.has_agent(shop_id, agent_id):
        raise AdminError(f"no agent {agent_id!r} in shop {shop_id!r}")
    revoked = store.revoke_agent_tokens(shop_id, agent_id)
    store.delete_agent(shop_id, agent_id)
    return revoked


def claim_softphone_identities(*, store: AdminStore) -> tuple[int, list[str]]:
    """Once after upgrading: claim the identity of every agent saved before identities were
    claimed (a Query per shop). (How many claimed, the conflicts: two agents stored with one
    identity, which the operator settles by giving one of them another.)"""
    claimed, conflicts = 0, []
    for shop in sorted(store.list_shops(), key=lambda shop: shop.shop_id):  # the first stored keeps it
        for agent in sorted(store.list_agents(shop.shop_id), key=lambda agent: agent.agent_id):
            if not agent.client_identity:
                continue
            holder = store.claim_identity(shop.shop_id, agent.agent_id, agent.client_identity)
            if holder is None:
                claimed += 1
            else:
                conflicts.append(
                    str(_identity_taken(f"{shop.shop_id}/{agent.agent_id}", agent.client_identity, holder))
                )
    return claimed, conflicts


def _identity_free(identity: str, shop_id: str, agent_id: str, *, store: AdminStore) -> None:
    """A browser call names its agent only by the softphone identity (``From=client:<identity>``,
    account-wide at Twilio): one agent's, whatever the shop. The claim written with the agent
    decides races; this read also finds agents saved before claims existed."""
    for holder in store.agents_with_identity(identity):
        if (holder.shop_id, holder.agent_id) != (shop_id, agent_id):
            raise _identity_taken(agent_id, identity, (holder.shop_id, holder.agent_id))


def _identity_taken(agent: str, identity: str, holder: tuple[str, str]) -> AdminError:
    return AdminError(
        f"agent {agent}: client_identity {identity!r} is already agent {holder[1]!r}'s"
        f" (shop {holder[0]!r}); each softphone identity names one agent"
    )


def create_api_key(
    shop_id: str,
    *,
    store: AdminStore,
    now: datetime,
    api_key: str | None = None,
    usage_plan: UsagePlan | None = None,
) -> tuple[str, str]:
    """A new key for the shop: (key id, key). With a ``usage_plan`` (a deployment) the key is put
    in it first, so API Gateway limits it from its first request."""
    _shop(shop_id, store)
    key_id, generated = new_api_key()
    key = api_key or generated
    if len(key) < 16:
        raise AdminError("an API key must be at least 16 characters")
    if usage_plan is not None:
        usage_plan.register(shop_id, key_id)
    store.save_api_key(shop_id, key, key_id, now)
    return key_id, key


def revoke_api_key(key_id: str, *, store: KeyStore, usage_plan: UsagePlan | None = None) -> str:
    """The key stops working (its digest is deleted: the app and the authorizer refuse it; a warm
    process may accept it for up to a minute from its cache) and, with a ``usage_plan``, its API
    Gateway API key is disabled and taken out of the plan. Returns the key's shop id."""
    shop_id = store.revoke_api_key(key_id)
    if shop_id is None:
        raise AdminError(f"no API key {key_id!r}")
    if usage_plan is not None:
        usage_plan.revoke(shop_id, key_id)
    return shop_id


def register_api_keys(*, store: KeyStore, usage_plan: UsagePlan) -> list[tuple[str, str]]:
    """Put every existing shop key in the usage plan (keys issued before the plan existed, or
    loaded from a file); a key already there is left as it is. Returns (shop id, key id) pairs."""
    keys = store.api_key_ids()
    for shop_id, key_id in keys:
        usage_plan.register(shop_id, key_id)
    return keys


def new_agent_token() -> tuple[str, str]:
    """(token id, secret token): the token is shown once and stored only as a digest."""
    return "tok_" + secrets.token_hex(4), "at_" + secrets.token_urlsafe(32)


def issue_agent_token(
    shop_id: str,
    agent_id: str,
    *,
    store: AdminStore,
    now: datetime,
    token: str | None = None,
    supervisor: bool = False,
) -> tuple[str, str]:
    """A new token for the agent's desk (A3); any token the agent had stops working (rotation).
    It works for the shop's ``desk.agent_token_days`` from ``now``; a ``supervisor``'s token
    reads every customer's timeline, an agent's only those of their own calls."""
    _shop(shop_id, store)
    if not store.has_agent(shop_id, agent_id):
        raise AdminError(f"no agent {agent_id!r} in shop {shop_id!r}")
    token_id, generated = new_agent_token()
    secret = token or generated
    if len(secret) < 16:
        raise AdminError("an agent token must be at least 16 characters")
    store.revoke_agent_tokens(shop_id, agent_id)  # before saving: the new token is never revoked
    store.save_agent_token(shop_id, agent_id, secret, token_id, now, supervisor=supervisor)
    return token_id, secret


def token_days(shop_id: str, *, store: AdminStore) -> int:
    """How many days the shop's agent tokens work from their issue."""
    return _shop(shop_id, store).desk.agent_token_days


def revoke_agent_token(shop_id: str, agent_id: str, *, store: AdminStore) -> int:
    """The agent's tokens stop working; how many were revoked."""
    _shop(shop_id, store)
    return store.revoke_agent_tokens(shop_id, agent_id)


@dataclass
class LoadSummary:
    shops: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    api_keys: int = 0


def load_config(
    path: Path, *, store: AdminStore, now: datetime, usage_plan: UsagePlan | None = None, replace: bool = False
) -> LoadSummary:
    """Create or update every shop of a TOML file, with its numbers, agents and API keys. A shop
    that exists is updated as ``create_shop`` does: only what the file gives changes, unless
    ``replace`` (then the file's settings are the whole of them)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    _identities_once(data.get("shops", []))
    summary = LoadSummary()
    for index, entry in enumerate(data.get("shops", [])):
        entry = dict(entry)
        numbers = entry.pop("numbers", [])
        agents = entry.pop("agents", [])
        api_keys = entry.pop("api_keys", [])
        try:
            shop = create_shop(entry, store=store, now=now, replace=replace)
        except ValueError as error:
            raise AdminError(f"shops[{index}]: {error}") from error
        summary.shops.append(shop.shop_id)
        for number in numbers:
            parsed = NumberIn.model_validate(number)
            summary.numbers.append(add_number(shop.shop_id, parsed.number, parsed.group, store=store, now=now))
        for agent in agents:
            agent = dict(agent)
            token = agent.pop("token", None)  # local demo only: real tokens come from issue-agent-token
            summary.agents.append(add_agent(shop.shop_id, agent, store=store).agent_id)
            if token is not None:
                issue_agent_token(shop.shop_id, summary.agents[-1], store=store, now=now, token=str(token))
        for key in api_keys:
            create_api_key(shop.shop_id, store=store, now=now, api_key=key, usage_plan=usage_plan)
            summary.api_keys += 1
    return summary


def _identities_once(shops: list[dict[str, Any]]) -> None:
    """Two agents of one file with one softphone identity: refused before anything is saved
    (``add_agent`` checks the stored agents through an index that may not show the first yet)."""
    holders: dict[str, str] = {}
    for shop in shops:
        for agent in shop.get("agents", []):
            identity, name = agent.get("client_identity"), f"{shop.get('shop_id')}/{agent.get('agent_id')}"
            if identity and holders.setdefault(identity, name) != name:
                raise AdminError(f"agent {name}: client_identity {identity!r} is also agent {holders[identity]}'s")


def _shop(shop_id: str, store: AdminStore) -> ShopSettings:
    shop = store.get_shop(shop_id)
    if shop is None:
        raise AdminError(f"no shop {shop_id!r}")
    return shop


def _e164(number: str, region: str) -> str:
    check = normalise_phone(number, region)
    if check.e164 is None:
        raise AdminError(f"{number!r}: {check.problem}")
    return check.e164


# ---- the CRM outbox's parked events (A6) -----------------------------------------------------
def parked_crm_events(shop_id: str | None, *, store: AdminStore, outbox: Outbox) -> list[OutboxEvent]:
    """The events given up on (a day of failures, or refused by the CRM), of one shop or all."""
    shops = [_shop(shop_id, store)] if shop_id else store.list_shops()
    return parked_events(shops, outbox=outbox)


def replay_crm_events(event_ids: list[str], *, outbox: Outbox, now: datetime) -> dict[str, bool]:
    """Parked events back to pending: the outbox stream delivers them at once, with a fresh
    day of retries. False for an id that is unknown or not parked."""
    return replay(event_ids, outbox=outbox, now=now)
