"""The report's charts, drawn directly as inline SVG whose Japanese text stays text.

The charts are simple (columns, a line, bars against a target line), so they
are written as SVG elements here rather than through a plotting library:
labels are ``<text>`` in the reader's own Japanese font (no font is bundled
or fetched), every label is escaped, the same figures give the same bytes,
and drawing all four takes milliseconds. Sizes are in CSS pixels; the charts
scale to the page width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

FONT = "'Noto Sans CJK JP','Yu Gothic',YuGothic,Meiryo,'Hiragino Sans',sans-serif"
MAIN, LIGHT, ACCENT, GRID, INK = "#1f5fa8", "#9dbbe0", "#d9822b", "#dddddd", "#333333"
SCALE_COLOURS = (MAIN, LIGHT, "#cccccc", "#f0b27a", ACCENT)


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 up to at least ``top`` (1, 2 or 5 times a power of ten apart)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


class Canvas:
    """An SVG drawing: elements are appended in order, text is always escaped."""

    def __init__(self, width: int, height: int, title: str) -> None:
        self.width, self.height = width, height
        self.parts = [f"<title>{escape(title)}</title>"]

    def text(
        self,
        x: float,
        y: float,
        value: str,
        *,
        size: int = 11,
        anchor: str = "start",
        colour: str = INK,
        weight: str = "normal",
    ) -> None:
        """Text at (x, y); ``anchor`` is start, middle or end."""
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{colour}" font-weight="{weight}">{escape(value)}</text>'
        )

    def rect(self, x: float, y: float, w: float, h: float, colour: str) -> None:
        """A filled rectangle (zero-size ones are skipped)."""
        if w > 0 and h > 0:
            self.parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colour}"/>'
            )

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        colour: str = GRID,
        *,
        width: float = 1,
        dashed: bool = False,
    ) -> None:
        """A straight line."""
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        self.parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
            f'stroke-width="{width}"{dash}/>'
        )

    def polyline(self, points: Sequence[tuple[float, float]], colour: str) -> None:
        """A line through points, with a dot on each."""
        joined = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        self.parts.append(
            f'<polyline points="{joined}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        self.parts += [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points
        ]

    def svg(self) -> str:
        """The finished element, sized to scale with the page."""
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'width="{self.width}" height="{self.height}" font-family="{escape(FONT)}" role="img">'
            + "".join(self.parts)
            + "</svg>"
        )


def _value_axis(
    c: Canvas, left: float, top: float, bottom: float, right: float, ticks: list[float], unit: str
) -> None:
    """Horizontal grid lines with their values, for a column chart."""
    for tick in ticks:
        y = bottom - (bottom - top) * tick / ticks[-1]
        c.line(left, y, right, y)
        c.text(
            left - 6,
            y + 4,
            f"{tick:,.0f}" if tick == int(tick) else f"{tick:,.1f}",
            size=10,
            anchor="end",
        )
    c.text(left - 6, top - 10, unit, size=10, anchor="end")


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, ylabel: str, fmt: str = "{:,.1f}"
) -> str:
    """Columns with their values (e.g. hours saved per month)."""
    c = Canvas(680, 260, title)
    left, right, top, bottom = 56, 670, 40, 225
    c.text(left, 18, title, size=13, weight="bold")
    ticks = nice_ticks(max([*values, 0.0]))
    _value_axis(c, left, top, bottom, right, ticks, ylabel)
    slot = (right - left) / max(len(values), 1)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = (bottom - top) * value / ticks[-1]
        x = left + i * slot + slot * 0.15
        c.rect(x, bottom - h, slot * 0.7, h, MAIN)
        if value:
            c.text(x + slot * 0.35, bottom - h - 4, fmt.format(value), size=10, anchor="middle")
        c.text(x + slot * 0.35, bottom + 16, label, size=10, anchor="middle")
    c.line(left, bottom, right, bottom, INK)
    return c.svg()


def step_chart(labels: Sequence[str], values: Sequence[int], *, title: str, ylabel: str) -> str:
    """A running total over the months (e.g. departments that have used the service so far)."""
    c = Canvas(680, 260, title)
    left, right, top, bottom = 56, 670, 40, 225
    c.text(left, 18, title, size=13, weight="bold")
    ticks = nice_ticks(max([*values, 1]))
    _value_axis(c, left, top, bottom, right, ticks, ylabel)
    slot = (right - left) / max(len(values), 1)
    points = [
        (left + (i + 0.5) * slot, bottom - (bottom - top) * v / ticks[-1])
        for i, v in enumerate(values)
    ]
    if points:
        c.polyline(points, MAIN)
    for (x, y), value, label in zip(points, values, labels, strict=True):
        c.text(x, y - 8, f"{value:,}", size=10, anchor="middle")
        c.text(x, bottom + 16, label, size=10, anchor="middle")
    c.line(left, bottom, right, bottom, INK)
    return c.svg()


def baseline_residual_chart(
    names: Sequence[str],
    baseline: Sequence[float],
    residual: Sequence[float],
    rates: Sequence[float | None],
    *,
    target: float | None,
) -> str:
    """Per task: hours before RPA against hours still worked, and the rate against the target.

    ``target`` is the plan's reduction-rate target (no line without one).
    """
    row = 30
    height = 70 + row * len(names)
    c = Canvas(680, height, "RPA: 業務別の作業時間と削減率")
    label_w, bars_l, bars_r, rate_l, rate_r, top = 150, 160, 430, 470, 670, 46
    c.text(bars_l, 18, "業務別の作業時間（時間）", size=13, weight="bold")
    c.text(rate_l, 18, "削減率", size=13, weight="bold")
    c.rect(bars_l, 26, 10, 10, LIGHT)
    c.text(bars_l + 14, 35, "導入前（手作業）", size=10)
    c.rect(bars_l + 120, 26, 10, 10, MAIN)
    c.text(bars_l + 134, 35, "導入後（残作業）", size=10)
    ticks = nice_ticks(max([*baseline, *residual, 1.0]), 4)
    for i, name in enumerate(names):
        y = top + i * row
        c.text(label_w, y + 17, name if len(name) <= 14 else name[:13] + "…", size=10, anchor="end")
        for value, colour, dy in ((baseline[i], LIGHT, 3), (residual[i], MAIN, 14)):
            c.rect(bars_l, y + dy, (bars_r - bars_l) * value / ticks[-1], 10, colour)
        rate = rates[i]
        shown = 0.0 if rate is None else max(0.0, min(rate, 1.0))
        c.rect(
            rate_l,
            y + 5,
            (rate_r - rate_l) * shown,
            16,
            ACCENT if target is not None and (rate or 0) < target else MAIN,
        )
        c.text(
            rate_l + 4,
            y + 17,
            "—" if rate is None else f"{rate:.1%}",
            size=10,
            colour="#ffffff" if shown > 0.12 else INK,
        )
    bottom = top + row * len(names)
    for tick in ticks:
        x = bars_l + (bars_r - bars_l) * tick / ticks[-1]
        c.line(x, top, x, bottom)
        c.text(x, bottom + 14, f"{tick:,.0f}", size=10, anchor="middle")
    if target is not None:
        goal = rate_l + (rate_r - rate_l) * target
        c.line(goal, top - 4, goal, bottom, ACCENT, width=1.5, dashed=True)
        c.text(goal, bottom + 14, f"目標{target:.0%}", size=10, anchor="middle", colour=ACCENT)
    return c.svg()


def satisfaction_chart(
    distribution: dict[str, int],
    rate: float | None,
    ci95: tuple[float, float] | None,
    *,
    target: float | None,
) -> str:
    """The answers on the 5-point scale, and the satisfaction rate with its 95% interval.

    ``target`` is the plan's satisfaction target (no line without one).
    """
    c = Canvas(680, 250, "満足度調査: 回答の分布と満足度")
    c.text(40, 18, "回答の分布（件）", size=13, weight="bold")
    left, right, top, bottom = 40, 380, 40, 200
    ticks = nice_ticks(max([*distribution.values(), 1]), 4)
    _value_axis(c, left, top, bottom, right, ticks, "")
    slot = (right - left) / max(len(distribution), 1)
    for i, (label, count) in enumerate(distribution.items()):
        h = (bottom - top) * count / ticks[-1]
        x = left + i * slot + slot * 0.15
        c.rect(x, bottom - h, slot * 0.7, h, SCALE_COLOURS[i % len(SCALE_COLOURS)])
        c.text(x + slot * 0.35, bottom - h - 4, f"{count:,}", size=10, anchor="middle")
        c.text(x + slot * 0.35, bottom + 16, label, size=9, anchor="middle")
    c.line(left, bottom, right, bottom, INK)
    p_left, p_right, mid = 420, 660, 120
    c.text(p_left, 18, "満足度と95%信頼区間", size=13, weight="bold")
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = p_left + (p_right - p_left) * tick
        c.line(x, 50, x, 180)
        c.text(x, 196, f"{tick:.0%}", size=10, anchor="middle")
    if target is not None:
        goal = p_left + (p_right - p_left) * target
        c.line(goal, 44, goal, 180, ACCENT, width=1.5, dashed=True)
        c.text(goal, 40, f"目標{target:.0%}", size=10, anchor="middle", colour=ACCENT)
    if rate is not None and ci95 is not None:
        low, high = (p_left + (p_right - p_left) * v for v in ci95)
        point = p_left + (p_right - p_left) * rate
        c.line(low, mid, high, mid, MAIN, width=2)
        c.line(low, mid - 8, low, mid + 8, MAIN, width=2)
        c.line(high, mid - 8, high, mid + 8, MAIN, width=2)
        c.parts.append(f'<circle cx="{point:.1f}" cy="{mid}" r="5" fill="{MAIN}"/>')
        c.text(point, mid - 14, f"{rate:.2%}", size=11, anchor="middle", weight="bold")
        c.text(p_left, 224, f"95%信頼区間 {ci95[0]:.1%}〜{ci95[1]:.1%}（Wilson法）", size=10)
    else:
        c.text(p_left, mid, "有効回答なし", size=11)
    return c.svg()
