"""The mixed-precision and gradient-accumulation pages' demos.

``amp_clip_order``
    The same recurrent network trained three times on the same batches with simulated fp16
    loss scaling (:func:`gradclip.loss_scale.train_amp`): the clip after ``unscale_`` (right),
    before it (the scaled gradient is clipped, so the true one meets τ/S), and no clip. Each run
    keeps its own ``GradScaler`` state; skipped steps are marked.

``accumulation_clip``
    Two runs on the same micro-batches, k per optimiser step
    (:func:`gradclip.accumulation.train_accumulated`): one clip of the accumulated mean, or a
    clip of each micro-batch gradient; at the first run's weights, the length of both updates
    and the angle between them.

>>> from gradclip.demos import run
>>> out = run("amp_clip_order", {"steps": 40})
>>> float(out["results"]["eff_tau"]["value"]) < 1.0
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradclip.accumulation import train_accumulated
from gradclip.demos import DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.training_figures import final_loss_result, smoothed_loss_figure
from gradclip.figures import Figure
from gradclip.figures.helpers import capped_log_range, clipped_rug
from gradclip.figures.numbers import count_share_text, fmt_number, prose_number
from gradclip.loss_scale import CLIP_ORDERS, GradScalerRule, train_amp

__all__ = ["AMP_CLIP_ORDER", "ACCUMULATION_CLIP", "ORDER_LABELS"]

ORDER_LABELS = {"after_unscale": "clip after unscale_ (right)", "before_unscale": "clip before unscale_ (wrong)",
                "none": "no clipping"}
_ORDER_COLORS = ("s0", "s1", "muted")
_SHORT = {"after_unscale": "after", "before_unscale": "before", "none": "none"}


def _amp_figures(runs: list, tau: float) -> dict[str, Any]:
    logs = [r.log for r in runs]
    loss = smoothed_loss_figure(logs, [ORDER_LABELS[r.order] for r in runs], _ORDER_COLORS)
    loss.title = "Loss (mean of 20 steps); ticks: skipped steps"
    lo, hi = loss.y_range
    for i, (r, color) in enumerate(zip(runs, _ORDER_COLORS)):
        if r.skipped.any():
            x, y = clipped_rug(r.skipped, lo * (hi / lo) ** (0.03 + 0.05 * i))
            loss.line(x, y, color=color, width=5.0, label=f"skipped ({_SHORT[r.order]})")
    loss.alt = ("Smoothed training loss of the three runs on a log scale, with the steps each run skipped "
                "because its scaled gradient overflowed float16.")
    wrong = next((r for r in runs if r.order == "before_unscale"), runs[0])
    steps = wrong.log.steps
    norms = [r.log.grad_norm for r in runs]
    lo, hi = capped_log_range(norms, extra=[tau, float(np.min(wrong.log.threshold))], headroom_decades=3)
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step", y_label="norm",
                 title="True gradient norm and the threshold it meets", legend=True, width=480, height=280)
    for r, color in zip(runs, _ORDER_COLORS):
        fig.line(np.arange(steps), r.log.grad_norm, color=color, width=1.2, label=f"‖g‖, {_SHORT[r.order]}",
                 hover=True, hover_names=("step", "norm"))
    fig.hline(tau, color="danger", width=1.4, label=f"τ = {fmt_number(tau)} (after unscale_)")
    fig.line(np.arange(steps), wrong.log.threshold, color="danger", width=1.4, dash=[5, 3],
             label="τ / S (before unscale_)")
    fig.alt = (f"True gradient norm per step of each run, log scale, with τ = {fmt_number(tau)} and the "
               f"effective threshold τ/S of the wrong order, which follows the loss scale.")
    scale = Figure(x_range=(0, steps), y_range=capped_log_range([r.scale for r in runs], headroom_decades=3),
                   y_log=True, x_label="step", y_label="loss scale S", title="Loss scale per run",
                   legend=True, width=480, height=220)
    for r, color in zip(runs, _ORDER_COLORS):
        scale.line(np.arange(steps), r.scale, color=color, width=1.4, label=_SHORT[r.order])
    scale.alt = "The GradScaler's loss scale of each run per step: halved at each overflow, doubled after a quiet stretch."
    return {"loss": loss.to_dict(), "threshold": fig.to_dict(), "scale": scale.to_dict()}


def _amp(params: dict[str, Any]) -> DemoOutput:
    tau = float(params["tau"])
    rule = GradScalerRule(init_scale=float(params["init_scale"]), growth_interval=int(params["growth_interval"]))
    runs = train_amp(CLIP_ORDERS, tau, float(params["lr"]), int(params["steps"]), rule, seed=int(params["seed"]))
    res: dict[str, dict[str, str]] = {}
    n = runs[0].log.steps
    for r in runs:
        key = _SHORT[r.order]
        res[f"final_{key}"] = final_loss_result(r.log)
        k = int(r.skipped.sum())
        res[f"skipped_{key}"] = result(k, count_share_text(k, n))
    wrong = runs[1]
    taken = ~wrong.skipped
    res["scale_median"] = result(float(np.median(wrong.scale)))
    res["eff_tau"] = result(float(np.median(wrong.log.threshold)))
    ratio = (np.median(runs[0].log.update_norm[~runs[0].skipped]) / np.median(wrong.log.update_norm[taken])
             if taken.any() and (~runs[0].skipped).any() else math.nan)
    # a whole number of times in prose ("8192 times shorter"), not 8.19e+03
    res["update_ratio"] = result(float(ratio), prose_number(round(ratio)) if math.isfinite(ratio) else None)
    desc = (f"Final loss: clip after unscale_ {res['final_after']['text']}, before unscale_ "
            f"{res['final_before']['text']}, no clip {res['final_none']['text']}. Skipped steps: "
            f"{res['skipped_after']['text']}, {res['skipped_before']['text']}, {res['skipped_none']['text']}. "
            f"The wrong order clips the true gradient at τ/S, median {res['eff_tau']['text']}.")
    return DemoOutput(figures=_amp_figures(runs, tau), results=res, description=desc)


AMP_CLIP_ORDER = register(DemoSpec(
    name="amp_clip_order",
    title="fp16 loss scaling: clip after unscale_, before it, or not at all",
    params=(
        Param("tau", "float", 1.0, "Threshold τ", min=0.01, max=100.0, log=True),
        Param("init_scale", "float", 65536.0, "Initial loss scale S₀", min=1.0, max=2.0 ** 24, log=True,
              help="GradScaler's default is 2¹⁶ = 65536."),
        Param("growth_interval", "int", 100, "Growth interval", min=10, max=2000, step=10,
              help="Finite steps before S doubles (GradScaler's default: 2000; shorter here so a short run "
                   "shows the cycle)."),
        Param("lr", "float", 0.05, "Learning rate η", min=0.005, max=0.5, log=True),
        Param("steps", "int", 200, "Steps", min=20, max=400, step=10),
        Param("seed", "int", 0, "Seed", min=0, max=999, step=1),
    ),
    compute=_amp,
    results=(("final_after", "Final loss, clip after unscale_"), ("final_before", "Final loss, clip before unscale_"),
             ("final_none", "Final loss, no clipping"), ("skipped_after", "Skipped steps, clip after unscale_"),
             ("skipped_before", "Skipped steps, clip before unscale_"), ("skipped_none", "Skipped steps, no clipping"),
             ("scale_median", "Loss scale S, wrong order (median)"),
             ("eff_tau", "Effective threshold τ/S, wrong order (median)"),
             ("update_ratio", "Update length, right over wrong order (medians)")),
    figures=(("loss", "Loss of the three runs on the same batches; ticks mark the steps each run skipped."),
             ("threshold", "The true gradient's norm, τ, and the τ/S that the wrong order really applies."),
             ("scale", "Each run's loss scale: halved after an overflow, doubled after a quiet interval.")),
))


def _accumulation_figures(out) -> dict[str, Any]:
    steps = out.loss_once.size
    x = np.arange(steps)
    lo, hi = capped_log_range([out.loss_once, out.loss_each], headroom_decades=3)
    loss = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="optimizer step", y_label="loss",
                  title=f"Loss, {out.k} micro-batches per step", legend=True, width=480, height=260)
    loss.line(x, out.loss_once, color="s0", width=1.3, label="clip once (accumulated)", hover=True,
              hover_names=("step", "loss"))
    loss.line(x, out.loss_each, color="s1", width=1.3, label="clip each micro-batch", hover=True,
              hover_names=("step", "loss"))
    loss.alt = "Training loss per optimizer step of the two runs, on the same micro-batches, log scale."
    lo, hi = capped_log_range([out.norm_once, out.norm_each], extra=[out.tau * 1.5], headroom_decades=2)
    norm = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="optimizer step",
                  y_label="‖accumulated gradient‖", title="Same weights, two clips: update length",
                  legend=True, width=480, height=240)
    norm.line(x, out.norm_once, color="s0", width=1.3, label="clip once")
    norm.line(x, out.norm_each, color="s1", width=1.3, label="clip each")
    norm.hline(out.tau, color="danger", width=1.2, label=f"τ = {fmt_number(out.tau)}")
    norm.alt = "Length of the accumulated gradient per step under the two clips, at the same weights."
    angle = Figure(x_range=(0, steps), y_range=(0.0, max(10.0, float(np.nanmax(out.angle)) * 1.1)),
                   x_label="optimizer step", y_label="degrees", title="Angle between the two updates",
                   width=480, height=200)
    angle.line(x, out.angle, color="s2", width=1.3, hover=True, hover_names=("step", "degrees"))
    angle.alt = "Angle in degrees between the clip-once and clip-each updates, at the same weights, per step."
    return {"loss": loss.to_dict(), "norm": norm.to_dict(), "angle": angle.to_dict()}


def _accumulation(params: dict[str, Any]) -> DemoOutput:
    out = train_accumulated(int(params["k"]), float(params["tau"]), float(params["lr"]), seed=int(params["seed"]))
    tail = slice(out.loss_once.size - max(1, out.loss_once.size // 10), None)
    res = {
        "final_once": result(float(np.mean(out.loss_once[tail]))),
        "final_each": result(float(np.mean(out.loss_each[tail]))),
        "norm_once": result(float(np.median(out.norm_once))),
        "norm_each": result(float(np.median(out.norm_each))),
        "angle": result(float(np.nanmedian(out.angle))),
        "once_clipped": result(int(out.once_clipped.sum()), count_share_text(int(out.once_clipped.sum()),
                                                                             out.loss_once.size)),
        "micro_share": result(float(out.micro_clipped.sum() / (out.k * out.loss_once.size)),
                              f"{100 * out.micro_clipped.sum() / (out.k * out.loss_once.size):.0f}%"),
    }
    desc = (f"{out.k} micro-batches per step, τ = {fmt_number(out.tau)}: clipping once clips "
            f"{res['once_clipped']['text']} of the steps, clipping each micro-batch clips "
            f"{res['micro_share']['text']} of the micro-batch gradients; median update length "
            f"{res['norm_once']['text']} against {res['norm_each']['text']}, median angle "
            f"{res['angle']['text']}°; final loss {res['final_once']['text']} against {res['final_each']['text']}.")
    return DemoOutput(figures=_accumulation_figures(out), results=res, description=desc)


ACCUMULATION_CLIP = register(DemoSpec(
    name="accumulation_clip",
    title="Gradient accumulation: clip the accumulated gradient once, or each micro-batch",
    params=(
        Param("k", "int", 4, "Micro-batches per step k", min=1, max=16, step=1),
        Param("tau", "float", 1.0, "Threshold τ", min=0.01, max=100.0, log=True),
        Param("lr", "float", 0.05, "Learning rate η", min=0.005, max=0.5, log=True),
        Param("seed", "int", 0, "Seed", min=0, max=999, step=1),
    ),
    compute=_accumulation,
    results=(("final_once", "Final loss, clip once"), ("final_each", "Final loss, clip each micro-batch"),
             ("norm_once", "Update length, clip once (median)"), ("norm_each", "Update length, clip each (median)"),
             ("angle", "Angle between the two updates (median, degrees)"),
             ("once_clipped", "Steps clipped, clip once"),
             ("micro_share", "Micro-batch gradients clipped, clip each")),
    figures=(("loss", "Loss per optimizer step of the two runs, the same micro-batches."),
             ("norm", "At the clip-once run's weights: the length of each accumulated update."),
             ("angle", "The angle between the two updates, at the same weights.")),
))
