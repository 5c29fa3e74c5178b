"""The owner's report (R1-R5): which shops are due, what their email says, sending it once.

``send_due_reports`` runs on the hourly schedule. Every run considers every shop; a shop's
report for a local day (and its weekly or monthly digest, when the shop asks for them) goes
out at most once, however often the schedule fires or the function is retried, because each
send is guarded by a Powertools idempotency record keyed on (shop, period).

The period's records stream through one pass: each order and call goes to the figures'
tally and to the CSV call log as it is read, so a day of 100,000 calls never sits in memory.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from chalicelib.adapters.email import Attachment, EmailRejected, InlineImage, OutgoingEmail, one_line
from chalicelib.domain.call_log import CallLogFile, CallLogWriter, RecordingLink, pending_recording_link
from chalicelib.domain.report import (
    SERVICE_LEVEL_SECONDS,
    SURVEY_ANSWERS,
    AgentStatusFact,
    CallFact,
    DailyFigures,
    OrderFact,
    ReportPeriod,
    ReportRun,
    ReportTally,
    Share,
    digests_due,
    report_due,
)
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger
from chalicelib.services.recordings import ReportRecordingLinks

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from jinja2 import Environment

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
# Long enough to outlast every run that could still pick the day (until the shop's midnight)
# and a retry storm after it; the 1 h default would let the next hour send the report again.
REPORT_IDEMPOTENCY_SECONDS = 3 * 24 * 60 * 60
_IDEMPOTENCY_KEY_PREFIX = "daily-report"
_NO_BREAK_SPACE = "\u00a0"
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK"})


class EmailSender(Protocol):
    def send(self, email: OutgoingEmail) -> str:
        """Send the message; return the provider's message id."""
        ...


class ReportQueries(Protocol):
    """Reads of one shop-day, each a Query on a ``by_shop_day`` index (or a BatchGet by key)."""

    def orders_of_day(self, shop_id: str, day: date) -> Iterable[OrderFact]: ...

    def calls_of_day(self, shop_id: str, day: date) -> Iterable[CallFact]: ...

    def agent_statuses_of_day(self, shop_id: str, day: date) -> Iterable[AgentStatusFact]: ...

    def dialer_day(self, shop_id: str, day: date) -> tuple[int, int]: ...  # (live answers, drops), O8

    def callbacks_completed(self, task_ids: Iterable[str]) -> int: ...


class ReportRunLog(Protocol):
    """Where each run notes what it did with a shop's report (the admin CLI reads it)."""

    def record(self, run: ReportRun) -> None: ...

    def latest_runs(self, shop_id: str, limit: int = 10) -> Iterable[ReportRun]: ...


@dataclass(frozen=True, slots=True)
class SentReport:
    shop_id: str
    day: date  # the period's first day
    message_id: str
    subject: str
    recipients: tuple[str, ...]
    period: str = "day"


class ReportsFailed(Exception):
    """Some shops' reports could not be sent; the others were (``sent``)."""

    def __init__(self, failures: dict[str, BaseException], sent: Sequence[SentReport]) -> None:
        self.failures = failures
        self.sent = list(sent)
        reasons = "; ".join(f"{shop_id}: {error}" for shop_id, error in failures.items())
        super().__init__(f"daily report failed for {len(failures)} shop(s): {reasons}")


# ----------------------------------------------------------------------------- rendering


@dataclass(frozen=True, slots=True)
class ReportRow:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReportSection:
    title: str
    rows: tuple[ReportRow, ...]


@dataclass(frozen=True, slots=True)
class RenderedReport:
    subject: str
    text: str
    html: str


def format_money(amount: Decimal, currency: str) -> str:
    """``12 345.50 UAH``: grouped with no-break spaces so a sum never wraps mid-number."""
    places = 0 if currency in _ZERO_DECIMAL_CURRENCIES else 2
    grouped = f"{amount:,.{places}f}".replace(",", _NO_BREAK_SPACE)
    return f"{grouped}{_NO_BREAK_SPACE}{currency}"


def format_share(share: Share) -> str:
    percent = share.percent
    if percent is None:
        return f"no {share.of}"
    return f"{percent}% of {share.whole} {share.of}"


