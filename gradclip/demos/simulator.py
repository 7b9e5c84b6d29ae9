"""The Gradient Clipping Simulator: the site's front-door demo, and its phase diagram.

Three demos are registered here:

``simulator``
    One optimisation run of :func:`gradclip.simulate` (or, in compare mode, the same
    settings with ``none``, ``norm`` and ``value`` clipping in one call of
    :func:`gradclip.simulate_batch`), drawn as three figures: the trajectory on a shaded
    contour plot of the landscape, the loss per step (log scale) and the raw gradient norm
    per step with the threshold and the clipped steps. Its results are the seven fields of
    :class:`gradclip.simulate.Summary`.
``phase``
    A ``tau`` × ``lr`` map of outcomes from one :func:`gradclip.sweep` call; a click on a
    cell sets ``tau`` and ``lr`` (of the simulator it is synced with).
``simulator_export``
    The current view as CSV text (and SVG, where an SVG writer is importable) in ``extra``,
    computed only when a reader asks for it.

Everything is a pure function of the parameters. The only state is a few
``functools.lru_cache`` tables of derived constants: the contour shading of each landscape
(it never changes) and the last few sweeps with their cells (a click on the phase diagram,
or a change of tau or lr, only moves a marker, so the grid is not recomputed). Those
layers carry a content ``key`` (:func:`gradclip.demos.layer_key`): the browser receives
each of them once per visit and keeps its drawing.

Start point
-----------
``px`` and ``py`` are hidden parameters set by dragging the start handle. ``None`` (or
anything that is not a finite number) means the landscape's own start; a point outside the
landscape's view box is clamped onto it, with a notice in ``extra["notices"]``.

Examples
--------
>>> from gradclip.demos import run
>>> out = run("simulator", {"method": "none"})
>>> out["results"]["diverged"]["text"]
'diverged at step 1'
>>> out["results"]["verdict"]["value"]
'diverged'
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradclip.demos import DemoOutput, DemoSpec, Param, fmt_number, layer_key, register, result
from gradclip.figures import Figure
from gradclip.figures.svg import figure_to_svg
from gradclip.landscapes import LANDSCAPES, Landscape
from gradclip.simulate import Run, simulate, simulate_batch, sweep

__all__ = [
    "SIMULATOR", "PHASE", "EXPORT", "PRESETS", "Preset", "COMPARE_METHODS", "METHOD_COLORS", "OUTCOME_COLORS",
    "start_point", "clip_segments", "clipped_rug", "trajectory_paths", "exit_label_at", "round_sig",
    "round_to_span", "contour_figure", "loss_figure", "norm_figure", "summary_results", "run_csv",
    "phase_axes", "phase_cells", "phase_figure",
]

# ---------------------------------------------------------------------------------------
# Constants

TAU_RANGE = (0.1, 10.0)
LR_RANGE = (0.001, 1.0)
STEPS_RANGE = (10, 2000)
SEED = 0                      # spiky's bad batches: one fixed sequence, so links reproduce runs

COMPARE_METHODS = ("none", "norm", "value")
METHOD_LABELS = {"none": "no clipping", "norm": "clip by norm", "value": "clip by value",
                 "adaptive": "adaptive (ZClip)"}
# One colour per method everywhere on the page, so a method keeps its colour between modes.
# s1 is avoided: it is the same vermillion as "danger", which marks tau and divergence.
METHOD_COLORS = {"none": "s3", "norm": "s0", "value": "s2", "adaptive": "s5"}

OUTCOME_COLORS = {"healthy": "ok", "slow": "muted", "over_clipped": "warn", "spiked": "s5",
                  "oscillating": "s3", "diverged": "danger"}
OUTCOME_LABELS = {"healthy": "healthy", "slow": "slow", "over_clipped": "over-clipped",
                  "spiked": "spiked", "oscillating": "oscillating", "diverged": "diverged"}

SHADE_N = 48      # raster cells per side of the contour plot's shading
CONTOUR_N = 72    # grid points per side for the contour lines
CONTOUR_LEVELS = 9
PHASE_N = 16      # phase diagram: cells per side (tau and lr)
LABEL_SIZE = 12   # px, the "left the plot at step k" note
LABEL_PLOT_PX = 400   # about the contour plot's width in figure px, to estimate a note's width

# ---------------------------------------------------------------------------------------
# Small pure helpers


def round_sig(values: Any, digits: int = 4) -> np.ndarray:
    """Round to ``digits`` significant figures so a display list stays small.

    Each value becomes the double nearest to a short decimal, so JSON writes ``0.01235``,
    not ``0.012345678901234567``. Non-finite values pass through.

    .. math:: r(v) = \\operatorname{rint}(v \\cdot 10^{d-1-e}) / 10^{d-1-e},
              \\quad e = \\lfloor \\log_{10} |v| \\rfloor

    >>> round_sig([0.0123456, 123456.0, 0.0, float("nan"), 9.0399e-20]).tolist()
    [0.01235, 123500.0, 0.0, nan, 9.04e-20]
    """
    v = np.asarray(values, dtype=float)
    out = v.copy()
    ok = np.isfinite(v) & (v != 0)
    if not ok.any():
        return out
    idx = np.flatnonzero(ok)
    e = np.floor(np.log10(np.abs(v[idx]))).astype(int)
    k = digits - 1 - e
    # Powers of ten up to 1e22 are exact doubles: divide by one when k >= 0, multiply by
    # one when k < 0, both correctly rounded, so the result is the double closest to the
    # short decimal. Beyond that (tiny or huge values, rare) go through the decimal text.
    exact = np.abs(k) <= 22
    i, kk = idx[exact], k[exact]
    up = 10.0 ** np.maximum(kk, 0)
    down = 10.0 ** np.maximum(-kk, 0)
    out[i] = np.rint(v[i] * up / down) / up * down
    slow = idx[~exact]
    if slow.size:
        short = f"{{:.{digits - 1}e}}".format
        out[slow] = [float(short(x)) for x in v[slow].tolist()]
    return out


def round_to_span(values: Any, span: float, digits: int = 5) -> np.ndarray:
    r"""Round coordinates to :math:`10^{-d}` of the ``span`` they are drawn across (a
    plot's view): finer than any screen shows, and short in JSON.

    Unlike :func:`round_sig` this is absolute, so a run converging to a minimum at 0 (whose
    coordinates fall to 1e-40) costs one vectorised call, not a decimal text per value.

    .. math:: r(v) = \operatorname{rint}(v \cdot 10^{k}) / 10^{k},
              \quad k = \lceil d - \log_{10} s \rceil

    >>> round_to_span([1.23456789, -3e-40, 2.5, float("nan")], 5.0).tolist()
    [1.23457, -0.0, 2.5, nan]
    """
    v = np.asarray(values, dtype=float)
    if not (math.isfinite(span) and span > 0):
        return round_sig(v, digits)
    k = math.ceil(digits - math.log10(span))
    if abs(k) > 22:   # 10**k is no longer exact (a view nobody draws): go by digits
        return round_sig(v, digits)
    return np.round(v, k)


def start_point(land: Landscape, px: Any, py: Any) -> tuple[tuple[float, float], list[str]]:
    """The run's start: ``(px, py)`` clamped into the landscape's view box.

    ``None`` or a non-number in either coordinate means the landscape's default start.
    Returns the point and a list of notices (one when a coordinate had to be clamped).

    >>> from gradclip.landscapes import LANDSCAPES
    >>> start_point(LANDSCAPES["cliff"], None, None)
    ((2.0, 1.5), [])
    >>> start_point(LANDSCAPES["cliff"], 9.0, 0.5)[0]
    (2.5, 0.5)
    """
    def number(v: Any) -> float | None:
        if v is None or isinstance(v, bool):
            return None
        try:
            x = float(v)
        except (TypeError, ValueError):
            return None
        return x if math.isfinite(x) else None

    x, y = number(px), number(py)
    if x is None or y is None:
        return (float(land.start[0]), float(land.start[1])), []
    x0, x1, y0, y1 = land.view
    cx, cy = min(max(x, x0), x1), min(max(y, y0), y1)
    notices = []
    if (cx, cy) != (x, y):
        notices.append(f"Start point ({fmt_number(x)}, {fmt_number(y)}) is outside the plot of "
                       f"{land.title}; using ({fmt_number(cx)}, {fmt_number(cy)}).")
    return (cx, cy), notices


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


def _log_loss(land: Landscape, Z: np.ndarray) -> np.ndarray:
    """Shading variable: :math:`\\log_{10}(f - f^* + \\delta)`, with :math:`\\delta` a small
    fraction of the typical excess loss so the minimum does not fall to minus infinity."""
    excess = np.clip(np.where(np.isfinite(Z), Z - land.min_value, np.nan), 0.0, None)
    typical = np.nanmedian(excess)
    delta = max(1e-3 * typical, 1e-9)
    return np.log10(excess + delta)


@functools.lru_cache(maxsize=None)
def _background(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The raster item (log-loss shading) and contour item of a landscape, built once.

    Cached per landscape name: the surface never changes, and drawing the contours is the
    most expensive part of a figure. Callers copy the dicts before adding them to a figure.
    Both carry a content ``key`` (:func:`gradclip.demos.layer_key`): they depend on the landscape alone,
    so the browser receives them once per visit and keeps their drawing.
    """
    import contourpy  # lazily: only the contour plot needs it

    land = LANDSCAPES[name]
    x0, x1, y0, y1 = land.view
    # Shading: one value per cell centre.
    xs = x0 + (np.arange(SHADE_N) + 0.5) * (x1 - x0) / SHADE_N
    ys = y0 + (np.arange(SHADE_N) + 0.5) * (y1 - y0) / SHADE_N
    with np.errstate(all="ignore"):
        S = _log_loss(land, land.value(xs[None, :], ys[:, None]))
    lo, hi = np.nanmin(S), np.nanmax(S)
    shade = (S - lo) / (hi - lo) if hi > lo else np.zeros_like(S)
    raster = Figure().raster(shade, x_range=(x0, x1), y_range=(y0, y1), cmap="loss",
                             decimals=3).items[0]

    X, Y, Z = land.grid(CONTOUR_N)
    with np.errstate(all="ignore"):
        L = _log_loss(land, Z)
    lo, hi = np.nanmin(L), np.nanmax(L)
    gen = contourpy.contour_generator(X, Y, np.where(np.isfinite(L), L, hi), line_type="Separate")
    # Evenly spaced in log loss, skipping the extremes (a dot at the minimum, the corners).
    levels = np.linspace(lo, hi, CONTOUR_LEVELS + 2)[1:-1]
    paths = []
    for level in levels:
        for seg in gen.lines(float(level)):
            if len(seg) >= 2:
                paths.append((seg[:, 0], seg[:, 1]))
    contours = Figure().contours(paths, color="grid", width=1.0, decimals=3).items[0]
    raster["key"] = layer_key(f"simulator.{name}.shade", raster)
    contours["key"] = layer_key(f"simulator.{name}.contours", contours)
    return raster, contours


# ---------------------------------------------------------------------------------------
# Figures


def _log_range(values: np.ndarray, extra: tuple[float, ...] = (), floor_ratio: float = 1e-12
               ) -> tuple[float, float]:
    """A log axis range covering the positive finite values, widened to whole decades."""
    v = np.asarray(values, dtype=float).ravel()
    v = np.concatenate([v[np.isfinite(v) & (v > 0)], [e for e in extra if e > 0]])
    if v.size == 0:
        return (1e-3, 1.0)
    hi = float(v.max())
    lo = max(float(v.min()), hi * floor_ratio)
    lo_d, hi_d = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if hi_d <= lo_d:
        hi_d = lo_d + 1
    return (10.0 ** lo_d, 10.0 ** hi_d)


def _runs_label(run: Run, compare: bool) -> str:
    return METHOD_LABELS.get(run.method, run.method) if compare else ""


def exit_label_at(ex: float, ey: float, text: str, view: tuple[float, float, float, float], *,
                  row: int = 0) -> tuple[float, float, str]:
    """Where the "left the plot" note goes: ``(x, y, anchor)`` inside the plot area.

    The note sits beside the exit point ``(ex, ey)`` on the plot's side of it: below the
    point when it is in the upper half, above it otherwise (``row`` stacks the notes of
    several runs), ending at the point (``"end"``) when it would run past the right edge,
    starting there (``"start"``) when it would run past the left edge, else centred on it.
    Widths are estimated as the painters estimate them (0.6 em per character) on a plot
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
    half = 0.5 * len(text) * 0.6 * LABEL_SIZE / LABEL_PLOT_PX * span_x   # half its width, data units
    if ex + half > x1 - 0.01 * span_x:
        anchor = "end"
    elif ex - half < x0 + 0.01 * span_x:
        anchor = "start"
    else:
        anchor = "middle"
    dy = 0.07 * span_y * (1 + row)
    ty = ey - dy if ey > (y0 + y1) / 2 else ey + dy
    return float(ex), round(float(ty), 10), anchor


def contour_figure(land: Landscape, runs: list[Run], *, compare: bool = False,
                   handle: tuple[float, float] | None = None) -> Figure:
    """Filled log-loss shading, contour lines, the minimum, the start handle and each run's path.

    A path that leaves the view is drawn up to the edge and marked there with
    "left the plot at step k"; the synchronised marker walks each run's positions.
    """
    x0, x1, y0, y1 = land.view
    ax, ay = land.axis_names
    main = runs[0]
    fig = Figure(x_range=(x0, x1), y_range=(y0, y1), x_label=ax, y_label=ay,
                 title=f"{land.title}: loss contours and trajectory", aspect_equal=True,
                 legend=compare, width=480, height=440)
    raster, contours = _background(land.name)
    fig.items.append(dict(raster))
    fig.items.append(dict(contours))
    fig.marker(*land.minimum, shape="star", color="min", size=8, label="minimum" if compare else None)

    notes = []
    for n, run in enumerate(runs):
        color = METHOD_COLORS.get(run.method, "s0")
        paths = trajectory_paths(run.positions, land.view)
        fig.line(round_to_span(paths["x"], x1 - x0), round_to_span(paths["y"], y1 - y0), color=color,
                 width=2.0, label=_runs_label(run, compare) or None, marker=True)
        if paths["edge_x"]:
            fig.line(paths["edge_x"], paths["edge_y"], color=color, width=2.0)
        if paths["exit"] is not None:
            ex, ey = paths["exit"]
            fig.marker(ex, ey, shape="cross", color="danger", size=7)
            who = f"{METHOD_LABELS.get(run.method, run.method)}: " if compare else ""
            text = f"{who}left the plot at step {paths['left_at']}"
            tx, ty, anchor = exit_label_at(ex, ey, text, land.view, row=len(notes))
            fig.text(tx, ty, text, color="danger", anchor=anchor, size=LABEL_SIZE)
            notes.append(paths["left_at"])
    sx, sy = handle if handle is not None else main.start
    fig.handle(sx, sy, ("px", "py"), color="fg")

    where = _end_words(main, land)
    fig.alt = (f"Contour plot of {land.title} with the minimum at "
               f"({fmt_number(land.minimum[0])}, {fmt_number(land.minimum[1])}); the run starts at "
               f"({fmt_number(sx)}, {fmt_number(sy)}) and {where}.")
    return fig


def _end_words(run: Run, land: Landscape) -> str:
    s = run.summary
    paths_left = trajectory_paths(run.positions, land.view)["left_at"]
    if s.diverged:
        left = f"leaves the plot at step {paths_left} and " if paths_left is not None else ""
        return f"{left}diverges at step {s.diverged_at}"
    last = run.positions[-1]
    left = f"leaves the plot at step {paths_left}, " if paths_left is not None else ""
    return f"{left}ends at ({fmt_number(float(last[0]))}, {fmt_number(float(last[1]))}) after {run.steps} steps"


def loss_figure(runs: list[Run], *, compare: bool = False) -> Figure:
    """Loss per step on a log axis; a dashed line marks where a run diverged."""
    steps = runs[0].steps
    # 16 decades: a diverged run's edge loss (~1e7) must not squeeze the converging curves off.
    lo, hi = _log_range(np.concatenate([r.losses for r in runs]), floor_ratio=1e-16)
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label="loss", title="Loss vs step", legend=compare, width=480, height=300)
    x = np.arange(steps + 1)
    for run in runs:
        color = METHOD_COLORS.get(run.method, "s0")
        fig.line(x, round_sig(run.losses), color=color, width=2.0,
                 label=_runs_label(run, compare) or None, hover=True,
                 hover_names=("step", "loss"), marker=True)
    for run in runs:
        at = run.summary.diverged_at
        if at is not None:
            fig.marker(at, float(run.losses[at]), shape="cross", color="danger", size=6)
    for run in runs:
        at = run.summary.diverged_at
        if at is not None:
            fig.vline(at, color="danger", dash=[4, 3])
            who = f"{METHOD_LABELS.get(run.method, run.method)} " if compare else ""
            fig.text(at, hi, f" {who}diverged at step {at}", color="danger", anchor="start", size=11)
            break  # one label is enough; the other lines end there too
    main = runs[0]
    fig.alt = (f"Loss per step, log scale: from {fmt_number(float(main.losses[0]))} to "
               f"{_final_words(main)}.")
    return fig


def _final_words(run: Run) -> str:
    s = run.summary
    if s.diverged:
        return f"divergence at step {s.diverged_at}"
    return f"{fmt_number(s.final_loss)} after {run.steps} steps"


def clipped_rug(clipped: np.ndarray, y: float) -> tuple[list[float], list[float]]:
    """Segments ``[a - 0.5, b + 0.5]`` at height ``y`` for each stretch a..b of clipped steps,
    separated by NaN (a line break); every segment at least 0.4% of the axis wide so a lone
    clipped step stays visible.

    >>> clipped_rug(np.array([True, True, False, True]), 1.0)
    ([-0.5, 1.5, nan, 2.5, 3.5, nan], [1.0, 1.0, nan, 1.0, 1.0, nan])
    """
    c = np.asarray(clipped, dtype=bool)
    edges = np.diff(np.concatenate([[0], c.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    half = max(0.5, 0.002 * c.size)
    xs: list[float] = []
    ys: list[float] = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        mid, w = (a + b) / 2, max((b - a) / 2 + 0.5, half)
        xs += [mid - w, mid + w, math.nan]
        ys += [y, y, math.nan]
    return xs, ys


def norm_figure(runs: list[Run], tau: float, *, compare: bool = False) -> Figure:
    """Raw gradient norm per step (before clipping), the threshold tau as a red line,
    and the steps where clipping acted."""
    main = runs[0]
    steps = main.steps
    lo, hi = _log_range(np.concatenate([r.raw_norms for r in runs]), extra=(tau,))
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label="gradient norm", title="Raw gradient norm vs step (before clipping)",
                 legend=True, width=480, height=300)
    x = np.arange(steps)
    for run in runs:
        color = METHOD_COLORS.get(run.method, "s0")
        label = _runs_label(run, compare) or "raw norm"
        fig.line(x, round_sig(run.raw_norms), color=color, width=1.6, label=label, hover=True,
                 hover_names=("step", "norm"), marker=True)
    applied = main.method != "none" or compare
    if main.method in ("norm", "value") or compare:
        fig.hline(tau, color="danger", width=1.5, label=f"τ = {fmt_number(tau)}")
    elif main.method == "adaptive":
        fig.hline(tau, color="danger", width=1.5, dash=[5, 4],
                  label=f"τ = {fmt_number(tau)} (warm-up cap)")
    else:
        fig.hline(tau, color="danger", width=1.5, dash=[2, 4], label=f"τ = {fmt_number(tau)} (not applied)")
    if applied and main.clipped.any():
        # A rug along the bottom rather than dots on the curve: long clipped stretches would
        # hide the curve, and a stretch is one short segment instead of hundreds of points.
        rx, ry = clipped_rug(main.clipped, lo * (hi / lo) ** 0.03)
        # "fg": neutral in both themes and distinct from the red tau line above it.
        fig.line(rx, ry, color="fg", width=5.0,
                 label=f"clipped steps ({METHOD_LABELS[main.method]})" if compare else "clipped steps")
    for run in runs:
        at = run.summary.diverged_at
        if at is not None and at >= 1 and math.isfinite(run.raw_norms[at - 1]):
            # The step that threw the run out; a run that diverges at once has no line to see.
            fig.marker(at - 1, float(run.raw_norms[at - 1]), shape="cross", color="danger", size=6,
                       label="step that diverged" if run is main else None)
    s = main.summary
    fig.alt = (f"Raw gradient norm per step, log scale, largest {fmt_number(s.max_raw_norm)}; "
               f"threshold τ = {fmt_number(tau)}; {s.clip_events} steps clipped.")
    return fig


# ---------------------------------------------------------------------------------------
# Results


def steps_taken(run: Run) -> int:
    """Steps actually taken: a diverged run stops where it left the bound."""
    at = run.summary.diverged_at
    return run.steps if at is None else int(at)


def _pct(count: int, total: int) -> str:
    if total <= 0 or count == 0:
        return "0%"
    p = 100.0 * count / total
    if p < 1:
        return "<1%"
    if p > 99 and count < total:
        return ">99%"
    return f"{p:.0f}%"


def summary_results(run: Run) -> dict[str, dict[str, str]]:
    """The seven summary fields as page results: unrounded ``value``, readable ``text``.

    >>> from gradclip.simulate import simulate
    >>> r = summary_results(simulate("cliff", method="none"))
    >>> r["final_loss"], r["diverged"]["text"], r["verdict"]["value"]
    ({'value': 'inf', 'text': '∞ (diverged)'}, 'diverged at step 1', 'diverged')
    """
    s = run.summary
    taken = steps_taken(run)
    out: dict[str, dict[str, str]] = {}
    if s.diverged or not math.isfinite(s.final_loss):
        out["final_loss"] = result(float(s.final_loss), "∞ (diverged)" if s.diverged else None)
    else:
        out["final_loss"] = result(float(s.final_loss))
    out["max_raw_norm"] = result(float(s.max_raw_norm))
    if run.method == "none":
        events_text = "0 (clipping off)"
    else:
        events_text = f"{s.clip_events} ({_pct(s.clip_events, taken)})"
    out["clip_events"] = result(int(s.clip_events), events_text)
    out["diverged"] = result(bool(s.diverged), f"diverged at step {s.diverged_at}" if s.diverged else "no")
    out["diverged_at"] = (result(int(s.diverged_at), f"step {s.diverged_at}") if s.diverged_at is not None
                          else {"value": "none", "text": "never"})
    red = float(s.loss_reduction_pct)
    if s.diverged or not math.isfinite(red):
        red_text = "diverged"
    elif 99.95 <= red < 100:
        red_text = ">99.9%"
    else:
        red_text = f"{fmt_number(red)}%"
    out["loss_reduction_pct"] = result(red, red_text)
    out["verdict"] = {"value": s.verdict.code, "text": _sentence(s.verdict.reason)}
    return out


def _sentence(reason: str) -> str:
    """'diverged: lower the lr' -> 'Diverged: lower the lr.' (one readable sentence)."""
    text = reason.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


CSV_HEADER = "method,step,x,y,loss,raw_norm,clipped_norm,clipped"


def run_csv(runs: list[Run]) -> str:
    """Runs as CSV: one row per run and position, full precision (``repr`` of each float).

    Columns: method, step, x, y, loss, raw_norm, clipped_norm, clipped. The gradient
    columns belong to the step taken from that position, so a run's last row has none;
    a diverged run ends at its edge position.

    >>> from gradclip.simulate import simulate
    >>> text = run_csv([simulate("ravine", steps=2)])
    >>> text.splitlines()[0], len(text.splitlines())
    ('method,step,x,y,loss,raw_norm,clipped_norm,clipped', 4)
    """
    def num(v: float) -> str:
        return "" if not math.isfinite(v) else repr(float(v))

    lines = [CSV_HEADER]
    for run in runs:
        pos, loss = run.positions.tolist(), run.losses.tolist()
        raw, cl, mask = run.raw_norms.tolist(), run.clipped_norms.tolist(), run.clipped.tolist()
        for i in range(run.steps + 1):
            if not math.isfinite(pos[i][0]):
                break  # the run diverged: nothing after its last (edge) position
            g = (num(raw[i]), num(cl[i]), "1" if mask[i] else "0") if i < run.steps else ("", "", "")
            lines.append(",".join((run.method, str(i), num(pos[i][0]), num(pos[i][1]), num(loss[i])) + g))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Presets: one click, one story (tests check that each still tells it)


@dataclass(frozen=True)
class Preset:
    """A named setting of every simulator control, and the story it shows.

    ``expect`` is the verdict code of the selected method's run, pinned by the tests, so a
    change to a landscape cannot silently turn a preset's story into a different one.
    """

    name: str
    label: str
    story: str
    expect: str
    tau: float = 1.0
    lr: float = 0.05
    steps: int = 200
    method: str = "norm"
    landscape: str = "cliff"
    optimizer: str = "sgd"
    compare: bool = False

    def params(self) -> dict[str, Any]:
        """Every parameter of the simulator, the start point reset to the landscape's."""
        return {"tau": self.tau, "lr": self.lr, "steps": self.steps, "method": self.method,
                "landscape": self.landscape, "optimizer": self.optimizer,
                "compare": self.compare, "px": None, "py": None}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "story": self.story,
                "params": self.params()}


