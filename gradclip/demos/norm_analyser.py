"""The norm-log analyser: the reader's own log in, thresholds and figures out.

``norm_analyser``
    Reads a gradient-norm log the reader drops on the page (the text never leaves the
    browser) with :func:`gradclip.logfiles.read_norm_log`, which recognises the files training
    tools write: a Hugging Face ``trainer_state.json``, a Lightning ``metrics.csv``, a Weights &
    Biases export (``run`` picks one of several runs), TensorBoard's CSV and JSON downloads,
    plain CSV or JSON. It shows the norms against the steps the file logged them at, the
    training loss from the same file on the same step axis, a histogram, percentiles, and the
    thresholds of :func:`gradclip.adaptive.suggest_thresholds` with how many *logged* steps
    each would have clipped, worded by :func:`gradclip.tracker.suggestion_text` as
    ``gradclip suggest`` words them.

>>> from gradclip.demos import run
>>> out = run("norm_analyser")
>>> out["results"]["source"]["value"], sorted(out["figures"])
('sample', ['histogram', 'loss', 'series'])
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from gradclip.demos import DemoInputError, DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.training_figures import positive
from gradclip.figures import Figure
from gradclip.figures.helpers import capped_log_range, round_sig
from gradclip.figures.numbers import fmt_number
from gradclip.logfiles import FILE_LIMIT, MAX_ROWS, NormLog, Series, read_norm_log
from gradclip.logfiles.common import RunNotInFile
from gradclip.tracker import RULE_LABELS, analyse_norms, suggestion_text

__all__ = ["ANALYSER", "SAMPLE_LOG", "MAX_RUNS", "sample_norms", "sample_log"]

MAX_RUNS = 99                          # the run control's range; an export of more is unusual
_SERIES_POINTS = 2000                  # a longer log is drawn as a per-bucket envelope
_RULE_COLORS = {"p50": "muted", "p90": "s0", "p95": "s4", "p99": "s2", "autoclip": "s5", "zclip": "danger"}


def sample_norms(steps: int = 400, seed: int = 7) -> np.ndarray:
    """A synthetic gradient-norm log: slowly decaying log-normal noise with a few spikes.

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


def sample_log(steps: int = 400, seed: int = 7) -> str:
    """The page's sample file: ``step,loss,grad_norm``, the norms of :func:`sample_norms` and a
    synthetic loss that jumps on the step after a spike and decays back over a few steps.

    >>> sample_log().splitlines()[:2]
    ['step,loss,grad_norm', '0,2.317,2.001']
    """
    x = sample_norms(steps, seed)
    rng = np.random.default_rng(seed + 1)
    t = np.arange(steps)
    loss = 0.3 + 2.2 * np.exp(-t / 90.0) * np.exp(0.05 * rng.standard_normal(steps))
    kick = np.zeros(steps)
    for s in np.flatnonzero(x > 5 * np.median(x)):
        after = np.arange(s + 1, min(steps, s + 12))
        kick[after] += 0.15 * math.log(x[s] / np.median(x)) * np.exp(-(after - s - 1) / 3.0)
    loss = round_sig(loss + kick, 4)
    return "step,loss,grad_norm\n" + "".join(f"{i},{l!r},{v!r}\n" for i, l, v in zip(t, loss.tolist(), x.tolist()))


SAMPLE_LOG = sample_log()


