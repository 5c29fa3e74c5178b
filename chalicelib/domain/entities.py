"""The records services work with, free of any storage library."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.domain.values import local_day

if TYPE_CHECKING:
    from chalicelib.domain.shop import ShopSettings


@dataclass
class Order:
    shop_id: str
    order_id: str
    phone: str
    phone_valid: bool
    total: Decimal
    currency: str
    received_at: datetime
    day: str  # the shop's local calendar date, ISO (reports count by it)
    order_number: str | None = None
    phone_problem: str | None = None
    customer_name: str = ""
    language: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    status: str = "received"
    duplicate_of: str | None = None
    fake_reason: str | None = None
    task_id: str | None = None
    route: str | None = None
    route_reason: str | None = None
    reached: bool = False
    decided_at: datetime | None = None
    first_dial_at: datetime | None = None
    delivery_slot: dict[str, str] | None = None  # chosen by the caller in the IVR (I4)
    # Who last asked the customer for a yes or no on it (robot | sms): a text reply decides only
    # such an order (O10); None before anyone asked and once the customer asked for a person.
    asked_by: str | None = None
    decided_by: str | None = None  # "shop" when the shop cancelled it through the API
    cancel_reason: str | None = None  # the shop's words, with its cancel
    changed_at: datetime | None = None  # the shop's last change (PATCH) that changed something
    cancel_misses: int = 0  # texts that tried to cancel it with a wrong order number (#18)
    idempotency_key: str | None = None  # the shop's Idempotency-Key of the request that sent it

    @property
    def promised_slot(self) -> dict[str, str] | None:
        """The delivery window the customer is told (O9): their own choice in the IVR over the
        one the shop sent with the order."""
        return self.delivery_slot or (self.payload.get("delivery") or {}).get("slot") or None

    def public_view(self) -> dict[str, Any]:
        """What the shop's API sees."""
        return {
            "id": self.order_id,
            "order_number": self.order_number,
            "phone": self.phone,
            "customer_name": self.customer_name,
            "total": str(self.total),
            "currency": self.currency,
            "status": self.status,
            "duplicate_of": self.duplicate_of,
            "fake_reason": self.fake_reason,
            "route": self.route,
            "route_reason": self.route_reason,
            "reached": self.reached,
            "received_at": self.received_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decided_by": self.decided_by,
            "cancel_reason": self.cancel_reason,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "language": self.language,
            "items": self.payload.get("items", []),
            "delivery": self.payload.get("delivery"),
            "delivery_slot": self.delivery_slot,
            "comment": self.payload.get("comment", ""),
        }


@dataclass
class DialTask:
    task_id: str
    shop_id: str
    phone: str
    order_ids: list[str]
    language: str
    created_at: datetime
    kind: str = "robot"
    state: str = "queued"  # queued | dialing | done | failed
    attempts: int = 0
    due_at: datetime | None = None
    result: str | None = None
    last_call_sid: str | None = None
    last_call_result: str | None = None
    call_order_ids: list[str] = field(default_factory=list)
    callback_at: datetime | None = None
    contacted: bool = False


@dataclass
class Call:
    call_sid: str
    shop_id: str
    direction: str  # inbound | outbound-robot
    customer_phone: str
    shop_number: str
    created_at: datetime
    day: str  # the shop's local calendar date, ISO (reports count by it)
    task_id: str | None = None
    status: str = "queued"
    answered_by: str | None = None
    result: str | None = None
    duration_seconds: int = 0
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    recording_url: str | None = None
    recording_sid: str | None = None
    language: str | None = None
    group: str | None = None
    after_hours: bool | None = None
    queued_at: datetime | None = None
    wait_seconds: int | None = None
    agent_id: str | None = None
    abandoned: bool | None = None
    callback_task_id: str | None = None
    survey: str | None = None
    voicemail_seconds: int | None = None  # the caller left a message this long (result "voicemail")
    transcription: str | None = None  # Twilio's text of the voicemail, where the shop asks for it
    transcription_status: str | None = None  # completed | failed
    agent_call_sid: str | None = None  # the agent's own leg, placed by the app into the call's conference
    customer_call_sid: str | None = None  # the customer's leg an agent-first call places into its conference
    on_hold: bool | None = None  # the caller is on hold in the conference (the desk's hold)
    transfer_to: str | None = None  # the agent a transfer under way goes to
    transfer_mode: str | None = None  # cold | warm
    transfer_call_sid: str | None = None  # that agent's leg into the conference
    transfers: int | None = None  # transfers completed
    handled_by: list[str] | None = None  # every agent who talked to the caller, in order
    transfer_number: str | None = None  # the outside number a transfer under way rings (cold)
    transferred_to_number: str | None = None  # the outside number the caller was handed to

    @classmethod
    def to_customer_of(
        cls, task: DialTask, call_sid: str, direction: str, shop_number: str, created_at: datetime, zone_name: str
    ) -> Call:
        """The record of a call placed to a dial task's customer (robot, agent-first or
        customer-first), counted on the shop's local day (``zone_name``: the shop's timezone)."""
        return cls(
            call_sid=call_sid,
            shop_id=task.shop_id,
            direction=direction,
            customer_phone=task.phone,
            shop_number=shop_number,
            created_at=created_at,
            day=local_day(created_at, zone_name),
            task_id=task.task_id,
        )


@dataclass
class TextMessage:
    shop_id: str
    phone: str
    message_sid: str
    direction: str  # inbound | outbound
    body: str
    at: datetime
    day: str
    purpose: str | None = None
    intent: str | None = None
    order_ids: list[str] = field(default_factory=list)  # the orders it asked about, or decided
    left_open: list[str] = field(default_factory=list)  # a reply's open orders it did not decide

    @classmethod
    def of(
        cls,
        shop: ShopSettings,
        phone: str,
        message_sid: str,
        direction: str,
        body: str,
        at: datetime,
        *,
        purpose: str | None = None,
        intent: str | None = None,
        order_ids: list[str] | None = None,
        left_open: list[str] | None = None,
    ) -> TextMessage:
        """A text to or from one of the shop's customers, counted on the shop's local day."""
        day = local_day(at, shop.timezone)
        return cls(
            shop.shop_id,
            phone,
            message_sid,
            direction,
            body,
            at,
            day,
            purpose,
            intent,
            order_ids=order_ids or [],
            left_open=left_open or [],
        )
