"""The Chalice app: registrations only. HTTP routes and Twilio webhooks are the blueprints of
``chalicelib/web``; stream consumers and schedules call one function of ``chalicelib/events``
each; ``chalicelib/wiring`` builds what they all use."""

from __future__ import annotations

from typing import Any

from chalicelib.events import crm, dialing, live, orders, outcomes, reports, texts
from chalicelib.observability import logger, metrics, tracer
from chalicelib.web.agent_calls import agent_calls
from chalicelib.web.agent_desk import agent_desk
from chalicelib.web.agent_page import agent_page
from chalicelib.web.agents_api import agents_api
from chalicelib.web.apps import App
from chalicelib.web.desk_call_control import desk_call_control
from chalicelib.web.http import api_error_shape, bounded_path_ids
from chalicelib.web.live import live_api
from chalicelib.web.openapi import openapi_api
from chalicelib.web.orders_api import orders_api
from chalicelib.web.privacy_api import privacy_api
from chalicelib.web.recordings import recordings_api
from chalicelib.web.sms import sms
from chalicelib.web.softphone import softphone
from chalicelib.web.voice_agent_dial import voice_agent_dial
from chalicelib.web.voice_bridge import voice_bridge
from chalicelib.web.voice_conference import voice_conference
from chalicelib.web.voice_desk_call import voice_desk_call
from chalicelib.web.voice_inbound import voice_inbound
from chalicelib.web.voice_predictive import voice_predictive
from chalicelib.web.voice_queue import voice_queue
from chalicelib.web.voice_robot import voice_robot
from chalicelib.web.voice_status import voice_status
from chalicelib.wiring import repository

app = App(app_name="callcenter")  # a Chalice app whose blueprints chalicelib.twilio_webhooks may share
app.register_blueprint(orders_api)
app.register_blueprint(live_api)
app.register_blueprint(voice_robot)
app.register_blueprint(voice_status)
app.register_blueprint(voice_inbound)
app.register_blueprint(voice_queue)
app.register_blueprint(agents_api)
app.register_blueprint(sms)
app.register_blueprint(voice_agent_dial)
app.register_blueprint(agent_desk)
app.register_blueprint(agent_page)
app.register_blueprint(openapi_api)
app.register_blueprint(recordings_api)
app.register_blueprint(voice_predictive)
app.register_blueprint(softphone)
app.register_blueprint(voice_conference)
app.register_blueprint(desk_call_control)
app.register_blueprint(privacy_api)
app.register_blueprint(voice_bridge)
app.register_blueprint(agent_calls)
app.register_blueprint(voice_desk_call)


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
    return orders.order_stream(event, context)


@app.lambda_function(name="task_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def task_stream(event: dict[str, Any], context: Any) -> Any:
    return dialing.task_stream(event, context)


@app.lambda_function(name="call_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def call_stream(event: dict[str, Any], context: Any) -> Any:
    return live.call_stream(event, context)  # the live counters (#19)


@app.schedule("rate(1 minute)", name="dial_due")
def dial_due(event: Any) -> None:
    dialing.dial_due(event)


@app.schedule("rate(1 minute)", name="live_alerts")
def live_alerts(event: Any) -> None:
    reports.live_alerts(event)


@app.schedule("cron(0 * * * ? *)", name="daily_reports")
def daily_reports(event: Any) -> None:
    reports.daily_reports(event)


# ---- agents' outcomes and the shop's CRM (A5, A6) ---------------------------------------------
@app.lambda_function(name="outcome_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def outcome_stream(event: dict[str, Any], context: Any) -> Any:
    return outcomes.outcome_stream(event, context)


@app.lambda_function(name="crm_stream")
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def crm_stream(event: dict[str, Any], context: Any) -> Any:
    return crm.crm_stream(event, context)


@app.schedule("rate(1 minute)", name="crm_retry")
def crm_retry(event: Any) -> None:
    crm.crm_retry(event)


# ---- texts Twilio could not take yet (#18) ----------------------------------------------------
@app.schedule("rate(1 minute)", name="text_retry")
def text_retry(event: Any) -> None:
    texts.text_retry(event)


# ---- API Gateway's authorizer for the shop routes (issue #9; in AWS only, see infra/) ---------
@app.lambda_function(name="shop_key_authorizer")
@logger.inject_lambda_context(clear_state=True)
def shop_key_authorizer(event: dict[str, Any], context: Any) -> Any:
    from chalicelib.web import shop_key_authorizer as shop_key_auth

    return shop_key_auth.authorize(event, keys=repository())
