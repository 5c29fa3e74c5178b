"""The daily report (R1): which shops are due, what their email says, sending it once.

``send_due_reports`` runs on the hourly schedule. Every run considers every shop; a shop's
report for a local day goes out at most once, however often the schedule fires or the
function is retried, because each send is guarded by a Powertools idempotency record keyed
on (shop, day).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from chalicelib.adapters.email import OutgoingEmail, one_line
from chalicelib.domain.report import CallFact, DailyFigures, OrderFact, Share, daily_figures, report_due
from chalicelib.domain.shop import ShopSettings
from chalicelib.observability import logger

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
    def orders_of_day(self, shop_id: str, day: date) -> Iterable[OrderFact]: ...

    def calls_of_day(self, shop_id: str, day: date) -> Iterable[CallFact]: ...


@dataclass(frozen=True, slots=True)
class SentReport:
    shop_id: str
    day: date
    message_id: str
    subject: str
    recipients: tuple[str, ...]


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


def report_subject(shop: ShopSettings, day: date, figures: DailyFigures) -> str:
    return one_line(f"{shop.name} — daily report for {day.isoformat()}: {figures.confirmed}/{figures.unique} confirmed")


def report_sections(figures: DailyFigures, currency: str) -> tuple[ReportSection, ...]:
    """The figures as labelled rows: the HTML and the text part show exactly the same ones."""
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
    calls = (
        ReportRow("Robot calls made", str(f.robot_calls)),
        ReportRow(
            "Answered by a person",
            str(f.robot_calls_answered_by_person),
            format_share(f.answered_by_person_share),
        ),
    )
    return (
        ReportSection("Orders", orders),
        ReportSection("Money", tuple(money)),
        ReportSection("Robot calls", calls),
    )


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


def render_report(shop: ShopSettings, day: date, figures: DailyFigures) -> RenderedReport:
    confirmed = figures.confirmed_share
    headline_percent = f" ({confirmed.percent}%)" if confirmed.percent is not None else ""
    context: dict[str, Any] = {
        "subject": report_subject(shop, day, figures),
        "shop_name": shop.name,
        "day_label": f"{day.isoformat()} ({day:%A})",
        "timezone": shop.timezone,
        "has_activity": figures.has_activity,
        "headline": f"Confirmed {figures.confirmed} of {figures.unique} unique orders{headline_percent}.",
        "sections": report_sections(figures, shop.currency),
    }
    environment = _templates()
    return RenderedReport(
        subject=context["subject"],
        text=environment.get_template("daily_report.txt.j2").render(context),
        html=environment.get_template("daily_report.html.j2").render(context),
    )


def build_daily_report(shop: ShopSettings, day: date, queries: ReportQueries) -> OutgoingEmail:
    """The shop's report email for a local day, its figures read from ``queries``."""
    if shop.report.sender is None:
        raise ValueError(f"shop {shop.shop_id} has no report sender")
    figures = daily_figures(
        queries.orders_of_day(shop.shop_id, day),
        queries.calls_of_day(shop.shop_id, day),
        currency=shop.currency,
    )
    rendered = render_report(shop, day, figures)
    return OutgoingEmail(
        sender=shop.report.sender,
        recipients=tuple(shop.report.recipients),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
    )


# ----------------------------------------------------------------------------- sending once


class _OncePerShopDay(NamedTuple):
    send: Callable[..., dict[str, Any]]
    config: IdempotencyConfig


def _build_and_send(
    *, report_key: dict[str, str], shop: ShopSettings, day: date, sender: EmailSender, queries: ReportQueries
) -> dict[str, Any]:
    email = build_daily_report(shop, day, queries)
    message_id = sender.send(email)
    logger.info(
        "Daily report sent",
        extra={"shop_id": shop.shop_id, "day": day.isoformat(), "message_id": message_id},
    )
    # What the idempotency record stores and replays: JSON only.
    return {
        "shop_id": shop.shop_id,
        "day": day.isoformat(),
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

    from chalicelib.adapters.models import idempotency_table_name

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
    lambda_context: LambdaContext | None = None,
) -> list[SentReport]:
    """Send every due shop's report for its local yesterday, once per (shop, day).

    Returns the reports this run sent (not those sent by an earlier run). A shop without
    recipients or sender is logged and skipped. A shop that fails does not stop the others:
    failures are logged and raised together at the end as ``ReportsFailed``, so the scheduled
    function is retried and only the failed shops are tried again.

    Pass ``lambda_context`` from a Lambda handler so a send cut off by a timeout is retried
    on the next run instead of being held as "in progress" until its record expires.
    """
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    once = _once_per_shop_day()
    if lambda_context is not None:
        once.config.register_lambda_context(lambda_context)
    sent: list[SentReport] = []
    failures: dict[str, BaseException] = {}
    for shop in shops:
        day = report_due(now, shop.timezone, shop.report.hour)
        if day is None:
            continue
        log_keys = {"shop_id": shop.shop_id, "day": day.isoformat()}
        reason = _skip_reason(shop)
        if reason is not None:
            logger.warning(f"Daily report skipped: {reason}", extra=log_keys)
            continue
        try:
            result = once.send(
                report_key={"shop_id": shop.shop_id, "day": day.isoformat()},
                shop=shop,
                day=day,
                sender=sender,
                queries=queries,
            )
        except IdempotencyAlreadyInProgressError:
            logger.info("Daily report already being sent by another run", extra=log_keys)
            continue
        except Exception as error:
            logger.exception("Daily report failed", extra=log_keys)
            failures[shop.shop_id] = error
            continue
        if result.get("replayed"):
            logger.debug("Daily report already sent", extra=log_keys)
            continue
        sent.append(
            SentReport(
                shop_id=shop.shop_id,
                day=day,
                message_id=result["message_id"],
                subject=result["subject"],
                recipients=tuple(result["recipients"]),
            )
        )
    if failures:
        raise ReportsFailed(failures, sent)
    return sent


def send_due_reports_now(now: datetime, lambda_context: Any = None) -> list[SentReport]:
    """The hourly schedule's entry point: every configured shop, the real SES and DynamoDB."""
    from chalicelib.adapters.email import SesEmailSender
    from chalicelib.adapters.report_queries import DynamoReportQueries, configured_shops

    return send_due_reports(
        now,
        shops=configured_shops(),
        sender=SesEmailSender(),
        queries=DynamoReportQueries(),
        lambda_context=lambda_context,
    )
