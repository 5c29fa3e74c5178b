"""``GET /v1/openapi.json``: the OpenAPI document of the shop and agent API
(``chalicelib/openapi.json``, read on first request; tests/unit/test_openapi_document.py keeps it
true to the routes and the request models)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from chalice import Blueprint, Response

DOCUMENT = Path(__file__).resolve().parents[1] / "openapi.json"

openapi_api = Blueprint(__name__)


@functools.cache
def openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return document


@openapi_api.route("/v1/openapi.json", methods=["GET"])
def get_openapi() -> Response:
    return Response(body=openapi_document(), status_code=200, headers={"Cache-Control": "max-age=300"})
