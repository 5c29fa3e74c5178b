"""For the operator: what the last runs did with each shop's reports (the admin CLI's table)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC

from chalicelib.domain.report.runs import ReportRun
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.ports import ReportRunLog


def last_report_runs(shops: Iterable[ShopSettings], runs: ReportRunLog) -> list[tuple[str, ReportRun | None]]:
    """Per shop, its newest run of each report kind (day, and week or month digests), newest
    first; ``(shop_id, None)`` for a shop no run has considered yet."""
    table: list[tuple[str, ReportRun | None]] = []
    for shop in sorted(shops, key=lambda s: s.shop_id):
        newest: dict[str, ReportRun] = {}
        for run in runs.latest_runs(shop.shop_id):
            newest.setdefault(run.period, run)
        if not newest:
            table.append((shop.shop_id, None))
        table += [(shop.shop_id, run) for run in sorted(newest.values(), key=lambda r: r.at, reverse=True)]
    return table


def format_report_runs(rows: Sequence[tuple[str, ReportRun | None]]) -> str:
    """The admin CLI's table: shop, period, day, status, when (UTC), and why or what."""
    lines = [("shop", "period", "day", "status", "at (UTC)", "detail")]
    for shop_id, run in rows:
        if run is None:
            lines.append((shop_id, "-", "-", "never", "-", "no report due since the shop was added"))
            continue
        if run.status == "sent":
            detail = f"to {run.recipients} recipient(s), SES message {run.message_id}"
        else:
            detail = run.reason or ""
        at = run.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        lines.append((shop_id, run.period, run.first_day.isoformat(), run.status, at, detail))
    widths = [max(len(line[column]) for line in lines) for column in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line[:5], widths, strict=True)) + "  " + line[5]
        for line in lines
    )
