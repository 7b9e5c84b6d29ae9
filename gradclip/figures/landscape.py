"""The picture of a loss landscape: a shaded raster and contour lines, built once and cached.

Every contour plot on the site draws a landscape under its paths. The surface depends only on
the landscape, its view and how finely it is sampled, never on a demo's parameters, so
:func:`landscape_layers` computes it once per landscape and :class:`SurfaceStyle` and every
later slider move reuses it.

Two looks are in use, named by :class:`SurfaceStyle`:

* :data:`SIMULATOR_SURFACE`: shading of :math:`\\log_{10}(f - f^* + \\delta)` at cell centres,
  rescaled to [0, 1]; contour lines evenly spaced in that log loss. The items carry a content
  ``key`` so the browser receives them once per visit.
* :data:`TEACHING_SURFACE`: :math:`\\log(1 + f - f^*)` on one grid for both shading and lines,
  which keeps the valley floor visible beside a cliff in a small figure.

Examples
--------
>>> raster, contours = landscape_layers("ravine", TEACHING_SURFACE)
>>> raster["t"], raster["cmap"], contours["t"], "key" in raster
('raster', 'loss', 'contours', False)
>>> landscape_layers("ravine", TEACHING_SURFACE)[0] is raster     # cached
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradclip.figures.display import Figure
from gradclip.figures.helpers import nan_median
from gradclip.landscapes import LANDSCAPES, Landscape

__all__ = ["SurfaceStyle", "SIMULATOR_SURFACE", "TEACHING_SURFACE", "STYLES", "landscape_layers",
           "add_landscape", "contour_paths", "log_excess", "stored_contours_key", "traced_contours"]


@dataclass(frozen=True)
class SurfaceStyle:
    """How a landscape is shaded and contoured (a cache key, so frozen).

    ``scale``: ``"log_excess"`` (:func:`log_excess`, shading sampled at ``shade_n`` cell
    centres per side, lines on a ``contour_n`` grid) or ``"log1p"`` (shading and lines on one
    ``contour_n`` grid). ``levels`` lines, evenly spaced between the extremes and skipping
    them. ``key``: prefix of the items' content keys, or ``None`` for no key.
    """

    scale: str = "log_excess"
    shade_n: int = 48
    contour_n: int = 72
    levels: int = 9
    shade_decimals: int = 3
    contour_width: float = 1.0
    key: str | None = "simulator"


SIMULATOR_SURFACE = SurfaceStyle()
TEACHING_SURFACE = SurfaceStyle(scale="log1p", shade_n=61, contour_n=61, levels=12,
                                shade_decimals=2, contour_width=0.8, key=None)
#: The styles the demos use: their contour lines are stored for every landscape.
STYLES = (SIMULATOR_SURFACE, TEACHING_SURFACE)


def log_excess(land: Landscape, Z: np.ndarray) -> np.ndarray:
    """Shading variable: :math:`\\log_{10}(f - f^* + \\delta)`, with :math:`\\delta` a small
    fraction of the typical excess loss so the minimum does not fall to minus infinity.

    >>> log_excess(LANDSCAPES["ravine"], np.array([0.0, 10.0, 1000.0])).round(3).tolist()
    [-2.0, 1.0, 3.0]
    """
    excess = np.clip(np.where(np.isfinite(Z), Z - land.min_value, np.nan), 0.0, None)
    typical = nan_median(excess)
    delta = max(1e-3 * typical, 1e-9)
    return np.log10(excess + delta)


def contour_paths(X: np.ndarray, Y: np.ndarray, field: np.ndarray,
                  levels: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Polylines of ``field`` at each level, as ``(x, y)`` pairs; ``None`` without contourpy.

    contourpy is an optional dependency (the ``figures`` extra): without it a plot keeps its
    shading and loses only the lines.

    >>> X, Y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5))
    >>> len(contour_paths(X, Y, X ** 2 + Y ** 2, np.array([0.5])))
    1
    """
    try:
        from contourpy import contour_generator  # lazily: only contour plots need it
    except ImportError:  # pragma: no cover - the figures extra is missing
        return None
    gen = contour_generator(X, Y, field, line_type="Separate")
    paths = []
    for level in levels:
        for seg in gen.lines(float(level)):
            if len(seg) >= 2:
                paths.append((seg[:, 0], seg[:, 1]))
    return paths


def _log_excess_shade(land: Landscape, style: SurfaceStyle) -> np.ndarray:
    x0, x1, y0, y1 = land.view
    n = style.shade_n
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    with np.errstate(all="ignore"):
        S = log_excess(land, land.value(xs[None, :], ys[:, None]))
    lo, hi = np.nanmin(S), np.nanmax(S)
    return (S - lo) / (hi - lo) if hi > lo else np.zeros_like(S)