PRESETS: tuple[Preset, ...] = (
    Preset("leap", "Cliff, no clipping: the leap",
           "Without clipping the first step on the wall is far too long: the run is thrown "
           "off the plot at once and diverges.",
           expect="diverged", method="none"),
    Preset("cross", "Norm clipping crosses the cliff",
           "The same start with the gradient capped at length τ = 1: short, steady steps down "
           "the wall, then along the valley floor to the minimum.",
           expect="healthy"),
    Preset("crawl", "τ too small: crawling",
           "With τ = 0.1 no step is longer than η·τ = 0.005: the run is safe, but 200 such "
           "steps cover at most one unit and it is still far from the minimum.",
           expect="over_clipped", tau=0.1),
    Preset("big-lr", "Learning rate too large, even with clipping",
           "Clipping caps the gradient, not the step: at η = 1 each step is still as long as "
           "η·τ, so the run bounces from wall to wall instead of settling.",
           expect="oscillating", lr=1.0),
    Preset("bend", "Value clipping bends the direction",
           "Clipping each component to ±τ turns the huge sideways gradient into a diagonal "
           "step; norm clipping keeps the downhill direction. Compare the two paths.",
           expect="healthy", method="value", compare=True),
    Preset("spiky", "Bad batches on the spiky landscape",
           "A smooth bowl where a few batches bring gradients 20 to 200 long: without clipping "
           "each one throws the run back up the bowl; clipped, they are harmless.",
           expect="healthy", landscape="spiky", steps=300, compare=True),
)


