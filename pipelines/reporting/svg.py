"""Charts as inline SVG, written here: the dashboard needs no chart library and no network.

Three shapes cover the pack: a line over periods, horizontal bars over territories (long names),
columns over a few segments (one or two series: the roadmap's "candidats / total"). Every mark has
a <title> (its value in French), every chart a role and an accessible name.
"""

from __future__ import annotations

import math
from html import escape

from pipelines.foundation.french import format_count, format_decimal, format_value
from pipelines.reporting.content import Chart

PALETTE = ("#1f5f99", "#e07b00", "#2e8540", "#8e3ba8", "#b22a2a")
WIDTH = 640
FONT = 'font-size="12" fill="#222"'


def value_label(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    return format_value(value, unit)


def tick_label(value: float, unit: str) -> str:
    if unit == "taux":
        return f"{format_decimal(value * 100, 0 if abs(value * 100 - round(value * 100)) < 1e-9 else 1)} %"
    if abs(value - round(value)) < 1e-9:
        return format_count(value)
    return format_decimal(value, 2)


def nice_ticks(top: float, unit: str, count: int = 5) -> list[float]:
    """0 .. a round value above `top` (a rate stops at 100 % when it fits)."""
    if top <= 0:
        top = 1.0 if unit == "taux" else 1
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if unit == "nombre" else (1, 2, 2.5, 5, 10)  # a count's ticks are whole
    step = next(m * magnitude for m in multiples if m * magnitude >= raw)
    if unit == "nombre":
        step = max(1, round(step))
    ticks = [0.0]
    while ticks[-1] < top - 1e-12:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """A label on at most `lines` lines of about `width` characters (the last one shortened with …)."""
    found, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            found.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    found.append(current)
    if len(found) > lines:
        found = found[: lines - 1] + [" ".join(found[lines - 1 :])]
    return [line if len(line) <= width else line[: width - 1] + "…" for line in found]


def render(chart: Chart) -> str:
    if chart.kind == "line":
        return _line(chart)
    if chart.kind == "bar":
        return _bars(chart)
    return _columns(chart)


def _open(chart: Chart, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-label="{escape(chart.title)}" class="chart" data-chart="{escape(chart.key)}">',
        f"<title>{escape(chart.title)}</title>",
    ]


def _legend(chart: Chart, y: int) -> list[str]:
    if len(chart.series) < 2:
        return []
    parts, x = [], 60
    for index, (name, _) in enumerate(chart.series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{y}" {FONT}>{escape(name)}</text>')
        x += 28 + 7 * len(name)
    return parts


def _line(chart: Chart) -> str:
    height = 260 + (20 if len(chart.series) > 1 else 0)
    left, right, top, bottom = 64, 24, 16, 44 + (20 if len(chart.series) > 1 else 0)
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    values = [v for _, s in chart.series for v in s if v is not None]
    ticks = nice_ticks(max(values, default=0), chart.unit)
    maximum = ticks[-1] or 1
    count = len(chart.categories)

    def x_of(i: int) -> float:
        return left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - v / maximum)

    parts = _open(chart, height)
    for tick in ticks:
        y = y_of(tick)
        parts.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{tick_label(tick, chart.unit)}</text>'
        )
    every = max(1, math.ceil(count / 8))
    for i, category in enumerate(chart.categories):
        if i % every == 0 or i == count - 1:
            parts.append(
                f'<text x="{x_of(i):.1f}" y="{top + plot_h + 18}" text-anchor="middle" {FONT}>{escape(category)}</text>'
            )
    for index, (name, series) in enumerate(chart.series):
        colour = PALETTE[index % len(PALETTE)]
        points = [(x_of(i), y_of(v), v, i) for i, v in enumerate(series) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for x, y, v, i in points:
            label = f"{name}, {chart.categories[i]} : {value_label(v, chart.unit)}"
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"><title>{escape(label)}</title></circle>'
            )
        if points:
            x, y, v, _ = points[-1]
            parts.append(
                f'<text x="{x:.1f}" y="{y - 9:.1f}" text-anchor="end" font-weight="bold" {FONT}>'
                f"{value_label(v, chart.unit)}</text>"
            )
    parts += _legend(chart, height - 8)
    parts.append("</svg>")
    return "".join(parts)


def _bars(chart: Chart) -> str:
    """Horizontal bars, one per category (territories by name), sorted by the caller."""
    label_w, right, top, row = 260, 70, 8, 22
    [(_name, series)] = chart.series[:1]
    height = top * 2 + row * len(chart.categories) + 18
    plot_w = WIDTH - label_w - right
    ticks = nice_ticks(max((v for v in series if v is not None), default=0), chart.unit, 4)
    maximum = ticks[-1] or 1
    parts = _open(chart, height)
    bottom = top + row * len(chart.categories)
    for tick in ticks:
        x = label_w + plot_w * tick / maximum
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" {FONT}>{tick_label(tick, chart.unit)}</text>'
        )
    for i, (category, value) in enumerate(zip(chart.categories, series)):
        y = top + row * i
        shown = category if len(category) <= 36 else category[:35] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" {FONT}><title>{escape(category)}</title>'
            f"{escape(shown)}</text>"
        )
        width = 0 if value is None else plot_w * value / maximum
        label = f"{category} : {value_label(value, chart.unit)}"
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{width:.1f}" height="{row - 8}" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}</title></rect>"
        )
        parts.append(f'<text x="{label_w + width + 4:.1f}" y="{y + 15}" {FONT}>{value_label(value, chart.unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _columns(chart: Chart) -> str:
    """Columns per category (segments), side by side when there are several series."""
    height = 270 + (20 if len(chart.series) > 1 else 0)
    left, right, top, bottom = 64, 16, 20, 58 + (20 if len(chart.series) > 1 else 0)
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    values = [v for _, s in chart.series for v in s if v is not None]
    ticks = nice_ticks(max(values, default=0), chart.unit)
    maximum = ticks[-1] or 1
    slot = plot_w / max(1, len(chart.categories))
    bar = min(56.0, slot * 0.7 / max(1, len(chart.series)))
    parts = _open(chart, height)
    for tick in ticks:
        y = top + plot_h * (1 - tick / maximum)
        parts.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{tick_label(tick, chart.unit)}</text>'
        )
    for i, category in enumerate(chart.categories):
        centre = left + slot * (i + 0.5)
        start = centre - bar * len(chart.series) / 2
        for index, (name, series) in enumerate(chart.series):
            value = series[i]
            bar_h = 0 if value is None else plot_h * value / maximum
            x = start + bar * index
            y = top + plot_h - bar_h
            label = f"{category}, {name} : {value_label(value, chart.unit)}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{bar_h:.1f}" '
                f'fill="{PALETTE[index % len(PALETTE)]}"><title>{escape(label)}</title></rect>'
            )
            parts.append(
                f'<text x="{x + bar / 2 - 1:.1f}" y="{y - 4:.1f}" text-anchor="middle" {FONT}>'
                f"{value_label(value, chart.unit)}</text>"
            )
        lines = wrap(category, max(6, int(slot / 6.8)))
        spans = "".join(
            f'<tspan x="{centre:.1f}" dy="{0 if i == 0 else 14}">{escape(line)}</tspan>' for i, line in enumerate(lines)
        )
        parts.append(
            f'<text x="{centre:.1f}" y="{top + plot_h + 16}" text-anchor="middle" {FONT}>'
            f"<title>{escape(category)}</title>{spans}</text>"
        )
    parts += _legend(chart, height - 8)
    parts.append("</svg>")
    return "".join(parts)
