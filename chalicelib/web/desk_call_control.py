"""The desk's control of the agent's live call (#17), with the agent's own token:

- ``POST /v1/agent/call/hold``: the caller hears the shop's hold music; the agent stays in the
  call. ``POST /v1/agent/call/unhold``: the caller is back. Both answer
  ``{"call_sid", "on_hold"}``; 404 ``no_call`` with no call on the desk, 409 when the call has
  ended, is not connected to the agent yet, is not a conference call, or the caller is gone;
  401 without an agent's token (the shop's key cannot act as an agent).
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.services import call_control
from chalicelib.services.call_control import ControlRefused
from chalicelib.web.desk_auth import agent_of
from chalicelib.web.http import current_request, json_error, json_response
from chalicelib.wiring import conference_links, conferences, desk_store

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
