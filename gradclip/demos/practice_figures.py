"""The figures of the practice demos that are not a run view: sweeps, norm logs, tensor bars.

Each function takes the numbers a demo computed and returns a :class:`~gradclip.figures.Figure`;
the demos in :mod:`gradclip.demos.practice` only compute and report. Run views (a path, its
loss, its norm) come from :mod:`gradclip.demos.run_figures`.

>>> fig = vanishing_figure(np.array([1.0, 0.5]), np.array([1.0, 0.5]), 1.0, 0.5, 1)
>>> fig.y_log, [it["t"] for it in fig.items]
(True, ['line', 'line', 'hline'])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradclip.demos.run_figures import METHOD_COLORS, METHOD_LABELS, OUTCOME_COLORS, OUTCOME_LABELS
from gradclip.figures import Figure
from gradclip.figures.helpers import log_range, round_sig
from gradclip.figures.numbers import fmt_number
from gradclip.landscapes import Landscape

__all__ = ["TAU_GRID", "LR_GRID", "CALIBRATION", "ROLL", "norm_series_figure", "tensor_bars_figure",
           "vanishing_figure", "excess", "outcome_points", "tau_sweep_figure", "lr_sweep_figure",
           "rolling_share", "norm_log_figures", "framework_bars_figure", "clip_events_figure"]

TAU_GRID = np.geomspace(1e-3, 1e2, 31)    # thresholds of the tau sweep
LR_GRID = np.geomspace(1e-3, 5.0, 29)     # learning rates of the lr sweep
CALIBRATION = 100   # steps of the norm log used to set the fixed threshold
ROLL = 25           # window of the rolling clip share


def norm_series_figure(raw: np.ndarray, after: np.ndarray, tau: float) -> Figure:
    """The global norm of every step before and after clipping at ``tau`` (log scale)."""
    steps = raw.size
    x = np.arange(steps)
    lo, hi = log_range(np.r_[raw, after], extra=(tau,))
    series = Figure(x_range=(0, steps - 1), y_range=(lo, hi), y_log=True, x_label="step",
                    y_label="global gradient norm", title="Global norm per step",
                    legend=True, width=480, height=300)
    series.line(x, round_sig(raw), color=METHOD_COLORS["none"], width=1.4, label="before clipping",
                hover=True, hover_names=("step", "norm"))
    series.line(x, round_sig(after), color=METHOD_COLORS["norm"], width=1.6,
                label="after clip_grad_norm_", hover=True, hover_names=("step", "norm"))
    series.hline(tau, color="danger", label=f"τ = {fmt_number(tau)}")
    return series


def tensor_bars_figure(names: list[str], n_raw: np.ndarray, n_glob: np.ndarray, n_per: np.ndarray,
                       tau: float, k: int) -> Figure:
    """Each tensor's norm at step ``k``: raw, clipped globally, clipped on its own."""
    blo, bhi = log_range(np.r_[n_raw, n_glob, n_per], extra=(tau,))
    bars = Figure(x_range=(-0.6, len(names) - 0.4), y_range=(blo, bhi), y_log=True,
                  x_label="tensor", y_label="tensor gradient norm",
                  title=f"Step {k}: each tensor before and after", legend=True, width=480, height=300)
    idx = np.arange(len(names))
    for j, (vals, color, label) in enumerate((
            (n_raw, METHOD_COLORS["none"], "raw"),
            (n_glob, METHOD_COLORS["norm"], "global (PyTorch, optax)"),
            (n_per, METHOD_COLORS["value"], "per tensor (Keras clipnorm)"))):
        x0 = idx - 0.39 + 0.26 * j
        bars.rects(round_sig(x0), round_sig(x0 + 0.24), [blo] * len(names), round_sig(vals), fill=color)
        bars.points([], [], color=color, size=5, label=label)
    for i, name in enumerate(names):
        bars.text(i, bhi / 1.6, name.removeprefix("attn."), anchor="middle", size=10, color="muted")
    bars.hline(tau, color="danger", dash=[4, 3], label=f"τ = {fmt_number(tau)}")
    return bars


def vanishing_figure(raw: np.ndarray, after: np.ndarray, tau: float, rho: float, length: int) -> Figure:
    """The backpropagated gradient's norm against distance back in time, raw and clipped."""
    k = np.arange(length + 1)
    lo, hi = log_range(np.r_[raw, after], extra=(tau,), floor_ratio=1e-300)
    fig = Figure(x_range=(0, max(length, 1)), y_range=(lo, hi), y_log=True,
                 x_label="steps back in time k", y_label="norm of the gradient reaching step T − k",
                 title=f"ρ = {fmt_number(rho)}: backpropagated gradient norm", legend=True,
                 width=480, height=320)
    fig.line(k, round_sig(raw), color=METHOD_COLORS["none"], width=3.0, label="raw",
             hover=True, hover_names=("k", "norm"))
    fig.line(k, round_sig(after), color=METHOD_COLORS["norm"], width=1.8, dash=[6, 4],
             label="after clip_by_norm", hover=True, hover_names=("k", "norm"))
    fig.hline(tau, color="danger", label=f"τ = {fmt_number(tau)}")
    fig.alt = (f"Norm of the backpropagated gradient over {length} steps with spectral radius "
               f"{fmt_number(rho)}: from 1 to {fmt_number(float(raw[-1]))}; after clipping "
               f"{fmt_number(float(after[-1]))}.")
    return fig


