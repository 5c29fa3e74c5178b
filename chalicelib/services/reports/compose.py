"""A shop's report email for a period: its days' records stream through one pass, each order
and call going to the figures' tally and to the CSV call log as it is read, so a day of
100,000 calls never sits in memory."""

from __future__ import annotations

from datetime import date

from chalicelib.domain.call_log import CallLogFile, CallLogWriter, RecordingLink, pending_recording_link
from chalicelib.domain.email import Attachment, InlineImage, OutgoingEmail
from chalicelib.domain.report.periods import ReportPeriod
from chalicelib.domain.report.tally import ReportTally
from chalicelib.domain.shop import ShopSettings
from chalicelib.services.ports import ReportQueries
from chalicelib.services.reports.render import render_report, report_charts


def build_report(
    shop: ShopSettings,
    period: ReportPeriod,
    queries: ReportQueries,
    *,
    recording_link: RecordingLink = pending_recording_link,
    link_days: int | None = None,
) -> OutgoingEmail:
    """The shop's report email for a period: one streaming pass over its days' records.
    ``recording_link`` gives the CSV's recording column (expiring links lasting ``link_days``
    when sent; without one, the masked recording reference)."""
    if shop.report.sender is None:
        raise ValueError(f"shop {shop.shop_id} has no report sender")
    start, end = period.bounds(shop.zone)
    tally = ReportTally(
        currency=shop.currency, zone=shop.zone, wrap_up_seconds=shop.inbound.wrap_up_seconds, start=start, end=end
    )
    name = "calls-and-orders-" + (
        period.first.isoformat() if period.kind == "day" else f"{period.first.isoformat()}-to-{period.last.isoformat()}"
    )
    log = CallLogWriter(name, shop.zone, recording_link=recording_link)
    for day in period.days():
        for order in queries.orders_of_day(shop.shop_id, day):
            tally.add_order(order)
            log.add_order(order)
        for call in queries.calls_of_day(shop.shop_id, day):
            tally.add_call(call)
            log.add_call(call)
        for change in queries.agent_statuses_of_day(shop.shop_id, day):
            tally.add_status(change)
        tally.add_dialer_day(*queries.dialer_day(shop.shop_id, day))
    completed = queries.callbacks_completed(sorted(tally.callback_task_ids)) if tally.callback_task_ids else 0
    voicemail_tasks = sorted(tally.voicemail_task_ids)
    called_back = queries.callbacks_completed(voicemail_tasks) if voicemail_tasks else 0
    figures = tally.figures(callbacks_completed=completed, voicemails_called_back=called_back)
    attached = log.finish()
    charts = report_charts(figures) if figures.has_activity else ()
    notes = _log_notes(attached, log.rows, link_days) if figures.has_activity else ()
    rendered = render_report(shop, period, figures, charts=charts, notes=notes)
    attachments: tuple[Attachment, ...] = ()
    if attached is not None and figures.has_activity:
        attachments = (Attachment(attached.filename, attached.data, attached.maintype, attached.subtype),)
    return OutgoingEmail(
        sender=shop.report.sender,
        recipients=tuple(shop.report.recipients),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        inline_images=tuple(InlineImage(chart.content_id, chart.png) for chart in charts),
        attachments=attachments,
    )


def _log_notes(attached: CallLogFile | None, rows: int, link_days: int | None) -> tuple[str, ...]:
    if attached is None:
        return (
            f"The call log ({rows} calls and orders) is too large for one email even compressed; "
            "the daily reports carry it day by day.",
        )
    recordings = (
        f"Its recording links work for {link_days} days from this email."
        if link_days
        else "It names each recording by a masked reference."
    )
    return (
        f"Attached: {attached.filename}, every call and order of the period ({rows} rows; numbers masked). "
        + recordings,
    )


def build_daily_report(shop: ShopSettings, day: date, queries: ReportQueries) -> OutgoingEmail:
    """The shop's report email for a local day, its figures read from ``queries``."""
    return build_report(shop, ReportPeriod.day(day), queries)