# ---------------------------------------------------------------------------------------
# The simulator demo


def _runs(params: dict[str, Any]) -> tuple[Landscape, list[Run], tuple[float, float], list[str]]:
    """The run(s) for a parameter set: the selected method first, then the compared ones."""
    land = LANDSCAPES[params["landscape"]]
    start, notices = start_point(land, params.get("px"), params.get("py"))
    kw = dict(tau=float(params["tau"]), lr=float(params["lr"]), steps=int(params["steps"]),
              optimizer=params["optimizer"], start=start, seed=SEED)
    method = params["method"]
    if params.get("compare"):
        methods = [method] + [m for m in COMPARE_METHODS if m != method]
        batch = simulate_batch(land.name, methods, **kw)   # one vectorised call for all of them
        return land, batch.runs(), start, notices
    return land, [simulate(land.name, method, **kw)], start, notices


def _describe(land: Landscape, run: Run, params: dict[str, Any]) -> str:
    s = run.summary
    how = METHOD_LABELS.get(run.method, run.method)
    tau = "" if run.method == "none" else f" at τ = {fmt_number(float(params['tau']))}"
    return (f"{land.title}, {how}{tau}, learning rate {fmt_number(float(params['lr']))}, "
            f"{params['optimizer']}: {_sentence(s.verdict.reason)} Final loss "
            f"{summary_results(run)['final_loss']['text']}, {s.clip_events} of "
            f"{steps_taken(run)} steps clipped.")


