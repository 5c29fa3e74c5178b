"""The robot confirmation call (O7): what a keypress means and when to try again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from chalicelib.domain.shop import CallResult, RobotPolicy

KeypressAction = Literal["confirm", "cancel", "agent", "repeat", "unknown"]

_KEYPRESS_ACTIONS: dict[str, KeypressAction] = {"1": "confirm", "2": "cancel", "3": "agent", "9": "repeat"}
# The route_reason of an order whose customer pressed 3 ("talk to an agent").
AGENT_REQUESTED = "the customer asked for an agent"


def keypress_action(digits: str | None) -> KeypressAction:
    return _KEYPRESS_ACTIONS.get((digits or "").strip()[:1], "unknown")


# Key 2 is read back before it cancels anything: 1 cancels, 2 keeps the order (the menu again).
# No order number is asked for here, unlike a call or a text to the shop (domain.cancel_proof):
# the robot dialled the number given with the order, so a caller ID cannot be posed as.
_CANCEL_CHECK_ACTIONS: dict[str, KeypressAction] = {"1": "cancel", "2": "repeat"}


def cancel_check_action(digits: str | None) -> KeypressAction:
    return _CANCEL_CHECK_ACTIONS.get((digits or "").strip()[:1], "unknown")


def unanswered_result(call_status: str, answered_by: str | None) -> CallResult:
    """Why a finished call produced no decision, for picking the retry delay."""
    if answered_by and answered_by.startswith(("machine", "fax")):
        return "machine"
    if call_status in ("busy", "no-answer", "failed", "canceled"):
        return call_status  # type: ignore[return-value]
    return "no-input"


def next_attempt_at(attempts_made: int, result: CallResult, policy: RobotPolicy, now: datetime) -> datetime | None:
    """When to dial again, or None when the attempts are used up."""
    if attempts_made >= policy.max_attempts:
        return None
    return now + timedelta(minutes=policy.retry_minutes.get(result, 30))
