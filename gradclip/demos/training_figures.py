"""Figures of training runs: loss, gradient norm, update size and per-layer norms per step.

The monitor and the worked examples draw every :class:`gradclip.train.TrainLog` with these.
A diverged run reaches norms of 1e30 and more, so the axes stop a few decades above the
typical value (:func:`gradclip.figures.helpers.capped_log_range`) and the runs that left are
marked where they left; long runs are thinned to about :data:`MAX_POINTS` points a line.

>>> from gradclip.train import train
>>> log = train("mlp", "regression", "norm", tau=1.0, lr=0.05, steps=30)
>>> [it["t"] for it in loss_figure([log], 30).items][:1]
['line']
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from gradclip.figures import Figure
from gradclip.figures.helpers import capped_log_range, clipped_rug, round_sig
from gradclip.figures.numbers import fmt_number
from gradclip.train import TrainLog

__all__ = ["METHOD_CHOICES", "METHOD_LABELS", "RUN_COLORS", "MAX_POINTS", "PARTIAL_POINTS", "run_label", "loss_figure", "norm_figure",
           "update_figure", "layers_figure", "positive"]

METHOD_CHOICES = (("none", "No clipping"), ("norm", "Clip by norm"), ("value", "Clip by value"),
                  ("agc", "Adaptive (AGC)"), ("autoclip", "AutoClip"), ("zclip", "ZClip"))
METHOD_LABELS = dict(METHOD_CHOICES)
RUN_COLORS = ("s0", "s3", "s2", "s4")


# ---------------------------------------------------------------------------------------
# Figures


def _thin(values: np.ndarray, hi: float, max_points: int = 800) -> tuple[np.ndarray, np.ndarray]:
    """A series ready for a log-axis line: thinned, pinned just above the axis, rounded.

    ``values`` may hold several series of one length as rows; each row is thinned as it
    would be alone."""
    x, y = _decimate(values, max_points)
    return x, round_sig(positive(y, hi * 10).ravel()).reshape(y.shape)


def _thin_each(series: Sequence[np.ndarray], hi: float, max_points: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`_thin` of each series, in one go when they have one length (the runs of a batch do)."""
    if len({len(v) for v in series}) != 1:
        return [_thin(v, hi, max_points) for v in series]
    xs, ys = _thin(np.stack(series), hi, max_points)
    return list(zip(xs, ys))


def _healthy(log: TrainLog, values: np.ndarray) -> np.ndarray:
    """The values of the steps before the run blew up: what sets the scale of an axis."""
    at = log.summary.diverged_at
    return values if at is None else values[: max(at, 1)]


def positive(values: np.ndarray, top: float = math.inf) -> np.ndarray:
    """For a log axis: zero and negative values become NaN (a break in the line), and values
    far above the axis (``top``) are pinned there: they are drawn off the chart either way,
    and huge numbers make the display list slow to round and long to send."""
    v = np.asarray(values, dtype=float)
    return np.where(v > 0, np.minimum(v, top), np.nan)


MAX_POINTS = 800                      # per line: more than a 480-px chart can show
# Per line in a partial output of a streaming demo: two points per pixel pair of a 480-px chart.
# A partial output is drawn for a tenth of a second; a lighter one is quicker to build, send
# and draw, which leaves more of the time to the training.
PARTIAL_POINTS = 240


