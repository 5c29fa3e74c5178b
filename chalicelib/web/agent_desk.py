"""The agents' desk API (issue 5): the agent's own view, the screen pop of their current call
(A3), the outcome of a call (A4), and a customer's timeline (A7).

Agents authenticate with their own token, ``Authorization: Bearer <agent token>`` (issued by
``python -m cli.admin issue-agent-token``); the agent and the shop come from the token, so an
agent only ever sees their own shop's data. The shop's API key may read timelines (its back
office) but cannot act as an agent: the screen pop and outcomes are the agent's own (401).

- ``GET /v1/agent``: the token's agent, ``{"agent_id", "name", "groups", "languages",
  "status", "status_since", "sees_phone_numbers", "shop": {"shop_id", "name"}}``.
- ``GET /v1/agent/call``: the screen pop of the call on the agent's desk (see
  ``chalicelib.services.screen_pop``): ``{"agent", "shop", "call": {"call_sid", "direction",
  "state": "live"|"ended", "status", "language", "started_at", "answered_at", "purpose"},
  "caller": {"phone" (masked like +380*******67 unless the agent has ``sees_phone_numbers``),
  "phone_masked", "name"}, "orders": [{"order_id", "order_number", "status", "total",
  "currency", "items", "delivery", "comment", "received_at"}], "recent_contacts": [timeline
  entries, newest first, at most 10], "outcome": null | {"outcome", "comment", "saved_at",
  "correctable_until"}, "outcome_codes": [...]}``; 404 ``no_call`` when no call is on the desk.
- ``POST /v1/calls/{call_sid}/outcome`` with ``{"outcome", "comment", "callback_at"}`` (and
  optionally ``"agent_id"``, which must be the token's agent: else 403): 201 with the saved
  outcome (200 for a correction within the wrap-up window), 404 for an unknown call, 403 for
  another agent's call, 409 once the outcome can no longer be corrected, 422 naming the field
  for an unknown outcome or a bad ``callback_at``.
- ``POST /v1/customers/timeline`` with ``{"phone", "limit": 20, "cursor": null}`` (the number
  in the body, never the URL; the old ``GET /v1/customers/{phone}/timeline`` is 410 naming this
  one) (agent token or shop key; an
  agent's token reads only the customers of the agent's own calls within ``desk.customer_days``,
  else 403 naming ``phone``; a supervisor's token and the shop key read any): the
  customer's orders, calls (with ``outcome`` and ``recording: {"available", "url"}``; the
  url is an expiring link, null until recordings' signed links are wired in), text messages
  in and out, agents' outcomes and the opt-out, newest first: ``{"phone", "entries": [{"id",
  "type": "order"|"call"|"sms"|"outcome"|"opt_out", "at", ...}], "next_cursor"}``; pass
  ``next_cursor`` back as ``cursor`` for the next page (null: no more). ``limit`` 1-100;
  422 naming ``phone``, ``limit`` or ``cursor`` when bad.
"""

from __future__ import annotations

from datetime import timedelta

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.config import settings
from chalicelib.domain.api_errors import unknown_fields
from chalicelib.domain.entities import Call
from chalicelib.domain.outcomes import OUTCOME_FIELDS, OutcomeRefused, parse_outcome
from chalicelib.domain.phones import normalise_phone
from chalicelib.domain.timeline import MAX_PAGE, CursorRefused
from chalicelib.observability import logger
from chalicelib.services import recordings
from chalicelib.services.outcomes import OutcomeError, record_outcome
from chalicelib.services.screen_pop import screen_pop
from chalicelib.services.timeline import DEFAULT_PAGE, agents_customer, customer_timeline
from chalicelib.web.desk_auth import agent_of, caller_of, not_your_customer, not_yours
from chalicelib.web.http import (
    current_request,
    json_error,
    json_response,
    moved,
    validation_failed,
    with_body,
)
from chalicelib.wiring import desk_store

agent_desk = Blueprint(__name__)


# A desk link is opened while the agent looks at the call, so it lives an hour, not a report's week.
DESK_LINK_LIFETIME = timedelta(hours=1)
TIMELINE_FIELDS = frozenset({"phone", "limit", "cursor"})


def recording_link(call: Call) -> str | None:
    """An expiring signed link to the call's recording (SPEC I9), never Twilio's own URL."""
    if not (call.recording_sid or call.recording_url):
        return None
    config = settings()
    return recordings.recording_link(
        call.call_sid,
        base_url=config.base_url,
        secret=config.recording_link_key(),
        now=current_clock().now(),
        lifetime=DESK_LINK_LIFETIME,
    )


