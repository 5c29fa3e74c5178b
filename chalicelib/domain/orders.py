"""An order as a shop sends it (O1): validated here, before anything is stored."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from chalicelib.domain.api_errors import unknown_field_message
from chalicelib.domain.values import format_amount as format_amount  # re-exported: first written here
from chalicelib.domain.values import local_day as local_day

OrderStatus = Literal["received", "duplicate", "fake", "queued", "confirmed", "cancelled", "unreachable"]
# Orders the shop may still change (PATCH) and cancel: no one has decided them yet.
OPEN_STATUSES: frozenset[str] = frozenset({"received", "queued", "unreachable"})
# Orders the shop may cancel: the open ones and the confirmed ones (#16 item 14).
CANCELLABLE_STATUSES: frozenset[str] = OPEN_STATUSES | {"confirmed"}

Money = Decimal


def _has_digits(value: str) -> str:
    if not any(ch.isdigit() for ch in value):
        raise ValueError("phone must contain digits")
    return value


# A customer's phone as a shop or a site form sends it: normalised to E.164 later, per shop region.
CustomerPhone = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_has_digits)]


class RequestBody(BaseModel):
    # Every field is checked, and a field the API does not know is refused (422 naming it): an
    # ignored ``order_id`` meant for ``order_number`` would silently cost the shop its dedup.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrderLine(RequestBody):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    quantity: int = Field(ge=1, le=100_000)
    price: Money = Field(ge=0, max_digits=12, decimal_places=2)


class DeliverySlot(RequestBody):
    start: AwareDatetime
    end: AwareDatetime


class Delivery(RequestBody):
    address: str = Field(default="", max_length=500)
    slot: DeliverySlot | None = None


class OrderIn(RequestBody):
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


def field_problems(error: ValidationError, model: type[BaseModel] | None = None) -> list[FieldProblem]:
    """Pydantic's errors as 'items.0.price: Input should be ...' pairs a shop can act on; a field
    ``model`` does not know is 'unknown field' (with the field it likely meant)."""
    return [
        FieldProblem(field=".".join(str(part) for part in err["loc"]) or "body", message=_message(err, model))
        for err in error.errors(include_url=False)
    ]


def _message(err: Any, model: type[BaseModel] | None) -> str:
    if err["type"] != "extra_forbidden":
        return str(err["msg"])
    owner = _model_at(model, err["loc"][:-1]) if model else None
    return unknown_field_message(str(err["loc"][-1]), list(owner.model_fields) if owner else [])


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model that holds the field at ``loc`` (``items.0`` -> OrderLine), or None."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue  # an index into a list: the list's model is already current
        field = current.model_fields.get(part)
        current = _inner_model(field.annotation) if field else None
    return current


def _inner_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _inner_model(argument)
        if found is not None:
            return found
    return None
