"""The DP-SGD page's demo: the MLP on the regression task, trained with DP-SGD over a grid of clip norms.

``dp_sgd``
    :func:`gradclip.dp.dp_sgd_train` runs, side by side on the same batches: non-private SGD;
    DP-SGD at every clip norm C of :data:`DP_GRID` with the chosen noise multiplier σ, and the
    same with σ = 0 (clipping only); and the reader's own (C, σ) with and without noise. The
    losses are shown as a fraction of the targets' variance (the loss of predicting 0). One
    call trains every run, so a change of a control is one vectorised training of
    ``2 * len(DP_GRID) + 3`` runs.

>>> from gradclip.demos import run
>>> out = run("dp_sgd", {})
>>> float(out["results"]["best_clip"]["value"]) in DP_GRID
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradclip.demos import DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.training_figures import trailing_mean
from gradclip.dp import DPRuns, dp_sgd_train
from gradclip.figures import Figure
from gradclip.figures.helpers import log_range
from gradclip.figures.numbers import fmt_number, percent_text
from gradclip.tasks import RegressionTask

__all__ = ["DP_GRID", "DP_SETUP", "DP_SGD", "dp_grid_runs"]

DP_GRID = tuple(float(c) for c in np.geomspace(10.0, 1e5, 9))    # half-decade steps
DP_SETUP = {"steps": 60, "batch_size": 64, "last": 10}
_SMOOTH = 5


def dp_grid_runs(clip: float, sigma: float, lr: float, seed: int) -> tuple[DPRuns, np.ndarray]:
    """Every run of the demo in one :func:`gradclip.dp.dp_sgd_train` call, and each run's final
    loss as a fraction of the targets' variance. Order: non-private SGD; the grid at σ; the
    grid at σ = 0; the reader's C at σ; the reader's C at σ = 0."""
    n = len(DP_GRID)
    caps = np.r_[math.inf, DP_GRID, DP_GRID, clip, clip]
    sigmas = np.r_[0.0, [sigma] * n, [0.0] * n, sigma, 0.0]
    out = dp_sgd_train(caps, sigmas, lr=lr, steps=DP_SETUP["steps"], batch_size=DP_SETUP["batch_size"], seed=seed)
    return out, out.final_loss(DP_SETUP["last"]) / RegressionTask().baseline_loss


def _sweep_figure(final: np.ndarray, clip: float, sigma: float, median: float) -> Figure:
    n = len(DP_GRID)
    at_sigma, clip_only, plain = final[1:1 + n], final[1 + n:1 + 2 * n], final[0]
    top = 10.0
    lo, hi = log_range([v for v in np.r_[at_sigma, clip_only, plain] if np.isfinite(v) and v < top], extra=[top])
    fig = Figure(x_range=(DP_GRID[0], DP_GRID[-1]), y_range=(lo, hi), x_log=True, y_log=True,
                 x_label="clip norm C", y_label="final loss / Var(y)", legend=True, width=480, height=280,
                 title=f"Loss after {DP_SETUP['steps']} steps against C")
    fig.line(DP_GRID, np.minimum(at_sigma, hi), color="s0", label=f"DP-SGD, σ = {fmt_number(sigma)}",
             marker=True, hover=True, hover_names=("C", "loss / Var(y)"))
    fig.line(DP_GRID, np.minimum(clip_only, hi), color="s3", label="clipping only, σ = 0", marker=True,
             hover=True, hover_names=("C", "loss / Var(y)"))
    if np.isfinite(plain):            # a large learning rate can make plain SGD blow up
        fig.hline(min(plain, hi), color="muted", dash=[4, 3], label="non-private SGD")
    fig.vline(clip, color="fg", label=f"your C = {fmt_number(clip)}")
    if np.isfinite(median):
        fig.vline(median, color="s2", dash=[2, 3], label="median per-example norm, SGD")
    fig.alt = (f"Final loss over the targets' variance against the clip norm C on a log scale, for DP-SGD "
               f"with noise multiplier {fmt_number(sigma)} and for clipping without noise; non-private SGD "
               f"ends at {fmt_number(plain)}.")
    return fig


def _curves_figure(runs: DPRuns, clip: float, sigma: float) -> Figure:
    logs, var = runs.logs, RegressionTask().baseline_loss
    chosen = [(logs[0], "non-private SGD", "muted"), (logs[-2], f"DP-SGD, C = {fmt_number(clip)}, "
               f"σ = {fmt_number(sigma)}", "s0"), (logs[-1], f"clipping only, C = {fmt_number(clip)}", "s3")]
    curves = [trailing_mean(log.loss, np.zeros(log.loss.size, bool), _SMOOTH) / var for log, _, _ in chosen]
    lo, hi = log_range(np.concatenate([c[np.isfinite(c) & (c < 10)] for c in curves]), extra=[1.0])
    steps = DP_SETUP["steps"]
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label=f"loss / Var(y), mean of {_SMOOTH} steps", legend=True, width=480, height=280,
                 title="Your run against non-private SGD")
    for (log, label, color), c in zip(chosen, curves):
        fig.line(np.arange(steps), np.minimum(c, hi), color=color, label=label, hover=True,
                 hover_names=("step", "loss / Var(y)"), width=1.6)
    fig.alt = "Loss per step over the targets' variance, log scale, for non-private SGD and your DP-SGD run."
    return fig


def _loss(value: float) -> dict[str, str]:
    """A final loss as a result field; a run whose loss is no longer finite blew up."""
    return result(float(value)) if np.isfinite(value) else result(float(value), "blew up")


def _results(runs: DPRuns, final: np.ndarray, clip: float, sigma: float) -> dict[str, dict[str, str]]:
    n = len(DP_GRID)
    at_sigma = final[1:1 + n]
    best = int(np.nanargmin(np.where(np.isfinite(at_sigma), at_sigma, np.nan))) if np.isfinite(at_sigma).any() else 0
    median = float(np.nanmedian(runs.median_norm[0]))
    b = DP_SETUP["batch_size"]
    return {
        "steps": result(DP_SETUP["steps"]),
        "final_sgd": _loss(final[0]),
        "final_dp": _loss(final[-2]),
        "final_clip_only": _loss(final[-1]),
        "best_clip": result(DP_GRID[best]),
        "best_loss": _loss(at_sigma[best]),
        "smallest_clip_loss": _loss(at_sigma[0]),
        "largest_clip_loss": _loss(at_sigma[-1]),
        "median_norm": result(median),
        "clipped_share": result(float(np.nanmean(runs.clipped_fraction[-2])),
                                percent_text(int(round(1000 * np.nanmean(runs.clipped_fraction[-2]))), 1000)),
        "noise_per_coord": result(sigma * clip / b),
    }


def _compute(params: dict[str, Any]) -> DemoOutput:
    clip, sigma, lr, seed = float(params["clip"]), float(params["sigma"]), float(params["lr"]), int(params["seed"])
    runs, final = dp_grid_runs(clip, sigma, lr, seed)
    res = _results(runs, final, clip, sigma)
    median = float(res["median_norm"]["value"])
    figures = {"sweep": _sweep_figure(final, clip, sigma, median).to_dict(),
               "curves": _curves_figure(runs, clip, sigma).to_dict()}
    desc = (f"After {DP_SETUP['steps']} steps (loss over the targets' variance): non-private SGD "
            f"{res['final_sgd']['text']}, DP-SGD at C = {fmt_number(clip)} and σ = {fmt_number(sigma)} "
            f"{res['final_dp']['text']}, clipping only {res['final_clip_only']['text']}. Over the grid, "
            f"C = {res['best_clip']['text']} ends lowest at σ = {fmt_number(sigma)} "
            f"({res['best_loss']['text']}); the median per-example norm of the SGD run is {res['median_norm']['text']}.")
    return DemoOutput(figures=figures, results=res, description=desc)


DP_SGD = register(DemoSpec(
    name="dp_sgd",
    title="DP-SGD on the MLP: loss against the clip norm and the noise",
    params=(
        Param("clip", "float", 1000.0, "Clip norm C", min=10.0, max=1e5, log=True,
              help="Each example's gradient is scaled to norm at most C (Opacus: max_grad_norm)."),
        Param("sigma", "float", 1.0, "Noise multiplier σ", min=0.0, max=4.0,
              help="Gaussian noise of standard deviation σ·C on each coordinate of the summed gradient."),
        Param("lr", "float", 0.003, "Learning rate η", min=0.0005, max=0.01, log=True),
        Param("seed", "int", 0, "Seed", min=0, max=999, step=1, help="Initial weights, batches and noise."),
    ),
    compute=_compute,
    results=(
        ("steps", "Steps per run"),
        ("final_sgd", "Non-private SGD: final loss / Var(y)"),
        ("final_dp", "Your DP-SGD run: final loss / Var(y)"),
        ("final_clip_only", "Your C without noise: final loss / Var(y)"),
        ("best_clip", "Best C on the grid at your σ"),
        ("best_loss", "Its final loss / Var(y)"),
        ("smallest_clip_loss", "Smallest C on the grid: final loss / Var(y)"),
        ("largest_clip_loss", "Largest C on the grid: final loss / Var(y)"),
        ("median_norm", "Median per-example norm, SGD run"),
        ("clipped_share", "Your run: examples clipped"),
        ("noise_per_coord", "Noise std on the mean gradient, σC/B"),
    ),
    figures=(
        ("sweep", "Final loss (mean of the last 10 steps, over the targets' variance) against C: "
                  "DP-SGD at your σ, clipping alone, and non-private SGD."),
        ("curves", "Your run's loss per step against non-private SGD and against the same C without noise."),
    ),
))
