"""The Chalice app: HTTP routes and Twilio webhooks (blueprints in ``chalicelib/web``), stream
consumers and schedules. Each handler translates the event, calls one service, and renders the
answer; the work lives in ``chalicelib``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Chalice

from chalicelib.clock import current_clock
from chalicelib.observability import logger, metrics, tracer
from chalicelib.services import dialer, intake, order_events, robot_call
from chalicelib.web.agent_desk import agent_desk
from chalicelib.web.agents_api import agents_api
from chalicelib.web.live import live_api
from chalicelib.web.orders_api import orders_api
from chalicelib.web.sms import sms
from chalicelib.web.voice_agent_dial import dial_agents, voice_agent_dial
from chalicelib.web.voice_inbound import voice_inbound
from chalicelib.web.voice_robot import voice_robot
from chalicelib.web.voice_status import voice_status
from chalicelib.wiring import repository, telephony, urls

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

app = Chalice(app_name="callcenter")
app.register_blueprint(orders_api)
app.register_blueprint(live_api)
app.register_blueprint(voice_robot)
app.register_blueprint(voice_status)
app.register_blueprint(voice_inbound)
app.register_blueprint(agents_api)
app.register_blueprint(sms)
app.register_blueprint(voice_agent_dial)
app.register_blueprint(agent_desk)


@app.middleware("all")
def observe(event: Any, get_response: Any) -> Any:
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
        logger.remove_keys(["call_sid", "message_sid", "shop_id", "order_id", "task_id"])


# ---- streams and schedules -----------------------------------------------------------------
@app.lambda_function(name="order_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def order_stream(event: dict[str, Any], context: Any) -> Any:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    # A processor per invocation: the local stack may run handlers on several threads.
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=event, record_handler=_decide_order, processor=processor, context=context)


@tracer.capture_method
def _decide_order(record: DynamoDBRecord) -> None:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecordEventName

    keys = record.dynamodb.keys if record.dynamodb else {}
    shop = repository().get_shop(keys["shop_id"])
    if shop is None:
        raise LookupError(f"order of unknown shop {keys['shop_id']!r}")
    store, now = repository(), current_clock().now()
    if record.event_name is DynamoDBRecordEventName.INSERT:
        outcome = intake.decide_new_order(shop, keys["order_id"], store=store, tasks=store, now=now)
        metrics.add_metric(name=f"Orders_{outcome}", unit="Count", value=1)
        logger.info("order decided", extra={"order_id": keys["order_id"], "outcome": outcome})
        if shop.alerts.order_total_above is not None:  # the order is read only for that alert
            order_events.after_new_order(shop, store.get_order(shop.shop_id, keys["order_id"]))
    elif record.event_name is DynamoDBRecordEventName.MODIFY and record.dynamodb:
        previous = (record.dynamodb.old_image or {}).get("status")
        order = store.get_order(shop.shop_id, keys["order_id"])
        if order is not None:
            order_events.after_status_change(shop, previous, order, store=store, messenger=telephony(), now=now)


@app.lambda_function(name="task_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def task_stream(event: dict[str, Any], context: Any) -> Any:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=event, record_handler=_dial_on_change, processor=processor, context=context)


@tracer.capture_method
def _dial_on_change(record: DynamoDBRecord) -> None:
    image = record.dynamodb.new_image if record.dynamodb else {}
    old = (record.dynamodb.old_image if record.dynamodb else None) or {}
    if not image.get("shop_id"):
        return  # an item still being created (moto writes the key first), or removed
    shop = repository().get_shop(image["shop_id"])
    if shop is None:
        return
    deps = {"store": repository(), "telephony": telephony(), "urls": urls(), "now": current_clock().now()}
    if old.get("state") == "dialing" and image.get("state") != "dialing":
        dialer.dial_due_tasks(shop, **deps)  # type: ignore[arg-type]  # a line is free again
    if image.get("state") == "queued" and old.get("state") != "queued":
        dialer.dial_task(shop, image["task_id"], **deps)  # type: ignore[arg-type]  # new or reopened: now


@app.schedule("rate(1 minute)", name="dial_due")
def dial_due(event: Any) -> None:
    store, now = repository(), current_clock().now()
    for shop in store.list_shops():
        robot_call.reconcile_stuck_calls(shop, store=store, telephony=telephony(), now=now)
        dialer.dial_due_tasks(shop, store=store, telephony=telephony(), urls=urls(), now=now)
        dial_agents(shop, now)  # agent tasks and callbacks, agent first (O8, I6)


@app.schedule("rate(1 minute)", name="live_alerts")
def live_alerts(event: Any) -> None:
    from chalicelib.adapters.report_queries import DynamoReportQueries
    from chalicelib.services.alerts import check_live_alerts

    check_live_alerts(current_clock().now(), shops=repository().list_shops(), queries=DynamoReportQueries())


@app.schedule("cron(0 * * * ? *)", name="daily_reports")
def daily_reports(event: Any) -> None:
    from chalicelib.services.reports import send_due_reports_now

    send_due_reports_now(current_clock().now(), lambda_context=app.lambda_context)