def compute_simulator(params: dict[str, Any]) -> DemoOutput:
    """Run the simulator for validated parameters and draw its three figures."""
    land, runs, start, notices = _runs(params)
    main = runs[0]
    compare = bool(params.get("compare"))
    tau = float(params["tau"])
    figures = {
        "contour": contour_figure(land, runs, compare=compare, handle=start).to_dict(),
        "loss": loss_figure(runs, compare=compare).to_dict(),
        "norm": norm_figure(runs, tau, compare=compare).to_dict(),
    }
    extra: dict[str, Any] = {
        "notices": notices,
        "steps_taken": steps_taken(main),
        "start": list(start),
        "methods": [r.method for r in runs],
        "colors": [METHOD_COLORS.get(r.method, "s0") for r in runs],
        "presets": [p.to_dict() for p in PRESETS],
    }
    if compare:
        extra["compare"] = [
            {"method": r.method, "label": METHOD_LABELS.get(r.method, r.method),
             "color": METHOD_COLORS.get(r.method, "s0"),
             "results": summary_results(r)} for r in runs]
    return DemoOutput(figures=figures, results=summary_results(main),
                      description=_describe(land, main, params), extra=extra)


_METHOD_CHOICES = tuple((m, METHOD_LABELS[m].capitalize()) for m in ("none", "norm", "value", "adaptive"))
_OPTIMIZER_CHOICES = (("sgd", "SGD"), ("momentum", "SGD with momentum 0.9"), ("adam", "Adam"))


