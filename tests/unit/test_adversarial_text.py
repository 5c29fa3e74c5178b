"""Text from outside (shop and customer names, order numbers, addresses, comments, SMS bodies)
never breaks the TwiML the app answers with nor the report's HTML: the output is parsed and
the text read back as it was written."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.twiml.messaging_response import MessagingResponse

from chalicelib.domain.entities import Order
from chalicelib.domain.report.facts import CallFact, OrderFact
from chalicelib.domain.report.figures import DailyFigures
from chalicelib.domain.report.tally import daily_figures
from chalicelib.domain.shop import ReportPolicy, ShopSettings
from chalicelib.services.reports.render import render_report
from chalicelib.voice import inbound_twiml as tw
from chalicelib.voice import twiml as render
from chalicelib.voice.catalog import load_catalog

HOSTILE = [
    '<script>alert("x")</script>',
    'Tom & Jerry\'s "Shop"',
    "]]><![CDATA[ &amp; &lt;",
    "\u202eمتجر الزهور\u202c",
    "Квітка 🌷🌸 ‍👩‍👩‍👧",
    "a\tb\nc",
]
AT = datetime(2015, 3, 2, 9, 0, tzinfo=UTC)
# Text that can stand in XML 1.0 (TwiML): no surrogates, no C0 controls but tab/newline/CR.
XML_TEXT = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters=[chr(c) for c in range(32) if c not in (9, 10)]),
    min_size=1,
    max_size=80,
)


def order(number: str, address: str = "", name: str = "", comment: str = "") -> Order:
    return Order(
        shop_id="s",
        order_id="o1",
        phone="+380671234567",
        phone_valid=True,
        total=Decimal("12.50"),
        currency="UAH",
        received_at=AT,
        day="2015-03-02",
        order_number=number,
        customer_name=name,
        payload={"delivery": {"address": address}, "comment": comment},
        status="queued",
    )


def said(document: str) -> str:
    root = ET.fromstring(document)
    assert root.tag == "Response"
    return " ".join(node.text or "" for node in root.iter("Say"))


def check_robot(text: str) -> None:
    catalog = load_catalog("en")
    document = render.robot_conversation(
        catalog, text, [order(text, address=text, name=text, comment=text)], "https://x/k", "https://x/a", greet=True
    )
    words = said(document)
    assert f"This is {text}." in words
    assert f"order number {text} for 12.50" in words
    assert f"Delivery address: {text}." in words
    assert text in said(render.robot_last_chance(catalog, [order(text, address=text)], "https://x/k"))


def check_inbound(text: str) -> None:
    catalog = load_catalog("en")
    lines: list[tuple[str, dict[str, object]]] = [
        ("inbound_orders_one", {"order_number": text, "total": "12", "currency": "UAH", "status": "queued"})
    ]
    assert f"Your order {text} for 12" in said(
        tw.orders_menu(catalog, lines, "https://x/o", "https://x/o", choose=False)
    )
    many = [("inbound_order_choice", {"order_number": text, "digit": 1})]
    assert text in said(tw.orders_menu(catalog, many, "https://x/o", "https://x/o", choose=True))
    assert text in said(tw.whisper(catalog, "https://x/w", text, text))
    assert text in said(tw.after_hours(catalog, text, "https://x/h", "https://x/h", greet=True))
    assert text in said(tw.language_menu(text, ["uk", "en"], "https://x/l", "https://x/l", greet=True))


def check_sms(text: str) -> None:
    reply = MessagingResponse()
    reply.message(load_catalog("en").sms_text("agent_status_set", shop_name=text, status="ready"))
    root = ET.fromstring(str(reply))
    assert text in "".join(root.itertext())


def test_hostile_text_is_read_back_verbatim_in_the_robot_call() -> None:
    for text in HOSTILE:
        check_robot(text)


def test_hostile_text_is_read_back_verbatim_in_inbound_self_service() -> None:
    for text in HOSTILE:
        check_inbound(text)


def test_hostile_text_in_an_sms_reply_is_escaped() -> None:
    for text in HOSTILE:
        check_sms(text)


@settings(max_examples=60, deadline=None)
@given(text=XML_TEXT)
def test_any_text_round_trips_through_twiml(text: str) -> None:
    text = text.replace("\r", "")  # XML parsers normalise CR; Twilio's would too
    check_robot(text)
    check_inbound(text)
    check_sms(text)


def test_control_characters_in_customer_text_do_not_break_twiml() -> None:
    # A stray control character (pasted from a spreadsheet) must not make the TwiML unparseable.
    text = "Main st.\x0b 5\x00\x1b"
    document = render.robot_conversation(
        load_catalog("en"), "Shop\x07", [order("A\x01-1", address=text)], "https://x/k", "https://x/a", greet=True
    )
    words = said(document)
    assert "A-1" in words and "Main st. 5" in words


# ---- the report's HTML -----------------------------------------------------------------------
class _Text(HTMLParser):
    """The text a mail client shows, and every tag it would build."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def parsed(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser


def test_a_hostile_shop_name_round_trips_through_the_report_html() -> None:
    plain = parsed(render_report(shop("Plain"), date(2015, 3, 2), figures()).html)
    for name in HOSTILE:
        rendered = render_report(shop(name), date(2015, 3, 2), figures())
        page = parsed(rendered.html)
        assert page.tags == plain.tags, name  # the name added no element (no <script>, no <b>)
        assert name in "".join(page.chunks), name
        assert name in rendered.text  # the text part is the name as written
        assert " ".join(name.split()) in rendered.subject  # one header line: white space folded


@settings(max_examples=40, deadline=None)
@given(name=st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=60))
def test_any_shop_name_adds_no_element_to_the_report_html(name: str) -> None:
    page = parsed(render_report(shop(name), date(2015, 3, 2), figures()).html)
    assert "script" not in page.tags
    assert name.replace("\r", "\n") in "".join(page.chunks).replace("\r", "\n")


def shop(name: str) -> ShopSettings:
    return ShopSettings(
        shop_id="hostile-shop",
        name=name,
        currency="UAH",
        report=ReportPolicy(hour=8, recipients=["owner@example.com"], sender="reports@example.com"),
    )


def figures() -> DailyFigures:
    orders = [
        OrderFact("o1", "confirmed", Decimal("10"), True, AT),
        OrderFact("o2", "cancelled", Decimal("5"), True, AT),
    ]
    return daily_figures(orders, [CallFact("c1", "outbound-robot", "completed", "human", AT, AT)])
