"""The training monitor page's first demo: rare bad batches in a healthy run, four thresholds.

``bad_batches`` (streaming)
    A healthy run (a one-layer RNN started at singular values 1, on the adding problem) into
    which a few bad batches are injected (:class:`gradclip.tasks.BadBatches`: their targets
    scaled by a factor). The thresholds are measured first, as the site's rule says: the
    unclipped run's gradient norms over its first ``SPIKE_WINDOW`` steps (no bad batch falls
    there), and τ at their 10th, 50th, 90th and 99th percentiles. Then the unclipped run and
    the four clipped ones train together on the same batches; the demo shows the update size
    of each clipped run over the unclipped one, and how many steps each clipped.

It streams like the other training demos (:func:`gradclip.demos.monitor._stream`).

>>> from gradclip.demos import run
>>> out = run("bad_batches", {"count": 1})
>>> out["done"], out["results"]["clips_p99"]["text"].endswith("%)")
(True, True)
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Sequence

import numpy as np

from gradclip.demos import DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.monitor import OPTIMIZER_CHOICES, _stream
from gradclip.demos.training_figures import (MAX_POINTS, PARTIAL_POINTS, final_loss_result, measure_figure,
                                             smoothed_loss_figure, update_panel)
from gradclip.figures.helpers import capped_log_range
from gradclip.figures.numbers import count_share_text, fmt_number
from gradclip.tasks import AddingTask, BadBatches
from gradclip.train import RunSpec, TrainLog, train_iter

__all__ = ["BAD_BATCHES", "SPIKE_SETUP", "SPIKE_WINDOW", "SPIKE_PERCENTILES", "spike_thresholds"]



# A healthy run: one tanh layer whose recurrent matrix starts orthogonal (every singular value
# 1, not the monitor's expanding 1.3), plain SGD, on the adding problem.
SPIKE_SETUP = {"model": "rnn1", "task": "adding", "steps": 400, "rho": 1.0}
SPIKE_WINDOW = 100                    # the measuring window: steps 0..99 carry no bad batch
SPIKE_PERCENTILES = (10, 50, 90, 99)
_SPIKE_COLORS = ("s1", "s3", "s2", "s0")     # not s4: it is the clipped-steps rug's colour
_NTH = {10: "10th", 50: "50th", 90: "90th", 99: "99th"}
_TAU_LO, _TAU_HI = 1e-6, 1e6          # RunSpec's range for tau


def spike_thresholds(norms: np.ndarray, percentiles: Sequence[float] = SPIKE_PERCENTILES) -> np.ndarray:
    """The thresholds of the bad-batch demo: percentiles of the norms measured without clipping.

    :math:`\\tau_p = P_p\\big(\\{\\lVert g_t \\rVert : t < W\\}\\big)`, the finite norms of the
    measuring window only (a run that blew up inside it has no others), kept inside the range a
    threshold may take. No finite norm at all gives NaN: nothing to measure.

    >>> spike_thresholds(np.array([1.0, 2.0, 3.0, 4.0, np.inf]), (50, 100))
    array([2.5, 4. ])
    """
    g = np.asarray(norms, dtype=float)
    g = g[np.isfinite(g)]
    if g.size == 0:
        return np.full(len(percentiles), np.nan)
    return np.clip(np.percentile(g, percentiles), _TAU_LO, _TAU_HI)


def _measure(task: BadBatches, lr: float, optimizer: str, seed: int) -> TrainLog:
    """The unclipped run's first ``SPIKE_WINDOW`` steps, on the batches the full run will see
    (a task draws its batches for the whole run at once, so the window is their prefix)."""
    setup = SPIKE_SETUP
    progress = train_iter(setup["model"], task, [RunSpec("none", 1.0, lr)], setup["steps"], optimizer,
                          seed, rho=setup["rho"])
    prog = None
    for prog in progress:
        if prog.done == SPIKE_WINDOW:
            break
    return prog.logs()[0]


def _spike_results(logs: Sequence[TrainLog], measured: TrainLog, task: BadBatches) -> dict[str, dict[str, str]]:
    """The numbers the page quotes: the measurement, the unclipped run, and each clipped run's
    threshold, clip count and final loss (more of the 99th-percentile run, the one that guards).
    ``logs`` may be a partial run's: its steps so far."""
    plain, clipped = logs[0], logs[1:]
    bad, done, steps = plain.bad_batch, plain.steps, SPIKE_SETUP["steps"]
    # Measured over the clean window: the same in every browser. After the bad batches the
    # unclipped run is thrown far enough to amplify the last-bit differences between maths
    # libraries, so the numbers the page quotes are taken where they are reproducible.
    window = measured.grad_norm[np.isfinite(measured.grad_norm)]
    ordinary = measured.update_norm[np.isfinite(measured.update_norm)]
    reached = bad & np.isfinite(plain.grad_norm)        # the bad batches met so far
    res = {
        "steps_done": result(done, f"{done} of {steps}"),
        "median": result(float(np.median(window)) if window.size else math.nan),
        "bad_norm": (result(float(np.median(plain.grad_norm[reached]))) if reached.any()
                     else result("nan", "— (none)" if task.count == 0 else "— (none met yet)")),
        "step_typical": result(float(np.median(ordinary)) if ordinary.size else math.nan),
        "step_none": result(float(np.nanmax(plain.update_norm)) if done else math.nan),
        "final_none": final_loss_result(plain),
    }
    for p, log in zip(SPIKE_PERCENTILES, clipped):
        c = log.clipped
        if p in (SPIKE_PERCENTILES[0], SPIKE_PERCENTILES[-1]):
            res[f"tau_p{p}"] = result(log.tau)
        res[f"clips_p{p}"] = result(int(c.sum()), count_share_text(int(c.sum()), done))
        res[f"final_p{p}"] = final_loss_result(log)
    top = clipped[-1]
    res["ordinary_p99"] = result(int((top.clipped & ~bad).sum()))
    res["step_p99"] = result(float(np.nanmax(top.update_norm)) if done else math.nan)
    return res


