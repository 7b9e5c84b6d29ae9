"""Training-run demos: the live monitor and the worked examples.

Three demos are registered here (the training monitor page's first one, ``bad_batches``, is in
:mod:`gradclip.demos.monitor_spikes`; the norm-log analyser in :mod:`gradclip.demos.norm_analyser`):

``monitor`` (streaming)
    Trains a small network with :func:`gradclip.train.train_iter` and draws loss, gradient
    norm (before clipping, with the threshold and the clipped steps) and update size per
    step while it trains. ``compare`` adds an unclipped run with the same seed. It opens on a
    bad initialisation: three recurrent layers whose matrices start with every singular value
    at ``rho`` = 1.3 (the page names it so; ``rho`` is a control).
``worked_rnn`` (streaming)
    The simulator page's worked example -- a 3-layer RNN, learning rate 0.05, 500 steps --
    run three ways in one vectorised loop: clipped at 1.0, unclipped, clipped at 0.5.
``worked_mlp`` (streaming)
    The blog post's regression MLP (20 -> 25 -> 1, SGD with lr 0.07 and momentum 0.8,
    batch 128, 50 epochs of 1000 samples = 400 steps) with value clipping at 1.0 as in the
    post, without clipping, and with norm clipping at 1.0.

A streaming demo yields a partial output about every ``CHUNK_SECONDS`` (training and the
output together), its lines thinned to ``PARTIAL_POINTS`` points; the numbers and figures of
the final output do not depend on that timing.

>>> from gradclip.demos import run
>>> out = run("monitor", {"model": "rnn1", "steps": 50})
>>> out["done"], sorted(out["figures"])
(True, ['layers', 'loss', 'norm', 'update'])
"""

from __future__ import annotations

import math
import time
from typing import Any, Iterator, Sequence

from gradclip.demos import DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.training_figures import (METHOD_CHOICES, MAX_POINTS, PARTIAL_POINTS,  # noqa: F401 - re-exported
                                             layers_figure, loss_figure, norm_figure,
                                             run_label, update_figure)
from gradclip.figures.numbers import fmt_number
from gradclip.train import RunSpec, TrainLog, train_iter

__all__ = [
    "MONITOR", "WORKED_RNN", "WORKED_MLP", "CHUNK_SECONDS", "WORKED_RNN_RUNS",
    "WORKED_MLP_RUNS", "WORKED_RNN_SETUP", "WORKED_MLP_SETUP",
    "loss_figure", "norm_figure", "update_figure", "layers_figure",
]

CHUNK_SECONDS = 0.09          # a streaming demo's outputs, this far apart (a page updates 10 times a second)

MODEL_CHOICES = (("rnn1", "RNN, 1 layer"), ("rnn2", "RNN, 2 layers"), ("rnn3", "RNN, 3 layers"),
                 ("mlp", "MLP, 2 layers"))
TASK_CHOICES = (("adding", "Adding problem (sequences)"), ("temporal_order", "Temporal order (sequences)"),
                ("regression", "Linear regression, 20 features"))
OPTIMIZER_CHOICES = (("sgd", "SGD"), ("momentum", "SGD + momentum 0.9"), ("adam", "Adam"))
MODEL_LABELS = dict(MODEL_CHOICES)
TASK_LABELS = dict(TASK_CHOICES)

# The worked examples: the configurations the source documents describe.
WORKED_RNN_SETUP = {"model": "rnn3", "task": "adding", "steps": 500, "optimizer": "sgd"}
WORKED_RNN_RUNS = (RunSpec("norm", 1.0, 0.05), RunSpec("none", 1.0, 0.05), RunSpec("norm", 0.5, 0.05))
WORKED_MLP_SETUP = {"model": "mlp", "task": "regression", "steps": 400, "optimizer": "momentum",
                    "momentum": 0.8}
WORKED_MLP_RUNS = (RunSpec("value", 1.0, 0.07), RunSpec("none", 1.0, 0.07), RunSpec("norm", 1.0, 0.07))

