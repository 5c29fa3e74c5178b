"""Per-order triage (O5): confirm without a call, ask the robot, or give it to a person."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from chalicelib.domain.shop import TriagePolicy

Route = Literal["auto_confirm", "robot", "agent"]


def triage(
    policy: TriagePolicy, *, total: Decimal, prepaid: bool, in_stock: bool, needs_call: bool
) -> tuple[Route, str]:
    """The route and the rule that chose it (kept on the order for the shop to see)."""
    if needs_call and policy.agent_when_call_requested:
        return "agent", "the shop asked for a call"
    if not in_stock and policy.agent_when_out_of_stock:
        return "agent", "an item is out of stock"
    if policy.agent_from_total is not None and total >= policy.agent_from_total:
        return "agent", f"total at least {policy.agent_from_total}"
    if policy.auto_confirm_prepaid and prepaid and in_stock and total <= policy.auto_confirm_max_total:
        return "auto_confirm", "prepaid and in stock"
    return "robot", "standard confirmation"