def excess(final: np.ndarray, min_value: float) -> np.ndarray:
    """Final loss above the minimum, floored for a log axis; inf stays inf."""
    return np.where(np.isfinite(final), np.maximum(final - min_value, 1e-12), np.inf)


def outcome_points(fig: Figure, x: np.ndarray, y: np.ndarray, codes: np.ndarray, top: float) -> None:
    """Points coloured by verdict; a diverged run (infinite loss) sits at the top of the plot."""
    for code, color in OUTCOME_COLORS.items():
        sel = codes == code
        if not sel.any():
            continue
        yy = np.where(np.isfinite(y[sel]), y[sel], top)
        fig.points(round_sig(x[sel]), round_sig(yy), color=color, size=4 if code != "diverged" else 5,
                   label=OUTCOME_LABELS[code])


def tau_sweep_figure(land: Landscape, ex: np.ndarray, grid_codes: np.ndarray, tau: float, steps: int,
                     best: int) -> Figure:
    """Final excess loss against tau over :data:`TAU_GRID` (``ex[:-1]``), coloured by verdict,
    with the reader's tau (``ex[-1]``) as a star."""
    grid_ex = ex[:-1]
    ok = np.isfinite(grid_ex)
    lo, hi = log_range(ex, floor_ratio=1e-14)
    fig = Figure(x_range=(TAU_GRID[0], TAU_GRID[-1]), y_range=(lo, hi), x_log=True, y_log=True,
                 x_label="clip threshold τ", y_label=f"final loss − minimum after {steps} steps",
                 title=f"{land.title}: final loss against τ", legend=True, width=480, height=320)
    fig.line(TAU_GRID, round_sig(np.where(ok, grid_ex, np.nan)), color="muted", width=1.0)
    outcome_points(fig, TAU_GRID, grid_ex, grid_codes, hi)
    chosen_y = ex[-1] if np.isfinite(ex[-1]) else hi
    fig.marker(tau, float(chosen_y), shape="star", color="fg", size=9, label=f"your τ = {fmt_number(tau)}")
    fig.alt = (f"Final loss against tau on {land.title}: smallest near tau = "
               f"{fmt_number(float(TAU_GRID[best]))}; at tau = {fmt_number(tau)} it is "
               f"{fmt_number(float(ex[-1]))}.")
    return fig


def lr_sweep_figure(land: Landscape, ex: np.ndarray, codes: np.ndarray, lr: float, tau: float,
                    steps: int) -> Figure:
    """Final excess loss against the learning rate over :data:`LR_GRID`, clipped (row 0) and
    not (row 1), with diverged and oscillating runs marked."""
    lo, hi = log_range(ex, floor_ratio=1e-14)
    fig = Figure(x_range=(LR_GRID[0], LR_GRID[-1]), y_range=(lo, hi), x_log=True, y_log=True,
                 x_label="learning rate η", y_label=f"final loss − minimum after {steps} steps",
                 title=f"{land.title}: final loss against η", legend=True, width=480, height=320)
    for row, method in enumerate(("none", "norm")):
        i = 1 if method == "none" else 0
        y = np.where(np.isfinite(ex[i, :-1]), ex[i, :-1], hi)
        fig.line(LR_GRID, round_sig(y), color=METHOD_COLORS[method], width=2.0,
                 label=METHOD_LABELS[method], hover=True, hover_names=("η", "final loss"))
        div = codes[i, :-1] == "diverged"
        if div.any():
            fig.points(round_sig(LR_GRID[div]), [hi] * int(div.sum()), color="danger", size=4,
                       label="diverged" if method == "none" else None)
    osc = codes[0, :-1] == "oscillating"
    if osc.any():
        fig.points(round_sig(LR_GRID[osc]), round_sig(ex[0, :-1][osc]), color="warn",
                   size=4, label="clipped run oscillating")
    fig.vline(lr, color="fg", dash=[4, 3], label=f"your η = {fmt_number(lr)}")
    fig.alt = (f"Final loss against learning rate on {land.title}, with and without clipping at "
               f"tau {fmt_number(tau)}.")
    return fig


def rolling_share(mask: np.ndarray, window: int = ROLL) -> np.ndarray:
    c = np.cumsum(np.r_[0, mask.astype(float)])
    out = np.full(mask.size, np.nan)
    out[window - 1:] = (c[window:] - c[:-window]) / window
    return out


