"""The SVG writer: a display list as one self-contained ``<svg>`` element.

:func:`figure_to_svg` turns a ``Figure.to_dict()`` (:mod:`gradclip.figures.display`) into
inline SVG for a page: the site writes one for every figure at build time, so each is readable
before, and without, WebAssembly. ``docs/javascripts/paint.js`` draws the same dictionary on a
canvas with the same layout and ticks (:mod:`gradclip.figures.axes`) and the same constants
(:mod:`gradclip.figures.style`), so the live canvas replaces the static picture without a jump.

Colours are CSS classes (``gc-s-<name>`` for strokes, ``gc-f-<name>`` for fills) defined in
``docs/stylesheets/figures.css`` on top of CSS variables, so the picture follows Material's light
and dark palettes. Rasters are PNG data URIs in the colour map's colours, drawn with the theme's
raster opacity.

Pure Python and NumPy (PNG via ``zlib``), so it runs in Pyodide as well as at build time.

>>> svg = figure_to_svg({"x_range": [0, 1], "y_range": [0, 1], "alt": "a line",
...                      "items": [{"t": "line", "x": [0, 1], "y": [0, 1]}]}, id_prefix="f")
>>> svg.startswith("<svg") and "<title" in svg
True
"""

from __future__ import annotations

import base64
import math
import re
from typing import Any

import numpy as np

from gradclip.figures.axes import Layout, layout, text_width
from gradclip.figures.paths import clip_segments
from gradclip.figures.png import colormap_rgba, png_rgba
from gradclip.figures.style import (CLIP_SLACK, CMAPS, COLOR_NAMES, THEMES, HANDLE_DOT_RADIUS, HANDLE_RADIUS, LABEL_FONT,
                                    LEGEND_GAP, LEGEND_SWATCH, PAD, TICK_FONT, TICK_LENGTH, TITLE_FONT)

__all__ = ["figure_to_svg", "figure_svg", "theme_css"]

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def _escape(text: str, entities: dict[str, str] | None = None) -> str:
    """``&``, ``>``, ``<`` and then ``entities`` replaced, as ``xml.sax.saxutils.escape`` does:
    its import pulls in urllib, http and email (25 ms here, before a page's first figure).

    >>> _escape('a < b & "c"', {'"': "&quot;"})
    'a &lt; b &amp; &quot;c&quot;'
    """
    text = text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    for char, entity in (entities or {}).items():
        text = text.replace(char, entity)
    return text


# --------------------------------------------------------------------------------------------
# Geometry helpers: polylines cut to the plot, compact path data
# --------------------------------------------------------------------------------------------

