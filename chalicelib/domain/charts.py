"""The report's charts as small PNG images, drawn with the standard library alone.

Three charts: inbound calls by hour (answered / lost / other stacked), the orders funnel
(received -> unique -> reached -> confirmed) and agent occupancy. Bars and a 5x7 bitmap font
on an RGB canvas, encoded with ``zlib``: no imaging library in the Lambda package (size, cold
start), nothing but the report's figures in, deterministic bytes out. ``decode_png`` reads
back what ``Canvas.png`` writes (tests, and checks that a chart is not blank).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
INK: Color = (31, 41, 51)
MUTED: Color = (82, 96, 109)
GRID: Color = (221, 225, 230)
ANSWERED: Color = (46, 158, 91)
LOST: Color = (214, 69, 69)
OTHER: Color = (184, 194, 204)
BLUE: Color = (47, 111, 222)

GLYPH_WIDTH, GLYPH_HEIGHT = 5, 7
_FONT_ROWS = {
    "0": "01110 10001 10011 10101 11001 10001 01110",
    "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111",
    "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010",
    "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110",
    "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110",
    "9": "01110 10001 10001 01111 00001 00010 01100",
    "A": "01110 10001 10001 11111 10001 10001 10001",
    "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110",
    "D": "11100 10010 10001 10001 10001 10010 11100",
    "E": "11111 10000 10000 11110 10000 10000 11111",
    "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111",
    "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110",
    "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001",
    "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001",
    "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110",
    "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101",
    "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110",
    "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110",
    "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010",
    "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 10001 01010 00100 00100 00100",
    "Z": "11111 00001 00010 00100 01000 10000 11111",
    " ": "00000 00000 00000 00000 00000 00000 00000",
    "-": "00000 00000 00000 11111 00000 00000 00000",
    ":": "00000 01100 01100 00000 01100 01100 00000",
    ".": "00000 00000 00000 00000 00000 01100 01100",
    ",": "00000 00000 00000 00000 01100 00100 01000",
    "%": "11000 11001 00010 00100 01000 10011 00011",
    "/": "00000 00001 00010 00100 01000 10000 00000",
    "(": "00010 00100 01000 01000 01000 00100 00010",
    ")": "01000 00100 00010 00010 00010 00100 01000",
    ">": "01000 00100 00010 00001 00010 00100 01000",
    "+": "00000 00100 00100 11111 00100 00100 00000",
    "_": "00000 00000 00000 00000 00000 00000 11111",
    "?": "01110 10001 00001 00010 00100 00000 00100",
}
FONT: dict[str, tuple[str, ...]] = {char: tuple(rows.split()) for char, rows in _FONT_ROWS.items()}


class Canvas:
    """An RGB picture: filled rectangles and bitmap text, written out as PNG."""

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        self.width, self.height = width, height
        self.rows = [bytearray(bytes(background) * width) for _ in range(height)]

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Fill [x0, x1) x [y0, y1), clipped to the canvas."""
        x0, x1 = max(0, x0), min(self.width, x1)
        y0, y1 = max(0, y0), min(self.height, y1)
        if x0 >= x1 or y0 >= y1:
            return
        run = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            self.rows[y][x0 * 3 : x1 * 3] = run

    def text(self, x: int, y: int, text: str, color: Color = INK, scale: int = 1) -> int:
        """Draw ``text`` (upper-cased; unknown characters as '?') with its top left at (x, y);
        return the x just past it."""
        for char in text.upper():
            glyph = FONT.get(char, FONT["?"])
            for row, bits in enumerate(glyph):
                for column, bit in enumerate(bits):
                    if bit == "1":
                        px, py = x + column * scale, y + row * scale
                        self.rect(px, py, px + scale, py + scale, color)
            x += (GLYPH_WIDTH + 1) * scale
        return x

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.rows)  # filter 0 (None) on every line
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def text_width(text: str, scale: int = 1) -> int:
    return len(text) * (GLYPH_WIDTH + 1) * scale - scale if text else 0


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class DecodedPng:
    width: int
    height: int
    pixels: list[bytes]  # one row of RGB bytes per line

    def pixel(self, x: int, y: int) -> Color:
        row = self.pixels[y]
        return (row[x * 3], row[x * 3 + 1], row[x * 3 + 2])

    def colors(self) -> set[Color]:
        found: set[Color] = set()
        for row in self.pixels:
            found.update(zip(row[0::3], row[1::3], row[2::3], strict=True))
        return found


