"""The report's charts as small PNG images, drawn with Pillow.

Three charts: inbound calls by hour (answered / lost / other stacked), the orders funnel
(received -> unique -> reached -> confirmed) and agent occupancy. Filled rectangles and text in
Pillow's bundled default font on an RGB canvas: nothing but the report's figures in, PNG bytes
out, no I/O. Pillow is imported inside the functions that draw, so only the report's code path
loads it, never a voice webhook's cold start.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
INK: Color = (31, 41, 51)
MUTED: Color = (82, 96, 109)
GRID: Color = (221, 225, 230)
ANSWERED: Color = (46, 158, 91)
LOST: Color = (214, 69, 69)
OTHER: Color = (184, 194, 204)
BLUE: Color = (47, 111, 222)

WIDTH = 600
TITLE_SIZE, LABEL_SIZE = 16, 11


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont  # cold start: Pillow only for the report charts

    return ImageFont.load_default(size=size)


def _canvas(height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    from PIL import Image, ImageDraw  # cold start: Pillow only for the report charts

    image = Image.new("RGB", (WIDTH, height), WHITE)
    return image, ImageDraw.Draw(image)


def _rect(draw: ImageDraw.ImageDraw, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
    """Fill [x0, x1) x [y0, y1); nothing if empty."""
    if x0 < x1 and y0 < y1:
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=color)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _title(draw: ImageDraw.ImageDraw, title: str) -> None:
    draw.text((12, 10), title, fill=INK, font=_font(TITLE_SIZE), anchor="la")


def nice_ceiling(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten at or above ``value`` (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def axis_ticks(top: int) -> list[int]:
    """Whole-number gridlines from 0 to ``top`` (a ``nice_ceiling``): calls come in units, so an
    axis up to 2 reads 0, 1, 2 and never 0, 0, 1, 1, 2."""
    parts = next(count for count in (4, 5, 2, 1) if top % count == 0)
    return [top * step // parts for step in range(parts + 1)]


def _legend(draw: ImageDraw.ImageDraw, x: int, y: int, items: Sequence[tuple[str, Color]]) -> None:
    font = _font(LABEL_SIZE)
    for label, color in items:
        _rect(draw, x, y, x + 9, y + 9, color)
        draw.text((x + 13, y + 5), label, fill=MUTED, font=font, anchor="lm")
        x += 13 + round(draw.textlength(label, font=font)) + 14


def calls_by_hour_png(hours: Sequence[tuple[int, int, int, int]], *, title: str = "Inbound calls by hour") -> bytes:
    """Stacked bars per local hour: (hour, answered, lost, other). Hours 08-20 are always
    shown, widened to any hour with calls."""
    by_hour = {hour: (answered, lost, other) for hour, answered, lost, other in hours}
    busy = [hour for hour, counts in by_hour.items() if sum(counts)]
    first, last = min([8, *busy]), max([20, *busy])
    shown = list(range(first, last + 1))
    top = nice_ceiling(max([sum(by_hour.get(hour, (0, 0, 0))) for hour in shown] + [1]))
    left, right, plot_top, plot_bottom = 44, WIDTH - 12, 44, 226
    image, draw = _canvas(260)
    font = _font(LABEL_SIZE)
    _title(draw, title)
    _legend(draw, 300, 14, (("Answered", ANSWERED), ("Lost", LOST), ("Other", OTHER)))
    plot_height = plot_bottom - plot_top
    for tick in axis_ticks(top):
        y = plot_bottom - plot_height * tick // top
        _rect(draw, left, y, right, y + 1, GRID)
        draw.text((left - 6, y), str(tick), fill=MUTED, font=font, anchor="rm")
    slot = (right - left) // len(shown)
    bar = max(4, slot * 2 // 3)
    for index, hour in enumerate(shown):
        x = left + index * slot + (slot - bar) // 2
        y = plot_bottom
        for count, color in zip(by_hour.get(hour, (0, 0, 0)), (ANSWERED, LOST, OTHER), strict=True):
            if count:
                size = max(1, round(plot_height * count / top))
                _rect(draw, x, y - size, x + bar, y, color)
                y -= size
        if len(shown) <= 16 or hour % 2 == 0:
            draw.text((x + bar // 2, plot_bottom + 6), f"{hour:02d}", fill=MUTED, font=font, anchor="mt")
    _rect(draw, left, plot_bottom, right, plot_bottom + 1, INK)
    return _png(image)


def horizontal_bars_png(
    title: str, bars: Sequence[tuple[str, int]], *, whole: int | None = None, suffix: str = "", color: Color = BLUE
) -> bytes:
    """Labelled horizontal bars, longest = ``whole`` (default: the largest value)."""
    font = _font(LABEL_SIZE)
    label_width = max([round(font.getlength(label)) for label, _ in bars] + [40]) + 16
    row_height = 30
    image, draw = _canvas(44 + row_height * max(1, len(bars)) + 8)
    _title(draw, title)
    scale_to = max(1, whole if whole is not None else max([value for _, value in bars] + [1]))
    left, right = 12 + min(label_width, WIDTH // 2), WIDTH - 70
    for index, (label, value) in enumerate(bars):
        y = 44 + index * row_height
        middle = y + (row_height - 4) // 2
        draw.text((12, middle), label, fill=INK, font=font, anchor="lm")
        _rect(draw, left, y + 2, right, y + row_height - 6, GRID)
        length = round((right - left) * min(value, scale_to) / scale_to)
        if value > 0:
            _rect(draw, left, y + 2, left + max(1, length), y + row_height - 6, color)
        draw.text((right + 8, middle), f"{value}{suffix}", fill=INK, font=font, anchor="lm")
    return _png(image)


def funnel_png(steps: Sequence[tuple[str, int]]) -> bytes:
    """Orders received -> unique -> reached -> confirmed."""
    return horizontal_bars_png("Orders funnel", steps)


def occupancy_png(agents: Sequence[tuple[str, int]]) -> bytes:
    """Per agent: percent of logged-in time busy or in wrap-up."""
    return horizontal_bars_png("Agent occupancy", agents, whole=100, suffix="%", color=ANSWERED)
