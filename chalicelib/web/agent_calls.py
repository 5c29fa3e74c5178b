"""``POST /v1/agent/calls`` (I12, issue 17): click-to-call from the desk, with the agent's token.

Body ``{"order_id": "..."}`` or ``{"phone": "..."}`` (one of them); an ``Idempotency-Key``
header makes a repeat the same call (without one, the same agent, number and minute do).
202 ``{"task_id", "call_sid", "repeated"}``: the agent's phone or softphone rings first. Refusals
in the house form ``{error, message, fields}``: 404 ``unknown_order``, 409 ``do_not_call``,
``outside_calling_hours``, ``agent_not_available``, ``no_caller_id``, 422 ``number_refused``
or ``validation_failed`` naming the field.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.domain.api_errors import unknown_fields
from chalicelib.services import click_to_call
from chalicelib.web.desk_auth import agent_of
from chalicelib.web.http import current_request, json_error, json_response, validation_failed, with_body
from chalicelib.wiring import agent_dial_links, desk_store, telephony

agent_calls = Blueprint(__name__)
FIELDS = {"order_id", "phone"}
MAX_KEY_LENGTH = 255


@agent_calls.route("/v1/agent/calls", methods=["POST"], content_types=["application/json"])
def place_call() -> Response:
    request = current_request(agent_calls)
    store = desk_store()
    authorised = with_body(agent_of(request, store), request)
    if isinstance(authorised, Response):
        return authorised
    caller, body = authorised
    problems = unknown_fields(body, FIELDS)
    order_id, phone = body.get("order_id"), body.get("phone")
    if (order_id is None) == (phone is None):
        problems.append(("order_id", "give either order_id or phone"))
    for name, value in (("order_id", order_id), ("phone", phone)):
        if value is not None and (not isinstance(value, str) or not value.strip() or len(value) > 64):
            problems.append((name, "must be a non-empty string of at most 64 characters"))
    key = request.headers.get("idempotency-key", "").strip() or None
    if key is not None and len(key) > MAX_KEY_LENGTH:
        problems.append(("Idempotency-Key", f"must be at most {MAX_KEY_LENGTH} characters"))
    if problems:
        return validation_failed(problems)
    try:
        placed = click_to_call.call_customer(
            caller.shop,
            caller.agent_id,
            order_id=order_id,
            phone=phone,
            idempotency_key=key,
            store=store,
            telephony=telephony(),
            urls=agent_dial_links(),
            now=current_clock().now(),
        )
    except click_to_call.ClickRefused as refused:
        return json_error(
            refused.status, refused.error, str(refused), [{"field": refused.field, "message": str(refused)}]
        )
    view = {"task_id": placed.task_id, "call_sid": placed.call_sid, "repeated": placed.repeated}
    return json_response(view, 202)
