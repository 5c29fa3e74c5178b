"""Translating between Chalice requests/responses and the services: JSON errors that name
the bad field, API-key auth, TwiML responses, Twilio signature checks."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import unquote

from chalice import Response

from chalicelib.domain.api_errors import METHOD_NOT_ALLOWED_ERROR, allow_header, method_not_allowed_message
from chalicelib.domain.api_keys import bearer_key
from chalicelib.observability import logger
from chalicelib.voice.signature import parse_form, public_url, signature_matches

if TYPE_CHECKING:
    from chalice.app import Request
    from pydantic import BaseModel, ValidationError

    from chalicelib.config import Settings
    from chalicelib.domain.shop import ShopSettings

MAX_BODY_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32  # the API's deepest document (an order's delivery slot) is 4 levels
# DynamoDB refuses a key over 1,024 bytes (sort) or 2,048 (partition) with a ValidationException;
# no id the API hands out or takes comes near this (order numbers: 64 characters).
MAX_PATH_ID_BYTES = 256
Caller = TypeVar("Caller")
Model = TypeVar("Model", bound="BaseModel")


def settings() -> Settings:
    """The deployment's settings, loaded (with pydantic) on the first request, not at import: the
    Twilio webhooks' function imports this module (issue #19)."""
    from chalicelib.config import settings as loaded

    return loaded()


class ShopKeys(Protocol):
    def shop_for_api_key(self, api_key: str) -> ShopSettings | None: ...


def current_request(source: Any) -> Request:
    """The request being handled by a Chalice app or blueprint (never None inside a route)."""
    request = source.current_request
    if request is None:
        raise RuntimeError("no current request")
    return request


