"""The "Clipping in real training" theory pages' demos.

``smooth_descent``
    Fixed-step, clipped and normalised gradient descent on the (L0, L1)-smooth loss
    cosh(x) - 1 (:func:`gradclip.smoothness.compare_descent`): the loss per iteration from the
    reader's start point, and the iterations to a small gradient against the start distance.

``spike_remedies`` (streaming)
    The bad-batch run of the training monitor page (:mod:`gradclip.demos.monitor_spikes`: the
    same healthy RNN, the same measured threshold) with four answers to a spike: none, a fixed
    norm clip at the 99th percentile of the measured norms, ZClip clipping the spike, and ZClip
    skipping the spike's optimiser step (:class:`gradclip.train.RunSpec` ``skip_step_on_spike``).

>>> from gradclip.demos import run
>>> out = run("smooth_descent", {"start": 3.0})
>>> out["results"]["its_fixed"]["value"], out["results"]["its_clipped"]["value"]
('78', '14')
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from gradclip.demos import DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.monitor import OPTIMIZER_CHOICES, _stream
from gradclip.demos.monitor_spikes import SPIKE_SETUP, SPIKE_WINDOW, _measure, spike_thresholds
from gradclip.demos.training_figures import (MAX_POINTS, PARTIAL_POINTS, final_loss_result,
                                             smoothed_loss_figure, update_panel)
from gradclip.figures import Figure
from gradclip.figures.helpers import capped_log_range, padded_log_range
from gradclip.figures.numbers import count_share_text, fmt_number
from gradclip.methods import ADAPTIVE_WARMUP, ZCLIP_Z
from gradclip.smoothness import DESCENT_RULES, compare_descent
from gradclip.tasks import AddingTask, BadBatches
from gradclip.train import RunSpec, train_iter

__all__ = ["SWEEP_STARTS", "SMOOTH_TOL", "SPIKE_RUNS"]

SMOOTH_TOL = 1e-3                        # |f'(x)| that counts as arrived
SWEEP_STARTS = np.linspace(0.5, 7.0, 14)  # the start distances of the sweep panel
_RULE_LABELS = {"fixed": "fixed step 1/(L0+L1·M)", "clipped": "clipped GD", "normalised": "normalised GD"}
_RULE_COLORS = {"fixed": "s3", "clipped": "s0", "normalised": "s2"}
_RECORD = 60                             # iterations drawn in the loss panel


def _descent_loss_figure(res: Any, start: float) -> Figure:
    loss = res.loss[:, :, 0]
    lo, hi = padded_log_range(loss[loss > 0])
    fig = Figure(x_range=(0, _RECORD), y_range=(lo, hi), y_log=True, x_label="iteration k",
                 y_label="f(x_k) − f*", title=f"From x₀ = {fmt_number(start)}", legend=True, width=480,
                 height=280, alt=f"Loss per iteration of the three step rules from x0 = {fmt_number(start)}, "
                                 "log scale.")
    k = np.arange(_RECORD + 1)
    for i, rule in enumerate(DESCENT_RULES):
        y = loss[i]
        fig.line(k[y > 0], y[y > 0], color=_RULE_COLORS[rule], width=2.0, label=_RULE_LABELS[rule],
                 hover=True, hover_names=("k", "loss"))
    return fig


def _descent_sweep_figure(sweep: Any, start: float) -> Figure:
    its = sweep.iterations.astype(float)
    lo, hi = padded_log_range(its)
    fig = Figure(x_range=(0.0, float(SWEEP_STARTS[-1]) + 0.5), y_range=(lo, hi), y_log=True,
                 x_label="start distance |x₀|", y_label="iterations to |f′| ≤ 10⁻³",
                 title="Iterations against the start", legend=True, width=480, height=280,
                 alt="Iterations to a small gradient against the start distance: the fixed step's count "
                     "grows exponentially, clipped and normalised descent's by one or two per unit.")
    for i, rule in enumerate(DESCENT_RULES):
        fig.line(sweep.starts, its[i], color=_RULE_COLORS[rule], width=2.0, label=_RULE_LABELS[rule],
                 hover=True, hover_names=("|x₀|", "iterations"))
    fig.vline(start, color="fg", width=1.5, dash=[4, 3], label="your x₀")
    return fig


def _smooth_descent(p: dict[str, Any]) -> DemoOutput:
    start, gamma = float(p["start"]), float(p["gamma"])
    one = compare_descent([start], gamma=gamma, tol=SMOOTH_TOL, record=_RECORD)
    sweep = compare_descent(SWEEP_STARTS, gamma=gamma, tol=SMOOTH_TOL)
    its = {rule: int(one.iterations[i, 0]) for i, rule in enumerate(DESCENT_RULES)}
    far, near = sweep.iterations[:, -1], sweep.iterations[:, 0]
    res = {f"its_{rule}": result(n) for rule, n in its.items()}
    res["fixed_step"] = result(float(one.fixed_step[0]))
    res["speedup"] = result(its["fixed"] / its["clipped"])
    res["fixed_far"], res["clipped_far"] = result(int(far[0])), result(int(far[1]))
    res["fixed_near"], res["clipped_near"] = result(int(near[0])), result(int(near[1]))
    desc = (f"From x0 = {fmt_number(start)} with γ = {fmt_number(gamma)}: fixed step {its['fixed']} iterations, "
            f"clipped {its['clipped']}, normalised {its['normalised']}.")
    return DemoOutput(figures={"loss": _descent_loss_figure(one, start).to_dict(),
                               "sweep": _descent_sweep_figure(sweep, start).to_dict()},
                      results=res, description=desc)


register(DemoSpec(
    name="smooth_descent",
    title="Fixed-step, clipped and normalised descent on cosh(x) − 1",
    params=(
        Param("start", "float", 4.0, "Start x₀", min=0.5, max=7.0, step=0.1,
              help="How far from the minimum the run starts; the fixed step is set by the gradient there."),
        Param("gamma", "float", 1.0, "Clip γ", min=0.1, max=10.0, log=True,
              help="Clipped GD's threshold: the step is η·min(1, γ/|f′|) with η = 1/(2L0) = 0.5."),
    ),
    compute=_smooth_descent,
    results=(("its_fixed", "Fixed step: iterations"), ("its_clipped", "Clipped GD: iterations"),
             ("its_normalised", "Normalised GD: iterations"), ("fixed_step", "The fixed step 1/(L0+L1·M)"),
             ("speedup", "Fixed ÷ clipped iterations"),
             ("fixed_near", "Fixed step, from x₀ = 0.5"), ("clipped_near", "Clipped, from x₀ = 0.5"),
             ("fixed_far", "Fixed step, from x₀ = 7"), ("clipped_far", "Clipped, from x₀ = 7")),
    figures=(("loss", "Loss per iteration from your start, log scale (a line ends where the gradient "
                      "reaches 10⁻³)."),
             ("sweep", "Iterations to a gradient of 10⁻³ against the start distance, log scale.")),
))


# ---------------------------------------------------------------------------------------
# Loss spikes: clip, skip, or nothing

SPIKE_RUNS = ("none", "norm", "zclip", "zclip_skip")
_SPIKE_LABELS = ("no clipping", "norm clip at p99", f"ZClip z = {ZCLIP_Z:g}, clip", f"ZClip z = {ZCLIP_Z:g}, skip step")
_SPIKE_COLORS = ("muted", "s1", "s0", "s2")


def _remedy_results(logs: list, tau: float) -> dict[str, dict[str, str]]:
    done = logs[0].steps
    res = {"steps_done": result(done, f"{done} of {SPIKE_SETUP['steps']}"), "tau": result(tau)}
    for name, log in zip(SPIKE_RUNS, logs):    # the longest update once ZClip's warm-up is over
        res[f"final_{name}"] = final_loss_result(log)
        late = log.update_norm[ADAPTIVE_WARMUP:]
        if log.summary.diverged_at is not None:     # its longest update is chaos, like its loss
            res[f"step_{name}"] = res[f"final_{name}"]
        else:
            res[f"step_{name}"] = result(float(np.nanmax(late)) if late.size and np.isfinite(late).any()
                                         else float("nan"))
    for name, log in zip(SPIKE_RUNS[1:3], logs[1:3]):
        n = int(log.clipped.sum())
        res[f"clips_{name}"] = result(n, count_share_text(n, done))
    skip = logs[3]
    n = int(skip.skipped.sum())
    res["skips"] = result(n, count_share_text(n, done))
    res["skips_bad"] = result(int((skip.skipped & skip.bad_batch).sum()))
    res["skips_ordinary"] = result(int((skip.skipped & ~skip.bad_batch).sum()))
    after = np.flatnonzero(skip.bad_batch[: max(done - 1, 0)]) + 1     # the step after each bad batch
    res["aftershock_clip"] = result(int(logs[2].clipped[after].sum()))
    res["aftershock_skip"] = result(int(skip.skipped[after].sum()))
    res["bad"] = result(int(logs[0].bad_batch[:done].sum()))
    return res


def _remedy_figures(logs: list, done: bool) -> dict[str, Any]:
    mp = MAX_POINTS if done else PARTIAL_POINTS
    plain = logs[0]
    at = plain.summary.diverged_at
    updates = [l.update_norm for l in logs]
    healthy = [u if at is None else u[: max(at, 1)] for u in updates]
    y_range = capped_log_range([u[u > 0] for u in updates], typical=healthy, headroom_decades=3)
    figs = {"loss": smoothed_loss_figure(logs, _SPIKE_LABELS, _SPIKE_COLORS, max_points=mp)}
    for name, label, color, log in zip(SPIKE_RUNS[1:], _SPIKE_LABELS[1:], _SPIKE_COLORS[1:], logs[1:]):
        figs[f"update_{name}"] = update_panel(log, plain, y_range, label=label, color=color, max_points=mp)
    return {k: f.to_dict() for k, f in figs.items()}


def _spike_remedies(params: dict[str, Any]) -> Iterator[DemoOutput]:
    lr, optimizer, seed = float(params["lr"]), params["optimizer"], int(params["seed"])
    task = BadBatches(AddingTask(), count=int(params["count"]), scale=float(params["scale"]), part="targets",
                      start=SPIKE_WINDOW)
    tau = float(spike_thresholds(_measure(task, lr, optimizer, seed).grad_norm, (99,))[0])
    runs = [RunSpec("none", 1.0, lr), RunSpec("norm", tau, lr), RunSpec("zclip", ZCLIP_Z, lr),
            RunSpec("zclip", ZCLIP_Z, lr, skip_step_on_spike=True)]
    progress = train_iter(SPIKE_SETUP["model"], task, runs, SPIKE_SETUP["steps"], optimizer, seed,
                          rho=SPIKE_SETUP["rho"])

    def build(prog, done: bool) -> DemoOutput:
        logs = prog.logs()
        res = _remedy_results(logs, tau)
        desc = (f"{res['bad']['text']} bad batches in {prog.done} steps. Final loss: "
                + ", ".join(f"{lab} {res[f'final_{n}']['text']}" for n, lab in zip(SPIKE_RUNS, _SPIKE_LABELS))
                + f". The skipping run skipped {res['skips']['text']} steps.")
        return DemoOutput(figures=_remedy_figures(logs, done), results=res, description=desc, done=done)

    return _stream(progress, build)


def _remedy_fields() -> tuple[tuple[str, str], ...]:
    fields = [("steps_done", "Steps done"), ("bad", "Bad batches met"), ("tau", "Fixed τ (p99 of steps 0–99)")]
    for name, label in zip(SPIKE_RUNS, _SPIKE_LABELS):
        fields += [(f"final_{name}", f"{label}: final loss"),
                   (f"step_{name}", f"{label}: longest update after step {ADAPTIVE_WARMUP}")]
    fields += [("clips_norm", "Norm clip: steps clipped"), ("clips_zclip", "ZClip clip: steps clipped"),
               ("skips", "ZClip skip: steps skipped"), ("skips_bad", "ZClip skip: bad batches skipped"),
               ("skips_ordinary", "ZClip skip: ordinary steps skipped"),
               ("aftershock_clip", "ZClip clip: steps right after a bad batch clipped"),
               ("aftershock_skip", "ZClip skip: steps right after a bad batch skipped")]
    return tuple(fields)


register(DemoSpec(
    name="spike_remedies",
    title="Rare bad batches: no clipping, a fixed clip, ZClip clipping, ZClip skipping",
    params=(
        Param("count", "int", 3, "Bad batches", min=0, max=10, step=1,
              help=f"Placed at random among steps {SPIKE_WINDOW}–{SPIKE_SETUP['steps'] - 1}, the same for every run."),
        Param("scale", "float", 20.0, "Bad batch: targets ×", min=1.0, max=100.0, log=True),
        Param("lr", "float", 0.05, "Learning rate η", min=0.005, max=0.5, log=True),
        Param("optimizer", "choice", "sgd", "Optimizer", choices=OPTIMIZER_CHOICES),
        Param("seed", "int", 0, "Seed", min=0, max=999, step=1),
    ),
    compute=_spike_remedies,
    results=_remedy_fields(),
    figures=(("loss", "Loss of the four runs, smoothed; the bad batches' own losses left out."),
             ("update_norm", "Update size, fixed norm clip, over the unclipped run (grey)."),
             ("update_zclip", "Update size, ZClip clipping the spike."),
             ("update_zclip_skip", "Update size, ZClip skipping the spike's step (a skipped step has "
                                   "no update and leaves a gap in the line).")),
    stream=True,
))
