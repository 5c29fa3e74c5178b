"""The JSON lines the app's logger writes (what CloudWatch receives), captured for a test."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.observability import logger


@contextmanager
def captured_log_lines() -> Iterator[list[dict[str, Any]]]:
    """The lines written inside the block, parsed, in the list yielded (filled when it ends);
    the raw text is kept under the key ``"_raw"`` of each line."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logger.registered_formatter)  # Powertools' formatter, serializer included
    underlying = logging.getLogger(logger.name)  # the stdlib logger Powertools writes through
    underlying.addHandler(handler)
    # At INFO, as in Lambda, whatever an earlier test in this process left it at (the demo and
    # `make call` quieten the app's logger to WARNING for their own output).
    level = underlying.level
    underlying.setLevel(logging.INFO)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        underlying.setLevel(level)
        underlying.removeHandler(handler)
        for raw in written.getvalue().splitlines():
            lines.append(json.loads(raw) | {"_raw": raw})