def _landscape_choices() -> tuple[tuple[str, str], ...]:
    return tuple((name, land.title) for name, land in LANDSCAPES.items())


def _common_params() -> tuple[Param, ...]:
    return (
        Param("tau", "float", 1.0, "Clip threshold τ", min=TAU_RANGE[0], max=TAU_RANGE[1], log=True,
              help="The largest gradient norm (or, by value, the largest component) let through."),
        Param("lr", "float", 0.05, "Learning rate η", min=LR_RANGE[0], max=LR_RANGE[1], log=True,
              help="How far each step moves along the clipped gradient."),
        Param("steps", "int", 200, "Training steps", min=STEPS_RANGE[0], max=STEPS_RANGE[1], step=1),
        Param("method", "choice", "norm", "Clipping method", choices=_METHOD_CHOICES),
        Param("landscape", "choice", "cliff", "Loss landscape", choices=_landscape_choices()),
        Param("optimizer", "choice", "sgd", "Optimizer", choices=_OPTIMIZER_CHOICES),
        # The start point: set by dragging the handle on the contour plot. None = the
        # landscape's own start; compute clamps it into the landscape's view box.
        Param("px", "hidden", None, "Start x"),
        Param("py", "hidden", None, "Start y"),
    )


SIMULATOR = register(DemoSpec(
    name="simulator",
    title="Gradient Clipping Simulator",
    params=_common_params() + (
        Param("compare", "bool", False, "Compare none / norm / value",
              help="Run the same settings with no clipping, norm and value clipping at once."),
    ),
    compute=compute_simulator,
    results=(
        ("final_loss", "Final loss"),
        ("max_raw_norm", "Max gradient norm (before clip)"),
        ("clip_events", "Clip events"),
        ("diverged", "Divergence"),
        ("diverged_at", "Diverged at"),
        ("loss_reduction_pct", "Loss reduction"),
        ("verdict", "Verdict"),
    ),
    figures=(
        ("contour", "Loss contours (log-scaled shading) and the trajectory; drag the start point."),
        ("loss", "Loss vs step (log scale)."),
        ("norm", "Raw gradient norm vs step, before clipping; the red line is τ."),
    ),
))


