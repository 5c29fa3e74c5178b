"""The report's charts (PNG that decodes, not blank, bars where the figures say) and its CSV call log."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain import call_log
from chalicelib.domain.call_log import COLUMNS, CallLogWriter
from chalicelib.domain.charts import (
    ANSWERED,
    BLUE,
    GRID,
    LOST,
    OTHER,
    WHITE,
    Canvas,
    calls_by_hour_png,
    decode_png,
    funnel_png,
    nice_ceiling,
    occupancy_png,
)
from chalicelib.domain.report import AgentStatusFact, CallFact, OrderFact, daily_figures
from chalicelib.services.reports import report_charts

AT = datetime(2025, 3, 29, 8, 0, tzinfo=UTC)
KYIV = ZoneInfo("Europe/Kyiv")


def column_colors(png: bytes, x: int) -> list[tuple[int, int, int]]:
    image = decode_png(png)
    return [image.pixel(x, y) for y in range(image.height)]


def test_canvas_png_round_trips():
    canvas = Canvas(4, 3)
    canvas.rect(1, 1, 3, 2, LOST)

    image = decode_png(canvas.png())

    assert (image.width, image.height) == (4, 3)
    assert image.pixel(0, 0) == WHITE
    assert image.pixel(1, 1) == image.pixel(2, 1) == LOST
    assert image.pixel(3, 1) == WHITE


def test_a_corrupted_png_is_refused():
    data = bytearray(Canvas(2, 2).png())
    data[-20] ^= 0xFF
    with pytest.raises(ValueError):
        decode_png(bytes(data))


def test_calls_by_hour_stacks_answered_lost_and_other():
    # GIVEN 10 answered, 5 lost, 5 other at 10:00 (the axis tops at 20)
    png = calls_by_hour_png([(10, 10, 5, 5)])
    image = decode_png(png)

    # THEN the bar has answered at the bottom, lost above it, other on top, in those proportions
    assert (image.width, image.height) == (600, 260)
    colors = image.colors()
    assert {ANSWERED, LOST, OTHER} <= colors
    slot = (588 - 44) // 13  # hours 08..20 shown
    x = 44 + 2 * slot + slot // 2  # the middle of the 10:00 bar
    column = column_colors(png, x)
    assert column.count(ANSWERED) == pytest.approx(column.count(LOST) * 2, abs=2)
    assert column.count(LOST) == pytest.approx(column.count(OTHER), abs=2)
    assert column.index(OTHER) < column.index(LOST) < column.index(ANSWERED)
    # an hour without calls has no bar
    assert ANSWERED not in column_colors(png, 44 + slot // 2)


def test_hours_outside_the_day_widen_the_chart():
    image = decode_png(calls_by_hour_png([(6, 1, 0, 0), (23, 0, 1, 0)]))

    assert ANSWERED in image.colors() and LOST in image.colors()


def test_funnel_bars_shrink_with_each_step():
    png = funnel_png([("Received", 10), ("Unique", 8), ("Reached", 5), ("Confirmed", 2)])
    image = decode_png(png)

    lengths = []
    for index in range(4):
        y = 44 + index * 30 + 10
        lengths.append(sum(1 for x in range(image.width) if image.pixel(x, y) == BLUE))
    assert lengths[0] > lengths[1] > lengths[2] > lengths[3] > 0
    assert lengths[1] == pytest.approx(lengths[0] * 0.8, abs=2)


def test_occupancy_is_drawn_against_100_percent():
    png = occupancy_png([("anna", 50)])
    image = decode_png(png)
    y = 44 + 10
    green = sum(1 for x in range(image.width) if image.pixel(x, y) == ANSWERED)
    grey = sum(1 for x in range(image.width) if image.pixel(x, y) == GRID)

    assert green == pytest.approx(grey, abs=2)


def test_nice_ceiling():
    assert [nice_ceiling(n) for n in (0, 1, 3, 7, 11, 20, 21, 499, 501)] == [1, 1, 5, 10, 20, 20, 50, 500, 1000]


def test_charts_come_from_the_figures_and_only_with_data():
    orders = [OrderFact("o1", "confirmed", Decimal(1), True, AT), OrderFact("o2", "duplicate", Decimal(1), False, AT)]
    calls = [CallFact("c1", "inbound", "completed", None, AT, AT, agent_id="anna")]
    statuses = [AgentStatusFact("anna", "busy", AT, "available")]

    figures = daily_figures(
        orders, calls, zone=KYIV, statuses=statuses, start=AT.replace(hour=0), end=AT.replace(hour=9)
    )
    charts = {chart.content_id: chart for chart in report_charts(figures)}

    assert set(charts) == {"calls-by-hour", "orders-funnel", "agent-occupancy"}
    assert charts["orders-funnel"].alt == "Orders funnel: 2 received, 1 unique, 1 reached, 1 confirmed"
    assert charts["agent-occupancy"].alt == "Agent occupancy: anna 11%"  # busy 1 h of 9 h logged in
    for chart in charts.values():
        assert len(decode_png(chart.png).colors()) > 3  # not blank
    assert report_charts(daily_figures(orders, [])) != ()
    assert [c.content_id for c in report_charts(daily_figures(orders, []))] == ["orders-funnel"]
    assert report_charts(daily_figures([], [])) == ()


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_call_log_has_every_order_and_call_with_masked_numbers():
    log = CallLogWriter("calls-and-orders-2025-03-29", KYIV)
    log.add_order(OrderFact("o1", "confirmed", Decimal("250.00"), True, AT, phone="+380671234567", order_number="A-1"))
    log.add_call(
        CallFact(
            "c1",
            "inbound",
            "completed",
            None,
            AT,
            AT,
            customer_phone="+380501112233",
            duration_seconds=95,
            agent_id="anna",
            recording_sid="RE0123456789abcdef",
        )
    )
    log.add_call(CallFact("c2", "inbound", "completed", None, AT, AT, customer_phone="+380501112244", abandoned=True))
    log.add_call(CallFact("c3", "outbound-robot", "completed", "machine_start", AT, AT, customer_phone="+380671234567"))

    attached = log.finish()

    assert attached is not None
    assert (attached.filename, attached.maintype, attached.subtype, attached.rows) == (
        "calls-and-orders-2025-03-29.csv",
        "text",
        "csv",
        4,
    )
    rows = rows_of(attached.data)
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0] | {} == {
        "time": "2025-03-29T10:00:00+02:00",
        "kind": "order",
        "number": "+380*******67",
        "direction": "",
        "duration_seconds": "",
        "result": "confirmed",
        "agent": "",
        "recording": "",
        "order_id": "o1",
        "order_number": "A-1",
        "total": "250.00",
    }
    assert rows[1]["result"] == "answered by agent" and rows[1]["agent"] == "anna"
    assert rows[1]["number"] == "+380*******33" and rows[1]["duration_seconds"] == "95"
    assert rows[1]["recording"].startswith("recorded RE…cdef; expiring link not available yet")
    assert "0123456789" not in attached.data.decode()
    assert rows[2]["result"] == "lost"
    assert rows[3]["result"] == "machine_start" and rows[3]["direction"] == "outbound-robot"


def test_a_big_log_is_gzipped_and_a_too_big_one_left_out(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(call_log, "PLAIN_LIMIT_BYTES", 1000)
    call = CallFact("c", "outbound-robot", "no-answer", None, None, AT, customer_phone="+380671234567")

    log = CallLogWriter("big", KYIV)
    for _ in range(100):
        log.add_call(call)
    attached = log.finish()

    assert attached is not None and attached.filename == "big.csv.gz" and attached.subtype == "gzip"
    assert len(rows_of(gzip.decompress(attached.data))) == 100

    monkeypatch.setattr(call_log, "ATTACHED_LIMIT_BYTES", 10)
    log = CallLogWriter("huge", KYIV)
    for _ in range(100):
        log.add_call(call)
    assert log.finish() is None