# ---------------------------------------------------------------------------------------
# Results


def _diverged_text(log: TrainLog) -> dict[str, str]:
    at = log.summary.diverged_at
    return result("false", "no") if at is None else result(at, f"at step {at}")


def _clips_text(log: TrainLog) -> dict[str, str]:
    s = log.summary
    if log.method == "none":
        return result(0, "— (not clipped)")
    pct = 100.0 * s.clip_fraction
    share = "<1%" if 0 < pct < 1 else f"{pct:.0f}%"
    return result(s.clip_events, f"{s.clip_events} of {log.steps} ({share})")


def _reduction_text(log: TrainLog) -> dict[str, str]:
    r = log.summary.loss_reduction_pct
    if not math.isfinite(r):
        return result(r, "— (loss not finite)")
    return result(r, f"{r:.0f}%" if r > -1000 else "loss grew")


def _run_results(prefix: str, log: TrainLog) -> dict[str, dict[str, str]]:
    s = log.summary
    return {
        f"{prefix}final_loss": result(s.final_loss),
        f"{prefix}max_norm": result(s.max_grad_norm),
        f"{prefix}clips": _clips_text(log),
        f"{prefix}reduction": _reduction_text(log),
        f"{prefix}diverged": _diverged_text(log),
    }


# ---------------------------------------------------------------------------------------
# Streaming


def _training_figures(logs: Sequence[TrainLog], steps: int, layers_of: int, done: bool) -> dict[str, Any]:
    """The four figures of a training demo, as display-list dicts: loss, norm and update size of
    every run, and the per-layer norms of run ``layers_of``; lines thinned to
    ``PARTIAL_POINTS`` while the run is in progress (quicker to send and draw), full at the end."""
    mp = MAX_POINTS if done else PARTIAL_POINTS
    return {
        "loss": loss_figure(logs, steps, max_points=mp).to_dict(),
        "norm": norm_figure(logs, steps, max_points=mp).to_dict(),
        "update": update_figure(logs, steps, max_points=mp).to_dict(),
        "layers": layers_figure(logs[layers_of], steps, max_points=mp).to_dict(),
    }


def _stream(progress: Iterator, build) -> Iterator[DemoOutput]:
    """Yield ``build(progress, False)`` about every ``CHUNK_SECONDS``, then ``build(progress, True)``
    once at the end.

    The interval is measured from one output to the next and includes the output itself:
    building it, and what the consumer does with it before asking for the next one (the
    worker serialises and posts it). Each output's cost is measured, and the training between
    two outputs is shortened by it, so the page hears from the demo every ``CHUNK_SECONDS``;
    but training never gets less time than an output takes, so drawing costs at most half
    the time however slow the machine is.
    """
    last = time.perf_counter()          # when the previous output was handed over
    cost = CHUNK_SECONDS / 4            # what producing and handing over that output took
                                        # (a guess for the first, which is due sooner)
    prog = None
    for prog in progress:
        if prog.done == prog.total:
            break
        now = time.perf_counter()
        # CHUNK_SECONDS = 0 means after every step, however long an output takes.
        if CHUNK_SECONDS <= 0 or now - last >= max(CHUNK_SECONDS - cost, cost):
            yield build(prog, False)
            last = time.perf_counter()
            cost = last - now
    yield build(prog, True)


# ---------------------------------------------------------------------------------------
# The monitor


def _setup(params: dict[str, Any]) -> tuple[str, str, list[str]]:
    """Model and task, made compatible: the MLP needs the regression task, RNNs a sequence task."""
    model, task = params["model"], params["task"]
    notes: list[str] = []
    if model == "mlp" and task != "regression":
        notes.append(f"The MLP trains on the regression task, not on '{TASK_LABELS[task]}'; using regression.")
        task = "regression"
    elif model != "mlp" and task == "regression":
        notes.append("The RNNs train on sequences; using the adding problem instead of regression.")
        task = "adding"
    return model, task, notes


