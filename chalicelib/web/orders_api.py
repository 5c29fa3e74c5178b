"""The shop's order API (O1): ``POST /v1/orders`` and ``GET /v1/orders/{order_id}``; finding
orders by the shop's own number, cancelling and changing them (#16 item 14)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.domain.api_errors import unknown_fields
from chalicelib.domain.entities import Order
from chalicelib.domain.orders import OrderIn
from chalicelib.domain.phones import masked_for_log, normalise_phone
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger, metrics
from chalicelib.web.destination_guard import refused_destination
from chalicelib.web.http import (
    current_request,
    json_error,
    moved,
    shop_and_body,
    shop_from_api_key,
    validated,
    validation_failed,
    with_body,
)
from chalicelib.wiring import idempotent_order, inbound_store, repository

orders_api = Blueprint(__name__)
DO_NOT_CALL_FIELDS = frozenset({"phone"})
FIND_PARAMS = frozenset({"order_number"})


@orders_api.route("/v1/orders", methods=["POST"], content_types=["application/json"])
def create_order() -> Response:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (  # cold start: only keyed requests
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    from chalicelib.services.order_api import accept_order_now, accept_order_with_key  # cold start: the order models

    request = current_request(orders_api)
    authorised = shop_and_body(request, repository())
    if isinstance(authorised, Response):
        return authorised
    shop, body = authorised
    order_in = validated(OrderIn, body)
    if isinstance(order_in, Response):
        return order_in
    refused = refused_destination(shop, order_in.phone)  # toll fraud: never a premium or foreign number
    if refused is not None:
        return refused
    key = request.headers.get("idempotency-key", "").strip()
    if len(key) > 255:
        return json_error(400, "invalid_header", "Idempotency-Key: at most 255 characters")
    logger.append_keys(shop_id=shop.shop_id)
    try:
        view = (
            accept_order_with_key(
                shop,
                body,
                order_in,
                key,
                store=repository(),
                idempotent=idempotent_order(),
                lambda_context=orders_api.lambda_context,
            )
            if key
            else accept_order_now(shop, order_in, store=repository())
        )
    except IdempotencyValidationError:
        return json_error(409, "idempotency_key_reused", "Idempotency-Key was already used with a different body")
    except IdempotencyAlreadyInProgressError:
        return json_error(
            409, "request_in_progress", "a request with this Idempotency-Key is still being handled; retry"
        )
    metrics.add_metric(name="OrdersAccepted", unit="Count", value=1)
    logger.info("order accepted", extra={"order_id": view["id"], "phone": masked_for_log(view["phone"])})
    return Response(body=view, status_code=201, headers={"Location": f"/v1/orders/{view['id']}"})


@orders_api.route("/v1/orders/{order_id}", methods=["GET"])
def get_order(order_id: str) -> Response:
    shop = shop_from_api_key(current_request(orders_api), repository())
    if isinstance(shop, Response):
        return shop
    order = repository().get_order(shop.shop_id, order_id)
    if order is None:
        return json_error(404, "not_found", f"order_id: no order {order_id!r} for this shop")
    return Response(body=order_view(order), status_code=200)


def order_view(order: Order) -> dict[str, Any]:
    """An order as the shop's API shows it: the stored order and its dialing."""
    view = order.public_view()
    task = repository().get_task(order.task_id) if order.task_id else None
    view["dialing"] = (
        {
            "attempts": task.attempts,
            "state": task.state,
            "next_attempt_at": task.due_at.isoformat() if task.state == "queued" and task.due_at else None,
            "last_call_result": task.last_call_result,
        }
        if task and order.order_id in (task.order_ids + task.call_order_ids)
        else None
    )
    return view


# ---- the shop finds, cancels and changes its orders (#16 item 14) --------------------------------
@orders_api.route("/v1/orders", methods=["GET"])
def find_orders() -> Response:
    """Every order of the shop under its own number (repeats included), newest first."""
    request = current_request(orders_api)
    shop = shop_from_api_key(request, repository())
    if isinstance(shop, Response):
        return shop
    query: Mapping[str, str] = request.query_params or {}
    problems = [(name, message.replace("field", "parameter")) for name, message in unknown_fields(query, FIND_PARAMS)]
    number = str(query.get("order_number") or "").strip()
    if not number:
        problems.append(("order_number", "required: the shop's own order number"))
    if problems:
        return validation_failed(problems)
    orders = repository().orders_by_number(shop.shop_id, number)
    return Response(body={"orders": [order_view(order) for order in orders]}, status_code=200)


