"""Which agent takes a caller (I8, A2): available agents of the group, the caller's language
first, longest idle first. Pure: the repository reserves the chosen one atomically."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

STATUSES = ("available", "busy", "wrap-up", "break", "away", "offline")
SETTABLE_STATUSES = ("available", "break", "away", "offline")  # busy and wrap-up are the system's


@dataclass
class Agent:
    shop_id: str
    agent_id: str
    name: str
    phone: str | None = None
    client_identity: str | None = None
    groups: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    status: str = "offline"
    status_since: datetime | None = None
    reserved_call_sid: str | None = None
    last_call_ended_at: datetime | None = None
    missed_calls: int = 0
    language: str | None = None  # what the agent hears (whisper, keypad menu); None: the shop's first

    def public_view(self) -> dict[str, object]:
        return {
            "agent_id": self.agent_id,
            "name": self.name,
            "groups": self.groups,
            "languages": self.languages,
            "language": self.language,
            "status": self.status,
            "status_since": self.status_since.isoformat() if self.status_since else None,
        }

    def settled(self, now: datetime, wrap_up_seconds: int) -> Agent:
        """The agent as things stand at ``now``: wrap-up ends by itself after ``wrap_up_seconds``
        (A1), so an agent whose stored wrap-up has run its time is available since it ended."""
        status, since = settled_status(self.status, self.status_since, now, wrap_up_seconds)
        return self if status == self.status else replace(self, status=status, status_since=since)


def settled_status(
    status: str, since: datetime | None, now: datetime, wrap_up_seconds: int
) -> tuple[str, datetime | None]:
    """(status, since) at ``now``: a wrap-up that has run its time is ``available`` since it ended."""
    if status != "wrap-up" or since is None or since + timedelta(seconds=wrap_up_seconds) > now:
        return status, since
    return "available", since + timedelta(seconds=wrap_up_seconds)


def agent_language(agent: Agent | None, shop_language: str) -> str:
    """The language an agent hears the system in: their own, else the shop's first."""
    return agent.language if agent is not None and agent.language else shop_language


def is_free(agent: Agent, now: datetime, wrap_up_seconds: int) -> bool:
    """Available, or in wrap-up that has run its time (wrap-up ends by itself)."""
    return agent.settled(now, wrap_up_seconds).status == "available"


def idle_since(agent: Agent) -> float:
    """Since when (POSIX seconds) the agent has had no call: the later of their last call's end
    and their last status change; never -> minus infinity (idlest of all)."""
    moments = [m.timestamp() for m in (agent.last_call_ended_at, agent.status_since) if m is not None]
    return max(moments) if moments else float("-inf")


def candidates(
    agents: list[Agent], group: str, language: str | None, now: datetime, wrap_up_seconds: int
) -> list[Agent]:
    """Free agents of ``group`` in the order to offer them: speakers of the caller's language
    first (others only when none speaks it), each set longest idle first."""
    free = [a for a in agents if group in a.groups and is_free(a, now, wrap_up_seconds)]

    def key(agent: Agent) -> tuple[int, float]:
        return (0 if language in agent.languages else 1, idle_since(agent))

    return sorted(free, key=key)


def staffed(agents: list[Agent], group: str) -> int:
    """Agents of the group who take calls now or soon (not on break, away or offline)."""
    return sum(1 for a in agents if group in a.groups and a.status in ("available", "busy", "wrap-up"))


def free_beyond_customer_lines(agents: list[Agent], now: datetime, wrap_up_seconds: int, lines_in_flight: int) -> int:
    """How many of the shop's free agents inbound callers and agent-first callbacks may take
    now: those beyond one for each customer-first call in flight (O8). A person who answers such
    a call is dropped unless an agent is free within seconds, while a caller in the queue or a
    callback can wait the few seconds until the call is answered or not; so the ringing line
    keeps its agent and the others wait."""
    free = sum(1 for a in agents if is_free(a, now, wrap_up_seconds))
    return max(0, free - lines_in_flight)
