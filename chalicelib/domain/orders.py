"""An order as a shop sends it (O1): validated here, before anything is stored."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

OrderStatus = Literal["received", "duplicate", "fake", "queued", "confirmed", "cancelled", "unreachable"]
OPEN_STATUSES: frozenset[str] = frozenset({"received", "queued"})

Money = Decimal


def _has_digits(value: str) -> str:
    if not any(ch.isdigit() for ch in value):
        raise ValueError("phone must contain digits")
    return value


# A customer's phone as a shop or a site form sends it: normalised to E.164 later, per shop region.
CustomerPhone = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_has_digits)]


class _Lenient(BaseModel):
    # Shops send what their CRM has; unknown fields are ignored, known ones are checked.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class OrderLine(_Lenient):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    quantity: int = Field(ge=1, le=100_000)
    price: Money = Field(ge=0, max_digits=12, decimal_places=2)


class DeliverySlot(_Lenient):
    start: AwareDatetime
    end: AwareDatetime


class Delivery(_Lenient):
    address: str = Field(default="", max_length=500)
    slot: DeliverySlot | None = None


class OrderIn(_Lenient):
    order_number: str | None = Field(default=None, min_length=1, max_length=64)
    phone: CustomerPhone
    customer_name: str = Field(default="", max_length=200)
    items: list[OrderLine] = Field(default_factory=list, max_length=500)
    total: Money = Field(ge=0, max_digits=12, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    delivery: Delivery | None = None
    needs_call: bool = False
    in_stock: bool = True
    prepaid: bool = False
    comment: str = Field(default="", max_length=2000)
    created_at: AwareDatetime | None = None
    language: Literal["uk", "ru", "en"] | None = None


class FieldProblem(BaseModel):
    field: str
    message: str


def field_problems(error: ValidationError) -> list[FieldProblem]:
    """Pydantic's errors as 'items.0.price: Input should be ...' pairs a shop can act on."""
    return [
        FieldProblem(field=".".join(str(part) for part in err["loc"]) or "body", message=err["msg"])
        for err in error.errors(include_url=False)
    ]


def local_day(instant: datetime, zone_name: str) -> str:
    from zoneinfo import ZoneInfo  # cold start: tzdata on first use

    return instant.astimezone(ZoneInfo(zone_name)).date().isoformat()


def format_amount(value: Decimal) -> str:
    """A money amount as said or written to a customer: '1250' for whole amounts, else '50.5'."""
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value)
