"""The report's charts (PNG that decodes, not blank, bars where the figures say) and its CSV call log."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from chalicelib.domain import call_log
from chalicelib.domain.call_log import COLUMNS, CallLogWriter
from chalicelib.domain.charts import (
    ANSWERED,
    BLUE,
    GRID,
    LOST,
    OTHER,
    WHITE,
    axis_ticks,
    calls_by_hour_png,
    funnel_png,
    nice_ceiling,
    occupancy_png,
)
from chalicelib.domain.report.facts import AgentStatusFact, CallFact, OrderFact
from chalicelib.domain.report.tally import daily_figures
from chalicelib.services.reports.render import report_charts

AT = datetime(2014, 3, 29, 8, 0, tzinfo=UTC)
KYIV = ZoneInfo("Europe/Kyiv")
Color = tuple[int, int, int]


def opened(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()  # decodes every line: a truncated or corrupt image fails here
    assert image.mode == "RGB"
    return image


def rgb(value: object) -> Color:
    assert isinstance(value, tuple) and len(value) == 3
    r, g, b = value
    return (int(r), int(g), int(b))


def pixel(image: Image.Image, x: int, y: int) -> Color:
    return rgb(image.getpixel((x, y)))


def column_colors(image: Image.Image, x: int, top: int = 0, bottom: int | None = None) -> list[Color]:
    return [pixel(image, x, y) for y in range(top, image.height if bottom is None else bottom)]


def row_colors(image: Image.Image, y: int) -> list[Color]:
    return [pixel(image, x, y) for x in range(image.width)]


def color_counts(image: Image.Image, box: tuple[int, int, int, int] | None = None) -> dict[Color, int]:
    """How many pixels of each colour, in the whole image or in ``box`` (left, top, right, bottom)."""
    part = image.crop(box) if box else image
    return {rgb(color): count for count, color in part.getcolors(maxcolors=part.width * part.height) or []}


def inked(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Pixels in ``box`` that are not background (white) and not a bar's colour: text."""
    return sum(
        count
        for color, count in color_counts(image, box).items()
        if color not in {WHITE, GRID, ANSWERED, LOST, OTHER, BLUE}
    )


# The calls-by-hour plot area (see calls_by_hour_png): hours 08..20 by default.
LEFT, RIGHT, PLOT_TOP, PLOT_BOTTOM = 44, 588, 44, 226