def _spike_figures(logs: Sequence[TrainLog], measured: TrainLog, done: bool) -> dict[str, Any]:
    mp = MAX_POINTS if done else PARTIAL_POINTS
    plain, clipped = logs[0], logs[1:]
    labels = [f"τ at p{p}" for p in SPIKE_PERCENTILES]
    taus = [(lab, log.tau, col) for lab, log, col in zip(labels, clipped, _SPIKE_COLORS)]
    updates = [l.update_norm for l in logs]
    # One scale for the four panels, set by the healthy stretch of every run (a blown-up
    # unclipped run would otherwise squash them).
    at = plain.summary.diverged_at
    healthy = [u if at is None else u[: max(at, 1)] for u in updates]
    y_range = capped_log_range(updates, extra=[l.lr * l.tau for l in clipped], typical=healthy,
                               headroom_decades=3)
    figures = {
        "norm": measure_figure(plain, SPIKE_WINDOW, taus, max_points=mp),
        "loss": smoothed_loss_figure(logs, ["no clipping"] + labels, ("muted",) + _SPIKE_COLORS, max_points=mp),
    }
    for p, lab, log, col in zip(SPIKE_PERCENTILES, labels, clipped, _SPIKE_COLORS):
        figures[f"update_p{p}"] = update_panel(log, plain, y_range, label=lab, color=col, max_points=mp)
    return {k: f.to_dict() for k, f in figures.items()}


