"""Powertools Logger, Metrics and Tracer shared by every handler.

Phone numbers never reach the logs in clear: a filter masks anything shaped like a phone
number in the message and in structured extras before the JSON line is written.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

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
tracer = Tracer(service=SERVICE)


def log_context(**keys: Any) -> None:
    """Correlate the following log lines (CallSid, order and shop ids)."""
    logger.append_keys(**keys)
