"""Powertools Logger, Metrics and Tracer shared by every handler.

Phone numbers never reach the logs in clear: a filter masks anything shaped like a phone
number in the message and in structured extras before the JSON line is written.

The Tracer is built only where tracing is on: Powertools' Tracer imports the X-Ray SDK (and
botocore's session machinery with it) even when it then disables itself, about half of the
app's cold import. Elsewhere (tests, the local stack, tracing turned off) its decorators
hand the function back unchanged.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

from chalicelib.domain.phones import mask_phone

SERVICE = "callcenter"

_PHONE_LIKE = re.compile(r"\+?\d[\d\s().-]{7,}\d")


def _mask_text(text: str) -> str:
    return _PHONE_LIKE.sub(lambda match: mask_phone(match.group(0)), text)


class PhoneMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _mask_text(record.msg)
        if record.args:
            record.args = tuple(_mask_text(a) if isinstance(a, str) else a for a in record.args)
        for key, value in list(vars(record).items()):
            if key in _MASKED_EXTRA_KEYS and isinstance(value, str):
                setattr(record, key, mask_phone(value))
        return True


_MASKED_EXTRA_KEYS = {"phone", "from_number", "to_number", "caller", "callee"}

logger = Logger(service=SERVICE)
logger.addFilter(PhoneMaskingFilter())
metrics = Metrics(namespace="CallCenter", service=SERVICE)

Function = TypeVar("Function", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    """Powertools' own rule, read without importing the X-Ray SDK: inside Lambda (not under SAM
    or Chalice's local mode) unless POWERTOOLS_TRACE_DISABLED is true."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on", "y"):
        return False
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT"))
    return in_lambda and not (os.environ.get("AWS_SAM_LOCAL") or os.environ.get("AWS_CHALICE_CLI_MODE"))


@functools.cache
def powertools_tracer() -> Any:
    from aws_lambda_powertools import Tracer  # cold start: X-Ray only when tracing is on

    return Tracer(service=SERVICE)


class LazyTracer:
    """``capture_lambda_handler`` and ``capture_method`` of Powertools' Tracer where tracing is
    on; pass-through decorators (and no X-Ray import) where it is off."""

    def capture_lambda_handler(self, handler: Function) -> Function:
        return powertools_tracer().capture_lambda_handler(handler) if tracing_enabled() else handler

    def capture_method(self, method: Function) -> Function:
        return powertools_tracer().capture_method(method) if tracing_enabled() else method


tracer = LazyTracer()


def log_context(**keys: Any) -> None:
    """Correlate the following log lines (CallSid, order and shop ids)."""
    logger.append_keys(**keys)
