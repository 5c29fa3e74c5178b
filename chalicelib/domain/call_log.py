"""The call log attached to the report (R5): every call and order of the period as CSV rows.

Rows are written as they stream past (never a list of the day in memory) straight into a
gzip stream held in memory, so a day of 100,000 calls costs its compressed size. A small log
is attached as plain ``.csv``; a large one as ``.csv.gz``; one that would push the email past
SES's 10 MB raw-message limit is left out and the report says so.

No cell is read as a formula (CSV injection): a text cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading apostrophe, as OWASP advises. A masked
number therefore reads ``'+380*******67``; a plain number such as ``-5`` or ``12.50`` stays a
number a spreadsheet can add up.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from chalicelib.domain.phones import mask_phone
from chalicelib.domain.report.facts import CallFact, OrderFact

COLUMNS = (
    "time",
    "kind",
    "number",
    "direction",
    "duration_seconds",
    "result",
    "agent",
    "recording",
    "order_id",
    "order_number",
    "total",
)
PLAIN_LIMIT_BYTES = 1_000_000  # larger logs go gzipped
# Base64 grows an attachment by a third: 6 MB compressed stays clear of SES's 10 MB with the charts.
ATTACHED_LIMIT_BYTES = 6_000_000
RECORDING_PENDING = "recorded {ref}; expiring link not available yet (recording links come with the inbound service)"

RecordingLink = Callable[[CallFact], str | None]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def spreadsheet_safe(cell: object) -> object:
    """The cell as text no spreadsheet evaluates: '=1+2' -> "'=1+2"; '-5' stays a number."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def masked_reference(reference: str) -> str:
    """``RE0123...cdef`` -> ``RE…cdef``: enough to find it, not enough to fetch it."""
    return f"{reference[:2]}…{reference[-4:]}" if len(reference) > 8 else "…"


def pending_recording_link(call: CallFact) -> str | None:
    """No expiring-link service yet: say the call was recorded, with the masked stored reference."""
    reference = call.recording_sid or (call.recording_url or "").rstrip("/").rpartition("/")[2]
    if not reference:
        return None
    return RECORDING_PENDING.format(ref=masked_reference(reference))


@dataclass(frozen=True, slots=True)
class CallLogFile:
    filename: str
    data: bytes
    maintype: str
    subtype: str
    rows: int


class CallLogWriter:
    def __init__(self, name: str, zone: tzinfo, *, recording_link: RecordingLink = pending_recording_link) -> None:
        self.name = name
        self.zone = zone
        self.recording_link = recording_link
        self.rows = 0
        self.raw_bytes = 0
        self._buffer = io.BytesIO()
        self._gzip = gzip.GzipFile(fileobj=self._buffer, mode="wb", mtime=0)
        self._line = io.StringIO()
        self._csv = csv.writer(self._line, lineterminator="\r\n")
        self._write(COLUMNS, count=False)

    def _write(self, row: tuple[object, ...], *, count: bool = True) -> None:
        self._csv.writerow([spreadsheet_safe(cell) for cell in row])
        data = self._line.getvalue().encode("utf-8")
        self._line.seek(0)
        self._line.truncate()
        self._gzip.write(data)
        self.raw_bytes += len(data)
        if count:
            self.rows += 1

    def _time(self, instant: datetime | None) -> str:
        return instant.astimezone(self.zone).isoformat(timespec="seconds") if instant else ""

    def add_order(self, order: OrderFact) -> None:
        self._write(
            (
                self._time(order.received_at),
                "order",
                mask_phone(order.phone) if order.phone else "",
                "",
                "",
                order.status,
                "",
                "",
                order.order_id,
                order.order_number or "",
                str(order.total),
            )
        )

    def add_call(self, call: CallFact) -> None:
        if call.direction == "inbound":
            result = (
                "answered by agent"
                if call.agent_id
                else "lost"
                if call.lost
                else "callback asked"
                if call.callback_task_id
                else call.result or call.status
            )
        else:
            result = call.result or call.answered_by or call.status
        self._write(
            (
                self._time(call.created_at),
                "call",
                mask_phone(call.customer_phone) if call.customer_phone else "",
                call.direction,
                call.duration_seconds,
                result,
                call.agent_id or "",
                self.recording_link(call) or "",
                "",
                "",
                "",
            )
        )

    def finish(self) -> CallLogFile | None:
        """The attachment, or None when even compressed it is too large for one email."""
        self._gzip.close()
        compressed = self._buffer.getvalue()
        if self.raw_bytes <= PLAIN_LIMIT_BYTES:
            return CallLogFile(f"{self.name}.csv", gzip.decompress(compressed), "text", "csv", self.rows)
        if len(compressed) > ATTACHED_LIMIT_BYTES:
            return None
        return CallLogFile(f"{self.name}.csv.gz", compressed, "application", "gzip", self.rows)