def decode_png(data: bytes) -> DecodedPng:
    """Read an 8-bit RGB PNG whose lines use filter 0 (as ``Canvas.png`` writes), checking CRCs."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG")
    position, idat, width, height = 8, b"", 0, 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        if kind == b"IHDR":
            width, height, depth, color_type = struct.unpack(">IIBB", body[:10])
            if (depth, color_type) != (8, 2):
                raise ValueError("only 8-bit RGB is read")
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    if len(raw) != stride * height:
        raise ValueError("truncated image data")
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        if line[0] != 0:
            raise ValueError("only filter 0 is read")
        rows.append(line[1:])
    return DecodedPng(width, height, rows)


# ----------------------------------------------------------------------------- the charts


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


def _legend(canvas: Canvas, x: int, y: int, items: Sequence[tuple[str, Color]]) -> None:
    for label, color in items:
        canvas.rect(x, y, x + 9, y + 9, color)
        x = canvas.text(x + 13, y + 1, label, MUTED) + 14


def calls_by_hour_png(hours: Sequence[tuple[int, int, int, int]], *, title: str = "Inbound calls by hour") -> bytes:
    """Stacked bars per local hour: (hour, answered, lost, other). Hours 08-20 are always
    shown, widened to any hour with calls."""
    by_hour = {hour: (answered, lost, other) for hour, answered, lost, other in hours}
    busy = [hour for hour, counts in by_hour.items() if sum(counts)]
    first, last = min([8, *busy]), max([20, *busy])
    shown = list(range(first, last + 1))
    top = nice_ceiling(max([sum(by_hour.get(hour, (0, 0, 0))) for hour in shown] + [1]))
    width, height = 600, 260
    left, right, plot_top, plot_bottom = 44, 588, 44, 226
    canvas = Canvas(width, height)
    canvas.text(12, 10, title, INK, scale=2)
    _legend(canvas, 300, 14, (("Answered", ANSWERED), ("Lost", LOST), ("Other", OTHER)))
    plot_height = plot_bottom - plot_top
    for step in range(5):
        value = top * step // 4
        y = plot_bottom - plot_height * step // 4
        canvas.rect(left, y, right, y + 1, GRID)
        label = str(value)
        canvas.text(left - 6 - text_width(label), y - 3, label, MUTED)
    slot = (right - left) // len(shown)
    bar = max(4, slot * 2 // 3)
    for index, hour in enumerate(shown):
        x = left + index * slot + (slot - bar) // 2
        y = plot_bottom
        for count, color in zip(by_hour.get(hour, (0, 0, 0)), (ANSWERED, LOST, OTHER), strict=True):
            if count:
                size = max(1, round(plot_height * count / top))
                canvas.rect(x, y - size, x + bar, y, color)
                y -= size
        if len(shown) <= 16 or hour % 2 == 0:
            label = f"{hour:02d}"
            canvas.text(x + (bar - text_width(label)) // 2, plot_bottom + 6, label, MUTED)
    canvas.rect(left, plot_bottom, right, plot_bottom + 1, INK)
    return canvas.png()


def horizontal_bars_png(
    title: str, bars: Sequence[tuple[str, int]], *, whole: int | None = None, suffix: str = "", color: Color = BLUE
) -> bytes:
    """Labelled horizontal bars, longest = ``whole`` (default: the largest value)."""
    label_width = max([text_width(label) for label, _ in bars] + [40]) + 16
    width, row_height = 600, 30
    height = 44 + row_height * max(1, len(bars)) + 8
    canvas = Canvas(width, height)
    canvas.text(12, 10, title, INK, scale=2)
    scale_to = whole if whole is not None else max([value for _, value in bars] + [1])
    scale_to = max(1, scale_to)
    left, right = 12 + label_width, width - 70
    for index, (label, value) in enumerate(bars):
        y = 44 + index * row_height
        canvas.text(12, y + 8, label, INK)
        canvas.rect(left, y + 2, right, y + row_height - 6, GRID)
        length = round((right - left) * min(value, scale_to) / scale_to)
        if value > 0:
            canvas.rect(left, y + 2, left + max(1, length), y + row_height - 6, color)
        canvas.text(right + 8, y + 8, f"{value}{suffix}", INK)
    return canvas.png()


def funnel_png(steps: Sequence[tuple[str, int]]) -> bytes:
    """Orders received -> unique -> reached -> confirmed."""
    return horizontal_bars_png("Orders funnel", steps)


def occupancy_png(agents: Sequence[tuple[str, int]]) -> bytes:
    """Per agent: percent of logged-in time busy or in wrap-up."""
    return horizontal_bars_png("Agent occupancy", agents, whole=100, suffix="%", color=ANSWERED)
