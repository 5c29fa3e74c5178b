"""Live figures by API (R7): ``GET /v1/live`` with the shop's API key."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.web.http import current_request, json_error, shop_from_api_key
from chalicelib.wiring import report_queries, repository

live_api = Blueprint(__name__)


@live_api.route("/v1/live", methods=["GET"])
def get_live() -> Response:
    request = current_request(live_api)
    shop = shop_from_api_key(request, repository())
    if isinstance(shop, Response):
        return shop
    query = request.query_params
    kpis = (query.get("kpis") if query else None) or "true"
    kpis = kpis.lower()
    if kpis not in ("true", "false"):
        return json_error(
            400, "invalid_query", "kpis: 'true' or 'false'", [{"field": "kpis", "message": "true or false"}]
        )
    from chalicelib.services.live import live_figures, live_view  # cold start: the report tally

    figures = live_figures(shop, current_clock().now(), report_queries(), with_kpis=kpis == "true")
    return Response(body=live_view(figures, shop.currency), status_code=200, headers={"Cache-Control": "no-store"})