def json_response(body: object, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def json_error(status: int, error: str, message: str, fields: list[dict[str, str]] | None = None) -> Response:
    body: dict[str, Any] = {"error": error, "message": message}
    if fields is not None:
        body["fields"] = fields
    return json_response(body, status)


def validation_failed(problems: list[tuple[str, str]]) -> Response:
    """422 naming every bad field: 'field: message; ...' and the same pairs as a list."""
    fields = [{"field": field, "message": message} for field, message in problems]
    return json_error(422, "validation_failed", "; ".join(f"{f}: {m}" for f, m in problems), fields)


def moved(to: str, body: str) -> Response:
    """410 for an address that carried a phone number in its path (#18): where it went."""
    message = f"this address is gone (phone numbers stay out of URLs): use {to} with {body} as the JSON body"
    return json_error(410, "gone", message)


def invalid_body(error: ValidationError, model: type[BaseModel]) -> Response:
    """422 naming every field ``model`` refused, unknown fields included."""
    from chalicelib.domain.orders import field_problems  # cold start: pydantic's, only for the shop API

    return validation_failed([(problem.field, problem.message) for problem in field_problems(error, model)])


def validated(model: type[Model], body: object) -> Model | Response:
    """``body`` as ``model``, or the 422 naming every field it refused."""
    from pydantic import ValidationError  # cold start: only the shop API validates bodies

    try:
        return model.model_validate(body)
    except ValidationError as error:
        return invalid_body(error, model)


def json_body(request: Request) -> dict[str, Any] | Response:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        return json_error(413, "body_too_large", f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw or b"null")
    except RecursionError:
        return _invalid_json(f"nested deeper than {MAX_JSON_DEPTH} levels")
    except ValueError as error:
        return json_error(
            400,
            "invalid_json",
            f"body: not valid JSON ({error})",
            [{"field": "body", "message": "not valid JSON"}],
        )
    if not isinstance(body, dict):
        return _invalid_json("expected a JSON object")
    problem = json_problem(body)
    return _invalid_json(problem) if problem else body


def _invalid_json(problem: str) -> Response:
    return json_error(400, "invalid_json", f"body: {problem}", [{"field": "body", "message": problem}])


def json_problem(document: object) -> str | None:
    """What makes a parsed JSON document unfit to handle: nesting deeper than MAX_JSON_DEPTH
    (the models and DynamoDB's serialiser recurse) or a string that is not Unicode text (a lone
    surrogate escape such as ``\\ud800``, which no UTF-8 store takes). Walked without recursion."""
    pending: list[tuple[object, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_JSON_DEPTH:
            return f"nested deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(value, dict):
            pending += [(key, depth) for key in value] + [(item, depth + 1) for item in value.values()]
        elif isinstance(value, list):
            pending += [(item, depth + 1) for item in value]
        elif isinstance(value, str) and not _is_text(value):
            return "a string holds a lone surrogate escape (\\ud800-\\udfff): not Unicode text"
    return None


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shop_from_api_key(request: Request, repository: ShopKeys) -> ShopSettings | Response:
    # The same parsing as API Gateway's authorizer (chalicelib.web.shop_key_authorizer) in AWS.
    api_key = bearer_key(request.headers.get("authorization"))
    if api_key is None:
        return json_error(401, "unauthorized", "send the shop's API key as 'Authorization: Bearer <key>'")
    shop = repository.shop_for_api_key(api_key)
    if shop is None:
        return json_error(401, "unauthorized", "unknown API key")
    return shop


def with_body(caller: Caller | Response, request: Request) -> tuple[Caller, dict[str, Any]] | Response:
    """The authenticated caller (or the answer refusing it), then the JSON object the request
    sends (400 or 413 else)."""
    if isinstance(caller, Response):
        return caller
    body = json_body(request)
    return body if isinstance(body, Response) else (caller, body)


def shop_and_body(request: Request, repository: ShopKeys) -> tuple[ShopSettings, dict[str, Any]] | Response:
    """The shop behind the API key, then the JSON object the request sends (401, 400 or 413 else)."""
    return with_body(shop_from_api_key(request, repository), request)


def twiml(document: str) -> Response:
    return Response(body=document, status_code=200, headers={"Content-Type": "text/xml; charset=utf-8"})


def acknowledged(work: Callable[[], object], failure: str) -> Response:
    """A callback Twilio only reports to: 204 once ``work`` is done; on a fault ``failure`` is
    logged and the 500 makes Twilio retry the callback."""
    try:
        work()
    except Exception:
        logger.exception(failure)
        return Response(body="", status_code=500)
    return Response(body="", status_code=204)


def forbidden() -> Response:
    return Response(
        body="Forbidden: invalid X-Twilio-Signature", status_code=403, headers={"Content-Type": "text/plain"}
    )


def not_utf8() -> Response:
    """A webhook body Twilio cannot have sent (Twilio sends UTF-8, percent-encoded): its
    parameters cannot be read, so neither can its signature be checked."""
    message = "not UTF-8 form data: Twilio sends UTF-8, percent-encoded"
    return json_error(400, "invalid_encoding", f"body: {message}", [{"field": "body", "message": message}])


TwilioView = Callable[..., Response]


def twilio_webhook(current_request: Callable[[], Request]) -> Callable[[TwilioView], TwilioView]:
    """Check the Twilio signature before the view runs; the view gets the form as ``form=``.

    A forged or unsigned request gets 403 and the view never runs, so nothing is written; a body
    that is not UTF-8 (raw or percent-encoded) gets 400 ``invalid_encoding``, since none of it
    can be read. A JSON body's hash (``bodySHA256``) is checked over the raw bytes.
    """

    def decorate(view: TwilioView) -> TwilioView:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Response:
            request = current_request()
            raw = request.raw_body
            raw_bytes = raw.encode() if isinstance(raw, str) else (raw or b"")
            path = _request_path(request.to_original_event())
            try:
                form = parse_form(raw_bytes)
            except UnicodeDecodeError:
                logger.warning("rejected a webhook whose body is not UTF-8", extra={"path": path})
                return not_utf8()
            query = request.query_params
            params = {key: query.getlist(key) for key in query} if query else None
            # The query as received, then sorted (the app's own URLs are sorted; API Gateway does
            # not promise to keep the order Twilio called them in).
            base_url = settings().base_url
            urls = dict.fromkeys(public_url(base_url, path, params, sort_keys=s) for s in (False, True))
            signature = request.headers.get("x-twilio-signature")
            if not signature_matches(settings().auth_token(), list(urls), form, signature, body=raw_bytes):
                logger.warning("rejected a webhook with a bad signature", extra={"path": path})
                return forbidden()
            flat = {key: values[-1] for key, values in form.items()}
            logger.append_keys(call_sid=flat.get("CallSid"), message_sid=flat.get("MessageSid"))
            return view(*args, form=flat, **kwargs)

        return checked

    return decorate


def _request_path(event: dict[str, Any]) -> str:
    """The route's path as Twilio called it, below PUBLIC_BASE_URL (which carries any stage or
    custom-domain base path).

    API Gateway's proxy event has it in ``path`` without the stage (``requestContext.path`` has
    the stage); behind a custom domain with a base path mapping, ``path`` starts with that base
    path. Chalice's local server fills only ``requestContext.path``. A route has as many
    segments as its resource template (Chalice has no greedy parameters), so leading extra
    segments are a stage or base path: dropped, since PUBLIC_BASE_URL already has them.
    """
    context = event.get("requestContext") or {}
    path = str(event.get("path") or context.get("path") or "/")
    resource = event.get("resource") or context.get("resourcePath")
    if not resource or path == "/":
        return path
    trailing = "/" if path.endswith("/") else ""
    segments = path.rstrip("/").split("/")[1:]
    route_length = len(str(resource).rstrip("/").split("/")[1:])
    if len(segments) > route_length:
        segments = segments[len(segments) - route_length :]
    return "/" + "/".join(segments) + (trailing if segments else "")


def bounded_path_ids(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Middleware: a path parameter over MAX_PATH_ID_BYTES (percent-decoded, as UTF-8) is 422
    naming it before any view, so no over-long id reaches DynamoDB's key limits."""
    too_long = [
        (name, f"at most {MAX_PATH_ID_BYTES} bytes as UTF-8")
        for name, value in (request.uri_params or {}).items()
        if len(unquote(value).encode("utf-8", "surrogatepass")) > MAX_PATH_ID_BYTES
    ]
    return validation_failed(too_long) if too_long else get_response(request)


# Chalice answers these itself, before or around a view, as {"Code", "Message"}.
_CHALICE_CODES = {
    "MethodNotAllowedError": METHOD_NOT_ALLOWED_ERROR,
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequest": "bad_request",
    "InternalServerError": "internal_error",
}


def api_error_shape(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Middleware: Chalice's own refusals (a method the route does not take, a wrong
    Content-Type, a binary answer without Accept, an unhandled fault) in the API's
    ``{error, message}`` form, status and headers kept."""
    response = get_response(request)
    body = response.body
    if not (isinstance(body, dict) and set(body) == {"Code", "Message"}):
        return response
    code, message = str(body["Code"]), str(body["Message"])
    error = _CHALICE_CODES.get(code) or _snake(code)
    headers = dict(response.headers)
    fields = None
    if code == "MethodNotAllowedError":
        sent_allow = headers.get("Allow", "")
        methods = ",".join(sent_allow) if isinstance(sent_allow, list) else sent_allow
        allowed = allow_header([m.strip() for m in methods.split(",") if m.strip()])
        headers["Allow"] = allowed
        message = method_not_allowed_message(request.method, request.path, allowed)
    elif code == "UnsupportedMediaType":
        sent = request.headers.get("content-type", "")
        message = f"Content-Type: send application/json (got {sent!r})"
        fields = [{"field": "Content-Type", "message": "send application/json"}]
    elif code == "InternalServerError":
        message = "an internal error occurred: retry later"
    answer = json_error(response.status_code, error, message, fields)
    answer.headers.update({key: value for key, value in headers.items() if key.lower() != "content-type"})
    return answer


def _snake(code: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", code.removesuffix("Error")).lower()
    return words or "error"
