"""The desk's control of the agent's live call (#17), with the agent's own token:

- ``POST /v1/agent/call/hold``: the caller hears the shop's hold music; the agent stays in the
  call. ``POST /v1/agent/call/unhold``: the caller is back. Both answer
  ``{"call_sid", "on_hold"}``; 404 ``no_call`` with no call on the desk, 409 when the call has
  ended, is not connected to the agent yet, is not a conference call, or the caller is gone;
  401 without an agent's token (the shop's key cannot act as an agent).
- ``POST /v1/agent/call/transfer`` with ``{"to_agent": id}`` or ``{"to_group": group}`` (its
  longest-idle available agent) and ``"mode": "cold"`` (default: the agent leaves at once) or
  ``"warm"`` (the agent consults the other while the caller is held): 200 ``{"call_sid",
  "transfer_to", "mode", "state": "ringing"}``; 404 ``unknown_agent`` (none such in the shop),
  409 ``agent_unavailable`` (busy, away, offline, or nobody free in the group),
  ``transfer_under_way``, ``same_agent``; 422 for a bad body.
  ``{"to_number": "+380..."}`` transfers cold to an outside number: only one of the shop's
  ``desk.transfer_numbers`` that its destinations allow (else 422 naming ``to_number``); the
  number is dialled into the call's conference with the shop's caller ID and the agent leaves
  (``services.outside_transfers``).
- ``POST /v1/agent/call/transfer/complete`` (warm: the agent leaves, the caller talks to the
  other) and ``/cancel`` (the other agent leaves, the caller is back): 200 with the state; 409
  ``no_transfer`` or ``not_joined`` (complete before the other agent is in).
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.services import call_control, outside_transfers, transfers
from chalicelib.services.call_control import ControlRefused
from chalicelib.web.desk_auth import AgentCaller, agent_of
from chalicelib.web.http import current_request, json_body, json_error, json_response, validation_failed
from chalicelib.web.voice_queue import leg_urls
from chalicelib.wiring import conference_links, conferences, desk_store, inbound_store, telephony

desk_call_control = Blueprint(__name__)


def _hold(on: bool) -> Response:
    caller = agent_of(current_request(desk_call_control), desk_store())
    if isinstance(caller, Response):
        return caller
    agent = desk_store().desk_agent(caller.shop.shop_id, caller.agent_id)
    music = conference_links().hold_music(agent.current_call_sid or "") if agent else ""
    try:
        state = call_control.hold(
            caller.shop, caller.agent_id, on, store=desk_store(), conferences=conferences(), music_url=music
        )
    except ControlRefused as refused:
        return json_error(refused.status, refused.error, refused.message)
    return json_response(state)


@desk_call_control.route("/v1/agent/call/hold", methods=["POST"])
def hold() -> Response:
    return _hold(True)


@desk_call_control.route("/v1/agent/call/unhold", methods=["POST"])
def unhold() -> Response:
    return _hold(False)


def _target(caller: AgentCaller, body: dict[str, Any]) -> tuple[str, str, str] | Response:
    """(``to_agent`` or ``to_number``, whom: an agent id or an E.164 number, mode) the transfer
    goes to, or the 422/409 refusing the body."""
    known = {"to_agent", "to_group", "to_number", "mode"}
    problems = [(name, "unknown field") for name in body if name not in known]
    mode = body.get("mode", "cold")
    if mode not in transfers.MODES:
        problems.append(("mode", "must be cold or warm"))
    given = [name for name in ("to_agent", "to_group", "to_number") if body.get(name)]
    if len(given) != 1:
        problems.append(("to_agent", "give exactly one of to_agent, to_group or to_number"))
    elif not isinstance(body[given[0]], str):
        problems.append((given[0], "must be a string"))
    elif given[0] == "to_number":
        number, problem = outside_transfers.number_problem(caller.shop, body["to_number"])
        if problem:
            problems.append(("to_number", problem))
        elif mode != "cold":
            problems.append(("mode", "a transfer to an outside number is cold: the agent leaves at once"))
        if not problems:
            return "to_number", number, "cold"
    if problems:
        return validation_failed(problems)
    if given[0] == "to_agent":
        return "to_agent", str(body["to_agent"]), str(mode)
    group = str(body["to_group"])
    chosen = transfers.free_agent_of_group(
        caller.shop, group, caller.agent_id, store=inbound_store(), now=current_clock().now()
    )
    if chosen is None:
        return json_error(409, "agent_unavailable", f"nobody of the group {group!r} is available")
    return "to_agent", chosen, str(mode)


@desk_call_control.route("/v1/agent/call/transfer", methods=["POST"])
def transfer() -> Response:
    request = current_request(desk_call_control)
    caller = agent_of(request, desk_store())
    if isinstance(caller, Response):
        return caller
    body = json_body(request)
    if isinstance(body, Response):
        return body
    target = _target(caller, body)
    if isinstance(target, Response):
        return target
    kind, whom, mode = target
    agent = desk_store().desk_agent(caller.shop.shop_id, caller.agent_id)
    call_sid = agent.current_call_sid if agent and agent.current_call_sid else ""
    try:
        if kind == "to_number":
            return json_response(
                outside_transfers.start(
                    caller.shop,
                    caller.agent_id,
                    whom,
                    store=inbound_store(),
                    conferences=conferences(),
                    status_url=conference_links().outside_leg_status(call_sid),
                    music_url=conference_links().hold_music(call_sid),
                    now=current_clock().now(),
                )
            )
        state = transfers.start(
            caller.shop,
            caller.agent_id,
            whom,
            mode,
            store=inbound_store(),
            conferences=conferences(),
            telephony=telephony(),
            urls=leg_urls(call_sid),
            music_url=conference_links().hold_music(call_sid),
            now=current_clock().now(),
        )
    except ControlRefused as refused:
        return json_error(refused.status, refused.error, refused.message)
    return json_response(state)


@desk_call_control.route("/v1/agent/call/transfer/complete", methods=["POST"])
def transfer_complete() -> Response:
    caller = agent_of(current_request(desk_call_control), desk_store())
    if isinstance(caller, Response):
        return caller
    try:
        state = transfers.complete(
            caller.shop, caller.agent_id, store=inbound_store(), conferences=conferences(), now=current_clock().now()
        )
    except ControlRefused as refused:
        return json_error(refused.status, refused.error, refused.message)
    return json_response(state)


@desk_call_control.route("/v1/agent/call/transfer/cancel", methods=["POST"])
def transfer_cancel() -> Response:
    caller = agent_of(current_request(desk_call_control), desk_store())
    if isinstance(caller, Response):
        return caller
    try:
        state = transfers.cancel(
            caller.shop,
            caller.agent_id,
            store=inbound_store(),
            conferences=conferences(),
            control=telephony(),
            now=current_clock().now(),
        )
    except ControlRefused as refused:
        return json_error(refused.status, refused.error, refused.message)
    return json_response(state)
