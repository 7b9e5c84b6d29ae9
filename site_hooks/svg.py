"""Build-time SVG for display lists: every figure is readable before (and without) WebAssembly.

:func:`figure_to_svg` turns a ``Figure.to_dict()`` (see ``gradclip/figures.py``) into one
self-contained inline ``<svg>``. ``docs/javascripts/paint.js`` draws the same dictionary on a
canvas; both use the same layout rules and the same tick algorithm (:func:`ticks`, written once
in each language and checked against each other by ``tests/test_paint_browser.py``), so the
live canvas replaces the static picture without a jump.

Colours are CSS classes (``gc-s-<name>`` for strokes, ``gc-f-<name>`` for fills) defined in
``docs/stylesheets/figures.css`` on top of CSS variables, so the picture follows Material's light
and dark palettes. Rasters are PNG data URIs in the colour map's colours, drawn with the theme's
raster opacity.

>>> svg = figure_to_svg({"x_range": [0, 1], "y_range": [0, 1], "alt": "a line",
...                      "items": [{"t": "line", "x": [0, 1], "y": [0, 1]}]}, id_prefix="f")
>>> svg.startswith("<svg") and "<title" in svg
True
"""

from __future__ import annotations

import base64
import math
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Sequence
from xml.sax.saxutils import escape

import numpy as np

__all__ = ["Ticks", "ticks", "Layout", "layout", "figure_to_svg", "colormap_rgba", "png_rgba",
           "CMAPS", "COLOR_NAMES", "text_width"]

COLOR_NAMES = ("fg", "muted", "grid", "accent", "danger", "ok", "warn", "min", "start",
               "s0", "s1", "s2", "s3", "s4", "s5")

# Colour maps for rasters, as RGB stops evenly spaced on [0, 1]; paint.js holds the same table.
# "loss" is viridis (perceptually uniform, colour-blind safe, dark low values, bright high ones).
# "outcome" is categorical: a value v picks class round(v * 3):
# 0 converged (ok), 1/3 slow (warn), 2/3 unstable (reddish purple), 1 diverged (danger).
CMAPS: dict[str, dict[str, Any]] = {
    "loss": {"kind": "continuous", "stops": [
        (68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 145, 140),
        (40, 174, 128), (94, 201, 98), (173, 220, 48), (253, 231, 37)]},
    "outcome": {"kind": "categorical", "stops": [
        (0, 138, 99), (179, 122, 0), (184, 86, 143), (209, 36, 47)]},
}

# Sizes in figure pixels; paint.js uses the same numbers so canvas and SVG line up.
PAD = 8
TICK_FONT = 11
LABEL_FONT = 12
TITLE_FONT = 13
LEGEND_ROW = 16
CHAR_EM = 0.6           # estimated advance of one character, in ems (layout must not need a font)
CLIP_SLACK = 4          # polylines are cut this many px outside the plot, then clipped exactly

_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


# --------------------------------------------------------------------------------------------
# Ticks
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ticks:
    """Tick positions along one axis and their labels (same length)."""

    values: tuple[float, ...]
    labels: tuple[str, ...]


def _dec(a: int, e: int) -> float:
    """``a × 10^e`` correctly rounded (a decimal literal parsed: identical in Python and JS)."""
    return float(f"{a}e{e}")


def _fixed(a: int, e: int) -> str:
    """``a × 10^e`` written out with ``max(0, -e)`` decimals, from integers only (exact)."""
    digits = str(abs(a))
    if e >= 0:
        s = digits + "0" * e if a else "0"
    else:
        digits = digits.rjust(-e + 1, "0")
        s = digits[:e] + "." + digits[e:]
    return ("−" if a < 0 else "") + s


def _sci(a: int, e: int) -> str:
    """``a × 10^e`` as ``m×10ⁿ`` with a short mantissa (``1×`` dropped): ``2×10⁵``, ``10⁻⁴``."""
    if a == 0:
        return "0"
    digits = str(abs(a)).rstrip("0")
    exp = e + len(str(abs(a))) - 1
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "−" if a < 0 else ""
    power = "10" + str(exp).translate(_SUP)
    return sign + power if mant == "1" else f"{sign}{mant}×{power}"


