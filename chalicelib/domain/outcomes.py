"""Rules of an agent's call outcome (A4): which codes exist, what a callback time must be, what
an outcome does to the customer's orders, and how long it can still be corrected. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

OUTCOMES = (
    "confirmed",
    "cancelled",
    "callback",
    "wrong_number",
    "fake",
    "duplicate",
    "complaint",
    "question_answered",
    "needs_manager",
)
# The order status an outcome moves the call's open orders to; other outcomes leave them.
ORDER_STATUS = {"confirmed": "confirmed", "cancelled": "cancelled"}
# Orders an outcome may move: still waiting for a yes or no.
OPEN_ORDER_STATUSES = frozenset({"queued", "unreachable"})
LATEST_CALLBACK = timedelta(days=30)
MAX_COMMENT = 2000
# What an outcome request may carry (agent_id only as the token's own agent); anything else is refused.
OUTCOME_FIELDS = frozenset({"agent_id", "outcome", "comment", "callback_at"})


class OutcomeRefused(ValueError):
    """The request is not a valid outcome; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class OutcomeIn:
    agent_id: str
    outcome: str
    comment: str = ""
    callback_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SavedOutcome:
    """One outcome as saved (a correction is another one, later)."""

    call_sid: str
    shop_id: str
    phone: str
    agent_id: str
    outcome: str
    saved_at: datetime
    comment: str = ""
    callback_at: datetime | None = None
    callback_task_id: str | None = None
    order_ids: list[str] = field(default_factory=list)
    orders_moved: list[str] = field(default_factory=list)


def parse_outcome(body: dict[str, Any], now: datetime) -> OutcomeIn:
    """The outcome a request body asks to save, or ``OutcomeRefused`` naming the bad field."""
    agent_id = body.get("agent_id")
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise OutcomeRefused("agent_id", "Field required")
    outcome = body.get("outcome")
    if not isinstance(outcome, str) or not outcome:
        raise OutcomeRefused("outcome", "Field required")
    if outcome not in OUTCOMES:
        raise OutcomeRefused("outcome", f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
    comment = body.get("comment", "")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        raise OutcomeRefused("comment", "must be a string")
    if len(comment) > MAX_COMMENT:
        raise OutcomeRefused("comment", f"at most {MAX_COMMENT} characters")
    callback_at = None
    if outcome == "callback":
        callback_at = parse_callback_at(body.get("callback_at"), now)
    return OutcomeIn(agent_id=agent_id.strip(), outcome=outcome, comment=comment.strip(), callback_at=callback_at)


def parse_callback_at(value: Any, now: datetime) -> datetime:
    """A callback time: ISO 8601 with an offset, in the future, at most 30 days ahead."""
    if value is None or value == "":
        raise OutcomeRefused("callback_at", "required for a callback")
    if not isinstance(value, str):
        raise OutcomeRefused("callback_at", "must be an ISO 8601 date and time with an offset")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise OutcomeRefused("callback_at", "must be an ISO 8601 date and time with an offset") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise OutcomeRefused("callback_at", "needs a UTC offset, e.g. 2026-11-23T15:30:00+02:00")
    if moment <= now:
        raise OutcomeRefused("callback_at", "is in the past")
    if moment > now + LATEST_CALLBACK:
        raise OutcomeRefused("callback_at", "is more than 30 days ahead")
    return moment


def correction_open(first_saved_at: datetime, now: datetime, wrap_up_seconds: int) -> bool:
    """An outcome can be saved again (corrected) until the wrap-up window after the first save
    has passed."""
    return now <= first_saved_at + timedelta(seconds=wrap_up_seconds)


def order_moves(previous: str | None, outcome: str) -> tuple[frozenset[str], str] | None:
    """(from statuses, to status) for the call's orders, or None when they stay as they are.

    A correction undoes what the previous outcome did: orders it confirmed can be cancelled
    instead (and the other way round), and go back to ``queued`` when the new outcome decides
    nothing about them.
    """
    before = ORDER_STATUS.get(previous or "")
    after = ORDER_STATUS.get(outcome)
    if after is not None:
        sources = OPEN_ORDER_STATUSES | ({before} if before else set())
        return (frozenset(sources - {after}), after) if before != after else None
    if before is not None:
        return frozenset({before}), "queued"
    return None


def purpose_of(direction: str, task_kind: str | None) -> str:
    """What the call was for: ``callback``, ``agent_dialed``, ``inbound`` or ``other`` (the
    alert's words say it in the shop's language)."""
    if task_kind == "callback":
        return "callback"
    if direction == "outbound-agent":
        return "agent_dialed"
    if direction == "inbound":
        return "inbound"
    return "other"
