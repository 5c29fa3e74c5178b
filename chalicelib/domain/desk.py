"""An agent as their desk (A3) sees themselves: who they are, their status, the call on screen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeskAgent:
    shop_id: str
    agent_id: str
    name: str
    status: str
    current_call_sid: str | None = None
    sees_phone_numbers: bool = False
