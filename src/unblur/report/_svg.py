"""Small inline SVG charts for the report: line plots and a colour bar, without matplotlib.

The report's curves (PSF profiles, convergence) are a few hundred points: drawn as inline SVG
they are sharp at any zoom, searchable, and cost microseconds, where matplotlib cost about a
second per report (its import, text layout and PNG rendering). Ticks follow the usual "nice
numbers" rule (steps of 1, 2 or 5 times a power of ten, Heckbert 1990); a logarithmic axis
puts its ticks on the powers of ten (and on 2 and 5 times them when it spans less than two
decades).

References
----------
P. S. Heckbert, "Nice numbers for graph labels", in *Graphics Gems*, Academic Press, 1990,
pp. 61-63.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Series", "colour_bar", "colour_map", "line_plot", "nice_ticks"]

#: line colours in order (colour-blind safe: Okabe and Ito's palette)
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
#: anchors of the spectra's colour map (position, RGB): black, purple, red, orange, pale yellow
_MAP_ANCHORS = (
    (0.0, (0, 0, 4)),
    (0.25, (80, 18, 123)),
    (0.5, (182, 54, 121)),
    (0.75, (251, 136, 97)),
    (1.0, (252, 253, 191)),
)


@dataclass(frozen=True)
class Series:
    """One line of a plot: x and y values, a legend label, a colour and a dash pattern."""

    x: Sequence[float]
    y: Sequence[float]
    label: str | None = None
    colour: str | None = None
    dash: str | None = None
    markers: bool = False


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering ``[low, high]`` (steps 1, 2 or 5 x 10^n).

    Examples
    --------
    >>> from unblur.report._svg import nice_ticks
    >>> nice_ticks(0, 0.93)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    n = round((last - first) / step)
    return [float(f"{first + i * step:.12g}") for i in range(n + 1)]


def _log_ticks(low: float, high: float) -> list[float]:
    """Ticks of a log axis from ``low`` to ``high`` (both > 0)."""
    lo, hi = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if hi == lo:
        hi += 1
    ticks = [10.0**e for e in range(lo, hi + 1)]
    if hi - lo < 2:
        ticks = sorted({t * m for t in ticks[:-1] for m in (1, 2, 5)} | {ticks[-1]})
    step = max(1, math.ceil(len(ticks) / 8))  # at most about 8 labels
    return ticks[::step]


def _label(value: float, log: bool) -> str:
    if log:
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.4g}"


def line_plot(
    series: Sequence[Series],
    *,
    title: str,
    xlabel: str,
    ylabel: str = "",
    log_y: bool = False,
    width: int = 440,
    height: int = 280,
) -> str:
    """An inline ``<svg>`` line plot of ``series`` with axes, grid, ticks and a legend.

    Non-finite y values (and, with ``log_y``, values <= 0) break the line there. The SVG
    scales with its container (``viewBox``); every text is HTML-escaped.
    """
    esc = html.escape
    left, right, top, bottom = 62, 12, 26, 44
    pw, ph = width - left - right, height - top - bottom
    xs = [float(v) for s in series for v in s.x]
    ys = [
        float(v)
        for s in series
        for v in s.y
        if math.isfinite(float(v)) and (not log_y or float(v) > 0)
    ]
    out = [
        f"<svg class='plot' viewBox='0 0 {width} {height}' role='img' aria-label='{esc(title)}'>",
        f"<title>{esc(title)}</title>",
        f"<text x='{left + pw / 2:.1f}' y='16' class='t'>{esc(title)}</text>",
    ]
    if not xs or not ys:
        out.append(f"<text x='{width / 2}' y='{height / 2}' class='t'>no data</text></svg>")
        return "".join(out)
    x0, x1 = min(xs), max(xs)  # the x axis spans the data, its ticks fall inside
    if x1 <= x0:
        x0, x1 = x0 - 1, x1 + 1
    xt = [v for v in nice_ticks(x0, x1) if x0 - 1e-9 * (x1 - x0) <= v <= x1 + 1e-9 * (x1 - x0)]
    if log_y:
        yt = _log_ticks(min(ys), max(ys))
        y0, y1 = math.log10(yt[0]), math.log10(yt[-1])
    else:
        yt = nice_ticks(min(ys), max(ys))
        y0, y1 = yt[0], yt[-1]

    def px(v: float) -> float:
        return left + (v - x0) / ((x1 - x0) or 1) * pw

    def py(v: float) -> float:
        w = math.log10(v) if log_y else v
        return top + ph - (w - y0) / ((y1 - y0) or 1) * ph

    for t in xt:
        x = px(t)
        out.append(f"<line x1='{x:.1f}' y1='{top}' x2='{x:.1f}' y2='{top + ph}' class='g'/>")
        out.append(f"<text x='{x:.1f}' y='{top + ph + 15}' class='tx'>{_label(t, False)}</text>")
    for t in yt:
        y = py(t)
        out.append(f"<line x1='{left}' y1='{y:.1f}' x2='{left + pw}' y2='{y:.1f}' class='g'/>")
        out.append(f"<text x='{left - 5}' y='{y + 4:.1f}' class='ty'>{_label(t, log_y)}</text>")
    out.append(f"<rect x='{left}' y='{top}' width='{pw}' height='{ph}' class='frame'/>")
    out.append(f"<text x='{left + pw / 2:.1f}' y='{height - 8}' class='tx'>{esc(xlabel)}</text>")
    if ylabel:
        out.append(
            f"<text transform='translate(14 {top + ph / 2:.1f}) rotate(-90)' class='tx'>"
            f"{esc(ylabel)}</text>"
        )
    legend = []
    for i, s in enumerate(series):
        colour = s.colour or PALETTE[i % len(PALETTE)]
        dash = f" stroke-dasharray='{s.dash}'" if s.dash else ""
        for run in _runs(s.x, s.y, log_y):
            points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in run)
            out.append(
                f"<polyline points='{points}' fill='none' stroke='{colour}' "
                f"stroke-width='1.6'{dash}/>"
            )
            if s.markers:
                out += [
                    f"<circle cx='{px(a):.1f}' cy='{py(b):.1f}' r='2' fill='{colour}'/>"
                    for a, b in run
                ]
        if s.label:
            legend.append((s.label, colour, dash))
    for i, (label, colour, dash) in enumerate(legend):
        y = top + 12 + 16 * i
        x = left + pw - 150
        out.append(
            f"<line x1='{x}' y1='{y - 4}' x2='{x + 22}' y2='{y - 4}' stroke='{colour}' "
            f"stroke-width='2'{dash}/><text x='{x + 28}' y='{y}' class='l'>{esc(label)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _runs(x: Sequence[float], y: Sequence[float], log_y: bool) -> list[list[tuple[float, float]]]:
    """The drawable stretches of a series (split at non-finite or, on a log axis, <= 0 y)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for a, b in zip(x, y, strict=True):
        b = float(b)
        if math.isfinite(b) and (not log_y or b > 0):
            runs[-1].append((float(a), b))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def colour_map(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``values`` mapped through the spectra's colour map: ``uint8`` RGB, ``low`` black."""
    t = np.clip((np.asarray(values, np.float64) - low) / ((high - low) or 1.0), 0, 1)
    # the anchors are evenly spaced: the segment of t is floor(t * segments) and its
    # fraction t * segments - segment, both exact, so that each channel's value
    # step * fraction + start rounds as np.interp's slope * (t - stop) + start does
    segments = len(_MAP_ANCHORS) - 1
    rgb = np.array([c for _, c in _MAP_ANCHORS], np.float64)
    scaled = t * segments
    segment = np.minimum(scaled.astype(np.intp), segments - 1)
    scaled -= segment
    out = np.empty((*t.shape, 3), np.uint8)
    value = np.empty_like(t)
    for c in range(3):
        np.multiply(np.diff(rgb[:, c])[segment], scaled, out=value)
        value += rgb[:-1, c][segment]
        out[..., c] = np.round(value, out=value)
    return out


def colour_bar(low: float, high: float, *, label: str, height: int = 220) -> str:
    """A vertical inline ``<svg>`` colour bar from ``low`` (bottom) to ``high`` with ticks.

    The bar is a stack of thin bands of the colour map (no gradient reference, so the SVG needs
    nothing but itself).
    """
    esc = html.escape
    width, top, bar, bands = 84, 10, 16, 64
    colours = colour_map(np.linspace(high, low, bands), low, high)
    step = height / bands
    out = [
        f"<svg class='cbar' viewBox='0 0 {width} {height + 2 * top}' role='img' "
        f"aria-label='{esc(label)}'>"
    ]
    out += [
        f"<rect x='2' y='{top + i * step:.2f}' width='{bar}' height='{step + 0.5:.2f}' "
        f"fill='#{r:02x}{g:02x}{b:02x}'/>"
        for i, (r, g, b) in enumerate(colours.tolist())
    ]
    for t in nice_ticks(low, high, 5):
        if not low - 1e-9 <= t <= high + 1e-9:
            continue
        y = top + height - (t - low) / ((high - low) or 1) * height
        out.append(
            f"<line x1='{2 + bar}' y1='{y:.1f}' x2='{6 + bar}' y2='{y:.1f}' stroke='#333'/>"
            f"<text x='{9 + bar}' y='{y + 4:.1f}' class='l'>{_label(t, False)}</text>"
        )
    out.append(
        f"<text transform='translate({width - 8} {top + height / 2}) rotate(90)' class='tx'>"
        f"{esc(label)}</text></svg>"
    )
    return "".join(out)
