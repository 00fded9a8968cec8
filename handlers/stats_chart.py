"""The /stats chart: one stacked bar per interview stage, a colour per outcome, drawn by Pillow.

Names are drawn only with a font that can write them. Japanese needs a CJK font, and a
machine may have none (the slim Docker image has none): then each bar is labelled with its
number, and the reply's text, which always lists the stages by number and names the colours,
carries the legend. Latin-only labels (English) are always drawn, with Pillow's own font.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 800, 500
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 60, 30, 70, 70
BACKGROUND = (255, 255, 255)
INK = (40, 40, 40)
GRID = (225, 225, 225)
# Fonts that can write Japanese, where common systems keep them; the first found is used.
JAPANESE_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/truetype/takao-gothic/TakaoPGothic.ttf",
    "/usr/share/fonts/truetype/vlgothic/VL-PGothic-Regular.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


@dataclass(frozen=True, slots=True)
class Segment:
    """One outcome's share of a bar: its name, its colour and how many interviews."""

    name: str
    colour: tuple[int, int, int]
    count: int


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    segments: tuple[Segment, ...]

    @property
    def total(self) -> int:
        return sum(s.count for s in self.segments)


@functools.cache
def japanese_font() -> Path | None:
    """A font file that writes Japanese, if this machine has one."""
    return next((Path(p) for p in JAPANESE_FONTS if Path(p).is_file()), None)


def _writable_without_cjk(texts: Sequence[str]) -> bool:
    return all(ord(c) < 0x250 for text in texts for c in text)


def _names_drawn(texts: Sequence[str]) -> bool:
    return japanese_font() is not None or _writable_without_cjk(texts)


def _font(size: int, cjk: bool) -> Any:
    from PIL import ImageFont

    path = japanese_font()
    if cjk and path is not None:
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def render_png(bars: Sequence[Bar], title: str) -> tuple[bytes, bool]:
    """The chart as PNG bytes, and whether it names its bars (else they carry numbers)."""
    # Imported here: Pillow costs start-up time, and only /stats draws.
    from PIL import Image, ImageDraw

    legend = list(bars[0].segments) if bars else []
    texts = [title, *(b.label for b in bars), *(s.name for s in legend)]
    with_names = _names_drawn(texts)
    cjk = not _writable_without_cjk(texts)
    font, small = _font(22, cjk), _font(16, cjk)

    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    if with_names:
        draw.text((MARGIN_LEFT, 18), title, fill=INK, font=font)
    top = max([b.total for b in bars] + [1])
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    base_y = MARGIN_TOP + plot_h
    # Whole-number grid lines: interviews are counted, never halved.
    step = max(1, -(-top // 5))
    for value in range(0, top + 1, step):
        y = base_y - plot_h * value / top
        draw.line([(MARGIN_LEFT, y), (WIDTH - MARGIN_RIGHT, y)], fill=GRID, width=1)
        draw.text((MARGIN_LEFT - 10, y), str(value), fill=INK, font=small, anchor="rm")
    slot = plot_w / max(len(bars), 1)
    bar_w = slot * 0.6
    for index, bar in enumerate(bars):
        x0 = MARGIN_LEFT + slot * index + (slot - bar_w) / 2
        y = float(base_y)
        for segment in bar.segments:
            if segment.count == 0:
                continue
            height = plot_h * segment.count / top
            draw.rectangle([x0, y - height, x0 + bar_w, y], fill=segment.colour)
            if height >= 18:
                draw.text(
                    (x0 + bar_w / 2, y - height / 2),
                    str(segment.count),
                    fill=BACKGROUND,
                    font=small,
                    anchor="mm",
                )
            y -= height
        label = bar.label if with_names else str(index + 1)
        draw.text((x0 + bar_w / 2, base_y + 12), label, fill=INK, font=small, anchor="mt")
    if with_names:
        x = MARGIN_LEFT
        for segment in legend:
            draw.rectangle([x, HEIGHT - 28, x + 14, HEIGHT - 14], fill=segment.colour)
            draw.text((x + 20, HEIGHT - 21), segment.name, fill=INK, font=small, anchor="lm")
            x += 30 + int(draw.textlength(segment.name, font=small))
    else:
        # The colours alone, in the order the reply's text names them.
        x = MARGIN_LEFT
        for segment in legend:
            draw.rectangle([x, HEIGHT - 28, x + 14, HEIGHT - 14], fill=segment.colour)
            x += 30
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue(), with_names
