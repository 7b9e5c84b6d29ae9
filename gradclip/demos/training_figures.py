"""Figures of training runs: loss, gradient norm, update size and per-layer norms per step.

The monitor and the worked examples draw every :class:`gradclip.train.TrainLog` with these;
the bad-batch demo adds its measuring run (:func:`measure_figure`), smoothed losses and one
update-size panel per threshold (:func:`update_panel`).
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

from gradclip.demos import result
from gradclip.figures import Figure
from gradclip.figures.helpers import capped_log_range, clipped_rug, round_sig
from gradclip.figures.numbers import count_share_text, fmt_number
from gradclip.methods import CLIP_METHODS, method_names
from gradclip.train import TrainLog

__all__ = ["METHOD_CHOICES", "METHOD_LABELS", "RUN_COLORS", "MAX_POINTS", "PARTIAL_POINTS", "run_label", "loss_figure", "norm_figure",
           "update_figure", "layers_figure", "positive", "measure_figure", "trailing_mean",
           "smoothed_loss_figure", "update_panel", "final_loss_result"]

def final_loss_result(log: TrainLog) -> dict[str, str]:
    """A run's final loss as a result field; a run that blew up says at which step, and its
    value is inf: the loss it had when it was stopped is last-bit chaos (Pyodide's maths library
    and the machine's give different orders of magnitude), not a number to compare."""
    s = log.summary
    if s.diverged_at is not None:
        return result(math.inf, f"blew up at step {s.diverged_at}")
    return result(s.final_loss)


# The training page offers the registry's training methods, under the registry's labels.
METHOD_CHOICES = tuple((m, CLIP_METHODS[m].label) for m in method_names("training"))
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


# ---------------------------------------------------------------------------------------
# Rare bad batches: the measuring run, the loss and one panel per threshold


def _mark_bad_batches(fig: Figure, log: TrainLog) -> None:
    """A thin dashed red line at every step whose batch was bad (the same steps in every run)."""
    for k, s in enumerate(np.flatnonzero(log.bad_batch).tolist()):
        fig.vline(s, color="danger", dash=[2, 3], width=1.0, label="bad batch" if k == 0 else None)


def measure_figure(log: TrainLog, window: int, taus: Sequence[tuple[str, float, str]], *,
                   max_points: int = MAX_POINTS) -> Figure:
    """The unclipped run's gradient norm before clipping (log scale), the end of the measuring
    window, the thresholds taken from it (``(label, tau, color)``) and the bad batches."""
    steps = log.steps
    values = [t for _, t, _ in taus]
    lo, hi = capped_log_range([log.grad_norm], extra=values, typical=[_healthy(log, log.grad_norm)])
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label="gradient norm", title="No clipping: gradient norm before clipping",
                 legend=True, width=480, height=280)
    fig.line(*_thin(log.grad_norm, hi, max_points), color="muted", width=1.2, label="norm, no clipping",
             hover=True, hover_names=("step", "norm"))
    fig.vline(window, color="fg", dash=[6, 3], width=1.0, label=f"end of the measuring window (step {window})")
    for label, tau, color in taus:
        fig.hline(tau, color=color, width=1.4, label=f"{label}: {fmt_number(tau)}")
    _mark_bad_batches(fig, log)
    _mark_divergence(fig, [log], hi / 1.6)
    fig.alt = (f"Gradient norm per step of the unclipped run, log scale, with the thresholds taken from its "
               f"first {window} steps ({', '.join(fmt_number(t) for t in values)}) and "
               f"{int(log.bad_batch.sum())} bad batches marked.")
    return fig


