"""What the report reads of the period's records: plain facts, one per order, call and agent
status change, from whatever read them (the DynamoDB day indexes, a test's list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

ROBOT_DIRECTION = "outbound-robot"
INBOUND_DIRECTION = "inbound"
AGENT_DIAL_DIRECTION = "outbound-agent"  # agent dialing (O8): counted for the drop rate once it exists
_ANSWERED_CALL_STATUSES = frozenset({"in-progress", "completed"})
_NOT_A_PERSON_PREFIXES = ("machine", "fax")
_MISSED_OFFER_STATUSES = frozenset({"missed", "away"})  # set by the system when an offered call rang out
SURVEY_ANSWERS: dict[str, str] = {
    "1": "solved the first time",
    "2": "called several times",
    "3": "not solved",
}


@dataclass(frozen=True, slots=True)
class OrderFact:
    """What the report needs of one order record."""

    order_id: str
    status: str  # received | duplicate | fake | queued | confirmed | cancelled | unreachable
    total: Decimal
    reached: bool  # a call reached the customer about this order
    received_at: datetime
    currency: str | None = None  # None: the shop's currency
    first_dial_at: datetime | None = None  # the first call about it was placed
    decided_at: datetime | None = None
    phone: str = ""
    order_number: str | None = None


@dataclass(frozen=True, slots=True)
class CallFact:
    """What the report needs of one call record (inbound fields are None on robot calls)."""

    call_sid: str
    direction: str  # inbound | outbound-robot | outbound-agent
    status: str  # Twilio's CallStatus
    answered_by: str | None  # Twilio's AnsweredBy (human, machine_start, fax, unknown, ...)
    answered_at: datetime | None
    created_at: datetime
    customer_phone: str = ""
    duration_seconds: int = 0
    result: str | None = None
    ended_at: datetime | None = None
    recording_sid: str | None = None
    recording_url: str | None = None
    task_id: str | None = None
    after_hours: bool | None = None
    queued_at: datetime | None = None
    wait_seconds: int | None = None
    agent_id: str | None = None
    abandoned: bool | None = None
    callback_task_id: str | None = None
    survey: str | None = None
    handled_by: tuple[str, ...] = ()  # every agent who talked to the caller, in order (transfers, #17)
    transfers: int = 0
    transferred_to_number: str | None = None  # the last agent handed the caller to an outside number

    @property
    def answered(self) -> bool:
        return self.answered_at is not None or self.status in _ANSWERED_CALL_STATUSES

    @property
    def answered_by_person(self) -> bool:
        # Without answering-machine detection AnsweredBy is absent: an answered call counts as a person.
        return self.answered and not (self.answered_by or "").startswith(_NOT_A_PERSON_PREFIXES)

    @property
    def reached_agent(self) -> bool:
        return bool(self.agent_id)

    @property
    def lost(self) -> bool:
        """Hung up before reaching an agent and got no callback task (I7): the call center's failure."""
        return bool(self.abandoned) and not self.reached_agent and not self.callback_task_id

    @property
    def talk_seconds(self) -> int:
        """Time with the agent: from the agent's answer (queue entry + wait) to the end, else the duration."""
        if self.agent_id and self.queued_at and self.wait_seconds is not None and self.ended_at:
            talk = (self.ended_at - self.queued_at).total_seconds() - self.wait_seconds
            return max(0, round(talk))
        return max(0, int(self.duration_seconds or 0))


@dataclass(frozen=True, slots=True)
class AgentStatusFact:
    """One change of an agent's status (the agent status log)."""

    agent_id: str
    status: str  # available | busy | wrap-up | break | away | offline (| missed)
    changed_at: datetime
    previous_status: str | None = None
    source: str = "api"  # api | sms | system

    @property
    def missed_offer(self) -> bool:
        """The system set it because a call offered to the agent rang out."""
        return self.source == "system" and self.status in _MISSED_OFFER_STATUSES
