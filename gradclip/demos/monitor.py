"""Training-run demos: the live monitor, the worked examples, and the norm-log analyser.

Four demos are registered here (the training monitor page's first one, ``bad_batches``, is in
:mod:`gradclip.demos.monitor_spikes`):

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
``norm_analyser``
    Reads a gradient-norm log the reader drops on the page (CSV or JSON; the text never
    leaves the browser), and shows the series, a histogram, percentiles and the thresholds
    of :func:`gradclip.adaptive.suggest_thresholds` with how many steps each would clip.

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
import warnings
from typing import Any, Iterator, Sequence

import numpy as np

from gradclip.demos import DemoInputError, DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.training_figures import (METHOD_CHOICES, MAX_POINTS, PARTIAL_POINTS,  # noqa: F401 - re-exported
                                             layers_figure, loss_figure, norm_figure, positive,
                                             run_label, update_figure)
from gradclip.figures import Figure
from gradclip.figures.helpers import capped_log_range, round_sig
from gradclip.figures.numbers import fmt_number
from gradclip.tracker import FILE_LIMIT, MAX_ROWS, analyse_norms, parse_norm_log
from gradclip.train import RunSpec, TrainLog, train_iter

__all__ = [
    "MONITOR", "WORKED_RNN", "WORKED_MLP", "ANALYSER", "CHUNK_SECONDS", "WORKED_RNN_RUNS",
    "WORKED_MLP_RUNS", "WORKED_RNN_SETUP", "WORKED_MLP_SETUP", "SAMPLE_LOG",
    "loss_figure", "norm_figure", "update_figure", "layers_figure", "sample_norms",
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


# ---------------------------------------------------------------------------------------
# The norm-log analyser


def sample_norms(steps: int = 400, seed: int = 7) -> np.ndarray:
    """A synthetic gradient-norm log: slowly decaying log-normal noise with a few spikes.

    Shown until the reader drops a file of their own; the page says it is synthetic.

    >>> x = sample_norms()
    >>> x.shape, bool(x.min() > 0), int((x > 5 * np.median(x)).sum()) >= 5
    ((400,), True, True)
    """
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    base = 0.4 + 1.6 * np.exp(-t / 120.0)
    x = base * np.exp(0.25 * rng.standard_normal(steps))
    spikes = rng.choice(np.arange(20, steps), size=8, replace=False)
    x[spikes] *= rng.uniform(6.0, 40.0, size=spikes.size)
    return round_sig(x, 4)


SAMPLE_LOG = "step,grad_norm\n" + "".join(f"{i},{v!r}\n" for i, v in enumerate(sample_norms().tolist()))
_SERIES_POINTS = 2000                  # a longer log is drawn as a per-bucket envelope
_RULE_LABELS = {"p50": "50th percentile", "p90": "90th percentile", "p95": "95th percentile",
                "p99": "99th percentile", "autoclip": "AutoClip (p = 10)", "zclip": "ZClip (z = 2.5)"}
_RULE_COLORS = {"p50": "muted", "p90": "s0", "p95": "s4", "p99": "s2", "autoclip": "s5", "zclip": "danger"}


def _envelope(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bucket starts and each bucket's smallest and largest finite value, for a long series."""
    k = math.ceil(x.size / n)
    pad = np.full(n * k, np.nan)
    pad[: x.size] = np.where(np.isfinite(x), x, np.nan)
    mat = pad.reshape(n, k)
    with warnings.catch_warnings():                 # an all-NaN bucket is a gap, not an error
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.arange(n) * k, np.nanmin(mat, axis=1), np.nanmax(mat, axis=1)


