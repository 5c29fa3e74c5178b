"""The agents' desk API (issue 5).

``POST /v1/calls/{call_sid}/outcome`` (A4) with ``{"agent_id", "outcome", "comment",
"callback_at"}``: the outcome of a call the agent handled. Authorised with the shop's API key
(``Authorization: Bearer <key>``) like the other shop APIs, the body naming the agent; the
call must be one that agent handled (else 403). Per-agent tokens (A3) will replace the shop
key here: until then whoever holds the shop's key can speak for any of its agents.

Answers: 201 with the saved outcome (200 for a correction within the wrap-up window), 404 for
an unknown call, 403 for another agent's call, 409 once the outcome can no longer be
corrected, 422 naming the field for an unknown outcome or a bad ``callback_at``.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.adapters.agent_models import outcome_store
from chalicelib.clock import current_clock
from chalicelib.domain.outcomes import OutcomeRefused, parse_outcome
from chalicelib.observability import logger
from chalicelib.services.outcomes import OutcomeError, record_outcome
from chalicelib.web.http import (
    current_request,
    json_body,
    json_error,
    shop_from_api_key,
    validation_failed,
)

agent_desk = Blueprint(__name__)


@agent_desk.route("/v1/calls/{call_sid}/outcome", methods=["POST"], content_types=["application/json"])
def save_outcome(call_sid: str) -> Response:
    request = current_request(agent_desk)
    store = outcome_store()
    shop = shop_from_api_key(request, store)
    if isinstance(shop, Response):
        return shop
    body = json_body(request)
    if isinstance(body, Response):
        return body
    now = current_clock().now()
    try:
        outcome = parse_outcome(body, now)
    except OutcomeRefused as refused:
        return validation_failed([(refused.field, refused.message)])
    logger.append_keys(shop_id=shop.shop_id, call_sid=call_sid)
    try:
        result = record_outcome(shop, call_sid, outcome, store=store, now=now)
    except OutcomeError as refused:
        fields = [{"field": refused.field, "message": refused.message}]
        return json_error(refused.status, refused.error, str(refused), fields)
    return Response(
        body=result.public_view(),
        status_code=200 if result.corrected else 201,
        headers={"Content-Type": "application/json"},
    )