def _envelope(s: Series, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bucket starts (as steps) and each bucket's smallest and largest finite value."""
    k = math.ceil(s.values.size / n)
    m = math.ceil(s.values.size / k)
    pad = np.full(m * k, np.nan)
    pad[: s.values.size] = np.where(np.isfinite(s.values), s.values, np.nan)
    mat = pad.reshape(m, k)
    with warnings.catch_warnings():                 # an all-NaN bucket is a gap, not an error
        warnings.simplefilter("ignore", RuntimeWarning)
        return s.steps[::k], np.nanmin(mat, axis=1), np.nanmax(mat, axis=1)


def _step_range(s: Series) -> tuple[float, float]:
    lo, hi = float(s.steps.min()), float(s.steps.max())
    return (lo, hi) if hi > lo else (lo - 1, lo + 1)


def _draw_series(fig: Figure, s: Series, name: str, log_axis: bool) -> None:
    """The series as one line, or as a min/max envelope when it has too many points to draw."""
    y = positive if log_axis else (lambda v: v)
    names = (s.step_key, name)
    if s.values.size <= _SERIES_POINTS:
        fig.line(s.steps, round_sig(y(s.values)), color="s0", width=1.2, label=name, hover=True,
                 hover_names=names)
        return
    at, bmin, bmax = _envelope(s, _SERIES_POINTS // 2)
    per = math.ceil(s.values.size / (_SERIES_POINTS // 2))
    fig.line(at, round_sig(y(bmax)), color="s0", width=1.2, label=f"largest per {per:,} logged steps",
             hover=True, hover_names=(s.step_key, f"max {name}"))
    fig.line(at, round_sig(y(bmin)), color="muted", width=1.0, label="smallest", hover=True,
             hover_names=(s.step_key, f"min {name}"))


def _series_figure(log: NormLog, suggestions, first_bad: int | None) -> Figure:
    s = log.norms
    taus = [g.tau for g in suggestions if math.isfinite(g.tau) and g.rule in ("p90", "p99", "zclip", "autoclip")]
    lo, hi = capped_log_range([s.values], extra=taus)
    fig = Figure(x_range=_step_range(s), y_range=(lo, hi), y_log=True, x_label=s.step_key,
                 y_label="gradient norm", title=f"Gradient norm ({s.key}) per logged step", legend=True,
                 width=560, height=300)
    _draw_series(fig, s, "norm", log_axis=True)
    for g in suggestions:
        if g.rule in ("p90", "p99", "autoclip", "zclip") and math.isfinite(g.tau) and g.tau > 0:
            fig.hline(g.tau, color=_RULE_COLORS[g.rule], width=1.2, dash=[5, 3],
                      label=f"{RULE_LABELS[g.rule]}: {fmt_number(g.tau)}")
    if first_bad is not None:
        step = float(s.steps[first_bad])
        fig.vline(step, color="danger", width=1.2, label=f"first non-finite norm ({s.step_key} {step:g})")
    fig.alt = (f"{s.values.size:,} gradient norms against {s.step_key} on a log scale, with the "
               "suggested thresholds.")
    return fig


def _loss_figure(log: NormLog) -> Figure:
    """The file's training loss on the norm chart's step axis, so that spikes line up."""
    x_range = _step_range(log.norms)
    fig = Figure(x_range=x_range, y_range=(0, 1), x_label=log.norms.step_key, y_label="loss",
                 title="Training loss from the same file", width=560, height=220)
    loss = log.loss
    if loss is None:
        fig.text(sum(x_range) / 2, 0.5, "this file has no training-loss series (such as loss or train_loss)",
                 anchor="middle")
        fig.alt = "The file has no training loss to draw."
        return fig
    fin = loss.values[np.isfinite(loss.values)]
    log_axis = fin.size > 0 and bool(fin.min() > 0) and fin.max() / fin.min() > 20
    if log_axis:
        fig.y_range, fig.y_log = capped_log_range([fin]), True
    elif fin.size:
        lo, hi = float(fin.min()), float(fin.max())
        pad = 0.05 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.1
        fig.y_range = (lo - pad, hi + pad)
    fig.x_range = (min(x_range[0], float(loss.steps.min())), max(x_range[1], float(loss.steps.max())))
    _draw_series(fig, loss, loss.key, log_axis)
    fig.alt = f"The training loss ({loss.key}) at {loss.values.size:,} logged steps, on the norm chart's step axis."
    return fig


def _histogram_figure(x: np.ndarray, suggestions) -> Figure:
    fin = x[np.isfinite(x) & (x > 0)]
    if fin.size == 0:
        fig = Figure(title="Histogram of gradient norms", x_label="gradient norm", y_label="logged steps")
        fig.text(0.5, 0.5, "no finite positive norms to show", anchor="middle")
        return fig
    lo, hi = math.log10(fin.min()), math.log10(fin.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.logspace(lo, hi, 41)
    counts, _ = np.histogram(fin, bins=edges)
    fig = Figure(x_range=(float(edges[0]), float(edges[-1])), y_range=(0, float(counts.max()) * 1.1),
                 x_log=True, x_label="gradient norm (log scale)", y_label="logged steps",
                 title="Histogram of gradient norms", legend=True, width=560, height=260)
    fig.rects(round_sig(edges[:-1]), round_sig(edges[1:]), [0.0] * counts.size, counts.astype(float), fill="s0")
    for s in suggestions:
        if s.rule in ("p50", "p90", "p99", "zclip") and math.isfinite(s.tau) and s.tau > 0:
            fig.vline(s.tau, color=_RULE_COLORS[s.rule], width=1.4, dash=[5, 3],
                      label=f"{RULE_LABELS[s.rule]}: {fmt_number(s.tau)}")
    fig.alt = f"Histogram of {fin.size:,} finite gradient norms on log-spaced bins, with suggested thresholds."
    return fig


def _read(text: str, run: int, notices: list[str]) -> NormLog:
    """The log, with a run number past the file's runs shown as its last run (and said so)."""
    try:
        try:
            return read_norm_log(text, run if run > 1 else None)
        except RunNotInFile as exc:
            notices.append(f"This file holds {len(exc.runs)} run{'s' if len(exc.runs) > 1 else ''}; "
                           f"showing run {len(exc.runs)}, {exc.runs[-1]}.")
            return read_norm_log(text, len(exc.runs))
    except ValueError as exc:
        raise DemoInputError(f"This file could not be used: {exc}.") from None


def _file_results(log: NormLog, sample: bool) -> dict[str, dict[str, str]]:
    loss = "" if log.loss is None else f"; loss: {log.loss.key!r} at {log.loss.values.size:,} logged steps"
    runs = "one run" if not log.runs else " · ".join(
        f"{i}: {r}{' (shown)' if r == log.run else ''}" for i, r in enumerate(log.runs, 1))
    return {
        "source": result("sample" if sample else "file",
                         "a synthetic sample log (drop your own file to replace it)" if sample
                         else f"your file, read as a {log.kind}"),
        "series": result(log.norms.key, log.norms.describe() + loss),
        "runs": result(log.run or "", runs),
    }


def _analyse(params: dict[str, Any]) -> DemoOutput:
    text, notices = params["file"], []
    log = _read(text, int(params["run"]), notices)
    x = log.norms.values
    analysis = analyse_norms(x)
    s, sugg = analysis.summary, analysis.suggestions
    first_bad = s.first_nonfinite if s.nonfinite else None
    logged = int(np.isfinite(x).sum())
    res = _file_results(log, text == SAMPLE_LOG)
    res.update({
        "steps": result(s.steps, f"{s.steps:,}"),
        "nonfinite": result(s.nonfinite, "none" if not s.nonfinite
                            else f"{s.nonfinite:,} (first at {log.norms.step_key} {log.norms.steps[first_bad]:g})"),
        "median": result(s.median), "p90": result(s.p90), "p99": result(s.p99), "max": result(s.max),
    })
    by_rule = {g.rule: g for g in sugg}
    for rule in RULE_LABELS:
        g = by_rule.get(rule)
        res[f"rule_{rule}"] = (result("nan", "— (no finite norms)") if g is None
                               else result(g.tau, suggestion_text(g, logged)))
    figures = {"series": _series_figure(log, sugg, first_bad).to_dict(), "loss": _loss_figure(log).to_dict(),
               "histogram": _histogram_figure(x, sugg).to_dict()}
    desc = (f"{s.steps:,} gradient norms, median {fmt_number(s.median)}, largest {fmt_number(s.max)}; "
            + "; ".join(f"{RULE_LABELS[g.rule]} τ = {fmt_number(g.tau)} clips {g.steps_clipped}" for g in sugg) + ".")
    return DemoOutput(figures=figures, results=res, description=desc, extra={"notices": notices} if notices else {})


ANALYSER = register(DemoSpec(
    name="norm_analyser",
    title="Norm-log analyser",
    params=(Param("file", "file", SAMPLE_LOG, "Gradient-norm log (CSV or JSON)", max=FILE_LIMIT,
                  help=f"One norm per logged step; read in your browser, never uploaded. At most {MAX_ROWS:,} rows."),
            Param("run", "int", 1, "Run", min=1, max=MAX_RUNS, step=1,
                  help="For a Weights & Biases export of several runs: which one to read (listed under "
                       "'Runs in the file').")),
    compute=_analyse,
    results=(
        ("source", "Showing"), ("series", "Series read"), ("runs", "Runs in the file"),
        ("steps", "Logged steps"), ("nonfinite", "Non-finite norms"),
        ("median", "Median"), ("p90", "90th percentile"), ("p99", "99th percentile"), ("max", "Largest"),
    ) + tuple((f"rule_{r}", f"τ at the {label}" if r.startswith("p") else label) for r, label in RULE_LABELS.items()),
    figures=(
        ("series", "Gradient norm against the logged steps, with suggested thresholds (log scale)."),
        ("loss", "The training loss from the same file, on the same step axis."),
        ("histogram", "How often each size of norm occurred (log-spaced bins)."),
    ),
))
