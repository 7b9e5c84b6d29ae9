"""Axes: nice ticks, the figure layout, and text width estimates.

:func:`ticks` picks tick positions and labels for one axis; :func:`layout` places the title,
legend, tick labels and plot area of a figure dictionary (``Figure.to_dict()``) and maps data
coordinates to figure pixels. Both renderers (the SVG writer and ``paint.js``) place a figure
with these rules, so the static picture and the live canvas line up. Text is measured by an
estimate (:func:`text_width`), never a font, so that build time and the browser agree.

Examples
--------
>>> ticks(0, 10).labels
('0', '2', '4', '6', '8', '10')
>>> g = layout({"x_range": [0, 1], "y_range": [0, 1]})
>>> bool(abs(g.px(0.5) - (g.left + g.pw / 2)) < 1e-9)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradclip.figures.numbers import decimal_value, fixed_label, log10_floor, power_label
from gradclip.figures.style import (CHAR_EM, LABEL_FONT, LEGEND_GAP, LEGEND_ROW, LEGEND_SPACING, LEGEND_SWATCH,
                                    PAD, TICK_FONT, TITLE_FONT)

__all__ = ["Ticks", "ticks", "text_width", "LegendEntry", "Layout", "layout"]


# --------------------------------------------------------------------------------------------
# Ticks
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ticks:
    """Tick positions along one axis and their labels (same length)."""

    values: tuple[float, ...]
    labels: tuple[str, ...]



def _tick_parts(lo: float, hi: float, log: bool, n: int) -> tuple[list[tuple[int, int]], bool]:
    """Ticks as exact decimals ``(a, e)`` meaning ``a × 10^e``, and whether labels are scientific."""
    if log:
        e0 = math.ceil(math.log10(lo) - 1e-9)
        e1 = math.floor(math.log10(hi) + 1e-9)
        count = e1 - e0 + 1
        if count >= 2:
            stride = max(1, math.ceil(count / (n + 3)))
            start = math.ceil(e0 / stride) * stride
            parts = [(1, e) for e in range(start, e1 + 1, stride)]
            return parts, any(e < -3 or e > 3 for _, e in parts)
        # Less than two decades in view: 1-2-5 steps, or plain linear ticks when even those are few.
        parts = [(m, e) for e in range(log10_floor(lo), log10_floor(hi) + 1) for m in (1, 2, 5)
                 if lo * (1 - 1e-9) <= decimal_value(m, e) <= hi * (1 + 1e-9)]
        if len(parts) >= 3:
            return parts, any(e < -3 or e > 3 for _, e in parts)
    mag = max(abs(lo), abs(hi))
    if hi - lo < mag * 1e-9:
        # A range too narrow for its magnitude (a flat loss at 1.0000000001): one tick in the
        # middle, to 6 significant digits, instead of labels no one can read.
        mid = (lo + hi) / 2
        big = log10_floor(abs(mid))
        a = math.floor(mid / decimal_value(1, big - 5) + 0.5)
        return [(a, big - 5)], big >= 5 or big <= -4
    raw = (hi - lo) / n
    if not (math.isfinite(raw) and raw > 1e-300):
        raise ValueError(f"lo and hi must span a range a double can divide, got {lo!r} to {hi!r}")
    e = log10_floor(raw)
    f = raw / decimal_value(1, e)
    m = 1 if f < 1.5 else 2 if f < 3 else 5 if f < 7 else 10
    if m == 10:
        m, e = 1, e + 1
    while True:
        step = decimal_value(m, e)
        k0 = math.ceil(lo / step - 1e-9)
        k1 = math.floor(hi / step + 1e-9)
        if k1 > k0:
            break
        # Fewer than two ticks (a short axis over an awkward range): the next smaller step.
        m, e = (2, e) if m == 5 else (1, e) if m == 2 else (5, e - 1)
    parts = [(k * m, e) for k in range(k0, k1 + 1)]
    biggest = max((len(str(abs(a))) - 1 + e for a, e in parts if a), default=0)
    return parts, biggest >= 5 or biggest <= -4


def ticks(lo: float, hi: float, log: bool = False, n: int = 5) -> Ticks:
    """Nice tick positions and labels for an axis from ``lo`` to ``hi``.

    Linear axes step by ``m × 10^e`` with ``m ∈ {1, 2, 5}``, the step nearest ``(hi - lo) / n``:
    ``step = m·10^e ≈ (hi − lo)/n``. Log axes tick whole decades (every ``k``-th when there are
    more than ``n + 3``), or 1-2-5 within a decade when fewer than two decades are in view.
    Values are exact decimals (``0.3``, never ``0.30000000000000004``). Labels use a real minus
    sign; ``10⁻⁴``-style powers when numbers would be long; ``paint.js`` returns the same.

    Parameters
    ----------
    lo, hi : float
        The axis range (finite, different; swapped if reversed; both > 0 for a log axis).
    log : bool
        Logarithmic axis.
    n : int
        Roughly how many intervals to aim for (1 to 20).

    Examples
    --------
    >>> ticks(0, 1).values
    (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    >>> ticks(1e-5, 10, log=True).labels
    ('10⁻⁵', '10⁻⁴', '10⁻³', '10⁻²', '10⁻¹', '10⁰', '10¹')
    >>> ticks(0.01, 100, log=True).labels
    ('0.01', '0.1', '1', '10', '100')
    """
    for name, v in (("lo", lo), ("hi", hi)):
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
    if not isinstance(n, int) or not 1 <= n <= 20:
        raise ValueError(f"n must be an integer from 1 to 20, got {n!r}")
    lo, hi = float(min(lo, hi)), float(max(lo, hi))
    if log and lo <= 0:
        raise ValueError(f"lo must be > 0 for a log axis, got {lo!r}")
    if lo == hi:
        raise ValueError(f"lo and hi must differ, got {lo!r} for both")
    parts, sci = _tick_parts(lo, hi, log, n)
    values = tuple(decimal_value(a, e) for a, e in parts)
    labels = tuple("0" if a == 0 else power_label(a, e) if sci else fixed_label(a, e) for a, e in parts)
    return Ticks(values, labels)


# --------------------------------------------------------------------------------------------
# Layout: where the plot area, ticks, title and legend go (paint.js mirrors this function)
# --------------------------------------------------------------------------------------------

def text_width(text: str, size: float) -> float:
    """Estimated width of ``text`` at font ``size`` px: ``0.6 em`` per character.

    An estimate, not a measurement, so that build time (no fonts) and the browser agree.

    >>> text_width("0.25", 10)
    24.0
    """
    return len(text) * CHAR_EM * size


@dataclass(frozen=True)
class LegendEntry:
    label: str
    kind: str           # "line", "points", "marker"
    color: str
    dash: tuple[float, ...] = ()
    shape: str = "circle"
    x: float = 0.0      # left edge of the swatch, figure px
    y: float = 0.0      # vertical centre of the row, figure px


@dataclass(frozen=True)
class Layout:
    """Geometry of a figure in figure pixels (the SVG viewBox; the canvas scales it uniformly).

    The plot area is ``[left, left + pw] × [top, top + ph]``; ``x_ticks``/``y_ticks`` label it.
    With ``aspect_equal`` the plot area keeps data units square: the figure gets shorter, or
    the plot area narrower and centred, never taller than asked.
    """

    width: float
    height: float
    left: float
    top: float
    pw: float
    ph: float
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    x_log: bool
    y_log: bool
    x_ticks: Ticks
    y_ticks: Ticks
    legend: tuple[LegendEntry, ...]

    def _t(self, v: Any, log: bool) -> np.ndarray:
        a = np.array(v, dtype=float)  # None -> nan
        if log:
            with np.errstate(divide="ignore", invalid="ignore"):
                a = np.where(a > 0, np.log10(np.where(a > 0, a, 1.0)), np.nan)
        return a

    def px(self, x: Any) -> np.ndarray:
        """Data x -> figure px (NaN for a missing value or a non-positive one on a log axis)."""
        lo, hi = (math.log10(r) for r in self.x_range) if self.x_log else self.x_range
        return self.left + (self._t(x, self.x_log) - lo) / (hi - lo) * self.pw

    def py(self, y: Any) -> np.ndarray:
        """Data y -> figure px (y grows upwards in data, downwards on screen)."""
        lo, hi = (math.log10(r) for r in self.y_range) if self.y_log else self.y_range
        return self.top + self.ph - (self._t(y, self.y_log) - lo) / (hi - lo) * self.ph


def _legend_entries(items: list[dict[str, Any]]) -> list[LegendEntry]:
    out = []
    for it in items:
        label = it.get("label")
        if not label:
            continue
        t = it.get("t")
        if t in ("line", "hline", "vline", "arrow"):
            out.append(LegendEntry(label, "line", it.get("color", "s0"), tuple(it.get("dash") or ())))
        elif t == "points":
            out.append(LegendEntry(label, "points", it.get("color", "s0")))
        elif t == "marker":
            out.append(LegendEntry(label, "marker", it.get("color", "fg"), shape=it.get("shape", "circle")))
    return out


def _entry_width(label: str) -> float:
    return LEGEND_SWATCH + LEGEND_GAP + text_width(label, TICK_FONT) + LEGEND_SPACING


def _range(fig: dict[str, Any], key: str, log: bool) -> tuple[float, float]:
    r = fig.get(key, (0.0, 1.0))
    try:
        lo, hi = float(r[0]), float(r[1])
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"{key} must be two numbers, got {r!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise ValueError(f"{key} must be two finite numbers with lo < hi, got {r!r}")
    if log and lo <= 0:
        raise ValueError(f"{key} must be > 0 on a log axis, got {r!r}")
    return lo, hi


def _tick_count(length: float, per: float) -> int:
    return int(max(2, min(10, math.floor(length / per + 0.5))))   # half up, as Math.round


def _legend_rows(entries: list[LegendEntry], W: float, top: float) -> tuple[list[LegendEntry], int]:
    """Entries flow left to right, wrapping at the figure width; rows are centred.

    Returns the entries with their positions and the number of rows.
    """
    rows: list[list[LegendEntry]] = []
    row_w = W - 2 * PAD
    used = row_w + 1
    for e in entries:
        w = _entry_width(e.label)
        if used + w > row_w:
            rows.append([])
            used = 0.0
        rows[-1].append(e)
        used += w
    placed: list[LegendEntry] = []
    for r, row in enumerate(rows):
        total = sum(_entry_width(e.label) for e in row) - LEGEND_SPACING
        x = (W - total) / 2
        yc = top + r * LEGEND_ROW + LEGEND_ROW / 2
        for e in row:
            placed.append(LegendEntry(e.label, e.kind, e.color, e.dash, e.shape, x, yc))
            x += _entry_width(e.label)
    return placed, len(rows)


def _equal_aspect(xr, yr, x_log: bool, y_log: bool, left: float, pw: float, ph: float
                  ) -> tuple[float, float, float, float]:
    """Shrink the plot area so data units are square: ``(left, pw, ph, height lost)``.

    Data taller than the box narrow the plot (centred); data wider than it shorten the whole
    figure. The figure never grows.
    """
    xs = math.log10(xr[1] / xr[0]) if x_log else xr[1] - xr[0]
    ys = math.log10(yr[1] / yr[0]) if y_log else yr[1] - yr[0]
    s = min(pw / xs, ph / ys)
    if pw / xs > s:
        new_pw = xs * s
        return left + (pw - new_pw) / 2, new_pw, ph, 0.0
    new_ph = ys * s
    return left, pw, new_ph, ph - new_ph


def layout(fig: dict[str, Any]) -> Layout:
    """Place title, legend, axes and plot area for a figure dictionary.

    >>> g = layout({"x_range": [0, 10], "y_range": [0, 1], "width": 480, "height": 320})
    >>> (g.width, g.height, g.left + g.pw + 12 <= 480)
    (480.0, 320.0, True)
    """
    W = float(fig.get("width") or 480)
    H = float(fig.get("height") or 320)
    if not (60 <= W <= 4000 and 60 <= H <= 4000):
        raise ValueError(f"width and height must be from 60 to 4000 px, got {W} x {H}")
    x_log, y_log = bool(fig.get("x_log")), bool(fig.get("y_log"))
    xr, yr = _range(fig, "x_range", x_log), _range(fig, "y_range", y_log)

    top = PAD + (TITLE_FONT + 8 if fig.get("title") else 0)
    entries = _legend_entries(fig.get("items") or []) if fig.get("legend") else []
    placed, n_rows = _legend_rows(entries, W, top)
    top += n_rows * LEGEND_ROW + (4 if n_rows else 0)
    top = max(top, PAD + 4)   # room for half of the topmost tick label
    bottom = 4 + TICK_FONT + 6 + (LABEL_FONT + 6 if fig.get("x_label") else 0) + 2
    ph = H - top - bottom
    if ph < 20:
        raise ValueError(f"height must leave room for the plot area, got {H}")
    yt = ticks(*yr, log=y_log, n=_tick_count(ph, 45))
    ylab_w = max((text_width(s, TICK_FONT) for s in yt.labels), default=0.0)
    left = PAD + (LABEL_FONT + 6 if fig.get("y_label") else 0) + ylab_w + 4 + 4
    xt_probe = ticks(*xr, log=x_log, n=_tick_count(W - left - 12, 80))
    right = max(12.0, text_width(xt_probe.labels[-1], TICK_FONT) / 2 + 2)
    pw = W - left - right
    if pw < 20:
        raise ValueError(f"width must leave room for the plot area, got {W}")
    if fig.get("aspect_equal"):
        left, pw, new_ph, lost = _equal_aspect(xr, yr, x_log, y_log, left, pw, ph)
        if lost:
            H -= lost
            ph = new_ph
            yt = ticks(*yr, log=y_log, n=_tick_count(ph, 45))
    xt = ticks(*xr, log=x_log, n=_tick_count(pw, 80))
    return Layout(W, H, left, top, pw, ph, xr, yr, x_log, y_log, xt, yt, tuple(placed))
