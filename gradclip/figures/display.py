"""Display lists: figures as plain data.

Python computes, the page draws. A :class:`Figure` is a small, JSON-serialisable
description of a 2-D plot in *data coordinates*: axes ranges (linear or log),
labels, and a list of primitive items. The same dictionary is

* painted on a ``<canvas>`` by the site's JavaScript (``docs/javascripts/paint.js``), and
* written as SVG by :mod:`gradclip.figures.svg` (at build time, and in the browser for export),

so every figure is visible before, and without, WebAssembly.

Colours are *semantic names*, not RGB values, so the page can follow its light or
dark theme: ``"fg"``, ``"muted"``, ``"grid"``, ``"accent"``, ``"danger"``, ``"ok"``,
``"warn"``, ``"min"`` (the minimum marker), ``"start"``, and the series colours
``"s0"`` .. ``"s5"``. A colour map for rasters is named too (``"loss"``: dark
low values, bright high values; ``"outcome"``: categorical).

Item types (key ``"t"``), all coordinates in data units:

``line``      ``x``, ``y`` lists; ``color``, ``width`` (px), optional ``dash`` (list of px),
              ``label`` (legend), ``hover`` (bool: show a read-out of nearest point),
              ``hover_names`` (names for the x and y read-out), ``marker`` (bool:
              this line's points are the path the synchronised marker walks).
              ``None`` in x or y breaks the line.
``points``    ``x``, ``y`` lists; ``color``, ``size`` (px radius), ``label``.
``marker``    ``x``, ``y`` scalars; ``shape`` (``"circle"``, ``"star"``, ``"cross"``,
              ``"square"``), ``color``, ``size``, ``label``.
``hline``     ``y``; ``color``, ``width``, ``dash``, ``label``.
``vline``     ``x``; same keys as ``hline``.
``text``      ``x``, ``y``, ``text``; ``color``, ``anchor`` (``"start"|"middle"|"end"``),
              ``size`` (px). Coordinates are clamped into the plot area.
``raster``    ``values``: list of rows (row 0 at ``y_range[0]``), each a list of
              numbers in [0, 1] or ``None`` (transparent); ``x_range``, ``y_range``
              of the raster's extent; ``cmap``.
``contours``  ``paths``: list of ``{"x": [...], "y": [...]}`` polylines; ``color``, ``width``.
``rects``     ``x0``, ``x1``, ``y0``, ``y1`` lists (one rectangle each), ``fill``: list of
              colour names (or one name), optional ``set``: list of ``{param: value}``
              dicts; clicking rectangle i sets those demo parameters.
``handle``    ``x``, ``y``, ``params``: two parameter names; the reader can drag the
              handle, which sets those parameters (e.g. a start point).
``arrow``     ``x0``, ``y0``, ``x1``, ``y1``; ``color``, ``width``, ``label``.
``circle``    ``cx``, ``cy``, ``r`` (data units along x), ``color``, ``dash``.

The figure dictionary: ``{"width", "height", "x_range", "y_range", "x_log",
"y_log", "x_label", "y_label", "title", "alt", "legend", "items"}``. ``alt`` is
a one-line text alternative for screen readers. ``aspect_equal`` keeps data
units square (contour plots).

Examples
--------
>>> fig = Figure(x_range=(0, 10), y_range=(1e-3, 1e2), y_log=True, title="loss")
>>> fig.line([0, 1, 2], [10.0, 1.0, 0.1], color="s0", label="norm").hline(1.0, color="danger")
Figure(...)
>>> sorted(fig.to_dict())[:3]
['alt', 'aspect_equal', 'height']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["Figure", "finite_or_none"]


def finite_or_none(values: Iterable[float]) -> list[float | None]:
    r"""Plain floats for JSON: non-finite values become ``None`` (a break in a line).

    .. math:: \operatorname{out}_i = \begin{cases} x_i & x_i \text{ finite} \\
              \text{None} & x_i \in \{\pm\infty, \text{NaN}\} \end{cases}

    The input is flattened to float64 first. Vectorised: one ``tolist`` and, only where
    there are non-finite values, one assignment per such value.

    Examples
    --------
    >>> finite_or_none([1.0, float("nan"), float("inf"), 2])
    [1.0, None, None, 2.0]
    """
    x = np.asarray(values, dtype=float).ravel()
    out: list[float | None] = x.tolist()
    bad = np.flatnonzero(~np.isfinite(x))
    for i in bad.tolist():
        out[i] = None
    return out


@dataclass
class Figure:
    """A plot as a display list; build it with the chaining methods, send ``to_dict()``."""

    x_range: tuple[float, float] = (0.0, 1.0)
    y_range: tuple[float, float] = (0.0, 1.0)
    x_log: bool = False
    y_log: bool = False
    x_label: str = ""
    y_label: str = ""
    title: str = ""
    alt: str = ""
    width: int = 480
    height: int = 320
    aspect_equal: bool = False
    legend: bool = False
    items: list[dict[str, Any]] = field(default_factory=list)

    def __repr__(self) -> str:  # keeps doctest output short
        return "Figure(...)"

    def add(self, t: str, **keys: Any) -> "Figure":
        """Append an item of type ``t``; returns the figure for chaining."""
        self.items.append({"t": t, **keys})
        return self

    def line(self, x: Sequence[float], y: Sequence[float], *, color: str = "s0",
             width: float = 2.0, label: str | None = None, dash: list[float] | None = None,
             hover: bool = False, hover_names: tuple[str, str] | None = None,
             marker: bool = False) -> "Figure":
        item: dict[str, Any] = {"x": finite_or_none(x), "y": finite_or_none(y),
                                "color": color, "width": width}
        if label:
            item["label"] = label
        if dash:
            item["dash"] = list(dash)
        if hover:
            item["hover"] = True
            item["hover_names"] = list(hover_names or ("x", "y"))
        if marker:
            item["marker"] = True
        return self.add("line", **item)

    def points(self, x: Sequence[float], y: Sequence[float], *, color: str = "s0",
               size: float = 3.0, label: str | None = None) -> "Figure":
        item: dict[str, Any] = {"x": finite_or_none(x), "y": finite_or_none(y),
                                "color": color, "size": size}
        if label:
            item["label"] = label
        return self.add("points", **item)

    def marker(self, x: float, y: float, *, shape: str = "circle", color: str = "fg",
               size: float = 6.0, label: str | None = None) -> "Figure":
        item: dict[str, Any] = {"x": float(x), "y": float(y), "shape": shape,
                                "color": color, "size": size}
        if label:
            item["label"] = label
        return self.add("marker", **item)

    def hline(self, y: float, *, color: str = "danger", width: float = 1.5,
              dash: list[float] | None = None, label: str | None = None) -> "Figure":
        item: dict[str, Any] = {"y": float(y), "color": color, "width": width}
        if dash:
            item["dash"] = list(dash)
        if label:
            item["label"] = label
        return self.add("hline", **item)

    def vline(self, x: float, *, color: str = "muted", width: float = 1.0,
              dash: list[float] | None = None, label: str | None = None) -> "Figure":
        item: dict[str, Any] = {"x": float(x), "color": color, "width": width}
        if dash:
            item["dash"] = list(dash)
        if label:
            item["label"] = label
        return self.add("vline", **item)

    def text(self, x: float, y: float, text: str, *, color: str = "fg",
             anchor: str = "start", size: float = 12.0) -> "Figure":
        return self.add("text", x=float(x), y=float(y), text=str(text), color=color,
                        anchor=anchor, size=size)

    def raster(self, values: np.ndarray, *, x_range: tuple[float, float],
               y_range: tuple[float, float], cmap: str = "loss", decimals: int = 3) -> "Figure":
        """A grid of values in [0, 1] (NaN = transparent), row 0 at ``y_range[0]``."""
        v = np.asarray(values, dtype=float)
        rows = [[(round(c, decimals) if math.isfinite(c) else None) for c in row]
                for row in v.tolist()]
        return self.add("raster", values=rows, x_range=list(map(float, x_range)),
                        y_range=list(map(float, y_range)), cmap=cmap)

    def contours(self, paths: list[tuple[Sequence[float], Sequence[float]]], *,
                 color: str = "grid", width: float = 1.0, decimals: int = 4) -> "Figure":
        out = [{"x": [round(float(a), decimals) for a in px],
                "y": [round(float(b), decimals) for b in py]} for px, py in paths]
        return self.add("contours", paths=out, color=color, width=width)

    def rects(self, x0: Sequence[float], x1: Sequence[float], y0: Sequence[float],
              y1: Sequence[float], *, fill: str | list[str] = "s0",
              set_params: list[dict[str, float]] | None = None) -> "Figure":
        item: dict[str, Any] = {"x0": finite_or_none(x0), "x1": finite_or_none(x1),
                                "y0": finite_or_none(y0), "y1": finite_or_none(y1),
                                "fill": fill}
        if set_params is not None:
            item["set"] = set_params
        return self.add("rects", **item)

    def handle(self, x: float, y: float, params: tuple[str, str], *,
               color: str = "start") -> "Figure":
        return self.add("handle", x=float(x), y=float(y), params=list(params), color=color)

    def arrow(self, x0: float, y0: float, x1: float, y1: float, *, color: str = "s0",
              width: float = 2.0, label: str | None = None) -> "Figure":
        item: dict[str, Any] = {"x0": float(x0), "y0": float(y0), "x1": float(x1),
                                "y1": float(y1), "color": color, "width": width}
        if label:
            item["label"] = label
        return self.add("arrow", **item)

    def circle(self, cx: float, cy: float, r: float, *, color: str = "muted",
               dash: list[float] | None = None) -> "Figure":
        item: dict[str, Any] = {"cx": float(cx), "cy": float(cy), "r": float(r), "color": color}
        if dash:
            item["dash"] = list(dash)
        return self.add("circle", **item)

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width, "height": self.height,
            "x_range": [float(self.x_range[0]), float(self.x_range[1])],
            "y_range": [float(self.y_range[0]), float(self.y_range[1])],
            "x_log": self.x_log, "y_log": self.y_log,
            "x_label": self.x_label, "y_label": self.y_label,
            "title": self.title, "alt": self.alt,
            "aspect_equal": self.aspect_equal, "legend": self.legend,
            "items": self.items,
        }