def _decimate(y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values of a series, thinned to at most ``max_points`` for drawing.

    A long series keeps, from each bucket of consecutive steps, its smallest and its largest
    value in step order, so spikes and dips survive. Short series pass unchanged.

    >>> x, y = _decimate(np.r_[np.ones(1000), 50.0, np.ones(999)], 100)
    >>> len(y) <= 100, float(y.max())
    (True, 50.0)
    """
    y = np.asarray(y, dtype=float)
    n, rows = y.shape[-1], y.shape[:-1]           # several series of one length: the rows
    if n <= max_points:
        return np.broadcast_to(np.arange(n), y.shape), y
    k = math.ceil(n / (max_points // 2))
    nb = math.ceil(n / k)
    pad = np.full(rows + (nb * k,), np.nan)
    pad[..., :n] = y
    m = pad.reshape(rows + (nb, k))
    fin = np.isfinite(m)
    hi = np.argmax(np.where(fin, m, -np.inf), axis=-1)
    lo = np.argmin(np.where(fin, m, np.inf), axis=-1)
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    base = np.arange(nb) * k
    idx = np.stack([base + first, base + second], axis=-1).reshape(rows + (2 * nb,))
    idx = np.minimum(idx, n - 1)
    return idx, np.take_along_axis(pad, idx, axis=-1)


def run_label(log: TrainLog) -> str:
    if log.method == "none":
        return "no clipping"
    tau = fmt_number(log.tau)
    return {"norm": f"norm, τ = {tau}", "value": f"value, τ = {tau}", "agc": f"AGC, λ = {tau}",
            "autoclip": f"AutoClip, p = {tau}", "zclip": f"ZClip, z = {tau}"}[log.method]


def _mark_divergence(fig: Figure, logs: Sequence[TrainLog], y_top: float) -> None:
    labelled = False
    for log in logs:
        at = log.summary.diverged_at
        if at is None:
            continue
        fig.vline(at, color="danger", dash=[4, 3], width=1.0, label=None if labelled else "blew up")
        fig.text(at, y_top, f" {run_label(log)}: blew up at step {at}", color="danger", size=11)
        labelled = True


def loss_figure(logs: Sequence[TrainLog], steps: int, *, colors: Sequence[str] = RUN_COLORS,
                max_points: int = MAX_POINTS) -> Figure:
    """Training loss per step, log scale, one line per run; a dashed line where a run blew up.

    ``max_points``: at most this many points per line (a long run is thinned, keeping each
    stretch's smallest and largest value); the same for the other figures."""
    lo, hi = capped_log_range([l.loss for l in logs], typical=[_healthy(l, l.loss) for l in logs])
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step", y_label="loss",
                 title="Loss vs step", legend=len(logs) > 1, width=480, height=280)
    for log, color, xy in zip(logs, colors, _thin_each([l.loss for l in logs], hi, max_points)):
        fig.line(*xy, color=color, width=1.6,
                 label=run_label(log), hover=True, hover_names=("step", "loss"))
    _mark_divergence(fig, logs, hi / 1.6)
    main = logs[0].summary
    fig.alt = (f"Training loss per step on a log scale for {len(logs)} run(s); first run from "
               f"{fmt_number(main.initial_loss)} to {fmt_number(main.final_loss)}.")
    return fig


def norm_figure(logs: Sequence[TrainLog], steps: int, *, colors: Sequence[str] = RUN_COLORS,
                max_points: int = MAX_POINTS) -> Figure:
    """Gradient norm before clipping per step (log scale), each run's threshold, and a rug under
    the steps where the first run's rule changed the gradient."""
    taus = [l.tau for l in logs if l.method in ("norm", "value")]
    lo, hi = capped_log_range([l.grad_norm for l in logs], extra=taus,
                        typical=[_healthy(l, l.grad_norm) for l in logs])
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label="gradient norm", title="Gradient norm vs step (before clipping)",
                 legend=True, width=480, height=280)
    for log, color, xy in zip(logs, colors, _thin_each([l.grad_norm for l in logs], hi, max_points)):
        fig.line(*xy, color=color, width=1.4,
                 label=run_label(log), hover=True, hover_names=("step", "norm"))
    drawn: set[float] = set()
    for log, color in zip(logs, colors):
        if log.method == "norm" and log.tau not in drawn:
            drawn.add(log.tau)          # a second threshold is dashed so the two can be told apart
            fig.hline(log.tau, color="danger", width=1.4, label=f"τ = {fmt_number(log.tau)}",
                      dash=None if len(drawn) == 1 else [6, 3])
        elif log.method == "value":
            # A value bound caps each component; the norm can still exceed it by up to sqrt(P).
            fig.hline(log.tau, color="danger", width=1.2, dash=[2, 3],
                      label=f"value bound {fmt_number(log.tau)} (per component)")
        elif log.method in ("autoclip", "zclip") and log.steps:
            fig.line(*_thin(log.threshold, hi, max_points), color="danger", width=1.2,
                     dash=[5, 3], label=f"{METHOD_LABELS[log.method]} threshold")
    main = logs[0]
    if main.method != "none" and main.clipped.any():
        rx, ry = clipped_rug(main.clipped, lo * (hi / lo) ** 0.03)
        fig.line(rx, ry, color="warn", width=5.0, label=f"clipped steps ({run_label(main)})")
    _mark_divergence(fig, logs, hi / 1.6)
    s = main.summary
    fig.alt = (f"Gradient norm before clipping per step, log scale, largest {fmt_number(s.max_grad_norm)}; "
               f"{s.clip_events} of {main.steps} steps clipped in the first run.")
    return fig


def update_figure(logs: Sequence[TrainLog], steps: int, *, colors: Sequence[str] = RUN_COLORS,
                  max_points: int = MAX_POINTS) -> Figure:
    """Size of each parameter update, ||Δθ||, per step (log scale)."""
    lo, hi = capped_log_range([l.update_norm for l in logs], typical=[_healthy(l, l.update_norm) for l in logs])
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label="‖Δθ‖", title="Update size vs step", legend=len(logs) > 1,
                 width=480, height=240)
    for log, color, xy in zip(logs, colors, _thin_each([l.update_norm for l in logs], hi, max_points)):
        fig.line(*xy, color=color, width=1.4,
                 label=run_label(log), hover=True, hover_names=("step", "‖Δθ‖"))
    for log in logs:
        if log.method == "norm" and log.optimizer == "sgd":
            # With plain SGD a norm-clipped step is at most lr * tau long.
            fig.hline(log.lr * log.tau, color="muted", dash=[3, 3], width=1.0,
                      label=f"η·τ = {fmt_number(log.lr * log.tau)}")
            break
    fig.alt = (f"Parameter update size per step, log scale; largest in the first run "
               f"{fmt_number(float(np.nanmax(logs[0].update_norm)) if logs[0].steps else math.nan)}.")
    return fig


def layers_figure(log: TrainLog, steps: int, *, max_points: int = MAX_POINTS) -> Figure:
    """Per-layer gradient norms (before clipping) of one run; a run that blew up is shown up
    to a little past that step, where its story is."""
    at = log.summary.diverged_at
    span = steps if at is None else int(min(steps, max(20, 2 * at + 5)))
    lo, hi = capped_log_range([log.layer_norms[:span]], typical=[_healthy(log, log.layer_norms)])
    fig = Figure(x_range=(0, span), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label="gradient norm", title=f"Per-layer gradient norm ({run_label(log)})",
                 legend=True, width=480, height=240)
    n = min(log.steps, span)
    columns = _thin_each(list(log.layer_norms[:n].T), hi, max_points)
    for k, (name, xy) in enumerate(zip(log.layer_names, columns)):
        fig.line(*xy,
                 color=f"s{k % 6}", width=1.2, label=name, hover=True, hover_names=("step", name))
    if at is not None:
        fig.vline(at, color="danger", dash=[4, 3], width=1.0, label="blew up")
    fig.alt = (f"Gradient norm of each layer per step, log scale, for the run with {run_label(log)}"
               + ("." if at is None else f", up to shortly after it blew up at step {at}."))
    return fig
