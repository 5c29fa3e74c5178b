"""An agent as their desk (A3) sees themselves: who they are, their status, the call on screen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class DeskAgent:
    shop_id: str
    agent_id: str
    name: str
    status: str
    current_call_sid: str | None = None
    sees_phone_numbers: bool = False


@dataclass(frozen=True)
class AgentToken:
    """What an agent's desk token stands for: whose it is, when it was issued, and whether it
    carries the supervisor role (every customer's timeline, not only the agent's own)."""

    shop_id: str
    agent_id: str
    issued_at: datetime
    supervisor: bool = False

    def expired(self, now: datetime, days: int) -> bool:
        """Past ``days`` from its issue (the shop's ``desk.agent_token_days``)."""
        return now >= self.issued_at + timedelta(days=days)
