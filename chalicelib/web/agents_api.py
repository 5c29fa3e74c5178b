"""Agents' status API (A1).

Who may call it: an agent with their own token (``Authorization: Bearer <agent token>``, from
``python -m cli.admin issue-agent-token``) or the shop with its API key, as a supervisor.
Both see only their own shop's agents.

- ``GET /v1/agents``: every agent of the shop, ``{"agents": [{"agent_id", "name", "groups",
  "languages", "language", "status", "status_since"}]}`` (agent token or shop key);
- ``GET /v1/agents/{agent_id}``: one agent, the same fields; 404 naming the id when unknown;
- ``PUT /v1/agents/{agent_id}/status`` with ``{"status": "available" | "break" | "away" |
  "offline"}``: 200 with the agent. An agent's token sets only that agent's own status (403
  for another agent); the shop's key sets any of its agents' (a supervisor). ``busy`` and
  ``wrap-up`` belong to the system (422); leaving ``busy`` by hand is 409.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.domain.api_errors import unknown_fields
from chalicelib.domain.routing import Agent
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger
from chalicelib.services import agents, bridging
from chalicelib.web.desk_auth import caller_of, not_yours
from chalicelib.web.http import (
    current_request,
    json_body,
    json_error,
    json_response,
    validation_failed,
)
from chalicelib.wiring import desk_store, inbound_links, inbound_store, telephony

agents_api = Blueprint(__name__)
STATUS_FIELDS = frozenset({"status"})


@agents_api.route("/v1/agents", methods=["GET"])
def list_agents() -> Response:
    caller = caller_of(current_request(agents_api), desk_store())
    if isinstance(caller, Response):
        return caller
    agents = inbound_store().list_agents(caller.shop.shop_id)
    return json_response({"agents": [_view(agent, caller.shop) for agent in agents]})


@agents_api.route("/v1/agents/{agent_id}", methods=["GET"])
def get_agent(agent_id: str) -> Response:
    caller = caller_of(current_request(agents_api), desk_store())
    if isinstance(caller, Response):
        return caller
    agent = inbound_store().get_agent(caller.shop.shop_id, agent_id)
    if agent is None:
        return json_error(404, "not_found", f"agent_id: no agent {agent_id!r} in this shop")
    return json_response(_view(agent, caller.shop))


@agents_api.route("/v1/agents/{agent_id}/status", methods=["PUT"], content_types=["application/json"])
def put_status(agent_id: str) -> Response:
    request = current_request(agents_api)
    caller = caller_of(request, desk_store())
    if isinstance(caller, Response):
        return caller
    if not caller.may_act_for(agent_id):
        return not_yours(agent_id)
    body = json_body(request)
    if isinstance(body, Response):
        return body
    status = body.get("status")
    problems = unknown_fields(body, STATUS_FIELDS)
    if not isinstance(status, str):
        problems.append(("status", "Field required"))
    if problems or not isinstance(status, str):
        return validation_failed(problems)
    shop = caller.shop
    try:
        agent = bridging.set_status(
            shop,
            agent_id,
            status,
            store=inbound_store(),
            calls=telephony(),
            links=inbound_links(),
            now=current_clock().now(),
        )
    except agents.StatusRefused as refused:
        code = 422 if status not in agents.SETTABLE else 409
        return json_error(code, "status_refused", f"status: {refused}", [{"field": "status", "message": str(refused)}])
    if agent is None:
        return json_error(404, "not_found", f"agent_id: no agent {agent_id!r} in this shop")
    logger.info("agent status set", extra={"agent_id": agent_id, "status": status, "by_agent": caller.is_agent})
    return json_response(_view(agent, caller.shop))


def _view(agent: Agent, shop: ShopSettings) -> dict[str, object]:
    """The agent as things stand now: a wrap-up that has run its time shows as available."""
    return agent.settled(current_clock().now(), shop.inbound.wrap_up_seconds).public_view()
