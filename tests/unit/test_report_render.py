"""What the owner reads: the report's subject, HTML and text parts, and the MIME message."""

from __future__ import annotations

import email
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default as default_policy
from html import unescape

from chalicelib.adapters.email import build_mime_message
from chalicelib.domain.email import Attachment, InlineImage, OutgoingEmail
from chalicelib.domain.report.facts import AgentStatusFact, CallFact, OrderFact
from chalicelib.domain.report.tally import daily_figures
from chalicelib.domain.shop import ReportPolicy, ShopSettings
from chalicelib.services.reports.compose import build_daily_report
from chalicelib.services.reports.render import format_money, render_report

DAY = date(2014, 3, 29)
AT = datetime(2014, 3, 29, 9, 30, tzinfo=UTC)
NBSP = "\u00a0"


def shop(name: str = "Quiet Garden", currency: str = "UAH") -> ShopSettings:
    return ShopSettings(
        shop_id="quiet-garden",
        name=name,
        currency=currency,
        report=ReportPolicy(hour=8, recipients=["owner@example.com"], sender="reports@example.com"),
    )


def order(order_id: str, status: str, total: str, reached: bool = False) -> OrderFact:
    return OrderFact(order_id, status, Decimal(total), reached, AT)


ORDERS = [
    order("o1", "confirmed", "12345.50", reached=True),
    order("o2", "confirmed", "654.50", reached=True),
    order("o3", "cancelled", "100", reached=True),
    order("o4", "unreachable", "100"),
    order("o5", "duplicate", "100"),
    order("o6", "fake", "1"),
]
CALLS = [CallFact("c1", "outbound-robot", "completed", "human", AT, AT)]


class FakeQueries:
    def __init__(self, orders: list[OrderFact], calls: list[CallFact]) -> None:
        self.orders, self.calls = orders, calls
        self.asked: list[tuple[str, date]] = []
        self.dialer_counts = (0, 0)

    def orders_of_day(self, shop_id: str, day: date) -> list[OrderFact]:
        self.asked.append((shop_id, day))
        return self.orders

    def calls_of_day(self, shop_id: str, day: date) -> list[CallFact]:
        return self.calls

    def agent_statuses_of_day(self, shop_id: str, day: date) -> list[AgentStatusFact]:
        return []

    def dialer_day(self, shop_id: str, day: date) -> tuple[int, int]:
        return self.dialer_counts

    def callbacks_completed(self, task_ids: Iterable[str]) -> int:
        return 0