def compute_export(params: dict[str, Any]) -> DemoOutput:
    """The current view for download: ``extra["csv"]`` (every run shown, full precision) and
    ``extra["svg"]`` (figure name -> SVG text)."""
    land, runs, _, notices = _runs(params)
    figures = compute_simulator(params).figures
    svg = {name: figure_to_svg(fig, id_prefix=f"export-{name}") for name, fig in figures.items()}
    return DemoOutput(description=f"The {runs[0].method} run on {land.title} as data.",
                      extra={"csv": run_csv(runs), "svg": svg, "notices": notices})


EXPORT = register(DemoSpec(
    name="simulator_export",
    title="Simulator run as CSV",
    params=_common_params() + (Param("compare", "bool", False, "Compare none / norm / value"),),
    compute=compute_export,
))


# ---------------------------------------------------------------------------------------
# The phase diagram


def phase_axes(n: int = PHASE_N) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres of the phase diagram: ``n`` log-spaced values of tau and of lr,
    each the centre (in log scale) of one of ``n`` equal cells covering the control's range.

    >>> taus, lrs = phase_axes(2)
    >>> [round(float(t), 4) for t in taus], [round(float(v), 4) for v in lrs]
    ([0.3162, 3.1623], [0.0056, 0.1778])
    """
    def centres(lo: float, hi: float) -> np.ndarray:
        a, b = math.log10(lo), math.log10(hi)
        return 10.0 ** (a + (np.arange(n) + 0.5) * (b - a) / n)
    return centres(*TAU_RANGE), centres(*LR_RANGE)


@functools.lru_cache(maxsize=8)
def _phase_sweep(landscape: str, method: str, optimizer: str, steps: int):
    """One vectorised sweep per setting; cached so a click (which only moves the marker)
    and the simulator's tau/lr changes cost nothing. Runs start at the landscape's own
    start point: a map that changed under every drag of the start would be recomputed on
    each frame and hold up the simulator sharing the one worker."""
    taus, lrs = phase_axes()
    return sweep(landscape, method, taus=taus, lrs=lrs, steps=steps, optimizer=optimizer,
                 seed=SEED)


def _cell(value: float, lo: float, hi: float, n: int) -> int:
    a, b = math.log10(lo), math.log10(hi)
    return min(n - 1, max(0, int((math.log10(value) - a) / (b - a) * n)))


def phase_cells(grid) -> dict[str, Any]:
    """The phase diagram's cells as one ``rects`` item: coloured by outcome, each cell's
    ``set`` puts its tau and lr into the simulator. Carries a content ``key``: it depends on
    the sweep alone, so a change of tau or lr (which only moves the marker) sends it once.
    """
    n_t, n_l = grid.codes.shape
    a_t, b_t = (math.log10(v) for v in TAU_RANGE)
    a_l, b_l = (math.log10(v) for v in LR_RANGE)
    et = 10.0 ** (a_t + np.arange(n_t + 1) * (b_t - a_t) / n_t)
    el = 10.0 ** (a_l + np.arange(n_l + 1) * (b_l - a_l) / n_l)
    I, J = np.meshgrid(np.arange(n_t), np.arange(n_l), indexing="ij")
    I, J = I.ravel(), J.ravel()
    codes = grid.codes.ravel().tolist()
    fill = [OUTCOME_COLORS.get(c, "muted") for c in codes]
    sets = [{"tau": float(f"{grid.taus[i]:.3g}"), "lr": float(f"{grid.lrs[j]:.3g}")}
            for i, j in zip(I.tolist(), J.tolist())]
    item = Figure().rects(round_sig(et[I]), round_sig(et[I + 1]), round_sig(el[J]),
                          round_sig(el[J + 1]), fill=fill, set_params=sets).items[0]
    item["key"] = layer_key("phase.cells", item)
    return item


def phase_figure(grid, tau: float, lr: float, title: str, cells: dict[str, Any] | None = None
                 ) -> Figure:
    """Cells coloured by outcome (:func:`phase_cells`, or ``cells`` when the caller kept
    them) and a marker at the current tau and lr."""
    codes = grid.codes.ravel().tolist()
    fig = Figure(x_range=TAU_RANGE, y_range=LR_RANGE, x_log=True, y_log=True,
                 x_label="clip threshold τ", y_label="learning rate η", title=title,
                 legend=True, width=480, height=420)
    fig.items.append(dict(cells if cells is not None else phase_cells(grid)))
    present = [c for c in OUTCOME_COLORS if c in set(codes)]
    for code in present:   # legend entries only (no points)
        fig.points([], [], color=OUTCOME_COLORS[code], size=5, label=OUTCOME_LABELS[code])
    fig.marker(tau, lr, shape="circle", color="fg", size=7, label="current settings")
    counts = {c: codes.count(c) for c in present}
    parts = ", ".join(f"{counts[c]} {OUTCOME_LABELS[c]}" for c in present)
    fig.alt = (f"Outcome map over τ from {fmt_number(TAU_RANGE[0])} to {fmt_number(TAU_RANGE[1])} and "
               f"learning rate from {fmt_number(LR_RANGE[0])} to {fmt_number(LR_RANGE[1])}: {parts} of "
               f"{len(codes)} cells; the current settings are marked.")
    return fig


@functools.lru_cache(maxsize=8)
def _phase_layers(landscape: str, method: str, optimizer: str, steps: int):
    """The sweep of a setting and its cells item, both kept: a change of tau or lr costs
    neither a sweep nor the cells."""
    grid = _phase_sweep(landscape, method, optimizer, steps)
    return grid, phase_cells(grid)


def compute_phase(params: dict[str, Any]) -> DemoOutput:
    """The outcome map for the current landscape, method, optimizer and steps."""
    land = LANDSCAPES[params["landscape"]]
    method, steps, optimizer = params["method"], int(params["steps"]), params["optimizer"]
    grid, cells = _phase_layers(land.name, method, optimizer, steps)
    tau, lr = float(params["tau"]), float(params["lr"])
    title = f"Outcomes: {METHOD_LABELS[method]}, {land.title}, {steps} steps"
    fig = phase_figure(grid, tau, lr, title, cells)
    code = str(grid.codes[_cell(tau, *TAU_RANGE, grid.codes.shape[0]),
                          _cell(lr, *LR_RANGE, grid.codes.shape[1])])
    counts = grid.counts()
    total = int(grid.codes.size)
    results = {
        "cell": {"value": code, "text": OUTCOME_LABELS.get(code, code)},
        "healthy_share": result(counts["healthy"] / total, _pct(counts["healthy"], total)),
        "diverged_share": result(counts["diverged"] / total, _pct(counts["diverged"], total)),
    }
    desc = (f"Phase diagram for {METHOD_LABELS[method]} on {land.title}: "
            f"{counts['healthy']} of {total} settings are healthy and {counts['diverged']} diverge; "
            f"the cell at τ = {fmt_number(tau)}, η = {fmt_number(lr)} is {OUTCOME_LABELS.get(code, code)}.")
    return DemoOutput(figures={"phase": fig.to_dict()}, results=results, description=desc,
                      extra={"codes": grid.codes.tolist()})


PHASE = register(DemoSpec(
    name="phase",
    title="Phase diagram: which τ and learning rate survive",
    params=tuple(p for p in _common_params() if p.kind != "hidden"),
    compute=compute_phase,
    results=(
        ("cell", "At the current τ and η"),
        ("healthy_share", "Healthy settings"),
        ("diverged_share", "Diverging settings"),
    ),
    figures=(("phase", "Each cell is one run from the landscape's start with that τ and learning "
                        "rate; click a cell to try it."),),
))