def trailing_mean(values: np.ndarray, skip: np.ndarray, k: int) -> np.ndarray:
    """Mean of the last ``k`` values up to each step, the ``skip`` steps and non-finite values
    left out (NaN where nothing is left).

    .. math:: m_t = \\frac{\\sum_{s \\in W_t} v_s}{\\lvert W_t \\rvert},\\quad
              W_t = \\{s : t-k < s \\le t,\\ \\neg\\text{skip}_s,\\ v_s \\text{ finite}\\}

    >>> trailing_mean(np.array([1.0, 3.0, 100.0, 5.0]), np.array([False, False, True, False]), 2)
    array([1., 2., 3., 5.])
    """
    v = np.asarray(values, dtype=float)
    keep = ~np.asarray(skip, dtype=bool) & np.isfinite(v)
    total = np.concatenate([[0.0], np.cumsum(np.where(keep, v, 0.0))])
    count = np.concatenate([[0], np.cumsum(keep)])
    t = np.arange(1, v.size + 1)
    start = np.maximum(t - k, 0)
    n = count[t] - count[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (total[t] - total[start]) / np.maximum(n, 1), np.nan)


def smoothed_loss_figure(logs: Sequence[TrainLog], labels: Sequence[str], colors: Sequence[str], *,
                         k: int = 20, max_points: int = MAX_POINTS) -> Figure:
    """Each run's loss as a trailing mean over ``k`` steps (a batch of 8 gives a noisy loss), the
    bad batches' own losses left out: they are measured on corrupted targets."""
    steps = logs[0].steps
    smooth = [trailing_mean(l.loss, l.bad_batch, k) for l in logs]
    lo, hi = capped_log_range(smooth, typical=[_healthy(l, v) for l, v in zip(logs, smooth)],
                              headroom_decades=3)
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label=f"loss, mean of {k} steps", title="Loss (bad batches' own losses left out)",
                 legend=True, width=480, height=280)
    for label, color, xy in zip(labels, colors, _thin_each(smooth, hi, max_points)):
        fig.line(*xy, color=color, width=1.6 if color == "muted" else 1.3, label=label, hover=True,
                 hover_names=("step", "loss"))
    _mark_bad_batches(fig, logs[0])
    _mark_divergence(fig, logs, hi / 1.6)
    fig.alt = (f"Loss per step as a mean over {k} steps, log scale, for {len(logs)} runs on the same "
               f"batches; the bad batches are marked.")
    return fig


def update_panel(log: TrainLog, plain: TrainLog, y_range: tuple[float, float], *, label: str, color: str,
                 max_points: int = MAX_POINTS) -> Figure:
    """One panel of the small multiple: ‖Δθ‖ per step of a clipped run over that of the unclipped
    run (grey), the bound ητ of plain SGD, a rug under the clipped steps and the bad batches.
    Every panel gets the same ``y_range``, so the panels compare at a glance."""
    steps, (lo, hi) = log.steps, y_range
    clips = int(log.clipped.sum())
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step", y_label="‖Δθ‖",
                 title=f"{label} = {fmt_number(log.tau)}: {count_share_text(clips, steps)} clipped",
                 legend=True, width=480, height=240)
    (px, py), (cx, cy) = _thin_each([plain.update_norm, log.update_norm], hi, max_points)
    fig.line(px, py, color="muted", width=1.2, label="no clipping", hover=True, hover_names=("step", "‖Δθ‖"))
    fig.line(cx, cy, color=color, width=1.4, label="clipped", hover=True, hover_names=("step", "‖Δθ‖"))
    if log.optimizer == "sgd":
        fig.hline(log.lr * log.tau, color="fg", dash=[3, 3], width=1.0, label="η·τ (SGD bound)")
    if clips:
        rx, ry = clipped_rug(log.clipped, lo * (hi / lo) ** 0.03)
        fig.line(rx, ry, color="warn", width=5.0, label="clipped steps")
    _mark_bad_batches(fig, log)
    bad = log.bad_batch
    fig.alt = (f"Update size per step, log scale, clipped at {label} = {fmt_number(log.tau)} over the unclipped "
               f"run: {clips} of {steps} steps clipped, {int((log.clipped & bad).sum())} of the "
               f"{int(bad.sum())} bad batches among them.")
    return fig
