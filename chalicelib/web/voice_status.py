"""``POST /twilio/voice/status``: every call's status callbacks. Calls the app places carry
their dial task in the query string; calls to the shop's numbers come without one."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.domain.robot_call_ref import ref_from_params
from chalicelib.domain.twilio_fields import twilio_count
from chalicelib.observability import logger
from chalicelib.services import inbound, robot_call
from chalicelib.voice.links import STATUS_PATH
from chalicelib.web.http import current_request, twilio_webhook
from chalicelib.wiring import inbound_store, repository, together

voice_status = Blueprint(__name__)
webhook = twilio_webhook(lambda: current_request(voice_status))


@voice_status.route(STATUS_PATH, methods=["POST"], content_types=["application/x-www-form-urlencoded"])
@webhook
def call_status(form: dict[str, str]) -> Response:
    query = current_request(voice_status).query_params
    task_id = query.get("task_id") if query else None
    store, now = repository(), current_clock().now()
    if task_id is None:
        inbound.record_inbound_call_status(form, store=store, now=now, inbound=inbound_store())
        return Response(body="", status_code=204)
    ref = ref_from_params(task_id, query)  # the attempt, when the URL carries it (#19)
    task = None if ref else store.get_task(task_id)
    shop_id = ref.shop_id if ref else task.shop_id if task else None
    shop = store.get_shop(shop_id) if shop_id else None  # cached configuration
    if shop is None:
        logger.warning("status callback for an unknown task", extra={"task_id": task_id})
        return Response(body="", status_code=204)
    callback = robot_call.StatusCallback(
        call_sid=form.get("CallSid", ""),
        call_status=form.get("CallStatus", ""),
        sequence=(twilio_count(form.get("SequenceNumber")) or 0),
        duration_seconds=(twilio_count(form.get("CallDuration")) or 0),
        answered_by=form.get("AnsweredBy") or None,
        to=form.get("To", ""),
        from_=form.get("From", ""),
    )
    robot_call.record_call_status(shop, task_id, callback, store=store, now=now, task=task, together=together, ref=ref)
    return Response(body="", status_code=204)