def format_duration(seconds: int | None) -> str:
    """``45 s``, ``3 min 05 s``, ``2 h 07 min``; an em dash when there is nothing to show."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_percent(share: Share) -> str:
    return "—" if share.percent is None else f"{share.percent}%"


def report_subject(shop: ShopSettings, period: date | ReportPeriod, figures: DailyFigures) -> str:
    period = period if isinstance(period, ReportPeriod) else ReportPeriod.day(period)
    if period.kind == "day":
        what = f"daily report for {period.first.isoformat()}"
    else:
        what = f"{period.title.lower()} for {period.label}"
    return one_line(f"{shop.name} — {what}: {figures.confirmed}/{figures.unique} confirmed")


def report_sections(figures: DailyFigures, currency: str) -> tuple[ReportSection, ...]:
    """The figures as labelled rows: the HTML and the text part show exactly the same ones.

    Row labels are unique across the report (the demo and its e2e test read rows by label)."""
    f = figures
    orders = (
        ReportRow("Orders received", str(f.orders_received), "every order record of the day"),
        ReportRow("Duplicates", str(f.duplicates), format_share(f.duplicates_share)),
        ReportRow("Fakes", str(f.fakes), format_share(f.fakes_share)),
        ReportRow("Unique orders", str(f.unique), "received − duplicates − fakes"),
        ReportRow("Customer reached by phone", str(f.reached), format_share(f.reached_share)),
        ReportRow("Confirmed", str(f.confirmed), format_share(f.confirmed_share)),
        ReportRow("Cancelled", str(f.cancelled), format_share(f.cancelled_share)),
        ReportRow("Unreachable", str(f.unreachable), format_share(f.unreachable_share)),
        ReportRow("Still open", str(f.still_open), format_share(f.still_open_share)),
    )
    average = f.average_check
    money = [
        ReportRow("Confirmed orders' total", format_money(f.confirmed_total, currency)),
        ReportRow(
            "Average check (confirmed)",
            format_money(average, currency) if average is not None else "—",
        ),
    ]
    if f.confirmed_in_other_currency:
        money.append(
            ReportRow(
                f"Confirmed in a currency other than {currency}",
                str(f.confirmed_in_other_currency),
                "not in the total or the average",
            )
        )
    calls = [
        ReportRow("Robot calls made", str(f.robot_calls)),
        ReportRow(
            "Answered by a person",
            str(f.robot_calls_answered_by_person),
            format_share(f.answered_by_person_share),
        ),
    ]
    sections = [
        ReportSection("Orders", orders),
        ReportSection("Money", tuple(money)),
    ]
    if f.outbound is not None:
        calls.extend(_outbound_rows(f))
    sections.append(ReportSection("Robot calls", tuple(calls)))
    if f.inbound is not None:
        sections.append(ReportSection("Inbound calls", _inbound_rows(f)))
        hours = tuple(
            ReportRow(f"{h.hour:02d}:00–{(h.hour + 1) % 24:02d}:00", f"{h.answered} / {h.lost} / {h.other}")
            for h in f.inbound.by_hour
            if h.answered or h.lost or h.other
        )
        if hours:
            sections.append(ReportSection("Inbound calls by hour (answered / lost / other)", hours))
    if f.agents:
        sections.append(ReportSection("Agents", tuple(_agent_row(agent) for agent in f.agents)))
    return tuple(sections)


def _outbound_rows(f: DailyFigures) -> list[ReportRow]:
    o = f.outbound
    assert o is not None
    per_contact = o.attempts_per_contact
    drop = o.drop_rate
    drop_note = f"dropped live answers ÷ live answers ({drop.count} ÷ {drop.whole})"
    if drop.whole == 0:
        drop_note += ": no agent dialing yet, so nothing dropped"
    return [
        ReportRow(
            "Dial attempts per contact",
            str(per_contact) if per_contact is not None else "—",
            f"robot calls ÷ answered by a person ({o.dial_attempts} ÷ {o.contacts})",
        ),
        ReportRow(
            "Order to first dial, median",
            format_duration(o.first_dial_median_seconds),
            f"of {o.orders_dialed} unique orders dialed",
        ),
        ReportRow("Order to first dial, 95th percentile", format_duration(o.first_dial_p95_seconds)),
        ReportRow("Drop rate", format_percent(drop) if drop.whole else "0.0%", drop_note),
    ]


def _inbound_rows(f: DailyFigures) -> tuple[ReportRow, ...]:
    i = f.inbound
    assert i is not None
    completed = "—" if i.callbacks_completed is None else str(i.callbacks_completed)
    rows = [
        ReportRow("Inbound calls", str(i.calls)),
        ReportRow("Answered by an agent", str(i.answered), format_share(i.answered_share)),
        ReportRow("Lost (hung up, no callback)", str(i.lost), format_share(i.lost_share)),
        ReportRow("Callbacks asked", str(i.callbacks_asked)),
        ReportRow("Callbacks completed", completed, f"of {i.callbacks_asked} asked"),
        ReportRow(
            f"Service level (agent within {SERVICE_LEVEL_SECONDS} s)",
            format_percent(i.service_level),
            f"{i.service_level.count} of {i.service_level.whole} calls queued for an agent",
        ),
        ReportRow("Average wait", format_duration(i.average_wait_seconds), f"of {i.waits} calls that waited"),
        ReportRow("Longest wait", format_duration(i.longest_wait_seconds)),
        ReportRow("After-hours calls", str(i.after_hours)),
    ]
    answers = i.survey_answers
    for answer, count in i.survey:
        meaning = SURVEY_ANSWERS.get(answer, f"answered {answer!r}")
        rows.append(ReportRow(f"Survey: {meaning}", str(count), format_share(Share(count, answers, "survey answers"))))
    return tuple(rows)


def _agent_row(agent: Any) -> ReportRow:
    statuses = ", ".join(f"{status} {format_duration(seconds)}" for status, seconds in agent.status_seconds)
    parts = [
        f"talk {format_duration(agent.talk_seconds)}",
        f"AHT {format_duration(agent.average_handle_seconds)}",
    ]
    if agent.logged_in_seconds:
        parts.append(f"occupancy {format_percent(agent.occupancy)}")
    if statuses:
        parts.append(statuses)
    parts.append(f"missed offers {agent.missed_offers}")
    return ReportRow(f"Agent {agent.agent_id}", f"{agent.calls} calls", "; ".join(parts))


@dataclass(frozen=True, slots=True)
class Chart:
    content_id: str
    alt: str
    png: bytes
    width: int = 600


def report_charts(figures: DailyFigures) -> tuple[Chart, ...]:
    """The charts the figures have data for (an empty chart says nothing)."""
    from chalicelib.domain.charts import calls_by_hour_png, funnel_png, occupancy_png

    charts: list[Chart] = []
    inbound = figures.inbound
    if inbound is not None and inbound.calls:
        rows = [(h.hour, h.answered, h.lost, h.other) for h in inbound.by_hour]
        charts.append(
            Chart(
                "calls-by-hour",
                f"Inbound calls by hour: {inbound.answered} answered, {inbound.lost} lost",
                calls_by_hour_png(rows),
            )
        )
    if figures.orders_received:
        steps = figures.funnel
        charts.append(
            Chart(
                "orders-funnel",
                "Orders funnel: " + ", ".join(f"{n} {label.lower()}" for label, n in steps),
                funnel_png(steps),
            )
        )
    occupied = [agent for agent in figures.agents if agent.logged_in_seconds]
    if occupied:
        bars = [(agent.agent_id, int(agent.occupancy.percent or 0)) for agent in occupied]
        charts.append(
            Chart(
                "agent-occupancy",
                "Agent occupancy: " + ", ".join(f"{name} {value}%" for name, value in bars),
                occupancy_png(bars),
            )
        )
    return tuple(charts)


@functools.cache
def _templates() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # Escaping is on for HTML and for anything unrecognised; only the text part is raw.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), disabled_extensions=("txt.j2",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(
    shop: ShopSettings,
    period: date | ReportPeriod,
    figures: DailyFigures,
    *,
    charts: Sequence[Chart] = (),
    notes: Sequence[str] = (),
) -> RenderedReport:
    period = period if isinstance(period, ReportPeriod) else ReportPeriod.day(period)
    confirmed = figures.confirmed_share
    headline_percent = f" ({confirmed.percent}%)" if confirmed.percent is not None else ""
    context: dict[str, Any] = {
        "subject": report_subject(shop, period, figures),
        "shop_name": shop.name,
        "title": period.title,
        "day_label": period.label,
        "timezone": shop.timezone,
        "has_activity": figures.has_activity,
        "headline": f"Confirmed {figures.confirmed} of {figures.unique} unique orders{headline_percent}.",
        "sections": report_sections(figures, shop.currency),
        "charts": [{"cid": c.content_id, "alt": c.alt, "width": c.width} for c in charts],
        "notes": list(notes),
    }
    environment = _templates()
    return RenderedReport(
        subject=context["subject"],
        text=environment.get_template("daily_report.txt.j2").render(context),
        html=environment.get_template("daily_report.html.j2").render(context),
    )


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
    tally = ReportTally(currency=shop.currency, zone=shop.zone, start=start, end=end)
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
    figures = tally.figures(callbacks_completed=completed)
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


# ----------------------------------------------------------------------------- sending once


class _OncePerShopDay(NamedTuple):
    send: Callable[..., dict[str, Any]]
    config: IdempotencyConfig


def _build_and_send(
    *,
    report_key: dict[str, str],
    shop: ShopSettings,
    period: ReportPeriod,
    sender: EmailSender,
    queries: ReportQueries,
    recording_links: ReportRecordingLinks | None = None,
) -> dict[str, Any]:
    if recording_links is None:
        email = build_report(shop, period, queries)
    else:
        email = build_report(shop, period, queries, recording_link=recording_links, link_days=recording_links.days)
    message_id = sender.send(email)
    logger.info(
        "Report sent",
        extra={
            "shop_id": shop.shop_id,
            "period": period.kind,
            "first_day": period.first.isoformat(),
            "message_id": message_id,
        },
    )
    # What the idempotency record stores and replays: JSON only.
    return {
        "shop_id": shop.shop_id,
        "day": period.first.isoformat(),
        "period": period.kind,
        "message_id": message_id,
        "subject": email.subject,
        "recipients": list(email.recipients),
        "replayed": False,
    }


def _mark_replayed(response: Any, idempotent_data: Any) -> Any:
    if isinstance(response, dict):
        return {**response, "replayed": True}
    return response


@functools.cache
def _once_per_shop_day() -> _OncePerShopDay:
    """Built on first use, not at import: the table name and the DynamoDB endpoint come from
    the environment of the run (moto, DynamoDB Local, the cloud)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    from chalicelib.adapters.dynamo.schema import idempotency_table_name

    config = IdempotencyConfig(expires_after_seconds=REPORT_IDEMPOTENCY_SECONDS, response_hook=_mark_replayed)
    send = idempotent_function(
        _build_and_send,
        data_keyword_argument="report_key",
        persistence_store=DynamoDBPersistenceLayer(table_name=idempotency_table_name()),
        config=config,
        key_prefix=_IDEMPOTENCY_KEY_PREFIX,
    )
    return _OncePerShopDay(send=send, config=config)