def _log_excess_lines(land: Landscape, style: SurfaceStyle):
    X, Y, Z = land.grid(style.contour_n)
    with np.errstate(all="ignore"):
        L = log_excess(land, Z)
    lo, hi = np.nanmin(L), np.nanmax(L)
    levels = np.linspace(lo, hi, style.levels + 2)[1:-1]
    return contour_paths(X, Y, np.where(np.isfinite(L), L, hi), levels)


def _log1p_field(land: Landscape, style: SurfaceStyle):
    X, Y, Z = land.grid(style.contour_n)
    # log(1 + f) keeps the cliff's huge values from washing out the valley floor.
    S = np.log1p(np.where(np.isfinite(Z), np.maximum(Z - land.min_value, 0.0), np.nan))
    top = float(np.nanmax(S)) if np.isfinite(S).any() else 1.0
    return X, Y, S, top


def _log1p_shade(land: Landscape, style: SurfaceStyle) -> np.ndarray:
    _, _, S, top = _log1p_field(land, style)
    return S / (top or 1.0)


def _log1p_lines(land: Landscape, style: SurfaceStyle):
    X, Y, S, top = _log1p_field(land, style)
    return contour_paths(X, Y, S, np.linspace(0.0, top, style.levels + 2)[1:-1])


# style.scale -> (shading in [0, 1], contour polylines)
_SURFACES = {"log_excess": (_log_excess_shade, _log_excess_lines), "log1p": (_log1p_shade, _log1p_lines)}


def stored_contours_key(name: str, style: SurfaceStyle) -> str:
    """The name of a landscape's contour item in ``_contour_data.STORED``: the landscape and every
    style field the lines depend on.

    >>> stored_contours_key("cliff", SIMULATOR_SURFACE)
    'cliff/log_excess/n72/levels9/width1.0'
    """
    return f"{name}/{style.scale}/n{style.contour_n}/levels{style.levels}/width{style.contour_width}"


def traced_contours(name: str, style: SurfaceStyle) -> dict[str, Any] | None:
    """The contour item of landscape ``name``, traced now with contourpy (``None`` without it).

    >>> traced_contours("ravine", TEACHING_SURFACE)["t"]
    'contours'
    """
    paths = _SURFACES[style.scale][1](LANDSCAPES[name], style)
    if paths is None:
        return None
    return Figure().contours(paths, color="grid", width=style.contour_width, decimals=3).items[0]


def _contours(name: str, style: SurfaceStyle) -> dict[str, Any] | None:
    """The stored contour item when there is one, else a freshly traced one.

    Tracing needs contourpy, and contourpy imports ``numpy.ma``: in the browser that would be
    the slowest part of the first figure, so the lines of the built-in landscapes are traced
    once, when the package is made (``python -m site_hooks.contours``), and stored; a test
    traces them again and compares.
    """
    from gradclip.figures._contour_data import STORED

    stored = STORED.get(stored_contours_key(name, style))
    return dict(stored) if stored is not None else traced_contours(name, style)


@functools.lru_cache(maxsize=64)
def landscape_layers(name: str, style: SurfaceStyle = SIMULATOR_SURFACE
                     ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The raster item and the contour item of landscape ``name``, cached.

    Cached by ``(name, style)``: a landscape's view is fixed and the style holds the
    resolution, so that is the key (landscape, view, resolution). The surface never changes,
    and tracing the contour lines is the most expensive part of a figure (the built-in
    landscapes' lines are stored: :func:`_contours`). The items are
    shared: copy them before changing them (:func:`add_landscape` does). The contour item is
    ``None`` without contourpy for a landscape whose lines are not stored.

    >>> r, c = landscape_layers("cliff")
    >>> r["key"].startswith("simulator.cliff.shade."), len(r["values"]), c["width"]
    (True, 48, 1.0)
    """
    if style.scale not in _SURFACES:
        raise ValueError(f"style.scale must be 'log_excess' or 'log1p', got {style.scale!r}")
    land = LANDSCAPES[name]
    shade = _SURFACES[style.scale][0](land, style)
    x0, x1, y0, y1 = land.view
    raster = Figure().raster(shade, x_range=(x0, x1), y_range=(y0, y1), cmap="loss",
                             decimals=style.shade_decimals).items[0]
    contours = _contours(name, style)
    if style.key is not None:
        from gradclip.demos import layer_key  # the demos' content-key scheme
        raster["key"] = layer_key(f"{style.key}.{name}.shade", raster)
        if contours is not None:
            contours["key"] = layer_key(f"{style.key}.{name}.contours", contours)
    return raster, contours


def add_landscape(fig: Figure, name: str, style: SurfaceStyle = SIMULATOR_SURFACE) -> Figure:
    """Append copies of the landscape's shading and contour lines to ``fig`` (below what
    comes after them).

    >>> fig = add_landscape(Figure(), "ravine", TEACHING_SURFACE)
    >>> [it["t"] for it in fig.items]
    ['raster', 'contours']
    """
    for item in landscape_layers(name, style):
        if item is not None:
            fig.items.append(dict(item))
    return fig
