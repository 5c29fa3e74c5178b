"""What the API answers a request it cannot take, in its own ``{error, message}`` words (#16
item 15), wherever the answer is made: the app, API Gateway (infra/) or the local stack.

- A field a shop or agent sends that the API does not know is named in the 422, never ignored,
  so a misspelt ``order_number`` cannot silently cost the shop its dedup.
- A path no route has is 404 ``not_found``; a method a route does not take is 405
  ``method_not_allowed`` with ``Allow``. Pure."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping

UNKNOWN_FIELD = "unknown field"


def _first_word(name: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip()).lower()
    return re.split(r"[^a-z0-9]+", snake, maxsplit=1)[0]


def unknown_field_message(name: str, known: Collection[str]) -> str:
    """'unknown field', with the known field it most likely meant: the one known field that
    starts with the same word (``order_id``, ``orderNo``: ``order_number``), else a near
    spelling (``outcom``: ``outcome``)."""
    word = _first_word(name)
    guesses = [field for field in known if word and _first_word(field) == word]
    if len(guesses) != 1:
        guesses = difflib.get_close_matches(name.strip().lower(), sorted(known), n=1, cutoff=0.8)
    return f"{UNKNOWN_FIELD}; did you mean '{guesses[0]}'?" if guesses else UNKNOWN_FIELD


def unknown_fields(body: Mapping[str, object], known: Collection[str]) -> list[tuple[str, str]]:
    """(field, message) for every top-level field of ``body`` that is not in ``known`` (a blank
    name quoted, so the answer still names it)."""
    return [
        (str(name) if str(name).strip() else repr(str(name)), unknown_field_message(str(name), known))
        for name in body
        if name not in known
    ]


NO_ROUTE_ERROR = "not_found"
NO_ROUTE = "no such route: the API's routes are listed in GET /v1/openapi.json"
METHOD_NOT_ALLOWED_ERROR = "method_not_allowed"


def allow_header(methods: Collection[str]) -> str:
    """The ``Allow`` header of a route: its methods, sorted."""
    return ", ".join(sorted(method.upper() for method in methods))


def method_not_allowed_message(method: str, path: str, allowed: str) -> str:
    """``allowed`` as the Allow header has it; API Gateway's template passes ``$context.httpMethod``."""
    return f"{method} is not a method of {path}: it takes {allowed}"
