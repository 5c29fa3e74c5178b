"""The Chalice app: HTTP routes and Twilio webhooks (blueprints in ``chalicelib/web``), stream
consumers and schedules. Each handler translates the event, calls one service, and renders the
answer; the work lives in ``chalicelib``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Chalice

from chalicelib.clock import current_clock, wall_now
from chalicelib.config import settings
from chalicelib.observability import logger, metrics, tracer
from chalicelib.services import crm_push, dialer, outcomes, robot_call
from chalicelib.web.agent_desk import agent_desk
from chalicelib.web.agent_page import agent_page
from chalicelib.web.agents_api import agents_api
from chalicelib.web.live import live_api
from chalicelib.web.openapi import openapi_api
from chalicelib.web.orders_api import orders_api
from chalicelib.web.recordings import recordings_api
from chalicelib.web.sms import sms
from chalicelib.web.voice_agent_dial import dial_agents, voice_agent_dial
from chalicelib.web.voice_inbound import voice_inbound
from chalicelib.web.voice_predictive import pace_shop, voice_predictive
from chalicelib.web.voice_robot import voice_robot
from chalicelib.web.voice_status import voice_status
from chalicelib.wiring import crm_sender, repository, telephony, urls

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
app.register_blueprint(agent_page)
app.register_blueprint(openapi_api)
app.register_blueprint(recordings_api)
app.register_blueprint(voice_predictive)


@app.middleware("all")
def observe(event: Any, get_response: Any) -> Any:
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
            metrics.clear_metrics()  # with POWERTOOLS_METRICS_DISABLED the flush keeps them: 100 would print
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

    # Only this consumer needs them: not imported with the app (the webhooks' cold start).
    from chalicelib.adapters.dynamo.crm_outbox import crm_outbox
    from chalicelib.services import intake, order_events

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
        old_image = record.dynamodb.old_image or {}
        previous = old_image.get("status")
        order = store.get_order(shop.shop_id, keys["order_id"])
        if order is not None:
            # The CRM's event first: it never fails on Twilio, so a text that keeps failing
            # cannot take it down with the record.
            crm_push.queue_order_event(shop, previous, order, outbox=crm_outbox(), now=now)
            order_events.after_status_change(shop, previous, order, store=store, messenger=telephony(), now=now)
            previous_slot = order_events.stored_slot_start(old_image.get("delivery_slot"))
            order_events.after_slot_change(
                shop, previous, previous_slot, order, store=store, messenger=telephony(), now=now
            )


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
    if image.get("kind") == "agent" and image.get("state") != old.get("state"):
        pace_shop(shop, deps["now"])  # type: ignore[arg-type]  # customer-first shops: a task or an agent freed


@app.schedule("rate(1 minute)", name="dial_due")
def dial_due(event: Any) -> None:
    store, now = repository(), current_clock().now()
    for shop in store.list_shops():
        robot_call.reconcile_stuck_calls(shop, store=store, telephony=telephony(), now=now)
        dialer.dial_due_tasks(shop, store=store, telephony=telephony(), urls=urls(), now=now)
        dial_agents(shop, now)  # agent tasks and callbacks, agent first (O8, I6)


@app.schedule("rate(1 minute)", name="live_alerts")
def live_alerts(event: Any) -> None:
    from chalicelib.adapters.dynamo.reports import DynamoReportQueries
    from chalicelib.services.alerts import check_live_alerts

    check_live_alerts(current_clock().now(), shops=repository().list_shops(), queries=DynamoReportQueries())


@app.schedule("cron(0 * * * ? *)", name="daily_reports")
def daily_reports(event: Any) -> None:
    from chalicelib.services.reports import send_due_reports_now

    # The event carries the Lambda context: app.lambda_context exists only after an HTTP request.
    send_due_reports_now(current_clock().now(), lambda_context=event.context)


# ---- agents' outcomes and the shop's CRM (A5, A6) ---------------------------------------------
@app.lambda_function(name="outcome_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def outcome_stream(event: dict[str, Any], context: Any) -> Any:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=event, record_handler=_after_outcome, processor=processor, context=context)


@tracer.capture_method
def _after_outcome(record: DynamoDBRecord) -> None:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecordEventName

    from chalicelib.adapters.dynamo.crm_outbox import crm_outbox
    from chalicelib.adapters.dynamo.store import store as outcome_saves

    if record.event_name is not DynamoDBRecordEventName.INSERT or not record.dynamodb:
        return  # outcomes are only ever added
    keys = record.dynamodb.keys or {}
    outcomes.after_outcome_saved(
        keys["call_sid"], keys["saved_key"], store=outcome_saves(), outbox=crm_outbox(), now=current_clock().now()
    )


@app.lambda_function(name="crm_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def crm_stream(event: dict[str, Any], context: Any) -> Any:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    # One breaker per batch: after a shop's CRM fails, or when time runs short, the other
    # events wait for the sweep.
    breaker = crm_push.Breaker(seconds_left=crm_push.run_budget())
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(
        event=event, record_handler=lambda record: _deliver_new(record, breaker), processor=processor, context=context
    )


def _deliver_new(record: DynamoDBRecord, breaker: crm_push.Breaker) -> None:
    from chalicelib.adapters.dynamo.crm_outbox import crm_outbox

    image = (record.dynamodb.new_image if record.dynamodb else None) or {}
    old = (record.dynamodb.old_image if record.dynamodb else None) or {}
    if image.get("state") != "pending" or old.get("state") == "pending":
        return  # only a new or replayed event; the claims and retries of one are the sweep's
    shop = repository().get_shop(image["shop_id"])
    result = crm_push.deliver(
        shop,
        image["event_id"],
        outbox=crm_outbox(),
        sender=crm_sender(),
        secret_of=settings().crm_secret,
        now=current_clock().now(),
        signed_at=wall_now,  # the CRM checks the signature's time against its own clock
        local=settings().local_mode,
        breaker=breaker,
    )
    metrics.add_metric(name=f"CrmEvents_{result}", unit="Count", value=1)  # parked ones alarm (infra)


@app.schedule("rate(1 minute)", name="crm_retry")
def crm_retry(event: Any) -> None:
    from chalicelib.adapters.dynamo.crm_outbox import crm_outbox

    counts = crm_push.sweep_due(
        [shop for shop in repository().list_shops() if shop.crm is not None],
        outbox=crm_outbox(),
        sender=crm_sender(),
        secret_of=settings().crm_secret,
        now=current_clock().now(),
        signed_at=wall_now,  # the CRM checks the signature's time against its own clock
        local=settings().local_mode,
        seconds_left=crm_push.run_budget(),
    )
    for result, count in counts.items():
        metrics.add_metric(name=f"CrmEvents_{result}", unit="Count", value=count)


# ---- API Gateway's authorizer for the shop routes (issue #9; in AWS only, see infra/) ---------
@app.lambda_function(name="shop_key_authorizer")
@logger.inject_lambda_context(clear_state=True)
def shop_key_authorizer(event: dict[str, Any], context: Any) -> Any:
    from chalicelib.web import shop_key_authorizer as shop_key_auth

    return shop_key_auth.authorize(event, keys=repository())