def _monitor(params: dict[str, Any]) -> Iterator[DemoOutput]:
    model, task, notes = _setup(params)
    main = RunSpec(params["method"], float(params["tau"]), float(params["lr"]))
    runs = [main]
    if params["compare"]:
        other = RunSpec("norm", main.tau, main.lr) if main.method == "none" else RunSpec("none", main.tau, main.lr)
        runs.append(other)
    steps = int(params["steps"])
    rho = float(params["rho"])
    progress = train_iter(model, task, runs, steps, params["optimizer"], int(params["seed"]), rho=rho)
    setup_text = f"{MODEL_LABELS[model]} · {TASK_LABELS[task]}" + (f" · ρ = {fmt_number(rho)}" if model != "mlp" else "")

    def build(prog, done: bool) -> DemoOutput:
        logs = prog.logs()
        figures = _training_figures(logs, steps, layers_of=0, done=done)
        m = logs[0]
        res = {k[len("main_"):]: v for k, v in _run_results("main_", m).items()}
        res["steps_done"] = result(prog.done, f"{prog.done} of {steps}")
        res["setup"] = result(f"{model}/{task}", setup_text)
        if len(logs) > 1:
            o = logs[1]
            res["other_final_loss"] = result(o.summary.final_loss)
            res["other_diverged"] = _diverged_text(o)
            res["other_label"] = result(o.method, run_label(o))
        else:
            for key in ("other_final_loss", "other_diverged", "other_label"):
                res[key] = result("", "— (compare is off)")
        s = m.summary
        state = "training" if not done else ("blew up" if s.diverged else "finished")
        desc = (f"{MODEL_LABELS[model]} on {TASK_LABELS[task]}, {run_label(m)}: {state} after "
                f"{prog.done} of {steps} steps; {s.clip_events} steps clipped; loss "
                f"{fmt_number(s.initial_loss)} to {fmt_number(s.final_loss)}.")
        return DemoOutput(figures=figures, results=res, description=desc, done=done,
                          extra={"notices": notes} if notes else {})

    return _stream(progress, build)


MONITOR = register(DemoSpec(
    name="monitor",
    title="Training-run monitor",
    params=(
        Param("model", "choice", "rnn3", "Model", choices=MODEL_CHOICES),
        Param("task", "choice", "adding", "Task", choices=TASK_CHOICES,
              help="The MLP trains on regression; the RNNs on the sequence tasks."),
        Param("method", "choice", "norm", "Clipping", choices=METHOD_CHOICES),
        Param("tau", "float", 1.0, "Threshold τ", min=0.01, max=100.0, log=True,
              help="Norm or value bound; for AGC the ratio λ, for AutoClip the percentile, "
                   "for ZClip the z-score."),
        Param("lr", "float", 0.05, "Learning rate η", min=1e-4, max=1.0, log=True),
        Param("optimizer", "choice", "sgd", "Optimizer", choices=OPTIMIZER_CHOICES),
        Param("rho", "float", 1.3, "RNN start: singular values ρ", min=0.5, max=2.0,
              help="Each recurrent matrix starts as a random orthogonal matrix times ρ, so every "
                   "singular value is ρ; above 1 it stretches the state at every step. RNNs only."),
        Param("steps", "int", 500, "Steps", min=20, max=2000, step=10),
        Param("seed", "int", 0, "Seed", min=0, max=9999, step=1,
              help="Initial weights and batches; the same seed gives the same run."),
        Param("compare", "bool", False, "Compare with the unclipped run",
              help="Adds a run with no clipping (or, if clipping is off, clipped by norm) "
                   "from the same seed."),
    ),
    compute=_monitor,
    results=(
        ("steps_done", "Steps done"), ("setup", "Model · task"),
        ("final_loss", "Final loss (mean of last 10% of steps)"),
        ("max_norm", "Largest gradient norm (before clipping)"), ("clips", "Clipped steps"),
        ("reduction", "Loss reduction"), ("diverged", "Blew up"),
        ("other_label", "Comparison run"), ("other_final_loss", "Comparison: final loss"),
        ("other_diverged", "Comparison: blew up"),
    ),
    figures=(
        ("loss", "Training loss per step (log scale)."),
        ("norm", "Gradient norm before clipping; red: the threshold; orange rug: clipped steps."),
        ("update", "How far each step moved the weights."),
        ("layers", "Gradient norm of each layer (first run)."),
    ),
    stream=True,
))


