"""Figures and result fields of simulator runs, shared by the simulator and the practice demos.

Given one or more :class:`gradclip.simulate.Run` on a landscape, these build the three
figures every run view shows (the path on the landscape, the loss, the raw gradient norm
with the threshold) and the seven summary fields as page results. One colour and one label
per method and per outcome, so a method looks the same on every page.

Examples
--------
>>> from gradclip.simulate import simulate
>>> run = simulate("cliff", steps=20)
>>> [it["t"] for it in loss_figure([run]).items][:1], summary_results(run)["clip_events"]["text"]
(['line'], '20 (100%)')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradclip.demos import result
from gradclip.figures import Figure
from gradclip.figures.helpers import clipped_rug, log_range, round_sig, round_to_span
from gradclip.figures.landscape import SIMULATOR_SURFACE, add_landscape
from gradclip.figures.numbers import fmt_number, percent_text
from gradclip.figures.paths import LABEL_SIZE, exit_label_at, trajectory_paths
from gradclip.landscapes import Landscape
from gradclip.methods import CLIP_METHODS
from gradclip.simulate import Run, RunBatch

__all__ = ["METHOD_LABELS", "METHOD_COLORS", "OUTCOME_COLORS", "OUTCOME_LABELS", "start_point",
           "contour_figure", "loss_figure", "norm_figure", "steps_taken", "summary_results", "verdict_sentence",
           "batch_verdict_text"]

# The registry's labels, as they read inside a sentence ("clip by norm", "adaptive (ZClip)").
METHOD_LABELS = {m: CLIP_METHODS[m].label[0].lower() + CLIP_METHODS[m].label[1:]
                 for m in ("none", "norm", "value", "adaptive")}
# One colour per method everywhere on the page, so a method keeps its colour between modes.
# s1 is avoided: it is the same vermillion as "danger", which marks tau and divergence.
METHOD_COLORS = {"none": "s3", "norm": "s0", "value": "s2", "adaptive": "s5"}

OUTCOME_COLORS = {"healthy": "ok", "slow": "muted", "over_clipped": "warn", "spiked": "s5",
                  "oscillating": "s3", "diverged": "danger"}
OUTCOME_LABELS = {"healthy": "healthy", "slow": "slow", "over_clipped": "over-clipped",
                  "spiked": "spiked", "oscillating": "oscillating", "diverged": "diverged"}


# ---------------------------------------------------------------------------------------
# Parameters


def start_point(land: Landscape, px: Any, py: Any) -> tuple[tuple[float, float], list[str]]:
    """The run's start: ``(px, py)`` clamped into the landscape's view box.

    ``None`` (or an empty value) in both coordinates means the landscape's default start, as
    does anything else that is not a pair of finite numbers, with a notice saying so (a link
    edited by hand must not fall back silently). Returns the point and a list of notices (one
    when a coordinate had to be clamped or was unusable).

    >>> from gradclip.landscapes import LANDSCAPES
    >>> start_point(LANDSCAPES["cliff"], None, None)
    ((2.0, 1.5), [])
    >>> start_point(LANDSCAPES["cliff"], 9.0, 0.5)[0]
    (2.5, 0.5)
    >>> start_point(LANDSCAPES["cliff"], "abc", 0.5)[1]
    ["Start point: ('abc', 0.5) is not a pair of finite numbers; using the usual start (2, 1.5)."]
    """
    def number(v: Any) -> float | None:
        if isinstance(v, bool):
            return None
        try:
            x = float(v)
        except (TypeError, ValueError):
            return None
        return x if math.isfinite(x) else None

    default = (float(land.start[0]), float(land.start[1]))
    if all(v is None or v == "" for v in (px, py)):
        return default, []
    x, y = number(px), number(py)
    if x is None or y is None:
        return default, [f"Start point: ({px!r}, {py!r}) is not a pair of finite numbers; using the "
                         f"usual start ({fmt_number(default[0])}, {fmt_number(default[1])})."]
    x0, x1, y0, y1 = land.view
    cx, cy = min(max(x, x0), x1), min(max(y, y0), y1)
    notices = []
    if (cx, cy) != (x, y):
        notices.append(f"Start point ({fmt_number(x)}, {fmt_number(y)}) is outside the plot of "
                       f"{land.title}; using ({fmt_number(cx)}, {fmt_number(cy)}).")
    return (cx, cy), notices


def _runs_label(run: Run, compare: bool) -> str:
    return METHOD_LABELS.get(run.method, run.method) if compare else ""


def contour_figure(land: Landscape, runs: list[Run], *, compare: bool = False,
                   handle: tuple[float, float] | None = None) -> Figure:
    """Filled log-loss shading, contour lines, the minimum, the start handle and each run's path.

    A path that leaves the view is drawn up to the edge and marked there with
    "left the plot at step k"; the synchronised marker walks each run's positions.
    """
    x0, x1, y0, y1 = land.view
    ax, ay = land.axis_names
    main = runs[0]
    fig = Figure(x_range=(x0, x1), y_range=(y0, y1), x_label=ax, y_label=ay,
                 title=f"{land.title}: loss contours and trajectory", aspect_equal=True,
                 legend=compare, width=480, height=440)
    add_landscape(fig, land.name, SIMULATOR_SURFACE)
    fig.marker(*land.minimum, shape="star", color="min", size=8, label="minimum" if compare else None)

    notes = []
    for n, run in enumerate(runs):
        color = METHOD_COLORS.get(run.method, "s0")
        paths = trajectory_paths(run.positions, land.view)
        fig.line(round_to_span(paths["x"], x1 - x0), round_to_span(paths["y"], y1 - y0), color=color,
                 width=2.0, label=_runs_label(run, compare) or None, marker=True)
        if paths["edge_x"]:
            fig.line(paths["edge_x"], paths["edge_y"], color=color, width=2.0)
        if paths["exit"] is not None:
            ex, ey = paths["exit"]
            fig.marker(ex, ey, shape="cross", color="danger", size=7)
            who = f"{METHOD_LABELS.get(run.method, run.method)}: " if compare else ""
            text = f"{who}left the plot at step {paths['left_at']}"
            tx, ty, anchor = exit_label_at(ex, ey, text, land.view, row=len(notes))
            fig.text(tx, ty, text, color="danger", anchor=anchor, size=LABEL_SIZE)
            notes.append(paths["left_at"])
    sx, sy = handle if handle is not None else main.start
    fig.handle(sx, sy, ("px", "py"), color="fg")

    where = _end_words(main, land)
    fig.alt = (f"Contour plot of {land.title} with the minimum at "
               f"({fmt_number(land.minimum[0])}, {fmt_number(land.minimum[1])}); the run starts at "
               f"({fmt_number(sx)}, {fmt_number(sy)}) and {where}.")
    return fig


def _end_words(run: Run, land: Landscape) -> str:
    s = run.summary
    paths_left = trajectory_paths(run.positions, land.view)["left_at"]
    if s.diverged:
        left = f"leaves the plot at step {paths_left} and " if paths_left is not None else ""
        return f"{left}diverges at step {s.diverged_at}"
    last = run.positions[-1]
    left = f"leaves the plot at step {paths_left}, " if paths_left is not None else ""
    return f"{left}ends at ({fmt_number(float(last[0]))}, {fmt_number(float(last[1]))}) after {run.steps} steps"


def loss_figure(runs: list[Run], *, compare: bool = False) -> Figure:
    """Loss per step on a log axis; a dashed line marks where a run diverged."""
    steps = runs[0].steps
    # 16 decades: a diverged run's edge loss (~1e7) must not squeeze the converging curves off.
    lo, hi = log_range(np.concatenate([r.losses for r in runs]), floor_ratio=1e-16, empty=(1e-3, 1.0))
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label="loss", title="Loss vs step", legend=compare, width=480, height=300)
    x = np.arange(steps + 1)
    for run in runs:
        color = METHOD_COLORS.get(run.method, "s0")
        fig.line(x, round_sig(run.losses), color=color, width=2.0,
                 label=_runs_label(run, compare) or None, hover=True,
                 hover_names=("step", "loss"), marker=True)
    for run in runs:
        at = run.summary.diverged_at
        if at is not None:
            fig.marker(at, float(run.losses[at]), shape="cross", color="danger", size=6)
    for run in runs:
        at = run.summary.diverged_at
        if at is not None:
            fig.vline(at, color="danger", dash=[4, 3])
            who = f"{METHOD_LABELS.get(run.method, run.method)} " if compare else ""
            fig.text(at, hi, f" {who}diverged at step {at}", color="danger", anchor="start", size=11)
            break  # one label is enough; the other lines end there too
    main = runs[0]
    fig.alt = (f"Loss per step, log scale: from {fmt_number(float(main.losses[0]))} to "
               f"{_final_words(main)}.")
    return fig


def _final_words(run: Run) -> str:
    s = run.summary
    if s.diverged:
        return f"divergence at step {s.diverged_at}"
    return f"{fmt_number(s.final_loss)} after {run.steps} steps"


def norm_figure(runs: list[Run], tau: float, *, compare: bool = False) -> Figure:
    """Raw gradient norm per step (before clipping), the threshold tau as a red line,
    and the steps where clipping acted."""
    main = runs[0]
    steps = main.steps
    lo, hi = log_range(np.concatenate([r.raw_norms for r in runs]), extra=(tau,), empty=(1e-3, 1.0))
    fig = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step",
                 y_label="gradient norm", title="Raw gradient norm vs step (before clipping)",
                 legend=True, width=480, height=300)
    x = np.arange(steps)
    for run in runs:
        color = METHOD_COLORS.get(run.method, "s0")
        label = _runs_label(run, compare) or "raw norm"
        fig.line(x, round_sig(run.raw_norms), color=color, width=1.6, label=label, hover=True,
                 hover_names=("step", "norm"), marker=True)
    applied = main.method != "none" or compare
    if main.method in ("norm", "value") or compare:
        fig.hline(tau, color="danger", width=1.5, label=f"τ = {fmt_number(tau)}")
    elif main.method == "adaptive":
        fig.hline(tau, color="danger", width=1.5, dash=[5, 4],
                  label=f"τ = {fmt_number(tau)} (warm-up cap)")
    else:
        fig.hline(tau, color="danger", width=1.5, dash=[2, 4], label=f"τ = {fmt_number(tau)} (not applied)")
    if applied and main.clipped.any():
        # A rug along the bottom rather than dots on the curve: long clipped stretches would
        # hide the curve, and a stretch is one short segment instead of hundreds of points.
        rx, ry = clipped_rug(main.clipped, lo * (hi / lo) ** 0.03)
        # "fg": neutral in both themes and distinct from the red tau line above it.
        fig.line(rx, ry, color="fg", width=5.0,
                 label=f"clipped steps ({METHOD_LABELS[main.method]})" if compare else "clipped steps")
    for run in runs:
        at = run.summary.diverged_at
        if at is not None and at >= 1 and math.isfinite(run.raw_norms[at - 1]):
            # The step that threw the run out; a run that diverges at once has no line to see.
            fig.marker(at - 1, float(run.raw_norms[at - 1]), shape="cross", color="danger", size=6,
                       label="step that diverged" if run is main else None)
    s = main.summary
    fig.alt = (f"Raw gradient norm per step, log scale, largest {fmt_number(s.max_raw_norm)}; "
               f"threshold τ = {fmt_number(tau)}; {s.clip_events} steps clipped.")
    return fig


# ---------------------------------------------------------------------------------------
# Results


def steps_taken(run: Run) -> int:
    """Steps actually taken: a diverged run stops where it left the bound."""
    at = run.summary.diverged_at
    return run.steps if at is None else int(at)


def summary_results(run: Run) -> dict[str, dict[str, str]]:
    """The seven summary fields as page results: unrounded ``value``, readable ``text``.

    >>> from gradclip.simulate import simulate
    >>> r = summary_results(simulate("cliff", method="none"))
    >>> r["final_loss"], r["diverged"]["text"], r["verdict"]["value"]
    ({'value': 'inf', 'text': '∞ (diverged)'}, 'diverged at step 1', 'diverged')
    """
    s = run.summary
    taken = steps_taken(run)
    out: dict[str, dict[str, str]] = {}
    if s.diverged or not math.isfinite(s.final_loss):
        out["final_loss"] = result(float(s.final_loss), "∞ (diverged)" if s.diverged else None)
    else:
        out["final_loss"] = result(float(s.final_loss))
    out["max_raw_norm"] = result(float(s.max_raw_norm))
    if run.method == "none":
        events_text = "0 (clipping off)"
    else:
        events_text = f"{s.clip_events} ({percent_text(s.clip_events, taken)})"
    out["clip_events"] = result(int(s.clip_events), events_text)
    out["diverged"] = result(bool(s.diverged), f"diverged at step {s.diverged_at}" if s.diverged else "no")
    out["diverged_at"] = (result(int(s.diverged_at), f"step {s.diverged_at}") if s.diverged_at is not None
                          else {"value": "none", "text": "never"})
    red = float(s.loss_reduction_pct)
    if s.diverged or not math.isfinite(red):
        red_text = "diverged"
    elif 99.95 <= red < 100:
        red_text = ">99.9%"
    else:
        red_text = f"{fmt_number(red)}%"
    out["loss_reduction_pct"] = result(red, red_text)
    out["verdict"] = {"value": s.verdict.code, "text": verdict_sentence(s.verdict.reason)}
    return out


def verdict_sentence(reason: str) -> str:
    """'diverged: lower the lr' -> 'Diverged: lower the lr.' (one readable sentence)."""
    text = reason.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def batch_verdict_text(batch: RunBatch, i: int) -> str:
    """Run ``i`` of a batch in two or three words: ``"diverged at step 12"`` or its verdict.

    >>> from gradclip.simulate import simulate_batch
    >>> batch_verdict_text(simulate_batch("cliff", method=["none"], steps=20), 0)
    'diverged at step 1'
    """
    s = batch.summary(i)
    if s.diverged:
        return f"diverged at step {s.diverged_at}"
    return s.verdict.code.replace("_", "-")   # over_clipped -> "over-clipped"