def _log10_floor(x: float) -> int:
    """floor(log10(x)) for x > 0, corrected so that 10^e <= x < 10^(e+1) exactly."""
    e = math.floor(math.log10(x))
    if x < _dec(1, e):
        e -= 1
    elif x >= _dec(1, e + 1):
        e += 1
    return e


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
        parts = [(m, e) for e in range(_log10_floor(lo), _log10_floor(hi) + 1) for m in (1, 2, 5)
                 if lo * (1 - 1e-9) <= _dec(m, e) <= hi * (1 + 1e-9)]
        if len(parts) >= 3:
            return parts, any(e < -3 or e > 3 for _, e in parts)
    mag = max(abs(lo), abs(hi))
    if hi - lo < mag * 1e-9:
        # A range too narrow for its magnitude (a flat loss at 1.0000000001): one tick in the
        # middle, to 6 significant digits, instead of labels no one can read.
        mid = (lo + hi) / 2
        big = _log10_floor(abs(mid))
        a = math.floor(mid / _dec(1, big - 5) + 0.5)
        return [(a, big - 5)], big >= 5 or big <= -4
    raw = (hi - lo) / n
    if not (math.isfinite(raw) and raw > 1e-300):
        raise ValueError(f"lo and hi must span a range a double can divide, got {lo!r} to {hi!r}")
    e = _log10_floor(raw)
    f = raw / _dec(1, e)
    m = 1 if f < 1.5 else 2 if f < 3 else 5 if f < 7 else 10
    if m == 10:
        m, e = 1, e + 1
    while True:
        step = _dec(m, e)
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
    values = tuple(_dec(a, e) for a, e in parts)
    labels = tuple("0" if a == 0 else _sci(a, e) if sci else _fixed(a, e) for a, e in parts)
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
    return 18 + 5 + text_width(label, TICK_FONT) + 12


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

    # Legend rows: entries flow left to right, wrapping at the figure width; rows centred.
    entries = _legend_entries(fig.get("items") or []) if fig.get("legend") else []
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

    top = PAD + (TITLE_FONT + 8 if fig.get("title") else 0)
    placed: list[LegendEntry] = []
    for r, row in enumerate(rows):
        total = sum(_entry_width(e.label) for e in row) - 12
        x = (W - total) / 2
        yc = top + r * LEGEND_ROW + LEGEND_ROW / 2
        for e in row:
            placed.append(LegendEntry(e.label, e.kind, e.color, e.dash, e.shape, x, yc))
            x += _entry_width(e.label)
    top += len(rows) * LEGEND_ROW + (4 if rows else 0)
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
        xs = math.log10(xr[1] / xr[0]) if x_log else xr[1] - xr[0]
        ys = math.log10(yr[1] / yr[0]) if y_log else yr[1] - yr[0]
        s = min(pw / xs, ph / ys)
        if pw / xs > s:                 # data taller than the box: narrow the plot, centred
            new_pw = xs * s
            left += (pw - new_pw) / 2
            pw = new_pw
        else:                           # data wider than the box: the whole figure gets shorter
            new_ph = ys * s
            H -= ph - new_ph
            ph = new_ph
            yt = ticks(*yr, log=y_log, n=_tick_count(ph, 45))
    xt = ticks(*xr, log=x_log, n=_tick_count(pw, 80))
    return Layout(W, H, left, top, pw, ph, xr, yr, x_log, y_log, xt, yt, tuple(placed))


# --------------------------------------------------------------------------------------------
# Colour maps and PNG
# --------------------------------------------------------------------------------------------

def colormap_rgba(values: Any, cmap: str) -> np.ndarray:
    """Map values in [0, 1] (None/NaN = transparent) to RGBA bytes, shape ``values.shape + (4,)``.

    Continuous maps interpolate linearly between evenly spaced stops; categorical maps pick
    stop ``round(v · (k − 1))``.

    >>> colormap_rgba([[0.0, None]], "loss").tolist()
    [[[68, 1, 84, 255], [0, 0, 0, 0]]]
    """
    if cmap not in CMAPS:
        raise ValueError(f"cmap must be one of {', '.join(CMAPS)}, got {cmap!r}")
    v = np.array(values, dtype=float)
    ok = np.isfinite(v)
    v = np.clip(np.where(ok, v, 0.0), 0.0, 1.0)
    stops = np.array(CMAPS[cmap]["stops"], dtype=float)
    k = len(stops)
    if CMAPS[cmap]["kind"] == "categorical":
        rgb = stops[np.floor(v * (k - 1) + 0.5).astype(int)]
    else:
        pos = v * (k - 1)
        i = np.minimum(np.floor(pos).astype(int), k - 2)
        f = (pos - i)[..., None]
        rgb = stops[i] * (1 - f) + stops[i + 1] * f
    out = np.zeros(v.shape + (4,), dtype=np.uint8)
    out[..., :3] = np.floor(rgb + 0.5).astype(np.uint8)
    out[..., 3] = np.where(ok, 255, 0)
    out[~ok] = 0
    return out