def _clip_runs(X: np.ndarray, Y: np.ndarray, box: tuple[float, float, float, float]) -> list[np.ndarray]:
    """Split a polyline at NaNs and cut it to ``box`` = ``(x0, y0, x1, y1)``.

    Returns subpaths as ``(k, 2)`` arrays; a segment leaving and re-entering the box starts a
    new subpath. Keeps huge coordinates (a diverged run at 1e30) out of the SVG. The cutting
    is :func:`gradclip.figures.paths.clip_segments` (Liang–Barsky), for all segments at once.
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
    with np.errstate(invalid="ignore", over="ignore"):
        s, e, visible = clip_segments(np.column_stack([ax, ay]), np.column_stack([bx, by]),
                                      (x0b, x1b, y0b, y1b))
    for i in range(n - 1):
        if not fin[i]:
            flush()
        elif inside_a[i] and inside_b[i]:
            if not cur:
                cur.append((ax[i], ay[i]))
            cur.append((bx[i], by[i]))
        elif not visible[i]:
            flush()
        else:
            if not inside_a[i] or not cur:     # cut at its start: a new subpath begins there
                flush()
                cur.append((s[i, 0], s[i, 1]))
            cur.append((e[i, 0], e[i, 1]))
            if not inside_b[i]:                 # cut at its end: the subpath stops there
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


def _plot_box(g: Layout) -> tuple[float, float, float, float]:
    """The plot area widened by :data:`CLIP_SLACK`: where polylines are cut."""
    return (g.left - CLIP_SLACK, g.top - CLIP_SLACK, g.left + g.pw + CLIP_SLACK, g.top + g.ph + CLIP_SLACK)


def _point(g: Layout, x: Any, y: Any) -> tuple[float, float]:
    return float(g.px([x])[0]), float(g.py([y])[0])


def _finite(*vs: float) -> bool:
    return all(math.isfinite(v) for v in vs)


def _stroke_path(color: str, d: str, width: float, extra: str = "") -> str:
    return f'<path class="gc-s-{color}" d="{d}" fill="none" stroke-width="{_f(width)}"{extra}/>'


def _line_svg(it: dict[str, Any], g: Layout) -> str:
    X, Y = g.px(it.get("x") or []), g.py(it.get("y") or [])
    if len(X) != len(Y):
        raise ValueError(f"line x and y must have the same length, got {len(X)} and {len(Y)}")
    d = _path_d(_clip_runs(X, Y, _plot_box(g)))
    if not d:
        return ""
    return _stroke_path(_color(it.get("color"), "s0"), d, float(it.get("width", 2)),
                        f'{_dash_attr(it.get("dash"))} stroke-linejoin="round" stroke-linecap="round"')


def _contours_svg(it: dict[str, Any], g: Layout) -> str:
    subs: list[np.ndarray] = []
    box = _plot_box(g)
    for p in it.get("paths") or []:
        subs += _clip_runs(g.px(p.get("x") or []), g.py(p.get("y") or []), box)
    d = _path_d(subs)
    if not d:
        return ""
    return _stroke_path(_color(it.get("color"), "grid"), d, float(it.get("width", 1)),
                        ' stroke-linejoin="round"')


def _points_svg(it: dict[str, Any], g: Layout) -> str:
    X, Y = g.px(it.get("x") or []), g.py(it.get("y") or [])
    r = float(it.get("size", 3))
    box = _plot_box(g)
    keep = np.isfinite(X) & np.isfinite(Y) & (X >= box[0]) & (X <= box[2]) & (Y >= box[1]) & (Y <= box[3])
    d = "".join(_marker_path("circle", x, y, r) for x, y in zip(X[keep].tolist(), Y[keep].tolist()))
    return f'<path class="gc-f-{_color(it.get("color"), "s0")}" d="{d}"/>' if d else ""


def _marker_item_svg(it: dict[str, Any], g: Layout) -> str:
    x, y = _point(g, it.get("x"), it.get("y"))
    if not _finite(x, y):
        return ""
    return _marker_svg(str(it.get("shape", "circle")), x, y, float(it.get("size", 6)),
                       _color(it.get("color"), "fg"))


def _handle_svg(it: dict[str, Any], g: Layout) -> str:
    x, y = _point(g, it.get("x"), it.get("y"))
    if not _finite(x, y):
        return ""
    color = _color(it.get("color"), "start")
    return (f'<circle class="gc-f-{color} gc-handle" cx="{_f(x)}" cy="{_f(y)}" r="{HANDLE_RADIUS}"/>'
            f'<circle class="gc-handle-dot" cx="{_f(x)}" cy="{_f(y)}" r="{HANDLE_DOT_RADIUS}"/>')


def _rule_svg(it: dict[str, Any], g: Layout) -> str:
    """A horizontal (``hline``) or vertical (``vline``) line across the whole plot."""
    if it.get("t") == "hline":
        color = _color(it.get("color"), "danger")
        y = float(g.py([it.get("y")])[0])
        if not math.isfinite(y):
            return ""
        x0, y0, x1, y1 = g.left, y, g.left + g.pw, y
    else:
        color = _color(it.get("color"), "muted")
        x = float(g.px([it.get("x")])[0])
        if not math.isfinite(x):
            return ""
        x0, y0, x1, y1 = x, g.top, x, g.top + g.ph
    return (f'<path class="gc-s-{color}" d="M{_f(x0)} {_f(y0)}L{_f(x1)} {_f(y1)}" '
            f'stroke-width="{_f(float(it.get("width", 1.5)))}"{_dash_attr(it.get("dash"))}/>')


def _arrow_svg(it: dict[str, Any], g: Layout) -> str:
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


def _circle_svg(it: dict[str, Any], g: Layout) -> str:
    cx, cy = _point(g, it.get("cx"), it.get("cy"))
    edge = float(g.px([float(it.get("cx", 0)) + float(it.get("r", 0))])[0])
    r = abs(edge - cx)
    if not _finite(cx, cy, r):
        return ""
    color = _color(it.get("color"), "muted")
    return (f'<circle class="gc-s-{color}" cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(r)}" fill="none" '
            f'stroke-width="1.5"{_dash_attr(it.get("dash"))}/>')


def _text_svg(it: dict[str, Any], g: Layout) -> str:
    x, y = _point(g, it.get("x"), it.get("y"))
    if not _finite(x, y):
        return ""
    size = float(it.get("size", 12))
    anchor = it.get("anchor") if it.get("anchor") in ("start", "middle", "end") else "start"
    x = _clamp_text(x, str(it.get("text", "")), size, anchor, g)
    y = min(max(y, g.top + size), g.top + g.ph - 3)
    color = _color(it.get("color"), "fg")
    return (f'<text class="gc-f-{color} gc-halo" x="{_f(x)}" y="{_f(y)}" font-size="{_f(size)}" '
            f'text-anchor="{anchor}">{_escape(str(it.get("text", "")))}</text>')


def _rects_svg(it: dict[str, Any], g: Layout) -> str:
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


def _raster_svg(it: dict[str, Any], g: Layout) -> str:
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
    # xlink:href, not href: Material's instant navigation rewrites every [href] element's
    # .href property, which SVG <image> elements do not allow (a page error otherwise).
    return (f'<image class="{cls}" x="{_f(x0)}" y="{_f(y0)}" width="{_f(x1 - x0)}" '
            f'height="{_f(y1 - y0)}" preserveAspectRatio="none" xlink:href="{uri}"/>')


# One writer per item type (the ``"t"`` key of a display-list item).
_ITEM_WRITERS = {
    "line": _line_svg, "contours": _contours_svg, "points": _points_svg,
    "marker": _marker_item_svg, "handle": _handle_svg, "hline": _rule_svg, "vline": _rule_svg,
    "arrow": _arrow_svg, "circle": _circle_svg, "text": _text_svg, "rects": _rects_svg,
    "raster": _raster_svg,
}


def _item_svg(it: dict[str, Any], g: Layout) -> str:
    writer = _ITEM_WRITERS.get(it.get("t"))
    if writer is None:
        raise ValueError(f"item type must be one of line, points, marker, hline, vline, text, raster, "
                         f"contours, rects, handle, arrow, circle; got {it.get('t')!r}")
    return writer(it, g)


def _legend_svg(g: Layout) -> str:
    out = []
    for e in g.legend:
        x, y = e.x, e.y
        if e.kind == "line":
            out.append(f'<path class="gc-s-{_color(e.color, "s0")}" d="M{_f(x)} {_f(y)}h{LEGEND_SWATCH}" stroke-width="2"'
                       f'{_dash_attr(e.dash)}/>')
        elif e.kind == "points":
            out.append(f'<path class="gc-f-{_color(e.color, "s0")}" d="{_marker_path("circle", x + 9, y, 3)}"/>')
        else:
            out.append(_marker_svg(e.shape, x + 9, y, 4.5, _color(e.color, "fg")))
        out.append(f'<text class="gc-f-fg" x="{_f(x + (LEGEND_SWATCH + LEGEND_GAP))}" y="{_f(y + 4)}">{_escape(e.label)}</text>')
    return f'<g class="gc-legend">{"".join(out)}</g>' if out else ""


def _frame_svg(fig: dict[str, Any], g: Layout) -> str:
    """The frame (left and bottom axes), ticks, tick labels, axis labels and title."""
    W, H = g.width, g.height
    L, T, R, B = g.left, g.top, g.left + g.pw, g.top + g.ph
    parts = []
    tick = "".join(f"M{_f(x)} {_f(B)}v{TICK_LENGTH}" for x in g.px(list(g.x_ticks.values)).tolist())
    tick += "".join(f"M{_f(L)} {_f(y)}h-{TICK_LENGTH}" for y in g.py(list(g.y_ticks.values)).tolist())
    parts.append(f'<path class="gc-axis" d="M{_f(L)} {_f(T)}V{_f(B)}H{_f(R)}{tick}" fill="none" stroke-width="1"/>')
    labels = [f'<text x="{_f(x)}" y="{_f(B + 4 + TICK_FONT + 1)}" text-anchor="middle">{_escape(s)}</text>'
              for x, s in zip(g.px(list(g.x_ticks.values)).tolist(), g.x_ticks.labels)]
    labels += [f'<text x="{_f(L - 7)}" y="{_f(y + 4)}" text-anchor="end">{_escape(s)}</text>'
               for y, s in zip(g.py(list(g.y_ticks.values)).tolist(), g.y_ticks.labels)]
    parts.append(f'<g class="gc-tick-label">{"".join(labels)}</g>')
    if fig.get("x_label"):
        parts.append(f'<text class="gc-axis-label" x="{_f((L + R) / 2)}" y="{_f(H - PAD + 2)}" '
                     f'text-anchor="middle" font-size="{LABEL_FONT}">{_escape(str(fig["x_label"]))}</text>')
    if fig.get("y_label"):
        cx, cy = PAD + LABEL_FONT - 2, (T + B) / 2
        parts.append(f'<text class="gc-axis-label" x="{_f(cx)}" y="{_f(cy)}" text-anchor="middle" '
                     f'font-size="{LABEL_FONT}" transform="rotate(-90 {_f(cx)} {_f(cy)})">'
                     f'{_escape(str(fig["y_label"]))}</text>')
    if fig.get("title"):
        parts.append(f'<text class="gc-title" x="{_f(W / 2)}" y="{_f(PAD + TITLE_FONT)}" text-anchor="middle" '
                     f'font-size="{TITLE_FONT}">{_escape(str(fig["title"]))}</text>')
    return "".join(parts)


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
        f'width="100%" role="img" aria-label="{_escape(alt, {chr(34): "&quot;"})}" '
        f'font-size="{TICK_FONT}">',
        f'<title id="{id_prefix}-title">{_escape(alt)}</title>',
        f'<defs><clipPath id="{clip}"><rect x="{_f(L)}" y="{_f(T)}" width="{_f(g.pw)}" '
        f'height="{_f(g.ph)}"/></clipPath></defs>',
    ]
    # Grid first, so every item draws over it.
    grid = "".join(f"M{_f(x)} {_f(T)}V{_f(B)}" for x in g.px(list(g.x_ticks.values)).tolist())
    grid += "".join(f"M{_f(L)} {_f(y)}H{_f(R)}" for y in g.py(list(g.y_ticks.values)).tolist())
    parts.append(f'<path class="gc-gridline" d="{grid}" fill="none" stroke-width="1"/>')
    body = "".join(_item_svg(it, g) for it in (fig.get("items") or []) if it.get("t") != "text")
    parts.append(f'<g clip-path="url(#{clip})">{body}</g>')
    # Text items are clamped into the plot rather than clipped, so they stay readable.
    parts.extend(_item_svg(it, g) for it in (fig.get("items") or []) if it.get("t") == "text")
    parts.append(_frame_svg(fig, g))
    parts.append(_legend_svg(g))
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# A standalone file: the theme written in, for a download that has no stylesheet
# --------------------------------------------------------------------------------------------

def theme_css(dark: bool = False) -> str:
    """The stylesheet an SVG from :func:`figure_to_svg` needs, with one theme's colours filled in.

    The same rules as the SVG part of ``docs/stylesheets/figures.css``, with each CSS variable
    replaced by its value in :data:`gradclip.figures.style.THEMES`.

    >>> css = theme_css()
    >>> ".gc-s-danger{stroke:#d1242f}" in css, "#ff7b72" in theme_css(dark=True)
    (True, True)
    """
    th = THEMES["dark" if dark else "light"]
    rules = [
        f".gc-svg{{font-family:sans-serif;fill:{th['fg']}}}",
        f".gc-tick-label{{fill:{th['muted']};font-variant-numeric:tabular-nums}}",
        ".gc-title{font-weight:600}",
        f".gc-axis-label,.gc-legend{{fill:{th['fg']}}}",
        f".gc-axis{{stroke:{th['muted']}}}",
        f".gc-gridline{{stroke:{th['grid']};opacity:{th['gridline_opacity']}}}",
        f".gc-raster{{opacity:{th['raster_opacity']}}}",
        ".gc-raster-cat{image-rendering:pixelated}",
        f".gc-ring,.gc-handle{{stroke:{th['bg']};stroke-width:1.5px}}",
        f".gc-handle-dot{{fill:{th['bg']}}}",
        f".gc-halo{{paint-order:stroke;stroke:{th['bg']};stroke-width:3px;stroke-linejoin:round}}",
    ]
    rules += [f".gc-s-{n}{{stroke:{th[n]}}}.gc-f-{n}{{fill:{th[n]}}}" for n in COLOR_NAMES]
    return "".join(rules)


def figure_svg(fig: dict[str, Any], dark: bool = False, *, id_prefix: str = "gc-export") -> str:
    """A display list as a standalone SVG file: fixed size, opaque background, colours included.

    :func:`figure_to_svg` writes SVG for a page, whose stylesheet colours it; this wraps the
    same drawing for a download that is opened on its own. It adds a ``<style>`` of the
    light or dark theme (:func:`theme_css`), a background rectangle in the theme's page colour,
    and an explicit ``width``/``height`` (the figure's size in px) instead of ``100%``. The
    style applies to the whole document the SVG lands in, so put figures of one theme together.

    Parameters
    ----------
    fig : dict
        ``Figure.to_dict()``.
    dark : bool
        Use the dark theme's colours (light text on a dark background).
    id_prefix : str
        Prefix of the element ids, as in :func:`figure_to_svg`.

    Examples
    --------
    >>> s = figure_svg({"x_range": [0, 1], "y_range": [0, 1], "width": 300, "height": 200,
    ...                 "items": [{"t": "line", "x": [0, 1], "y": [0, 1]}]})
    >>> s.startswith('<?xml'), 'width="300" height="200"' in s, "<style>" in s
    (True, True, True)
    """
    body = figure_to_svg(fig, id_prefix=id_prefix)
    g = layout(fig)
    head, rest = body.split(">", 1)
    head = head.replace(' width="100%"', f' width="{_f(g.width)}" height="{_f(g.height)}"')
    bg = THEMES["dark" if dark else "light"]["bg"]
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{head}><style>{theme_css(dark)}</style>'
            f'<rect width="100%" height="100%" fill="{bg}"/>{rest}\n')
