"""HTTP routes, Twilio webhooks, stream consumers and schedules. Each handler translates the
event, calls one service, and renders the answer; the work lives in ``chalicelib``."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from chalice import Chalice, Response
from chalice.app import Request
from pydantic import ValidationError

from chalicelib.clock import current_clock
from chalicelib.domain.orders import OrderIn, field_problems
from chalicelib.observability import logger, metrics, tracer
from chalicelib.services import dialer, intake, robot_call
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import load_catalog
from chalicelib.web.http import json_body, json_error, shop_from_api_key, twilio_webhook, twiml
from chalicelib.wiring import repository, telephony, urls

app = Chalice(app_name="callcenter")


def _request() -> Request:
    request = app.current_request
    if request is None:  # only outside an HTTP invocation, which these views never are
        raise RuntimeError("no current request")
    return request


webhook = twilio_webhook(_request)


@app.middleware("all")
def observe(event: Any, get_response: Any) -> Any:
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
        logger.remove_keys(["call_sid", "message_sid", "shop_id", "order_id", "task_id"])


# ---- shop API ----------------------------------------------------------------------------
@app.route("/v1/orders", methods=["POST"], content_types=["application/json"])
def create_order() -> Response:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    from chalicelib.services.order_api import accept_order_now, accept_order_with_key

    request = _request()
    shop = shop_from_api_key(request, repository())
    if isinstance(shop, Response):
        return shop
    body = json_body(request)
    if isinstance(body, Response):
        return body
    try:
        order_in = OrderIn.model_validate(body)
    except ValidationError as error:
        problems = [p.model_dump() for p in field_problems(error)]
        return json_error(
            422, "validation_failed", "; ".join(f"{p['field']}: {p['message']}" for p in problems), problems
        )
    key = request.headers.get("idempotency-key", "").strip()
    if len(key) > 255:
        return json_error(400, "invalid_header", "Idempotency-Key: at most 255 characters")
    logger.append_keys(shop_id=shop.shop_id)
    try:
        view = (
            accept_order_with_key(shop, body, order_in, key, app.lambda_context)
            if key
            else accept_order_now(shop, order_in)
        )
    except IdempotencyValidationError:
        return json_error(409, "idempotency_key_reused", "Idempotency-Key was already used with a different body")
    except IdempotencyAlreadyInProgressError:
        return json_error(
            409, "request_in_progress", "a request with this Idempotency-Key is still being handled; retry"
        )
    metrics.add_metric(name="OrdersAccepted", unit="Count", value=1)
    logger.info("order accepted", extra={"order_id": view["id"], "phone": view["phone"]})
    return Response(body=view, status_code=201, headers={"Location": f"/v1/orders/{view['id']}"})


@app.route("/v1/orders/{order_id}", methods=["GET"])
def get_order(order_id: str) -> Response:
    shop = shop_from_api_key(_request(), repository())
    if isinstance(shop, Response):
        return shop
    order = repository().get_order(shop.shop_id, order_id)
    if order is None:
        return json_error(404, "not_found", f"order_id: no order {order_id!r} for this shop")
    return Response(body=order.public_view(), status_code=200)


# ---- Twilio voice --------------------------------------------------------------------------
@app.route("/twilio/voice/incoming", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@webhook
def incoming_call(form: dict[str, str]) -> Response:
    route = repository().shop_for_number(form.get("To", ""))
    if route is None:
        return twiml(render.say_and_hang_up(load_catalog("en"), "number_not_in_service"))
    shop, _group = route
    return twiml(render.inbound_voicemail(load_catalog(shop.main_language), shop.name, urls().voicemail()))


@app.route("/twilio/voice/voicemail", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@webhook
def voicemail_recorded(form: dict[str, str]) -> Response:
    from chalicelib.services.inbound import store_voicemail

    language = store_voicemail(form, store=repository(), now=current_clock().now())
    return twiml(render.say_and_hang_up(load_catalog(language), "inbound_voicemail_thanks"))


@app.route("/twilio/voice/robot/{task_id}", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@webhook
def robot_answer(task_id: str, form: dict[str, str]) -> Response:
    return _robot_conversation(task_id, form, greet=True)


@app.route(
    "/twilio/voice/robot/{task_id}/again",
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
@webhook
def robot_again(task_id: str, form: dict[str, str]) -> Response:
    return _robot_conversation(task_id, form, greet=False, last_chance=True)


@app.route(
    "/twilio/voice/robot/{task_id}/keypress",
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
@webhook
def robot_keypress(task_id: str, form: dict[str, str]) -> Response:
    store, now = repository(), current_clock().now()
    task = store.get_task(task_id)
    shop = store.get_shop(task.shop_id) if task else None
    catalog = load_catalog(task.language if task else "en")
    if task is None or shop is None:
        return twiml(render.say_and_hang_up(catalog, "system_error"))
    action = robot_call.press_key(shop, task_id, form.get("CallSid", ""), form.get("Digits"), store=store, now=now)
    replies = {"confirm": "robot_confirmed", "cancel": "robot_cancelled", "agent": "robot_agent"}
    if action in replies:
        return twiml(render.say_and_hang_up(catalog, replies[action]))
    if action == "repeat":
        return twiml(
            render.robot_conversation(
                catalog,
                shop.name,
                _open_orders(shop.shop_id, task.order_ids),
                urls().robot_keypress(task_id),
                urls().robot_again(task_id),
                greet=False,
            )
        )
    return twiml(render.say_and_redirect(catalog, "robot_unknown_key", urls().robot_again(task_id)))


def _open_orders(shop_id: str, order_ids: list[str]) -> list[Any]:
    return [o for o in repository().orders_by_ids(shop_id, order_ids) if o.status == "queued"]


def _robot_conversation(task_id: str, form: dict[str, str], *, greet: bool, last_chance: bool = False) -> Response:
    store, now = repository(), current_clock().now()
    task = store.get_task(task_id)
    shop = store.get_shop(task.shop_id) if task else None
    if task is None or shop is None:
        return twiml(render.hang_up())
    catalog = load_catalog(task.language)
    if last_chance:
        orders = _open_orders(shop.shop_id, task.order_ids)
        if not orders:
            return twiml(render.say_and_hang_up(catalog, "robot_nothing_open"))
        return twiml(render.robot_last_chance(catalog, orders, urls().robot_keypress(task_id)))
    talk = robot_call.answer_robot_call(
        shop, task_id, form.get("CallSid", ""), form.get("AnsweredBy"), store=store, now=now
    )
    if talk is None:
        return twiml(render.hang_up())
    return twiml(
        render.robot_conversation(
            catalog,
            shop.name,
            talk.orders,
            urls().robot_keypress(task_id),
            urls().robot_again(task_id),
            greet=greet,
        )
    )


@app.route("/twilio/voice/status", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@webhook
def call_status(form: dict[str, str]) -> Response:
    query = _request().query_params
    task_id = query.get("task_id") if query else None
    store = repository()
    task = store.get_task(task_id) if task_id else None
    shop = store.get_shop(task.shop_id) if task else None
    if task_id is None or shop is None:
        logger.warning("status callback without a known task", extra={"task_id": task_id})
        return Response(body="", status_code=204)
    callback = robot_call.StatusCallback(
        call_sid=form.get("CallSid", ""),
        call_status=form.get("CallStatus", ""),
        sequence=_int(form.get("SequenceNumber"), default=0),
        duration_seconds=_int(form.get("CallDuration"), default=0),
        answered_by=form.get("AnsweredBy") or None,
        to=form.get("To", ""),
        from_=form.get("From", ""),
    )
    robot_call.record_call_status(shop, task_id, callback, store=store, now=current_clock().now())
    return Response(body="", status_code=204)


def _int(text: str | None, *, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


# ---- Twilio SMS ----------------------------------------------------------------------------
@app.route("/twilio/sms/incoming", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@webhook
def incoming_sms(form: dict[str, str]) -> Response:
    # Replies and opt-outs (O10, O11) come with the outbound issue; acknowledged, never an error.
    logger.info("inbound SMS received", extra={"from_number": form.get("From", ""), "to_number": form.get("To", "")})
    return twiml('<?xml version="1.0" encoding="UTF-8"?><Response/>')


# ---- streams and schedules -----------------------------------------------------------------
@app.lambda_function(name="order_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def order_stream(event: dict[str, Any], context: Any) -> Any:
    # A processor per invocation: the local stack may run handlers on several threads.
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=event, record_handler=_decide_order, processor=processor, context=context)


@tracer.capture_method
def _decide_order(record: DynamoDBRecord) -> None:
    if record.event_name is not DynamoDBRecordEventName.INSERT:
        return
    keys = record.dynamodb.keys if record.dynamodb else {}
    shop = repository().get_shop(keys["shop_id"])
    if shop is None:
        raise LookupError(f"order of unknown shop {keys['shop_id']!r}")
    outcome = intake.decide_new_order(
        shop, keys["order_id"], store=repository(), tasks=repository(), now=current_clock().now()
    )
    metrics.add_metric(name=f"Orders_{outcome}", unit="Count", value=1)
    logger.info("order decided", extra={"order_id": keys["order_id"], "outcome": outcome})


@app.lambda_function(name="task_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def task_stream(event: dict[str, Any], context: Any) -> Any:
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=event, record_handler=_dial_on_change, processor=processor, context=context)


@tracer.capture_method
def _dial_on_change(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else {}
    old = (record.dynamodb.old_image if record.dynamodb else None) or {}
    if not image:
        return
    shop = repository().get_shop(image["shop_id"])
    if shop is None:
        return
    deps = {"store": repository(), "telephony": telephony(), "urls": urls(), "now": current_clock().now()}
    if record.event_name is DynamoDBRecordEventName.INSERT:
        dialer.dial_task(shop, image["task_id"], **deps)  # type: ignore[arg-type]
    elif old.get("state") == "dialing" and image.get("state") != "dialing":
        dialer.dial_due_tasks(shop, **deps)  # type: ignore[arg-type]  # a line is free again


@app.schedule("rate(1 minute)", name="dial_due")
def dial_due(event: Any) -> None:
    store, now = repository(), current_clock().now()
    for shop in store.list_shops():
        dialer.dial_due_tasks(shop, store=store, telephony=telephony(), urls=urls(), now=now)


@app.schedule("cron(0 * * * ? *)", name="daily_reports")
def daily_reports(event: Any) -> None:
    from chalicelib.services.reports import send_due_reports_now

    send_due_reports_now(current_clock().now(), lambda_context=app.lambda_context)