def png_rgba(rgba: np.ndarray) -> bytes:
    """Encode an ``(h, w, 4)`` uint8 array as PNG (8-bit RGBA), top row first.

    Each scanline gets the PNG filter (none, Sub or Up) that makes the whole image compress
    best; smooth colour maps shrink severalfold with Sub.

    >>> png_rgba(np.zeros((1, 1, 4), np.uint8))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    a = np.ascontiguousarray(rgba, dtype=np.uint8)
    if a.ndim != 3 or a.shape[2] != 4 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"rgba must have shape (h, w, 4) with h, w >= 1, got {a.shape}")
    h, w = a.shape[:2]
    sub = a.astype(np.int16)
    sub[:, 1:] -= a[:, :-1]
    up = a.astype(np.int16)
    up[1:] -= a[:-1]
    best = b""
    for ftype, data in ((0, a), (1, sub), (2, up)):
        rows = np.concatenate([np.full((h, 1), ftype, np.uint8),
                               (data.astype(np.int16) & 0xFF).astype(np.uint8).reshape(h, w * 4)], axis=1)
        packed = zlib.compress(rows.tobytes(), 9)
        if not best or len(packed) < len(best):
            best = packed

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", best) + chunk(b"IEND", b""))


# --------------------------------------------------------------------------------------------
# Geometry helpers: polylines cut to the plot, compact path data
# --------------------------------------------------------------------------------------------

def _clip_runs(X: np.ndarray, Y: np.ndarray, box: tuple[float, float, float, float]) -> list[np.ndarray]:
    """Split a polyline at NaNs and cut it to ``box`` (Liang–Barsky per segment).

    Returns subpaths as ``(k, 2)`` arrays; a segment leaving and re-entering the box starts a
    new subpath. Keeps huge coordinates (a diverged run at 1e30) out of the SVG.
    """
    x0b, y0b, x1b, y1b = box
    out: list[np.ndarray] = []
    cur: list[tuple[float, float]] = []

    def flush() -> None:
        nonlocal cur
        if len(cur) >= 2:
            out.append(np.array(cur))
        cur = []

    n = len(X)
    if n == 1:
        return out
    ax, ay, bx, by = X[:-1], Y[:-1], X[1:], Y[1:]
    fin = np.isfinite(ax) & np.isfinite(ay) & np.isfinite(bx) & np.isfinite(by)
    inside_a = fin & (ax >= x0b) & (ax <= x1b) & (ay >= y0b) & (ay <= y1b)
    inside_b = fin & (bx >= x0b) & (bx <= x1b) & (by >= y0b) & (by <= y1b)
    for i in range(n - 1):
        if not fin[i]:
            flush()
            continue
        if inside_a[i] and inside_b[i]:
            if not cur:
                cur.append((ax[i], ay[i]))
            cur.append((bx[i], by[i]))
            continue
        dx, dy = bx[i] - ax[i], by[i] - ay[i]
        t0, t1 = 0.0, 1.0
        visible = True
        for p, q in ((-dx, ax[i] - x0b), (dx, x1b - ax[i]), (-dy, ay[i] - y0b), (dy, y1b - ay[i])):
            if p == 0:
                if q < 0:
                    visible = False
                    break
                continue
            r = q / p
            if p < 0:
                t0 = max(t0, r)
            else:
                t1 = min(t1, r)
            if t0 > t1:
                visible = False
                break
        if not visible:
            flush()
            continue
        s = (ax[i] + t0 * dx, ay[i] + t0 * dy)
        e = (ax[i] + t1 * dx, ay[i] + t1 * dy)
        if t0 > 0 or not cur:
            flush()
            cur.append(s)
        cur.append(e)
        if t1 < 1:
            flush()
    flush()
    return out


def _num(t: int) -> str:
    """A length in tenths of a pixel, written short: 12 -> '1.2', -4 -> '-.4', 30 -> '3'."""
    sign = "-" if t < 0 else ""
    q, r = divmod(abs(t), 10)
    if r == 0:
        return f"{sign}{q}"
    return f"{sign}{q if q else ''}.{r}"


def _join(nums: list[str]) -> str:
    """Numbers for path data: a minus sign separates on its own, otherwise a space."""
    out = []
    for i, s in enumerate(nums):
        if i and not s.startswith("-"):
            out.append(" ")
        out.append(s)
    return "".join(out)


def _path_d(subpaths: list[np.ndarray]) -> str:
    """Compact path data: absolute move, then relative lines, coordinates rounded to 0.1 px.

    Rounding happens on absolute positions and deltas are exact integers of tenths, so
    errors never accumulate; repeated points vanish.
    """
    parts = []
    for sp in subpaths:
        t = np.rint(sp * 10).astype(np.int64)
        d = np.diff(t, axis=0)
        d = d[(d != 0).any(axis=1)]
        if len(d) == 0:
            continue
        nums = [_num(v) for v in d.ravel().tolist()]
        parts.append(f"M{_num(int(t[0, 0]))} {_num(int(t[0, 1]))}l" + _join(nums))
    return "".join(parts)


def _f(v: float) -> str:
    return _num(int(round(v * 10)))


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------

def _color(name: Any, default: str) -> str:
    return name if name in COLOR_NAMES else default


def _dash_attr(dash: Any) -> str:
    if not dash:
        return ""
    return f' stroke-dasharray="{" ".join(_f(float(d)) for d in dash)}"'


def _marker_path(shape: str, x: float, y: float, r: float) -> str:
    if shape == "square":
        return f"M{_f(x - r)} {_f(y - r)}h{_f(2 * r)}v{_f(2 * r)}h{_f(-2 * r)}z"
    if shape == "cross":
        a = r * 0.8
        return (f"M{_f(x - a)} {_f(y - a)}L{_f(x + a)} {_f(y + a)}"
                f"M{_f(x - a)} {_f(y + a)}L{_f(x + a)} {_f(y - a)}")
    if shape == "star":
        pts = []
        for k in range(10):
            rad = r * 1.25 if k % 2 == 0 else r * 0.5
            ang = -math.pi / 2 + k * math.pi / 5
            pts.append(f"{_f(x + rad * math.cos(ang))} {_f(y + rad * math.sin(ang))}")
        return "M" + "L".join(pts) + "z"
    return f"M{_f(x - r)} {_f(y)}a{_f(r)} {_f(r)} 0 1 0 {_f(2 * r)} 0a{_f(r)} {_f(r)} 0 1 0 {_f(-2 * r)} 0z"


def _marker_svg(shape: str, x: float, y: float, r: float, color: str) -> str:
    d = _marker_path(shape, x, y, r)
    if shape == "cross":
        return f'<path class="gc-s-{color}" d="{d}" fill="none" stroke-width="2.5"/>'
    return f'<path class="gc-f-{color} gc-ring" d="{d}"/>'


def _clamp_text(x: float, text: str, size: float, anchor: str, g: Layout) -> float:
    """A text's anchor x, moved so its whole estimated width stays in the plot; a text wider
    than the plot starts at its left edge. Mirror of paint.js: clampText."""
    w = text_width(text, size)
    before = w if anchor == "end" else w / 2 if anchor == "middle" else 0.0
    lo = g.left + 2 + before
    hi = g.left + g.pw - 2 - (w - before)
    return max(min(x, hi), lo)


def _item_svg(it: dict[str, Any], g: Layout, prefix: str) -> str:  # noqa: C901 - one branch per item type
    t = it.get("t")
    box = (g.left - CLIP_SLACK, g.top - CLIP_SLACK, g.left + g.pw + CLIP_SLACK, g.top + g.ph + CLIP_SLACK)
    if t == "line":
        X, Y = g.px(it.get("x") or []), g.py(it.get("y") or [])
        if len(X) != len(Y):
            raise ValueError(f"line x and y must have the same length, got {len(X)} and {len(Y)}")
        d = _path_d(_clip_runs(X, Y, box))
        if not d:
            return ""
        color = _color(it.get("color"), "s0")
        return (f'<path class="gc-s-{color}" d="{d}" fill="none" stroke-width="{_f(float(it.get("width", 2)))}"'
                f'{_dash_attr(it.get("dash"))} stroke-linejoin="round" stroke-linecap="round"/>')
    if t == "contours":
        subs: list[np.ndarray] = []
        for p in it.get("paths") or []:
            subs += _clip_runs(g.px(p.get("x") or []), g.py(p.get("y") or []), box)
        d = _path_d(subs)
        if not d:
            return ""
        color = _color(it.get("color"), "grid")
        return (f'<path class="gc-s-{color}" d="{d}" fill="none" '
                f'stroke-width="{_f(float(it.get("width", 1)))}" stroke-linejoin="round"/>')
    if t == "points":
        X, Y = g.px(it.get("x") or []), g.py(it.get("y") or [])
        r = float(it.get("size", 3))
        keep = np.isfinite(X) & np.isfinite(Y) & (X >= box[0]) & (X <= box[2]) & (Y >= box[1]) & (Y <= box[3])
        d = "".join(_marker_path("circle", x, y, r) for x, y in zip(X[keep].tolist(), Y[keep].tolist()))
        return f'<path class="gc-f-{_color(it.get("color"), "s0")}" d="{d}"/>' if d else ""
    if t in ("marker", "handle"):
        x, y = float(g.px([it.get("x")])[0]), float(g.py([it.get("y")])[0])
        if not (math.isfinite(x) and math.isfinite(y)):
            return ""
        if t == "handle":
            color = _color(it.get("color"), "start")
            return (f'<circle class="gc-f-{color} gc-handle" cx="{_f(x)}" cy="{_f(y)}" r="7"/>'
                    f'<circle class="gc-handle-dot" cx="{_f(x)}" cy="{_f(y)}" r="2"/>')
        return _marker_svg(str(it.get("shape", "circle")), x, y, float(it.get("size", 6)),
                           _color(it.get("color"), "fg"))
    if t in ("hline", "vline"):
        color = _color(it.get("color"), "danger" if t == "hline" else "muted")
        if t == "hline":
            y = float(g.py([it.get("y")])[0])
            if not math.isfinite(y):
                return ""
            x0, y0, x1, y1 = g.left, y, g.left + g.pw, y
        else:
            x = float(g.px([it.get("x")])[0])
            if not math.isfinite(x):
                return ""
            x0, y0, x1, y1 = x, g.top, x, g.top + g.ph
        return (f'<path class="gc-s-{color}" d="M{_f(x0)} {_f(y0)}L{_f(x1)} {_f(y1)}" '
                f'stroke-width="{_f(float(it.get("width", 1.5)))}"{_dash_attr(it.get("dash"))}/>')
    if t == "arrow":
        X = g.px([it.get("x0"), it.get("x1")])
        Y = g.py([it.get("y0"), it.get("y1")])
        if not np.all(np.isfinite(X) & np.isfinite(Y)):
            return ""
        w = float(it.get("width", 2))
        color = _color(it.get("color"), "s0")
        ang = math.atan2(Y[1] - Y[0], X[1] - X[0])
        length = math.hypot(X[1] - X[0], Y[1] - Y[0])
        head = min(6 + 2 * w, length)
        bx, by = X[1] - head * math.cos(ang), Y[1] - head * math.sin(ang)   # where the shaft stops
        nx, ny = -math.sin(ang) * head * 0.45, math.cos(ang) * head * 0.45
        shaft = f'<path class="gc-s-{color}" d="M{_f(X[0])} {_f(Y[0])}L{_f(bx)} {_f(by)}" stroke-width="{_f(w)}"/>'
        tip = (f'<path class="gc-f-{color}" d="M{_f(X[1])} {_f(Y[1])}L{_f(bx + nx)} {_f(by + ny)}'
               f'L{_f(bx - nx)} {_f(by - ny)}z"/>')
        return shaft + tip if length > 0 else ""
    if t == "circle":
        cx, cy = float(g.px([it.get("cx")])[0]), float(g.py([it.get("cy")])[0])
        edge = float(g.px([float(it.get("cx", 0)) + float(it.get("r", 0))])[0])
        r = abs(edge - cx)
        if not (math.isfinite(cx) and math.isfinite(cy) and math.isfinite(r)):
            return ""
        color = _color(it.get("color"), "muted")
        return (f'<circle class="gc-s-{color}" cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(r)}" fill="none" '
                f'stroke-width="1.5"{_dash_attr(it.get("dash"))}/>')
    if t == "text":
        x, y = float(g.px([it.get("x")])[0]), float(g.py([it.get("y")])[0])
        if not (math.isfinite(x) and math.isfinite(y)):
            return ""
        size = float(it.get("size", 12))
        anchor = it.get("anchor") if it.get("anchor") in ("start", "middle", "end") else "start"
        x = _clamp_text(x, str(it.get("text", "")), size, anchor, g)
        y = min(max(y, g.top + size), g.top + g.ph - 3)
        color = _color(it.get("color"), "fg")
        return (f'<text class="gc-f-{color} gc-halo" x="{_f(x)}" y="{_f(y)}" font-size="{_f(size)}" '
                f'text-anchor="{anchor}">{escape(str(it.get("text", "")))}</text>')
    if t == "rects":
        n = len(it.get("x0") or [])
        fills = it.get("fill", "s0")
        X0, X1 = g.px(it.get("x0") or []), g.px(it.get("x1") or [])
        Y0, Y1 = g.py(it.get("y0") or []), g.py(it.get("y1") or [])
        by_color: dict[str, list[str]] = {}
        for i in range(n):
            xs, ys = sorted((X0[i], X1[i])), sorted((Y0[i], Y1[i]))
            if not all(math.isfinite(v) for v in xs + ys):
                continue
            color = _color(fills[i] if isinstance(fills, list) else fills, "s0")
            by_color.setdefault(color, []).append(
                f"M{_f(xs[0])} {_f(ys[0])}H{_f(xs[1])}V{_f(ys[1])}H{_f(xs[0])}z")
        return "".join(f'<path class="gc-f-{c}" d="{"".join(ds)}"/>' for c, ds in by_color.items())
    if t == "raster":
        values = it.get("values") or []
        if not values or not values[0]:
            return ""
        rgba = colormap_rgba(values, it.get("cmap", "loss"))[::-1]   # row 0 is at the bottom
        uri = "data:image/png;base64," + base64.b64encode(png_rgba(rgba)).decode("ascii")
        xr, yr = it.get("x_range") or g.x_range, it.get("y_range") or g.y_range
        X, Y = g.px(xr), g.py(yr)
        x0, x1 = sorted(X.tolist())
        y0, y1 = sorted(Y.tolist())
        cls = "gc-raster gc-raster-cat" if CMAPS[it.get("cmap", "loss")]["kind"] == "categorical" else "gc-raster"
        return (f'<image class="{cls}" x="{_f(x0)}" y="{_f(y0)}" width="{_f(x1 - x0)}" '
                f'height="{_f(y1 - y0)}" preserveAspectRatio="none" xlink:href="{uri}"/>')
        # xlink:href, not href: Material's instant navigation rewrites every [href] element's
        # .href property, which SVG <image> elements do not allow (a page error otherwise).
    raise ValueError(f"item type must be one of line, points, marker, hline, vline, text, raster, "
                     f"contours, rects, handle, arrow, circle; got {t!r}")


def _legend_svg(g: Layout) -> str:
    out = []
    for e in g.legend:
        x, y = e.x, e.y
        if e.kind == "line":
            out.append(f'<path class="gc-s-{_color(e.color, "s0")}" d="M{_f(x)} {_f(y)}h18" stroke-width="2"'
                       f'{_dash_attr(e.dash)}/>')
        elif e.kind == "points":
            out.append(f'<path class="gc-f-{_color(e.color, "s0")}" d="{_marker_path("circle", x + 9, y, 3)}"/>')
        else:
            out.append(_marker_svg(e.shape, x + 9, y, 4.5, _color(e.color, "fg")))
        out.append(f'<text class="gc-f-fg" x="{_f(x + 23)}" y="{_f(y + 4)}">{escape(e.label)}</text>')
    return f'<g class="gc-legend">{"".join(out)}</g>' if out else ""


def figure_to_svg(fig: dict[str, Any], *, id_prefix: str) -> str:
    """A display list as one inline, self-contained, responsive ``<svg>`` element.

    The viewBox is the figure's ``width × height`` (shorter with ``aspect_equal``, see
    :func:`layout`); the element scales to its container's width. Items are drawn in list order
    inside a clip path of the plot area, then axes, ticks, labels, title and legend. Points
    that are missing, or non-positive on a log axis, are dropped and break the line.

    Parameters
    ----------
    fig : dict
        ``Figure.to_dict()``.
    id_prefix : str
        Unique per page; prefixes the ids of the title and clip path
        (a letter, then letters, digits, ``_ . -``).

    Examples
    --------
    >>> s = figure_to_svg({"x_range": [1, 100], "y_range": [0, 1], "x_log": True, "alt": "demo",
    ...                    "items": [{"t": "line", "x": [0, 1, 10], "y": [0, 0.5, 1]}]}, id_prefix="d")
    >>> 'aria-label="demo"' in s, '10' in s
    (True, True)
    """
    if not isinstance(id_prefix, str) or not _ID.match(id_prefix):
        raise ValueError(f"id_prefix must start with a letter and contain only letters, digits, "
                         f"'_', '.', '-'; got {id_prefix!r}")
    g = layout(fig)
    W, H = g.width, g.height
    alt = str(fig.get("alt") or fig.get("title") or "Figure")
    clip = f"{id_prefix}-clip"
    L, T, R, B = g.left, g.top, g.left + g.pw, g.top + g.ph
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" class="gc-svg" viewBox="0 0 {_f(W)} {_f(H)}" '
        f'width="100%" role="img" aria-label="{escape(alt, {chr(34): "&quot;"})}" '
        f'font-size="{TICK_FONT}">',
        f'<title id="{id_prefix}-title">{escape(alt)}</title>',
        f'<defs><clipPath id="{clip}"><rect x="{_f(L)}" y="{_f(T)}" width="{_f(g.pw)}" '
        f'height="{_f(g.ph)}"/></clipPath></defs>',
    ]
    # Grid first, so every item draws over it.
    grid = "".join(f"M{_f(x)} {_f(T)}V{_f(B)}" for x in g.px(list(g.x_ticks.values)).tolist())
    grid += "".join(f"M{_f(L)} {_f(y)}H{_f(R)}" for y in g.py(list(g.y_ticks.values)).tolist())
    parts.append(f'<path class="gc-gridline" d="{grid}" fill="none" stroke-width="1"/>')
    body = "".join(_item_svg(it, g, id_prefix) for it in (fig.get("items") or []) if it.get("t") != "text")
    parts.append(f'<g clip-path="url(#{clip})">{body}</g>')
    # Text items are clamped into the plot rather than clipped, so they stay readable.
    parts.extend(_item_svg(it, g, id_prefix) for it in (fig.get("items") or []) if it.get("t") == "text")
    # Frame, ticks and their labels.
    tick = "".join(f"M{_f(x)} {_f(B)}v4" for x in g.px(list(g.x_ticks.values)).tolist())
    tick += "".join(f"M{_f(L)} {_f(y)}h-4" for y in g.py(list(g.y_ticks.values)).tolist())
    parts.append(f'<path class="gc-axis" d="M{_f(L)} {_f(T)}V{_f(B)}H{_f(R)}{tick}" fill="none" stroke-width="1"/>')
    labels = [f'<text x="{_f(x)}" y="{_f(B + 4 + TICK_FONT + 1)}" text-anchor="middle">{escape(s)}</text>'
              for x, s in zip(g.px(list(g.x_ticks.values)).tolist(), g.x_ticks.labels)]
    labels += [f'<text x="{_f(L - 7)}" y="{_f(y + 4)}" text-anchor="end">{escape(s)}</text>'
               for y, s in zip(g.py(list(g.y_ticks.values)).tolist(), g.y_ticks.labels)]
    parts.append(f'<g class="gc-tick-label">{"".join(labels)}</g>')
    if fig.get("x_label"):
        parts.append(f'<text class="gc-axis-label" x="{_f((L + R) / 2)}" y="{_f(H - PAD + 2)}" '
                     f'text-anchor="middle" font-size="{LABEL_FONT}">{escape(str(fig["x_label"]))}</text>')
    if fig.get("y_label"):
        cx, cy = PAD + LABEL_FONT - 2, (T + B) / 2
        parts.append(f'<text class="gc-axis-label" x="{_f(cx)}" y="{_f(cy)}" text-anchor="middle" '
                     f'font-size="{LABEL_FONT}" transform="rotate(-90 {_f(cx)} {_f(cy)})">'
                     f'{escape(str(fig["y_label"]))}</text>')
    if fig.get("title"):
        parts.append(f'<text class="gc-title" x="{_f(W / 2)}" y="{_f(PAD + TITLE_FONT)}" text-anchor="middle" '
                     f'font-size="{TITLE_FONT}">{escape(str(fig["title"]))}</text>')
    parts.append(_legend_svg(g))
    parts.append("</svg>")
    return "".join(parts)