def norm_log_figures(norms: np.ndarray, z: Any, fixed_mask: np.ndarray, tau: float, pct: float,
                     shift_at: int) -> tuple[Figure, Figure]:
    """A norm log with the fixed threshold and ZClip's (``z``, a :class:`~gradclip.ZClipSeries`),
    and the share of recent steps each rule clips."""
    steps = norms.size
    t = np.arange(steps)
    lo, hi = log_range(np.r_[norms, tau], floor_ratio=1e-6)
    log = Figure(x_range=(0, steps - 1), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label="gradient norm", title="A log of gradient norms", legend=True,
                 width=480, height=300)
    log.line(t, round_sig(norms), color="s0", width=1.2, label="norm", hover=True,
             hover_names=("step", "norm"))
    log.line(t, round_sig(np.where(np.isfinite(z.threshold), z.threshold, np.nan)), color="s2",
             width=1.6, dash=[5, 3], label="ZClip threshold")
    log.hline(tau, color="danger", label=f"fixed τ = p{fmt_number(pct)} of steps 1–{CALIBRATION}")
    if shift_at < steps:
        log.vline(shift_at, color="muted", dash=[3, 3], label="level shift")
    share = Figure(x_range=(0, steps - 1), y_range=(0, 1), x_label="step",
                   y_label=f"share of the last {ROLL} steps clipped", title="How much is clipped",
                   legend=True, width=480, height=240)
    share.line(t, round_sig(rolling_share(fixed_mask)), color="danger", width=2.0, label="fixed τ")
    share.line(t, round_sig(rolling_share(z.clipped)), color="s2", width=2.0, label="ZClip")
    if shift_at < steps:
        share.vline(shift_at, color="muted", dash=[3, 3])
    return log, share


_ENTRY_LABELS = ("g1[0]", "g1[1]", "g2[0]", "g2[1]")


def framework_bars_figure(series: list[tuple[str, str, list[np.ndarray]]], title: str, tau: float | None) -> Figure:
    """Grouped bars, one group per gradient entry, one bar per series (label, colour, arrays).
    Non-finite entries are written as text at the axis instead of a bar."""
    vals = np.array([np.concatenate(a) for _, _, a in series])      # (series, 4)
    finite = vals[np.isfinite(vals)]
    extra = [] if tau is None else [tau, -tau]
    lo = min([0.0, *finite.tolist(), *extra])
    hi = max([0.0, *finite.tolist(), *extra])
    span = (hi - lo) or 1.0
    # Room below for the entry names, above for the tallest bar.
    lo, hi = lo - 0.18 * span, hi + 0.1 * span
    fig = Figure(x_range=(-0.6, 3.6), y_range=(lo, hi), x_label="gradient entry",
                 y_label="value", title=title, legend=True, width=480, height=320)
    ns = len(series)
    w = 0.8 / ns
    for j, (label, color, _) in enumerate(series):
        x0 = np.arange(4) - 0.4 + j * w
        v = vals[j]
        ok = np.isfinite(v)
        fig.rects(round_sig(x0[ok]), round_sig(x0[ok] + w * 0.9), [0.0] * int(ok.sum()),
                  round_sig(v[ok]), fill=color)
        fig.points([], [], color=color, size=5, label=label)
        for i in np.flatnonzero(~ok).tolist():
            fig.text(float(x0[i] + w / 2), 0.06 * span, "NaN" if math.isnan(v[i]) else "inf",
                     anchor="middle", size=10, color=color)
    fig.hline(0.0, color="muted", width=1.0)
    if tau is not None:
        fig.hline(tau, color="danger", dash=[4, 3], width=1.0, label=f"±τ = {fmt_number(tau)}")
        fig.hline(-tau, color="danger", dash=[4, 3], width=1.0)
    for i, name in enumerate(_ENTRY_LABELS):
        fig.text(i, lo + 0.06 * span, name, anchor="middle", size=10, color="muted")
    return fig


def clip_events_figure(clipped: np.ndarray, steps: int) -> Figure:
    """Clip events counted step by step (``clipped``: one bool per step taken), against the
    diagonal a run clipped at every step would follow."""
    taken = clipped.size
    cum = np.cumsum(clipped)
    x = np.arange(1, taken + 1)
    ev = Figure(x_range=(0, steps), y_range=(0, max(1, taken)), x_label="step",
                y_label="clip events so far", title="Clip events, counted", legend=True,
                width=480, height=260)
    ev.line([0, taken], [0, taken], color="muted", dash=[4, 4], width=1.0, label="every step clipped")
    ev.line(np.r_[0, x], np.r_[0, cum], color=METHOD_COLORS["norm"], width=2.0, label="this run",
            hover=True, hover_names=("step", "events"))
    return ev
