"""``POST /v1/customers/erase`` (#18): the shop erases one of its customers, named by the phone
in the body (never in a URL: paths end up in access logs). Answers what was erased, by kind."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.clock import current_clock
from chalicelib.domain.api_errors import unknown_fields
from chalicelib.domain.phones import normalise_phone
from chalicelib.web.http import current_request, shop_and_body, validation_failed
from chalicelib.wiring import customer_erasure, repository

privacy_api = Blueprint(__name__)
ERASE_FIELDS = frozenset({"phone"})


@privacy_api.route("/v1/customers/erase", methods=["POST"], content_types=["application/json"])
def erase_customer() -> Response:
    authorised = shop_and_body(current_request(privacy_api), repository())
    if isinstance(authorised, Response):
        return authorised
    shop, body = authorised
    problems = unknown_fields(body, ERASE_FIELDS)
    raw = body.get("phone")
    phone = normalise_phone(raw if isinstance(raw, str) else "", shop.default_region)
    if phone.e164 is None:
        problems.append(("phone", phone.problem or "required"))
    if problems or phone.e164 is None:
        return validation_failed(problems)
    erased = customer_erasure()(shop, phone.e164, current_clock().now())
    message = (
        "erased; kept: amounts and statuses for the reports, the do-not-call entry as a hash"
        if erased.total()
        else "nothing known about this number: nothing erased"
    )
    return Response(body={"erased": erased.as_dict(), "total": erased.total(), "message": message}, status_code=200)