def test_calls_by_hour_stacks_answered_lost_and_other():
    # GIVEN 10 answered, 5 lost, 5 other at 10:00 (the axis tops at 20)
    image = opened(calls_by_hour_png([(10, 10, 5, 5)]))

    # THEN a 600x260 RGB picture whose 10:00 bar has answered at the bottom, lost above it,
    # other on top, in those proportions
    assert image.size == (600, 260) and image.mode == "RGB"
    slot = (RIGHT - LEFT) // 13  # hours 08..20 shown
    x = LEFT + 2 * slot + slot // 2  # the middle of the 10:00 bar
    column = column_colors(image, x, PLOT_TOP, PLOT_BOTTOM)
    assert column.count(ANSWERED) == pytest.approx(column.count(LOST) * 2, abs=2)
    assert column.count(LOST) == pytest.approx(column.count(OTHER), abs=2)
    assert column.count(ANSWERED) + column.count(LOST) + column.count(OTHER) == pytest.approx(
        PLOT_BOTTOM - PLOT_TOP, abs=2
    )  # 20 of 20: the bar reaches the axis top
    assert column.index(OTHER) < column.index(LOST) < column.index(ANSWERED)
    # over the whole plot, the colours' areas follow the counts
    plot = color_counts(image, (LEFT, PLOT_TOP, RIGHT, PLOT_BOTTOM))
    assert plot[ANSWERED] == pytest.approx(2 * plot[LOST], rel=0.05)
    assert plot[LOST] == pytest.approx(plot[OTHER], rel=0.05)
    # an hour without calls has no bar
    assert ANSWERED not in column_colors(image, LEFT + slot // 2, PLOT_TOP, PLOT_BOTTOM)


def test_calls_by_hour_draws_title_legend_and_axis_labels():
    image = opened(calls_by_hour_png([(10, 3, 1, 0)]))

    assert inked(image, (12, 8, 250, 30)) > 100  # the title
    legend = color_counts(image, (300, 10, 600, 30))
    assert all(legend.get(color, 0) >= 81 for color in (ANSWERED, LOST, OTHER))  # 9x9 swatches
    assert inked(image, (313, 10, 600, 30)) > 100  # their labels
    assert inked(image, (0, PLOT_TOP - 8, LEFT - 4, PLOT_BOTTOM + 8)) > 50  # the counts on the y axis
    assert inked(image, (LEFT, PLOT_BOTTOM + 4, RIGHT, 260)) > 100  # the hours under the bars
    assert inked(image, (LEFT + 1, PLOT_TOP + 2, RIGHT, PLOT_BOTTOM - 2)) == 0  # no text in the plot


def test_hours_outside_the_day_widen_the_chart():
    plot = color_counts(opened(calls_by_hour_png([(6, 1, 0, 0), (23, 0, 1, 0)])), (LEFT, PLOT_TOP, RIGHT, PLOT_BOTTOM))

    assert plot.get(ANSWERED, 0) > 0 and plot.get(LOST, 0) > 0
    assert plot[ANSWERED] == pytest.approx(plot[LOST], rel=0.05)  # one call each


def test_a_day_without_calls_still_gives_a_valid_chart():
    image = opened(calls_by_hour_png([]))

    assert image.size == (600, 260)
    plot = color_counts(image, (LEFT, PLOT_TOP, RIGHT, PLOT_BOTTOM))
    assert not {ANSWERED, LOST, OTHER} & set(plot)  # no bars, only the grid


def test_funnel_bars_shrink_with_each_step():
    image = opened(funnel_png([("Received", 10), ("Unique", 8), ("Reached", 5), ("Confirmed", 2)]))

    assert image.size == (600, 44 + 4 * 30 + 8) and image.mode == "RGB"
    lengths = [row_colors(image, 44 + index * 30 + 10).count(BLUE) for index in range(4)]
    assert lengths[0] > lengths[1] > lengths[2] > lengths[3] > 0
    assert lengths[1] == pytest.approx(lengths[0] * 0.8, abs=2)
    assert lengths[3] == pytest.approx(lengths[0] * 0.2, abs=2)
    for index in range(4):
        y = 44 + index * 30
        assert inked(image, (0, y, 80, y + 26)) > 30  # the step's name
        assert inked(image, (530, y, 600, y + 26)) > 10  # its count
    assert inked(image, (12, 8, 200, 32)) > 100  # the title


def test_an_empty_funnel_is_a_small_valid_chart():
    image = opened(funnel_png([]))

    assert image.size == (600, 82) and BLUE not in color_counts(image)


def test_occupancy_is_drawn_against_100_percent():
    image = opened(occupancy_png([("anna", 50), ("bohdan", 25)]))

    first, second = row_colors(image, 44 + 10), row_colors(image, 44 + 30 + 10)
    assert first.count(ANSWERED) == pytest.approx(first.count(GRID), abs=2)
    assert second.count(ANSWERED) == pytest.approx(first.count(ANSWERED) / 2, abs=2)
    assert inked(image, (530, 44, 600, 70)) > 10  # "50%"


def test_nice_ceiling():
    assert [nice_ceiling(n) for n in (0, 1, 3, 7, 11, 20, 21, 499, 501)] == [1, 1, 5, 10, 20, 20, 50, 500, 1000]


def test_the_calls_axis_is_labelled_in_whole_calls_without_repeats():
    assert axis_ticks(1) == [0, 1]
    assert axis_ticks(2) == [0, 1, 2]  # drawn as 0, 0, 1, 1, 2 before
    assert axis_ticks(5) == [0, 1, 2, 3, 4, 5]
    assert axis_ticks(10) == [0, 2, 4, 6, 8, 10]
    assert axis_ticks(20) == [0, 5, 10, 15, 20]
    assert axis_ticks(500) == [0, 125, 250, 375, 500]


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
        image = opened(chart.png)
        assert image.width == chart.width and len(color_counts(image)) > 3  # not blank
    assert report_charts(daily_figures(orders, [])) != ()
    assert [c.content_id for c in report_charts(daily_figures(orders, []))] == ["orders-funnel"]
    assert report_charts(daily_figures([], [])) == ()


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_call_log_has_every_order_and_call_with_masked_numbers():
    log = CallLogWriter("calls-and-orders-2014-03-29", KYIV)
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
        "calls-and-orders-2014-03-29.csv",
        "text",
        "csv",
        4,
    )
    rows = rows_of(attached.data)
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0] | {} == {
        "time": "2014-03-29T10:00:00+02:00",
        "kind": "order",
        "number": "'+380*******67",  # read as text, not as the formula "+380..."
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
    assert rows[1]["number"] == "'+380*******33" and rows[1]["duration_seconds"] == "95"
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


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets evaluate (OWASP, CSV injection)
# Text a shop's system or an agent's id may carry, weighted towards formula starts.
CELL_TEXT = st.one_of(
    st.text(max_size=30),
    st.builds(lambda start, rest: start + rest, st.sampled_from(FORMULA_STARTS), st.text(max_size=30)),
)


@settings(max_examples=300, deadline=None)
@given(order_number=CELL_TEXT, agent=CELL_TEXT, total=st.decimals(min_value=-(10**6), max_value=10**6, places=2))
def test_no_call_log_cell_opens_as_a_formula_and_each_reads_back_as_written(
    order_number: str, agent: str, total: Decimal
) -> None:
    log = CallLogWriter("calls", KYIV)
    log.add_order(OrderFact("o1", "confirmed", total, True, AT, phone="+380671234567", order_number=order_number))
    log.add_call(CallFact("c1", "inbound", "completed", None, AT, AT, customer_phone="+380501112233", agent_id=agent))
    attached = log.finish()
    assert attached is not None
    order, call = rows_of(attached.data)
    for cell in [*order.values(), *call.values()]:
        # nothing a spreadsheet evaluates: text behind an apostrophe, or a plain number such as -5
        assert not cell.startswith(FORMULA_STARTS) or cell.lstrip("-").replace(".", "", 1).isdigit(), cell
    assert order["order_number"] in (order_number, "'" + order_number)
    assert order["total"] == str(total)  # amounts, negative ones too, stay numbers
    assert call["agent"] in (agent, "'" + agent)
    assert (order["number"], call["number"]) == ("'+380*******67", "'+380*******33")
