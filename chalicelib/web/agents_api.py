"""Agents' status API (A1), authorised with the shop's API key like the orders API:

- ``GET /v1/agents``: every agent of the shop with status and since when;
- ``GET /v1/agents/{agent_id}``: one agent;
- ``PUT /v1/agents/{agent_id}/status`` with ``{"status": "available" | "break" | "away" | "offline"}``.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.adapters.inbound_repository import inbound_store
from chalicelib.clock import current_clock
from chalicelib.services import agents
from chalicelib.web.http import (
    current_request,
    json_body,
    json_error,
    shop_from_api_key,
    validation_failed,
)

agents_api = Blueprint(__name__)


def _json(body: object, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


@agents_api.route("/v1/agents", methods=["GET"])
def list_agents() -> Response:
    shop = shop_from_api_key(current_request(agents_api), inbound_store())
    if isinstance(shop, Response):
        return shop
    return _json({"agents": [agent.public_view() for agent in inbound_store().list_agents(shop.shop_id)]})


@agents_api.route("/v1/agents/{agent_id}", methods=["GET"])
def get_agent(agent_id: str) -> Response:
    shop = shop_from_api_key(current_request(agents_api), inbound_store())
    if isinstance(shop, Response):
        return shop
    agent = inbound_store().get_agent(shop.shop_id, agent_id)
    if agent is None:
        return json_error(404, "not_found", f"agent_id: no agent {agent_id!r} in this shop")
    return _json(agent.public_view())


@agents_api.route("/v1/agents/{agent_id}/status", methods=["PUT"], content_types=["application/json"])
def put_status(agent_id: str) -> Response:
    request = current_request(agents_api)
    shop = shop_from_api_key(request, inbound_store())
    if isinstance(shop, Response):
        return shop
    body = json_body(request)
    if isinstance(body, Response):
        return body
    status = body.get("status")
    if not isinstance(status, str):
        return validation_failed([("status", "Field required")])
    try:
        agent = agents.set_status(shop, agent_id, status, store=inbound_store(), now=current_clock().now())
    except agents.StatusRefused as refused:
        code = 422 if status not in agents.SETTABLE else 409
        return json_error(code, "status_refused", f"status: {refused}", [{"field": "status", "message": str(refused)}])
    if agent is None:
        return json_error(404, "not_found", f"agent_id: no agent {agent_id!r} in this shop")
    return _json(agent.public_view())
