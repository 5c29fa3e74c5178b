"""The report's figures as the owner reads them: labelled rows (the text and the HTML part show
exactly the same ones), charts, and the two parts rendered from ``chalicelib/templates``."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.domain.email import one_line
from chalicelib.domain.report.facts import SURVEY_ANSWERS
from chalicelib.domain.report.figures import SERVICE_LEVEL_SECONDS, AgentDay, DailyFigures, Share
from chalicelib.domain.report.periods import ReportPeriod
from chalicelib.domain.shop import ShopSettings

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
_NO_BREAK_SPACE = "\u00a0"
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK"})


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
        ReportRow("Voicemails", str(i.voicemails), "messages left; each is a callback asked"),
        ReportRow(
            "Voicemails called back",
            "—" if i.voicemails_called_back is None else str(i.voicemails_called_back),
            f"of {i.voicemails} voicemails",
        ),
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


def _agent_row(agent: AgentDay) -> ReportRow:
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
    if agent.transferred:
        parts.append(f"transferred {agent.transferred}")
    return ReportRow(f"Agent {agent.agent_id}", f"{agent.calls} calls", "; ".join(parts))


@dataclass(frozen=True, slots=True)
class Chart:
    content_id: str
    alt: str
    png: bytes
    width: int = 600


def report_charts(figures: DailyFigures) -> tuple[Chart, ...]:
    """The charts the figures have data for (an empty chart says nothing)."""
    # Drawing needs Pillow: imported by the report's own path, not by every function's cold start.
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
    # Jinja is for the report only: imported when a report is rendered, not at cold start.
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