def _series_figure(x: np.ndarray, suggestions) -> Figure:
    steps = x.size
    taus = [s.tau for s in suggestions if math.isfinite(s.tau) and s.rule in ("p90", "p99", "zclip", "autoclip")]
    lo, hi = capped_log_range([x], extra=taus)
    fig = Figure(x_range=(0, max(steps - 1, 1)), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label="gradient norm", title="Gradient norm per step", legend=True,
                 width=560, height=300)
    if steps <= _SERIES_POINTS:
        fig.line(np.arange(steps), round_sig(positive(x)), color="s0", width=1.2, label="norm",
                 hover=True, hover_names=("step", "norm"))
    else:
        at, bmin, bmax = _envelope(x, _SERIES_POINTS // 2)
        fig.line(at, round_sig(positive(bmax)), color="s0", width=1.2,
                 label=f"largest per {steps // (_SERIES_POINTS // 2):,} steps", hover=True,
                 hover_names=("step", "max norm"))
        fig.line(at, round_sig(positive(bmin)), color="muted", width=1.0, label="smallest",
                 hover=True, hover_names=("step", "min norm"))
    for s in suggestions:
        if s.rule in ("p90", "p99", "autoclip", "zclip") and math.isfinite(s.tau) and s.tau > 0:
            fig.hline(s.tau, color=_RULE_COLORS[s.rule], width=1.2, dash=[5, 3],
                      label=f"{_RULE_LABELS[s.rule]}: {fmt_number(s.tau)}")
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        fig.vline(int(bad[0]), color="danger", width=1.2, label=f"first non-finite norm (step {int(bad[0])})")
    fig.alt = f"{steps:,} gradient norms per step on a log scale with the suggested thresholds."
    return fig


def _histogram_figure(x: np.ndarray, suggestions) -> Figure:
    fin = x[np.isfinite(x) & (x > 0)]
    if fin.size == 0:
        fig = Figure(title="Histogram of gradient norms", x_label="gradient norm", y_label="steps")
        fig.text(0.5, 0.5, "no finite positive norms to show", anchor="middle")
        return fig
    lo, hi = math.log10(fin.min()), math.log10(fin.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.logspace(lo, hi, 41)
    counts, _ = np.histogram(fin, bins=edges)
    fig = Figure(x_range=(float(edges[0]), float(edges[-1])), y_range=(0, float(counts.max()) * 1.1),
                 x_log=True, x_label="gradient norm (log scale)", y_label="steps",
                 title="Histogram of gradient norms", legend=True, width=560, height=260)
    fig.rects(round_sig(edges[:-1]), round_sig(edges[1:]), [0.0] * counts.size, counts.astype(float),
              fill="s0")
    for s in suggestions:
        if s.rule in ("p50", "p90", "p99", "zclip") and math.isfinite(s.tau) and s.tau > 0:
            fig.vline(s.tau, color=_RULE_COLORS[s.rule], width=1.4, dash=[5, 3],
                      label=f"{_RULE_LABELS[s.rule]}: {fmt_number(s.tau)}")
    fig.alt = f"Histogram of {fin.size:,} finite gradient norms on log-spaced bins, with suggested thresholds."
    return fig


def _analyse(params: dict[str, Any]) -> DemoOutput:
    text = params["file"]
    sample = text == SAMPLE_LOG
    try:
        x = parse_norm_log(text)
    except ValueError as exc:
        raise DemoInputError(f"This file could not be used: {exc}.") from None
    analysis = analyse_norms(x)
    s, sugg = analysis.summary, analysis.suggestions
    res = {
        "source": result("sample" if sample else "file",
                         "a synthetic sample log (drop your own file to replace it)" if sample
                         else f"your file: {x.size:,} steps"),
        "steps": result(s.steps, f"{s.steps:,}"),
        "nonfinite": result(s.nonfinite, "none" if not s.nonfinite
                            else f"{s.nonfinite:,} (first at step {s.first_nonfinite})"),
        "median": result(s.median), "p90": result(s.p90), "p99": result(s.p99), "max": result(s.max),
    }
    by_rule = {g.rule: g for g in sugg}
    for rule in ("p50", "p90", "p95", "p99", "autoclip", "zclip"):
        g = by_rule.get(rule)
        if g is None:
            res[f"rule_{rule}"] = result("nan", "— (no finite norms)")
            continue
        pct = 100.0 * g.fraction_clipped
        share = "<1%" if 0 < pct < 1 else f"{pct:.0f}%"
        tau = fmt_number(g.tau) if math.isfinite(g.tau) else "not yet (still warming up)"
        res[f"rule_{rule}"] = result(g.tau, f"τ = {tau} · would clip {g.steps_clipped:,} steps ({share})")
    figures = {"series": _series_figure(x, sugg).to_dict(), "histogram": _histogram_figure(x, sugg).to_dict()}
    desc = (f"{s.steps:,} gradient norms, median {fmt_number(s.median)}, largest {fmt_number(s.max)}; "
            + "; ".join(f"{_RULE_LABELS[g.rule]} τ = {fmt_number(g.tau)} clips {g.steps_clipped}" for g in sugg) + ".")
    return DemoOutput(figures=figures, results=res, description=desc)


ANALYSER = register(DemoSpec(
    name="norm_analyser",
    title="Norm-log analyser",
    params=(Param("file", "file", SAMPLE_LOG, "Gradient-norm log (CSV or JSON)", max=FILE_LIMIT,
                  help=f"One norm per step; read in your browser, never uploaded. At most "
                       f"{MAX_ROWS:,} rows."),),
    compute=_analyse,
    results=(
        ("source", "Showing"), ("steps", "Steps"), ("nonfinite", "Non-finite norms"),
        ("median", "Median"), ("p90", "90th percentile"), ("p99", "99th percentile"), ("max", "Largest"),
        ("rule_p50", "τ at the 50th percentile"), ("rule_p90", "τ at the 90th percentile"),
        ("rule_p95", "τ at the 95th percentile"), ("rule_p99", "τ at the 99th percentile"),
        ("rule_autoclip", "AutoClip"), ("rule_zclip", "ZClip"),
    ),
    figures=(
        ("series", "Gradient norm per step with suggested thresholds (log scale)."),
        ("histogram", "How often each size of norm occurred (log-spaced bins)."),
    ),
))