# ---------------------------------------------------------------------------------------
# Worked examples


def _worked(params: dict[str, Any], setup: dict[str, Any], runs: Sequence[RunSpec],
            prefixes: Sequence[str], what: str) -> Iterator[DemoOutput]:
    steps = int(setup["steps"])
    opts = {k: v for k, v in setup.items() if k not in ("model", "task", "steps", "optimizer")}
    progress = train_iter(setup["model"], setup["task"], list(runs), steps, setup["optimizer"],
                          int(params["seed"]), **opts)
    started = time.perf_counter()

    def build(prog, done: bool) -> DemoOutput:
        logs = prog.logs()
        figures = _training_figures(logs, steps, layers_of=1, done=done)
        res: dict[str, dict[str, str]] = {}
        for prefix, log in zip(prefixes, logs):
            res.update(_run_results(prefix, log))
        res["steps_done"] = result(prog.done, f"{prog.done} of {steps}")
        res["seconds"] = result(round(time.perf_counter() - started, 3),
                                f"{time.perf_counter() - started:.2f} s")
        verdicts = "; ".join(f"{run_label(l)}: " + ("blew up" if l.summary.diverged else "stable") for l in logs)
        return DemoOutput(figures=figures, results=res, done=done,
                          description=f"{what}, seed {params['seed']}, after {prog.done} of {steps} steps: {verdicts}.")

    return _stream(progress, build)


def _run_fields(prefix: str, name: str) -> tuple[tuple[str, str], ...]:
    return ((f"{prefix}final_loss", f"{name}: final loss"), (f"{prefix}max_norm", f"{name}: largest norm"),
            (f"{prefix}clips", f"{name}: clipped steps"), (f"{prefix}reduction", f"{name}: loss reduction"),
            (f"{prefix}diverged", f"{name}: blew up"))


_WORKED_FIGURES = (
    ("loss", "Loss per step, three runs from the same seed (log scale)."),
    ("norm", "Gradient norm before clipping, with the thresholds."),
    ("update", "Size of each update."),
    ("layers", "Per-layer gradient norms of the unclipped run."),
)

WORKED_RNN = register(DemoSpec(
    name="worked_rnn",
    title="Worked example: 3-layer RNN, lr 0.05, 500 steps",
    params=(Param("seed", "int", 0, "Seed", min=0, max=999, step=1,
                  help="Another seed: other initial weights and batches."),),
    compute=lambda p: _worked(p, WORKED_RNN_SETUP, WORKED_RNN_RUNS, ("tau1_", "none_", "tau05_"),
                              "3-layer RNN on the adding problem"),
    results=(("steps_done", "Steps done"),) + _run_fields("tau1_", "τ = 1.0") + _run_fields("none_", "No clipping")
    + _run_fields("tau05_", "τ = 0.5") + (("seconds", "Time for all three runs"),),
    figures=_WORKED_FIGURES,
    stream=True,
))

WORKED_MLP = register(DemoSpec(
    name="worked_mlp",
    title="Worked example: the blog post's regression MLP",
    params=(Param("seed", "int", 0, "Seed", min=0, max=999, step=1,
                  help="Another seed: another data set, initial weights and shuffling."),),
    compute=lambda p: _worked(p, WORKED_MLP_SETUP, WORKED_MLP_RUNS, ("value_", "none_", "norm_"),
                              "Regression MLP, SGD lr 0.07 momentum 0.8"),
    results=(("steps_done", "Steps done"),) + _run_fields("value_", "Value clip 1.0")
    + _run_fields("none_", "No clipping") + _run_fields("norm_", "Norm clip 1.0")
    + (("seconds", "Time for all three runs"),),
    figures=_WORKED_FIGURES,
    stream=True,
))