def _bad_batches(params: dict[str, Any]) -> Iterator[DemoOutput]:
    setup, lr, optimizer, seed = SPIKE_SETUP, float(params["lr"]), params["optimizer"], int(params["seed"])
    task = BadBatches(AddingTask(), count=int(params["count"]), scale=float(params["scale"]), part="targets",
                      start=SPIKE_WINDOW)
    measured = _measure(task, lr, optimizer, seed)
    taus = spike_thresholds(measured.grad_norm)     # finite: step 0 starts from finite weights
    runs = [RunSpec("none", 1.0, lr)] + [RunSpec("norm", float(t), lr) for t in taus]
    progress = train_iter(setup["model"], task, runs, setup["steps"], optimizer, seed, rho=setup["rho"])

    def build(prog, done: bool) -> DemoOutput:
        logs = prog.logs()
        res = _spike_results(logs, measured, task)
        plain, top = logs[0], logs[-1]
        desc = (f"{int(plain.bad_batch.sum())} bad batches (targets × {fmt_number(task.scale)}) in "
                f"{prog.done} of {setup['steps']} steps. Unclipped: largest update "
                f"{res['step_none']['text']}, typical {res['step_typical']['text']}. "
                + "; ".join(f"τ at the {_NTH[p]} percentile, {fmt_number(log.tau)}, clips "
                            f"{res[f'clips_p{p}']['text']}" for p, log in zip(SPIKE_PERCENTILES, logs[1:]))
                + f"; the last one's largest update is {fmt_number(float(np.nanmax(top.update_norm)))}.")
        return DemoOutput(figures=_spike_figures(logs, measured, done), results=res, description=desc,
                          done=done)

    return _stream(progress, build)


def _spike_result_fields() -> tuple[tuple[str, str], ...]:
    fields = [("steps_done", "Steps done"), ("median", "Median norm, steps 0–99, no clipping"),
              ("bad_norm", "Norm at a bad batch (median), no clipping"),
              ("step_typical", "Typical update ‖Δθ‖, steps 0–99 (median)"),
              ("step_none", "Longest update, no clipping"), ("final_none", "Final loss, no clipping")]
    for p in SPIKE_PERCENTILES:
        n = _NTH[p]
        if p in (SPIKE_PERCENTILES[0], SPIKE_PERCENTILES[-1]):
            fields.append((f"tau_p{p}", f"τ at the {n} percentile"))
        fields += [(f"clips_p{p}", f"τ at the {n}: steps clipped"), (f"final_p{p}", f"τ at the {n}: final loss")]
    fields += [("ordinary_p99", "τ at the 99th: ordinary steps clipped"),
               ("step_p99", "τ at the 99th: longest update")]
    return tuple(fields)


BAD_BATCHES = register(DemoSpec(
    name="bad_batches",
    title="Rare bad batches in a healthy run, clipped at four thresholds",
    params=(
        Param("count", "int", 3, "Bad batches", min=0, max=10, step=1,
              help=f"Placed at random among steps {SPIKE_WINDOW}–{SPIKE_SETUP['steps'] - 1}, the same for every run."),
        Param("scale", "float", 6.0, "Bad batch: targets ×", min=1.0, max=100.0, log=True,
              help="The factor a bad batch's targets are multiplied by."),
        Param("lr", "float", 0.05, "Learning rate η", min=0.005, max=0.5, log=True),
        Param("optimizer", "choice", "sgd", "Optimizer", choices=OPTIMIZER_CHOICES),
        Param("seed", "int", 0, "Seed", min=0, max=999, step=1,
              help="Initial weights, batches and where the bad batches fall."),
    ),
    compute=_bad_batches,
    results=_spike_result_fields(),
    figures=(
        ("norm", f"Run without clipping: its norms over steps 0–{SPIKE_WINDOW - 1} set the four thresholds."),
        ("loss", "Loss of the five runs, smoothed; the bad batches' own losses left out."),
        ("update_p10", "Update size, τ at the 10th percentile, over the unclipped run (grey)."),
        ("update_p50", "Update size, τ at the median."),
        ("update_p90", "Update size, τ at the 90th percentile."),
        ("update_p99", "Update size, τ at the 99th percentile."),
    ),
    stream=True,
))
