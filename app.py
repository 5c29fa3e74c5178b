"""The Chalice app: registrations only. HTTP routes and Twilio webhooks are the blueprints of
``chalicelib/web``; stream consumers and schedules call one function of ``chalicelib/events``
each; ``chalicelib/wiring`` builds what they all use."""

from __future__ import annotations

from typing import Any

from chalicelib.observability import logger, metrics, tracer
from chalicelib.web.apps import App
from chalicelib.web.http import api_error_shape, bounded_path_ids
from chalicelib.web.lazy_routes import register_routes

# Cold start (#19): the routes come from chalicelib/web/routes.py and each blueprint's module is
# imported with the first request to one of its routes; each stream and schedule imports its
# chalicelib.events module in its body. ``import app`` loads neither (the streams' and
# schedules' functions import it too, and the API function serves a few routes per container).
app = App(app_name="callcenter")  # a Chalice app whose blueprints chalicelib.twilio_webhooks may share
register_routes(app)


@app.middleware("all")
def observe(event: Any, get_response: Any) -> Any:
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
            metrics.clear_metrics()  # with POWERTOOLS_METRICS_DISABLED the flush keeps them: 100 would print
        logger.remove_keys(["call_sid", "message_sid", "shop_id", "order_id", "task_id"])


# Chalice's own refusals (405 with Allow, 415, 500) in the API's {error, message} form.
app.register_middleware(api_error_shape, "http")
# A path id no route could find (over 256 bytes) is 422 naming it before DynamoDB sees it.
app.register_middleware(bounded_path_ids, "http")


# ---- streams and schedules (the bodies: chalicelib/events) -----------------------------------
@app.lambda_function(name="order_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def order_stream(event: dict[str, Any], context: Any) -> Any:
    from chalicelib.events import orders

    return orders.order_stream(event, context)


@app.lambda_function(name="task_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def task_stream(event: dict[str, Any], context: Any) -> Any:
    from chalicelib.events import dialing

    return dialing.task_stream(event, context)


@app.lambda_function(name="call_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def call_stream(event: dict[str, Any], context: Any) -> Any:
    from chalicelib.events import live

    return live.call_stream(event, context)  # the live counters (#19)


@app.schedule("rate(1 minute)", name="dial_due")
def dial_due(event: Any) -> None:
    from chalicelib.events import dialing

    dialing.dial_due(event)


@app.schedule("rate(1 minute)", name="live_alerts")
def live_alerts(event: Any) -> None:
    from chalicelib.events import reports

    reports.live_alerts(event)


@app.schedule("cron(0 * * * ? *)", name="daily_reports")
def daily_reports(event: Any) -> None:
    from chalicelib.events import reports

    reports.daily_reports(event)


# ---- agents' outcomes and the shop's CRM (A5, A6) ---------------------------------------------
@app.lambda_function(name="outcome_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def outcome_stream(event: dict[str, Any], context: Any) -> Any:
    from chalicelib.events import outcomes

    return outcomes.outcome_stream(event, context)


@app.lambda_function(name="crm_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def crm_stream(event: dict[str, Any], context: Any) -> Any:
    from chalicelib.events import crm

    return crm.crm_stream(event, context)


@app.schedule("rate(1 minute)", name="crm_retry")
def crm_retry(event: Any) -> None:
    from chalicelib.events import crm

    crm.crm_retry(event)


# ---- texts Twilio could not take yet (#18) ----------------------------------------------------
@app.schedule("rate(1 minute)", name="text_retry")
def text_retry(event: Any) -> None:
    from chalicelib.events import texts

    texts.text_retry(event)


# ---- API Gateway's authorizer for the shop routes (issue #9; in AWS only, see infra/) ---------
@app.lambda_function(name="shop_key_authorizer")
@logger.inject_lambda_context(clear_state=True)
def shop_key_authorizer(event: dict[str, Any], context: Any) -> Any:
    from chalicelib.web import shop_key_authorizer as shop_key_auth
    from chalicelib.wiring import repository

    return shop_key_auth.authorize(event, keys=repository())
