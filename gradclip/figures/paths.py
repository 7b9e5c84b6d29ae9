"""A trajectory drawn in a view: segments cut to a box, the edge crossings, the exit note.

The contour plots show an optimisation path over a landscape's view. A diverging run
leaves the view; these functions say what of it is drawn (the clipped pieces), where it
left, and where the "left the plot" note goes.

Examples
--------
>>> trajectory_paths(np.array([[0.0, 0.0], [3.0, 0.0]]), (-1, 1, -1, 1))["exit"]
(1.0, 0.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradclip.figures.axes import text_width

__all__ = ["clip_segments", "trajectory_paths", "finite_path", "exit_label_at", "LABEL_SIZE",
           "LABEL_PLOT_PX"]

LABEL_SIZE = 12   # px, the "left the plot at step k" note
LABEL_PLOT_PX = 400   # about the contour plot's width in figure px, to estimate a note's width


def clip_segments(p: np.ndarray, q: np.ndarray, view: tuple[float, float, float, float]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip segments ``p[i] -> q[i]`` to a box (Liang–Barsky), vectorised over segments.

    A point on segment i is :math:`p + s (q - p)`; the visible part is
    :math:`s \\in [s_0, s_1]`, found from the four edges. Returns the clipped end points
    ``a``, ``b`` (shape ``(n, 2)``) and a mask of segments with a visible part.

    >>> a, b, ok = clip_segments(np.array([[0.0, 0.0]]), np.array([[4.0, 0.0]]), (-1, 1, -1, 1))
    >>> a.tolist(), b.tolist(), ok.tolist()
    ([[0.0, 0.0]], [[1.0, 0.0]], [True])
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    d = q - p
    lo = np.array([view[0], view[2]])
    hi = np.array([view[1], view[3]])
    with np.errstate(divide="ignore", invalid="ignore"):
        t_lo = (lo - p) / d
        t_hi = (hi - p) / d
    enter = np.where(d > 0, t_lo, np.where(d < 0, t_hi, -np.inf))
    leave = np.where(d > 0, t_hi, np.where(d < 0, t_lo, np.inf))
    # A coordinate that does not move must already lie inside its slab.
    still_out = (d == 0) & ((p < lo) | (p > hi))
    s0 = np.maximum(enter.max(axis=1), 0.0)
    s1 = np.minimum(leave.min(axis=1), 1.0)
    ok = (s0 <= s1) & ~still_out.any(axis=1) & np.isfinite(p).all(axis=1) & np.isfinite(q).all(axis=1)
    a = p + np.where(ok, s0, 0.0)[:, None] * d
    b = p + np.where(ok, s1, 0.0)[:, None] * d
    return a, b, ok


def _inside(pts: np.ndarray, view: tuple[float, float, float, float]) -> np.ndarray:
    x0, x1, y0, y1 = view
    with np.errstate(invalid="ignore"):
        return (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)


def trajectory_paths(positions: np.ndarray, view: tuple[float, float, float, float]) -> dict[str, Any]:
    """What the contour plot draws of one trajectory.

    Returns ``x``, ``y``: one entry per position (the path the synchronised marker walks;
    ``nan`` where the run is outside the view or gone), ``edge_x``, ``edge_y``: the
    clipped pieces of every step that crosses the edge of the view (``nan`` separates
    them), and ``left_at`` / ``exit``: the first position index outside the view and where
    the path crosses the edge there (``None`` when it never leaves).

    >>> paths = trajectory_paths(np.array([[0.0, 0.0], [0.5, 0.0], [3.0, 0.0]]), (-1, 1, -1, 1))
    >>> paths["left_at"], paths["exit"], paths["edge_x"]
    (2, (1.0, 0.0), [0.5, 1.0, nan])
    """
    pos = np.asarray(positions, dtype=float)
    inside = _inside(pos, view)
    x = np.where(inside, pos[:, 0], np.nan)
    y = np.where(inside, pos[:, 1], np.nan)
    # Steps that are not drawn by the marker path: at least one end outside, both ends known.
    known = np.isfinite(pos).all(axis=1)
    cross = (inside[:-1] != inside[1:]) | (~inside[:-1] & ~inside[1:])
    cross &= known[:-1] & known[1:]
    idx = np.flatnonzero(cross)
    edge_x: list[float] = []
    edge_y: list[float] = []
    left_at = None
    exit_pt = None
    if idx.size:
        a, b, ok = clip_segments(pos[idx], pos[idx + 1], view)
        for i, pa, pb, vis in zip(idx.tolist(), a.tolist(), b.tolist(), ok.tolist()):
            if not vis:
                continue
            edge_x += [pa[0], pb[0], math.nan]
            edge_y += [pa[1], pb[1], math.nan]
        leaving = np.flatnonzero(inside[:-1] & ~inside[1:] & known[1:])
        if leaving.size:
            k = int(leaving[0])
            a1, b1, _ = clip_segments(pos[k:k + 1], pos[k + 1:k + 2], view)
            left_at = k + 1
            exit_pt = (float(b1[0, 0]), float(b1[0, 1]))
    return {"x": x, "y": y, "edge_x": edge_x, "edge_y": edge_y, "left_at": left_at,
            "exit": exit_pt}


# ---------------------------------------------------------------------------------------
# The contour plot's background: computed once per landscape


def exit_label_at(ex: float, ey: float, text: str, view: tuple[float, float, float, float], *,
                  row: int = 0) -> tuple[float, float, str]:
    """Where the "left the plot" note goes: ``(x, y, anchor)`` inside the plot area.

    The note sits beside the exit point ``(ex, ey)`` on the plot's side of it: below the
    point when it is in the upper half, above it otherwise (``row`` stacks the notes of
    several runs), ending at the point (``"end"``) when it would run past the right edge,
    starting there (``"start"``) when it would run past the left edge, else centred on it.
    Widths are estimated as the painters estimate them (:func:`~gradclip.figures.axes.text_width`) on a plot
    :data:`LABEL_PLOT_PX` wide; the painters also keep the whole text inside the plot.

    >>> exit_label_at(2.4, 2.0, "left the plot at step 3", (-2.5, 2.5, -2.0, 2.0))
    (2.4, 1.72, 'end')
    >>> exit_label_at(-2.5, -1.0, "left the plot at step 3", (-2.5, 2.5, -2.0, 2.0))
    (-2.5, -0.72, 'start')
    >>> exit_label_at(0.0, 2.0, "left", (-2.5, 2.5, -2.0, 2.0))
    (0.0, 1.72, 'middle')
    """
    x0, x1, y0, y1 = view
    span_x, span_y = x1 - x0, y1 - y0
    half = 0.5 * text_width(text, LABEL_SIZE) / LABEL_PLOT_PX * span_x   # half its width, data units
    if ex + half > x1 - 0.01 * span_x:
        anchor = "end"
    elif ex - half < x0 + 0.01 * span_x:
        anchor = "start"
    else:
        anchor = "middle"
    dy = 0.07 * span_y * (1 + row)
    ty = ey - dy if ey > (y0 + y1) / 2 else ey + dy
    return float(ex), round(float(ty), 10), anchor


def finite_path(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A run's path without the NaN rows after divergence (the last finite row is the edge),
    as ``x`` and ``y`` arrays; unlike :func:`trajectory_paths` it is not cut to a view.

    >>> finite_path(np.array([[0.0, 1.0], [2.0, 3.0], [np.nan, np.nan]]))
    (array([0., 2.]), array([1., 3.]))
    """
    keep = np.isfinite(positions).all(axis=1)
    return positions[keep, 0], positions[keep, 1]