@agent_desk.route("/v1/agent", methods=["GET"])
def who_am_i() -> Response:
    caller = agent_of(current_request(agent_desk), desk_store())
    if isinstance(caller, Response):
        return caller
    agent = desk_store().get_agent(caller.shop.shop_id, caller.agent_id)
    desk = desk_store().desk_agent(caller.shop.shop_id, caller.agent_id)
    if agent is None or desk is None:
        return json_error(401, "unauthorized", "the token's agent no longer exists")
    view = agent.settled(current_clock().now(), caller.shop.inbound.wrap_up_seconds).public_view() | {
        "sees_phone_numbers": desk.sees_phone_numbers,
        "shop": {"shop_id": caller.shop.shop_id, "name": caller.shop.name},
    }
    return json_response(view)


@agent_desk.route("/v1/agent/call", methods=["GET"])
def current_call() -> Response:
    caller = agent_of(current_request(agent_desk), desk_store())
    if isinstance(caller, Response):
        return caller
    pop = screen_pop(
        caller.shop, caller.agent_id, store=desk_store(), now=current_clock().now(), recording_link=recording_link
    )
    if pop is None:
        return json_error(404, "no_call", "no call on this agent's desk")
    return json_response(pop)


@agent_desk.route("/v1/calls/{call_sid}/outcome", methods=["POST"], content_types=["application/json"])
def save_outcome(call_sid: str) -> Response:
    request = current_request(agent_desk)
    store = desk_store()
    authorised = with_body(agent_of(request, store), request)
    if isinstance(authorised, Response):
        return authorised
    caller, body = authorised
    named = body.get("agent_id")
    if named is not None and named != caller.agent_id:
        return not_yours(str(named))
    now = current_clock().now()
    problems = unknown_fields(body, OUTCOME_FIELDS)
    try:
        outcome = parse_outcome(body | {"agent_id": caller.agent_id}, now)
    except OutcomeRefused as refused:
        return validation_failed([*problems, (refused.field, refused.message)])
    if problems:
        return validation_failed(problems)
    shop = caller.shop
    logger.append_keys(shop_id=shop.shop_id, call_sid=call_sid)
    try:
        result = record_outcome(shop, call_sid, outcome, store=store, now=now)
    except OutcomeError as refused:
        fields = [{"field": refused.field, "message": refused.message}]
        return json_error(refused.status, refused.error, str(refused), fields)
    return json_response(result.public_view(), 200 if result.corrected else 201)


@agent_desk.route("/v1/customers/timeline", methods=["POST"], content_types=["application/json"])
def timeline() -> Response:
    """The customer named in the body (never in the URL: paths land in access logs, #18)."""
    request = current_request(agent_desk)
    authorised = with_body(caller_of(request, desk_store()), request)
    if isinstance(authorised, Response):
        return authorised
    caller, body = authorised
    shop = caller.shop
    problems = unknown_fields(body, TIMELINE_FIELDS)
    raw_phone, limit, cursor = body.get("phone"), body.get("limit", DEFAULT_PAGE), body.get("cursor")
    number = normalise_phone(raw_phone if isinstance(raw_phone, str) else "", shop.default_region)
    if number.e164 is None:
        problems.append(("phone", str(number.problem or "required")))
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        problems.append(("limit", f"a whole number from 1 to {MAX_PAGE}"))
    if cursor is not None and not isinstance(cursor, str):
        problems.append(("cursor", "the next_cursor of the previous page, or null"))
    if problems or number.e164 is None or not isinstance(limit, int):
        return validation_failed(problems)
    if caller.agent_id is not None and not caller.supervisor:
        now = current_clock().now()
        if not agents_customer(shop, caller.agent_id, number.e164, store=desk_store(), now=now):
            return not_your_customer(number.e164)
    try:
        page = customer_timeline(
            shop,
            number.e164,
            store=desk_store(),
            limit=limit,
            cursor=cursor or None,
            recording_link=recording_link,
        )
    except CursorRefused as refused:
        return validation_failed([("cursor", str(refused))])
    return json_response({"phone": number.e164} | page.public_view())


@agent_desk.route("/v1/customers/{phone}/timeline", methods=["GET"])
def timeline_moved(phone: str) -> Response:
    """The old address, with the number in the path: gone (nothing is looked up or logged)."""
    return moved("POST /v1/customers/timeline", '{"phone": ..., "limit": 20, "cursor": null}')