def squeeze(text: str) -> str:
    """Runs of ASCII white space as one space; no-break spaces are kept (they are the money format)."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def visible_text(html: str) -> str:
    """Roughly what a mail client shows: tags dropped, entities decoded, white space collapsed."""
    return squeeze(unescape(re.sub(r"<[^>]+>", " ", html)))


def test_subject_names_the_shop_the_day_and_confirmed_of_unique():
    rendered = render_report(shop(), DAY, daily_figures(ORDERS, CALLS))

    assert rendered.subject == "Quiet Garden — daily report for 2014-03-29: 2/4 confirmed"


def test_html_shows_the_shop_the_day_and_the_figures():
    rendered = render_report(shop(), DAY, daily_figures(ORDERS, CALLS, currency="UAH"))
    shown = visible_text(rendered.html)

    assert "Quiet Garden" in shown
    assert "Daily report for 2014-03-29 (Saturday)" in shown
    assert "Confirmed 2 of 4 unique orders (50.0%)" in shown
    assert "Orders received 6" in shown
    assert "Duplicates 1 16.7% of 6 orders received" in shown
    assert "Fakes 1 16.7% of 6 orders received" in shown
    assert "Customer reached by phone 3 75.0% of 4 unique orders" in shown
    assert "Cancelled 1 25.0% of 4 unique orders" in shown
    assert "Unreachable 1 25.0% of 4 unique orders" in shown
    assert f"Confirmed orders' total 13{NBSP}000.00{NBSP}UAH" in shown
    assert f"Average check (confirmed) 6{NBSP}500.00{NBSP}UAH" in shown
    assert "Robot calls made 1" in shown
    assert "<script" not in rendered.html.lower()
    assert "<style" not in rendered.html.lower()  # clients strip <style>: all inline


def test_text_part_has_the_same_figures():
    rendered = render_report(shop(), DAY, daily_figures(ORDERS, CALLS, currency="UAH"))
    lines = [squeeze(line) for line in rendered.text.splitlines()]

    assert lines[0] == "Quiet Garden — daily report for 2014-03-29 (Saturday)"
    assert "Confirmed 2 of 4 unique orders (50.0%)." in lines
    assert "Orders received 6 every order record of the day" in lines
    assert "Confirmed 2 50.0% of 4 unique orders" in lines
    assert "Still open 0 0.0% of 4 unique orders" in lines
    assert f"Confirmed orders' total 13{NBSP}000.00{NBSP}UAH" in lines
    assert f"Average check (confirmed) 6{NBSP}500.00{NBSP}UAH" in lines
    assert "Answered by a person 1 100.0% of 1 robot calls" in lines
    assert "<" not in rendered.text


def test_a_day_without_orders_or_calls_gets_the_short_version():
    rendered = render_report(shop(), DAY, daily_figures([], []))

    assert rendered.subject.endswith(": 0/0 confirmed")
    assert "No orders and no calls on 2014-03-29 (Saturday)." in visible_text(rendered.html)
    assert "No orders and no calls on 2014-03-29 (Saturday)." in rendered.text
    assert "Orders received" not in rendered.html
    assert "Orders received" not in rendered.text


def test_shop_name_is_escaped_in_the_html():
    hostile = '<script>alert("hi")</script> Tom & Jerry\'s'
    rendered = render_report(shop(hostile), DAY, daily_figures(ORDERS, CALLS))

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; Tom &amp; Jerry&#39;s" in rendered.html
    # Plain text is not HTML: the name reads as the shop wrote it
    assert hostile in rendered.text


def test_money_uses_the_shops_currency():
    assert format_money(Decimal("1234567.5"), "USD") == f"1{NBSP}234{NBSP}567.50{NBSP}USD"
    assert format_money(Decimal("0"), "UAH") == f"0.00{NBSP}UAH"
    assert format_money(Decimal("1500"), "JPY") == f"1{NBSP}500{NBSP}JPY"
    rendered = render_report(shop(currency="EUR"), DAY, daily_figures(ORDERS, CALLS))
    assert f"13{NBSP}000.00{NBSP}EUR" in rendered.text


def test_the_report_email_goes_from_the_shops_sender_to_its_recipients():
    queries = FakeQueries(ORDERS, CALLS)

    outgoing = build_daily_report(shop(), DAY, queries)

    assert queries.asked == [("quiet-garden", DAY)]
    assert outgoing.sender == "reports@example.com"
    assert outgoing.recipients == ("owner@example.com",)
    assert outgoing.subject == "Quiet Garden — daily report for 2014-03-29: 2/4 confirmed"


def parse(outgoing: OutgoingEmail) -> EmailMessage:
    """The message as a mail client receives it."""
    message = email.message_from_bytes(build_mime_message(outgoing).as_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


OUTGOING = OutgoingEmail(
    sender="reports@example.com",
    recipients=("owner@example.com", "manager@example.com"),
    subject="Тихий сад — daily report",
    text="Confirmed 2 of 4",
    html="<p>Confirmed <b>2</b> of 4</p>",
)


def test_mime_message_is_text_and_html_alternatives():
    message = parse(OUTGOING)

    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Тихий сад — daily report"
    assert message["To"] == "owner@example.com, manager@example.com"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    html = message.get_body(("html",))
    assert html is not None
    assert html.get_content() == "<p>Confirmed <b>2</b> of 4</p>\n"


def test_mime_message_has_room_for_inline_images_and_attachments():
    outgoing = replace(
        OUTGOING,
        html='<img src="cid:chart-1">',
        inline_images=(InlineImage("chart-1", b"\x89PNG fake"),),
        attachments=(Attachment("calls-2014-03-29.csv", b"time,number\n"),),
    )

    message = parse(outgoing)

    assert message.get_content_type() == "multipart/mixed"
    body, attachment = list(message.iter_parts())
    assert body.get_content_type() == "multipart/alternative"
    related = list(body.iter_parts())[1]
    assert related.get_content_type() == "multipart/related"
    html, image = list(related.iter_parts())
    assert html.get_content() == '<img src="cid:chart-1">\n'
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == "<chart-1>"
    assert attachment.get_filename() == "calls-2014-03-29.csv"
    assert attachment.get_content() == "time,number\n"


def test_a_line_break_in_the_subject_cannot_add_headers():
    outgoing = replace(OUTGOING, subject="Shop\r\nBcc: thief@example.com")

    message = parse(outgoing)

    assert message["Bcc"] is None
    assert message["Subject"] == "Shop Bcc: thief@example.com"
