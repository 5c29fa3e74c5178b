"""Powertools Logger, Metrics and Tracer shared by every handler.

Phone numbers never reach the logs in clear: the JSON serializer of every line masks each
number phonenumbers finds (or '+' and 7-15 digits) in every field of the line, nested ones,
the message and the formatted exception and stack trace included, and only there, so no field
added later escapes it.

The Tracer is built only where tracing is on: Powertools' Tracer imports the X-Ray SDK (and
botocore's session machinery with it) even when it then disables itself, about half of the
app's cold import. Elsewhere (tests, the local stack, tracing turned off) its decorators
hand the function back unchanged.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

from chalicelib.domain.phones import mask_phones_in

SERVICE = "callcenter"
# National forms ('067 123-45-67') are recognised for the shops' default region; international
# ones ('+1 201 555 0123', '380671234567' with its country code) for every country.
NATIONAL_NUMBER_REGIONS = ("UA",)


def _masked(value: Any) -> Any:
    """The value as it will be written, with every phone number in it masked: strings, keys and
    nested values; objects (an exception in ``stack_trace``) as their text, as JSON's
    ``default=str`` would write them; numbers, booleans and None as they are."""
    if isinstance(value, str):
        return mask_phones_in(value, NATIONAL_NUMBER_REGIONS)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {_masked(str(key)): _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(item) for item in value]
    return mask_phones_in(str(value), NATIONAL_NUMBER_REGIONS)


# Fields Powertools writes itself from the record and the Lambda context: never a phone number,
# and the timestamp's run of digits would otherwise send every line through the matcher.
_POWERTOOLS_KEYS = frozenset(
    {"level", "location", "timestamp", "service", "sampling_rate", "xray_trace_id", "cold_start"}
    | {"function_name", "function_memory_size", "function_arn", "function_request_id"}
)


def masked_json(log: dict[str, Any]) -> str:
    """Powertools' JSON line (its own serializer settings), once every other field of it, the
    message, extras, appended keys, the formatted exception and the stack trace, is masked."""
    masked = {
        key if key in _POWERTOOLS_KEYS else _masked(key): value if key in _POWERTOOLS_KEYS else _masked(value)
        for key, value in log.items()
    }
    return json.dumps(masked, default=str, separators=(",", ":"), ensure_ascii=False)


logger = Logger(service=SERVICE, json_serializer=masked_json)
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