@orders_api.route("/v1/orders/{order_id}/cancel", methods=["POST"], content_types=["application/json"])
def cancel_order(order_id: str) -> Response:
    from chalicelib.domain.order_changes import CancelIn  # cold start: only the shop's changes
    from chalicelib.services import order_changes  # cold start: only the shop's changes

    authorised = _shop_and_optional_body()
    if isinstance(authorised, Response):
        return authorised
    shop, body = authorised
    cancel = validated(CancelIn, body)
    if isinstance(cancel, Response):
        return cancel
    try:
        order = order_changes.cancel_order(shop, order_id, cancel.reason, store=repository(), now=current_clock().now())
    except order_changes.OrderChangeRefused as refused:
        return json_error(refused.status, refused.error, f"{refused.field}: {refused.message}")
    return Response(body=order_view(order), status_code=200)


@orders_api.route("/v1/orders/{order_id}", methods=["PATCH"], content_types=["application/json"])
def change_order(order_id: str) -> Response:
    from chalicelib.domain.order_changes import OrderChangeIn  # cold start: only the shop's changes
    from chalicelib.services import order_changes  # cold start: only the shop's changes

    authorised = shop_and_body(current_request(orders_api), repository())
    if isinstance(authorised, Response):
        return authorised
    shop, body = authorised
    change = validated(OrderChangeIn, body)
    if isinstance(change, Response):
        return change
    if change.problems():
        return validation_failed(change.problems())
    try:
        order = order_changes.change_order(shop, order_id, change, store=repository(), now=current_clock().now())
    except order_changes.OrderChangeRefused as refused:
        if refused.status == 422:
            return validation_failed([(refused.field, refused.message)])
        return json_error(refused.status, refused.error, f"{refused.field}: {refused.message}")
    return Response(body=order_view(order), status_code=200)


def _shop_and_optional_body() -> tuple[ShopSettings, dict[str, Any]] | Response:
    """The shop behind the API key, and the JSON object sent, if any (an empty body is {})."""
    request = current_request(orders_api)
    shop = shop_from_api_key(request, repository())
    if isinstance(shop, Response) or (request.raw_body or b"").strip():
        return with_body(shop, request)
    return shop, {}


@orders_api.route("/v1/do-not-call", methods=["POST"], content_types=["application/json"])
def add_do_not_call() -> Response:
    """O11: the shop puts a customer on its do-not-call list (calls and texts stop)."""
    request = current_request(orders_api)
    authorised = shop_and_body(request, repository())
    if isinstance(authorised, Response):
        return authorised
    shop, body = authorised
    phone = normalise_phone(str(body.get("phone", "")), shop.default_region)
    problems = unknown_fields(body, DO_NOT_CALL_FIELDS)
    if phone.e164 is None:
        problems.append(("phone", phone.problem or "required"))
    if problems or phone.e164 is None:
        return validation_failed(problems)
    repository().add_do_not_call(shop.shop_id, phone.e164, "api", current_clock().now())
    return Response(body={"phone": phone.e164, "do_not_call": True}, status_code=201)


@orders_api.route("/v1/do-not-call/remove", methods=["POST"], content_types=["application/json"])
def remove_do_not_call() -> Response:
    """O11: the customer off the list (the number in the body, never the URL, #18)."""
    authorised = shop_and_body(current_request(orders_api), repository())
    if isinstance(authorised, Response):
        return authorised
    shop, body = authorised
    raw = body.get("phone")
    number = normalise_phone(raw if isinstance(raw, str) else "", shop.default_region)
    problems = unknown_fields(body, DO_NOT_CALL_FIELDS)
    if number.e164 is None:
        problems.append(("phone", str(number.problem or "required")))
    if problems or number.e164 is None:
        return validation_failed(problems)
    repository().remove_do_not_call(shop.shop_id, number.e164)
    return Response(body={"phone": number.e164, "do_not_call": False}, status_code=200)


@orders_api.route("/v1/do-not-call/{phone}", methods=["DELETE"])
def remove_do_not_call_moved(phone: str) -> Response:
    """The old address, with the number in the path: gone (nothing is looked up or logged)."""
    return moved("POST /v1/do-not-call/remove", '{"phone": ...}')


@orders_api.route("/v1/callbacks", methods=["POST"], content_types=["application/json"])
def request_callback() -> Response:
    """O1: a "call me back" request from the shop's site form, for its agents."""
    from chalicelib.services.web_callbacks import CallbackIn, CallbackRefused  # cold start: only this route
    from chalicelib.services.web_callbacks import request_callback as schedule  # cold start: only this route

    request = current_request(orders_api)
    authorised = shop_and_body(request, repository())
    if isinstance(authorised, Response):
        return authorised
    shop, body = authorised
    callback = validated(CallbackIn, body)
    if isinstance(callback, Response):
        return callback
    refused_number = refused_destination(shop, callback.phone)  # toll fraud: as for orders
    if refused_number is not None:
        return refused_number
    try:
        view, created = schedule(shop, callback, store=inbound_store(), now=current_clock().now())
    except CallbackRefused as refused:
        return validation_failed([(refused.field, refused.message)])
    return Response(body=view, status_code=201 if created else 200)