def forget_idempotency_store() -> None:
    """Drop the cached idempotency layer (tests switching tables or endpoints)."""
    _once_per_shop_day.cache_clear()


def due_periods(now: datetime, shop: ShopSettings) -> list[ReportPeriod]:
    """The shop's daily report (unless turned off) and any weekly or monthly digest due now."""
    policy = shop.report
    periods: list[ReportPeriod] = []
    day = report_due(now, shop.timezone, policy.hour) if policy.daily else None
    if day is not None:
        periods.append(ReportPeriod.day(day))
    periods += digests_due(now, shop.timezone, policy.hour, weekly_on=policy.weekly_on, monthly=policy.monthly)
    return periods


def _skip_reason(shop: ShopSettings) -> str | None:
    if not shop.report.recipients:
        return "no report recipients configured"
    if shop.report.sender is None:
        return "no report sender configured"
    return None


def send_due_reports(
    now: datetime,
    *,
    shops: Iterable[ShopSettings],
    sender: EmailSender,
    queries: ReportQueries,
    runs: ReportRunLog | None = None,
    lambda_context: LambdaContext | None = None,
    recording_links: ReportRecordingLinks | None = None,
) -> list[SentReport]:
    """Send every due shop's report for its local yesterday, once per (shop, day).

    Returns the reports this run sent (not those sent by an earlier run). A shop without
    recipients or sender, or whose sender SES rejects (not verified), is logged, noted in
    ``runs`` as skipped with the reason, and tried again by the next hourly run (no point in
    retrying at once: its settings must change first). Any other failure does not stop the
    other shops either: failures are logged, noted, and raised together at the end as
    ``ReportsFailed``, so the scheduled function is retried and only the failed shops are
    tried again.

    Pass ``lambda_context`` from a Lambda handler so a send cut off by a timeout is retried
    on the next run instead of being held as "in progress" until its record expires.
    """
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    once = _once_per_shop_day()
    if lambda_context is not None:
        once.config.register_lambda_context(lambda_context)
    sent: list[SentReport] = []
    failures: dict[str, BaseException] = {}

    def note(shop: ShopSettings, period: ReportPeriod, status: Any, **details: Any) -> None:
        if runs is None:
            return
        run = ReportRun(shop.shop_id, period.kind, period.first, status, now, **details)
        try:
            runs.record(run)
        except Exception:  # bookkeeping must never cost an owner their report
            logger.exception("Report run not recorded", extra={"shop_id": shop.shop_id, "status": status})

    for shop in shops:
        for period in due_periods(now, shop):
            log_keys = {"shop_id": shop.shop_id, "day": period.first.isoformat(), "period": period.kind}
            reason = _skip_reason(shop)
            if reason is not None:
                logger.warning(f"Report skipped: {reason}", extra=log_keys)
                note(shop, period, "skipped", reason=reason)
                continue
            try:
                result = once.send(
                    report_key={"shop_id": shop.shop_id, **period.key},
                    shop=shop,
                    period=period,
                    sender=sender,
                    queries=queries,
                    recording_links=recording_links,
                )
            except IdempotencyAlreadyInProgressError:
                logger.info("Report already being sent by another run", extra=log_keys)
                continue
            except EmailRejected as error:
                logger.error(f"Report skipped: {error}", extra=log_keys)
                note(shop, period, "skipped", reason=str(error))
                continue
            except Exception as error:
                logger.exception("Report failed", extra=log_keys)
                key = shop.shop_id if period.kind == "day" else f"{shop.shop_id} ({period.kind}ly digest)"
                failures[key] = error
                note(shop, period, "failed", reason=f"{type(error).__name__}: {error}")
                continue
            if result.get("replayed"):
                logger.debug("Report already sent", extra=log_keys)
                continue
            report = SentReport(
                shop_id=shop.shop_id,
                day=period.first,
                message_id=result["message_id"],
                subject=result["subject"],
                recipients=tuple(result["recipients"]),
                period=period.kind,
            )
            sent.append(report)
            note(shop, period, "sent", message_id=report.message_id, recipients=len(report.recipients))
    if failures:
        raise ReportsFailed(failures, sent)
    return sent


def send_due_reports_now(now: datetime, lambda_context: Any = None) -> list[SentReport]:
    """The hourly schedule's entry point: every configured shop, the real SES and DynamoDB."""
    from chalicelib.adapters.dynamo.reports import DynamoReportQueries, DynamoReportRuns
    from chalicelib.adapters.dynamo.shops import configured_shops
    from chalicelib.adapters.email import SesEmailSender

    return send_due_reports(
        now,
        shops=configured_shops(),
        sender=SesEmailSender(),
        queries=DynamoReportQueries(),
        runs=DynamoReportRuns(),
        lambda_context=lambda_context,
        recording_links=ReportRecordingLinks.from_settings(now),
    )


# ----------------------------------------------------------------------------- for the operator


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
