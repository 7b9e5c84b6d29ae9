"""The Gradient Clipping Simulator: the site's front-door demo, and its phase diagram.

Three demos are registered here:

``simulator``
    One optimisation run of :func:`gradclip.simulate` (or, in compare mode, the same
    settings with ``none``, ``norm`` and ``value`` clipping in one call of
    :func:`gradclip.simulate_batch`), drawn as three figures: the trajectory on a shaded
    contour plot of the landscape, the loss per step (log scale) and the raw gradient norm
    per step with the threshold and the clipped steps. Its results are the seven fields of
    :class:`gradclip.simulate.Summary`.
``phase``
    A ``tau`` × ``lr`` map of outcomes from one :func:`gradclip.sweep` call; a click on a
    cell sets ``tau`` and ``lr`` (of the simulator it is synced with).
``simulator_export``
    The current view as CSV text (and SVG, where an SVG writer is importable) in ``extra``,
    computed only when a reader asks for it.

Everything is a pure function of the parameters. The only state is a few
``functools.lru_cache`` tables of derived constants: the contour shading of each landscape
(it never changes) and the last few sweeps with their cells (a click on the phase diagram,
or a change of tau or lr, only moves a marker, so the grid is not recomputed). Those
layers carry a content ``key`` (:func:`gradclip.demos.layer_key`): the browser receives
each of them once per visit and keeps its drawing.

Start point
-----------
``px`` and ``py`` are hidden parameters set by dragging the start handle. ``None`` (or
anything that is not a finite number) means the landscape's own start; a point outside the
landscape's view box is clamped onto it, with a notice in ``extra["notices"]``.

Examples
--------
>>> from gradclip.demos import run
>>> out = run("simulator", {"method": "none"})
>>> out["results"]["diverged"]["text"]
'diverged at step 1'
>>> out["results"]["verdict"]["value"]
'diverged'
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradclip.demos import DemoOutput, DemoSpec, Param, layer_key, register, result
from gradclip.demos.run_figures import (METHOD_COLORS, METHOD_LABELS, OUTCOME_COLORS, OUTCOME_LABELS,
                                        contour_figure, loss_figure, norm_figure, start_point,
                                        steps_taken, summary_results, verdict_sentence)
from gradclip.figures import Figure
from gradclip.figures.helpers import round_sig
from gradclip.figures.numbers import fmt_number, percent_text
from gradclip.figures.svg import figure_to_svg
from gradclip.landscapes import LANDSCAPES, Landscape
from gradclip.simulate import Run, simulate, simulate_batch, sweep

__all__ = [
    "SIMULATOR", "PHASE", "EXPORT", "PRESETS", "Preset", "COMPARE_METHODS", "METHOD_COLORS", "OUTCOME_COLORS",
    "start_point", "contour_figure", "loss_figure", "norm_figure", "summary_results", "run_csv",
    "phase_axes", "phase_cells", "phase_figure",
]

# ---------------------------------------------------------------------------------------
# Constants

TAU_RANGE = (0.1, 10.0)
LR_RANGE = (0.001, 1.0)
STEPS_RANGE = (10, 2000)
SEED = 0                      # spiky's bad batches: one fixed sequence, so links reproduce runs

COMPARE_METHODS = ("none", "norm", "value")
PHASE_N = 16      # phase diagram: cells per side (tau and lr)

CSV_HEADER = "method,step,x,y,loss,raw_norm,clipped_norm,clipped"


def run_csv(runs: list[Run]) -> str:
    """Runs as CSV: one row per run and position, full precision (``repr`` of each float).

    Columns: method, step, x, y, loss, raw_norm, clipped_norm, clipped. The gradient
    columns belong to the step taken from that position, so a run's last row has none;
    a diverged run ends at its edge position.

    >>> from gradclip.simulate import simulate
    >>> text = run_csv([simulate("ravine", steps=2)])
    >>> text.splitlines()[0], len(text.splitlines())
    ('method,step,x,y,loss,raw_norm,clipped_norm,clipped', 4)
    """
    def num(v: float) -> str:
        return "" if not math.isfinite(v) else repr(float(v))

    lines = [CSV_HEADER]
    for run in runs:
        pos, loss = run.positions.tolist(), run.losses.tolist()
        raw, cl, mask = run.raw_norms.tolist(), run.clipped_norms.tolist(), run.clipped.tolist()
        for i in range(run.steps + 1):
            if not math.isfinite(pos[i][0]):
                break  # the run diverged: nothing after its last (edge) position
            g = (num(raw[i]), num(cl[i]), "1" if mask[i] else "0") if i < run.steps else ("", "", "")
            lines.append(",".join((run.method, str(i), num(pos[i][0]), num(pos[i][1]), num(loss[i])) + g))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Presets: one click, one story (tests check that each still tells it)


@dataclass(frozen=True)
class Preset:
    """A named setting of every simulator control, and the story it shows.

    ``expect`` is the verdict code of the selected method's run, pinned by the tests, so a
    change to a landscape cannot silently turn a preset's story into a different one.
    """

    name: str
    label: str
    story: str
    expect: str
    tau: float = 1.0
    lr: float = 0.05
    steps: int = 200
    method: str = "norm"
    landscape: str = "cliff"
    optimizer: str = "sgd"
    compare: bool = False

    def params(self) -> dict[str, Any]:
        """Every parameter of the simulator, the start point reset to the landscape's."""
        return {"tau": self.tau, "lr": self.lr, "steps": self.steps, "method": self.method,
                "landscape": self.landscape, "optimizer": self.optimizer,
                "compare": self.compare, "px": None, "py": None}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "story": self.story,
                "params": self.params()}


PRESETS: tuple[Preset, ...] = (
    Preset("leap", "Cliff, no clipping: the leap",
           "Without clipping the first step on the wall is far too long: the run is thrown "
           "off the plot at once and diverges.",
           expect="diverged", method="none"),
    Preset("cross", "Norm clipping crosses the cliff",
           "The same start with the gradient capped at length τ = 1: short, steady steps down "
           "the wall, then along the valley floor to the minimum.",
           expect="healthy"),
    Preset("crawl", "τ too small: crawling",
           "With τ = 0.1 no step is longer than η·τ = 0.005: the run is safe, but 200 such "
           "steps cover at most one unit and it is still far from the minimum.",
           expect="over_clipped", tau=0.1),
    Preset("big-lr", "Learning rate too large, even with clipping",
           "Clipping caps the gradient, not the step: at η = 1 each step is still as long as "
           "η·τ, so the run bounces from wall to wall instead of settling.",
           expect="oscillating", lr=1.0),
    Preset("bend", "Value clipping bends the direction",
           "Clipping each component to ±τ turns the huge sideways gradient into a diagonal "
           "step; norm clipping keeps the downhill direction. Compare the two paths.",
           expect="healthy", method="value", compare=True),
    Preset("spiky", "Bad batches on the spiky landscape",
           "A smooth bowl where a few batches bring gradients 20 to 200 long: without clipping "
           "each one throws the run back up the bowl; clipped, they are harmless.",
           expect="healthy", landscape="spiky", steps=300, compare=True),
)


# ---------------------------------------------------------------------------------------
# The simulator demo


def _runs(params: dict[str, Any]) -> tuple[Landscape, list[Run], tuple[float, float], list[str]]:
    """The run(s) for a parameter set: the selected method first, then the compared ones."""
    land = LANDSCAPES[params["landscape"]]
    start, notices = start_point(land, params.get("px"), params.get("py"))
    kw = dict(tau=float(params["tau"]), lr=float(params["lr"]), steps=int(params["steps"]),
              optimizer=params["optimizer"], start=start, seed=SEED)
    method = params["method"]
    if params.get("compare"):
        methods = [method] + [m for m in COMPARE_METHODS if m != method]
        batch = simulate_batch(land.name, methods, **kw)   # one vectorised call for all of them
        return land, batch.runs(), start, notices
    return land, [simulate(land.name, method, **kw)], start, notices


def _describe(land: Landscape, run: Run, params: dict[str, Any]) -> str:
    s = run.summary
    how = METHOD_LABELS.get(run.method, run.method)
    tau = "" if run.method == "none" else f" at τ = {fmt_number(float(params['tau']))}"
    return (f"{land.title}, {how}{tau}, learning rate {fmt_number(float(params['lr']))}, "
            f"{params['optimizer']}: {verdict_sentence(s.verdict.reason)} Final loss "
            f"{summary_results(run)['final_loss']['text']}, {s.clip_events} of "
            f"{steps_taken(run)} steps clipped.")


def compute_simulator(params: dict[str, Any]) -> DemoOutput:
    """Run the simulator for validated parameters and draw its three figures."""
    land, runs, start, notices = _runs(params)
    main = runs[0]
    compare = bool(params.get("compare"))
    tau = float(params["tau"])
    figures = {
        "contour": contour_figure(land, runs, compare=compare, handle=start).to_dict(),
        "loss": loss_figure(runs, compare=compare).to_dict(),
        "norm": norm_figure(runs, tau, compare=compare).to_dict(),
    }
    extra: dict[str, Any] = {
        "notices": notices,
        "steps_taken": steps_taken(main),
        "start": list(start),
        "methods": [r.method for r in runs],
        "colors": [METHOD_COLORS.get(r.method, "s0") for r in runs],
        "presets": [p.to_dict() for p in PRESETS],
    }
    if compare:
        extra["compare"] = [
            {"method": r.method, "label": METHOD_LABELS.get(r.method, r.method),
             "color": METHOD_COLORS.get(r.method, "s0"),
             "results": summary_results(r)} for r in runs]
    return DemoOutput(figures=figures, results=summary_results(main),
                      description=_describe(land, main, params), extra=extra)


_METHOD_CHOICES = tuple((m, METHOD_LABELS[m].capitalize()) for m in ("none", "norm", "value", "adaptive"))
_OPTIMIZER_CHOICES = (("sgd", "SGD"), ("momentum", "SGD with momentum 0.9"), ("adam", "Adam"))


def _landscape_choices() -> tuple[tuple[str, str], ...]:
    return tuple((name, land.title) for name, land in LANDSCAPES.items())


def _common_params() -> tuple[Param, ...]:
    return (
        Param("tau", "float", 1.0, "Clip threshold τ", min=TAU_RANGE[0], max=TAU_RANGE[1], log=True,
              help="The largest gradient norm (or, by value, the largest component) let through."),
        Param("lr", "float", 0.05, "Learning rate η", min=LR_RANGE[0], max=LR_RANGE[1], log=True,
              help="How far each step moves along the clipped gradient."),
        Param("steps", "int", 200, "Training steps", min=STEPS_RANGE[0], max=STEPS_RANGE[1], step=1),
        Param("method", "choice", "norm", "Clipping method", choices=_METHOD_CHOICES),
        Param("landscape", "choice", "cliff", "Loss landscape", choices=_landscape_choices()),
        Param("optimizer", "choice", "sgd", "Optimizer", choices=_OPTIMIZER_CHOICES),
        # The start point: set by dragging the handle on the contour plot. None = the
        # landscape's own start; compute clamps it into the landscape's view box.
        Param("px", "hidden", None, "Start x"),
        Param("py", "hidden", None, "Start y"),
    )


SIMULATOR = register(DemoSpec(
    name="simulator",
    title="Gradient Clipping Simulator",
    params=_common_params() + (
        Param("compare", "bool", False, "Compare none / norm / value",
              help="Run the same settings with no clipping, norm and value clipping at once."),
    ),
    compute=compute_simulator,
    results=(
        ("final_loss", "Final loss"),
        ("max_raw_norm", "Max gradient norm (before clip)"),
        ("clip_events", "Clip events"),
        ("diverged", "Divergence"),
        ("diverged_at", "Diverged at"),
        ("loss_reduction_pct", "Loss reduction"),
        ("verdict", "Verdict"),
    ),
    figures=(
        ("contour", "Loss contours (log-scaled shading) and the trajectory; drag the start point."),
        ("loss", "Loss vs step (log scale)."),
        ("norm", "Raw gradient norm vs step, before clipping; the red line is τ."),
    ),
))


def compute_export(params: dict[str, Any]) -> DemoOutput:
    """The current view for download: ``extra["csv"]`` (every run shown, full precision) and
    ``extra["svg"]`` (figure name -> SVG text)."""
    land, runs, _, notices = _runs(params)
    figures = compute_simulator(params).figures
    svg = {name: figure_to_svg(fig, id_prefix=f"export-{name}") for name, fig in figures.items()}
    return DemoOutput(description=f"The {runs[0].method} run on {land.title} as data.",
                      extra={"csv": run_csv(runs), "svg": svg, "notices": notices})


EXPORT = register(DemoSpec(
    name="simulator_export",
    title="Simulator run as CSV",
    params=_common_params() + (Param("compare", "bool", False, "Compare none / norm / value"),),
    compute=compute_export,
))


# ---------------------------------------------------------------------------------------
# The phase diagram


def phase_axes(n: int = PHASE_N) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres of the phase diagram: ``n`` log-spaced values of tau and of lr,
    each the centre (in log scale) of one of ``n`` equal cells covering the control's range.

    >>> taus, lrs = phase_axes(2)
    >>> [round(float(t), 4) for t in taus], [round(float(v), 4) for v in lrs]
    ([0.3162, 3.1623], [0.0056, 0.1778])
    """
    def centres(lo: float, hi: float) -> np.ndarray:
        a, b = math.log10(lo), math.log10(hi)
        return 10.0 ** (a + (np.arange(n) + 0.5) * (b - a) / n)
    return centres(*TAU_RANGE), centres(*LR_RANGE)


@functools.lru_cache(maxsize=8)
def _phase_sweep(landscape: str, method: str, optimizer: str, steps: int):
    """One vectorised sweep per setting; cached so a click (which only moves the marker)
    and the simulator's tau/lr changes cost nothing. Runs start at the landscape's own
    start point: a map that changed under every drag of the start would be recomputed on
    each frame and hold up the simulator sharing the one worker."""
    taus, lrs = phase_axes()
    return sweep(landscape, method, taus=taus, lrs=lrs, steps=steps, optimizer=optimizer,
                 seed=SEED)


def _cell(value: float, lo: float, hi: float, n: int) -> int:
    a, b = math.log10(lo), math.log10(hi)
    return min(n - 1, max(0, int((math.log10(value) - a) / (b - a) * n)))


def phase_cells(grid) -> dict[str, Any]:
    """The phase diagram's cells as one ``rects`` item: coloured by outcome, each cell's
    ``set`` puts its tau and lr into the simulator. Carries a content ``key``: it depends on
    the sweep alone, so a change of tau or lr (which only moves the marker) sends it once.
    """
    n_t, n_l = grid.codes.shape
    a_t, b_t = (math.log10(v) for v in TAU_RANGE)
    a_l, b_l = (math.log10(v) for v in LR_RANGE)
    et = 10.0 ** (a_t + np.arange(n_t + 1) * (b_t - a_t) / n_t)
    el = 10.0 ** (a_l + np.arange(n_l + 1) * (b_l - a_l) / n_l)
    I, J = np.meshgrid(np.arange(n_t), np.arange(n_l), indexing="ij")
    I, J = I.ravel(), J.ravel()
    codes = grid.codes.ravel().tolist()
    fill = [OUTCOME_COLORS.get(c, "muted") for c in codes]
    sets = [{"tau": float(f"{grid.taus[i]:.3g}"), "lr": float(f"{grid.lrs[j]:.3g}")}
            for i, j in zip(I.tolist(), J.tolist())]
    item = Figure().rects(round_sig(et[I]), round_sig(et[I + 1]), round_sig(el[J]),
                          round_sig(el[J + 1]), fill=fill, set_params=sets).items[0]
    item["key"] = layer_key("phase.cells", item)
    return item


def phase_figure(grid, tau: float, lr: float, title: str, cells: dict[str, Any] | None = None
                 ) -> Figure:
    """Cells coloured by outcome (:func:`phase_cells`, or ``cells`` when the caller kept
    them) and a marker at the current tau and lr."""
    codes = grid.codes.ravel().tolist()
    fig = Figure(x_range=TAU_RANGE, y_range=LR_RANGE, x_log=True, y_log=True,
                 x_label="clip threshold τ", y_label="learning rate η", title=title,
                 legend=True, width=480, height=420)
    fig.items.append(dict(cells if cells is not None else phase_cells(grid)))
    present = [c for c in OUTCOME_COLORS if c in set(codes)]
    for code in present:   # legend entries only (no points)
        fig.points([], [], color=OUTCOME_COLORS[code], size=5, label=OUTCOME_LABELS[code])
    fig.marker(tau, lr, shape="circle", color="fg", size=7, label="current settings")
    counts = {c: codes.count(c) for c in present}
    parts = ", ".join(f"{counts[c]} {OUTCOME_LABELS[c]}" for c in present)
    fig.alt = (f"Outcome map over τ from {fmt_number(TAU_RANGE[0])} to {fmt_number(TAU_RANGE[1])} and "
               f"learning rate from {fmt_number(LR_RANGE[0])} to {fmt_number(LR_RANGE[1])}: {parts} of "
               f"{len(codes)} cells; the current settings are marked.")
    return fig


@functools.lru_cache(maxsize=8)
def _phase_layers(landscape: str, method: str, optimizer: str, steps: int):
    """The sweep of a setting and its cells item, both kept: a change of tau or lr costs
    neither a sweep nor the cells."""
    grid = _phase_sweep(landscape, method, optimizer, steps)
    return grid, phase_cells(grid)


def compute_phase(params: dict[str, Any]) -> DemoOutput:
    """The outcome map for the current landscape, method, optimizer and steps."""
    land = LANDSCAPES[params["landscape"]]
    method, steps, optimizer = params["method"], int(params["steps"]), params["optimizer"]
    grid, cells = _phase_layers(land.name, method, optimizer, steps)
    tau, lr = float(params["tau"]), float(params["lr"])
    title = f"Outcomes: {METHOD_LABELS[method]}, {land.title}, {steps} steps"
    fig = phase_figure(grid, tau, lr, title, cells)
    code = str(grid.codes[_cell(tau, *TAU_RANGE, grid.codes.shape[0]),
                          _cell(lr, *LR_RANGE, grid.codes.shape[1])])
    counts = grid.counts()
    total = int(grid.codes.size)
    results = {
        "cell": {"value": code, "text": OUTCOME_LABELS.get(code, code)},
        "healthy_share": result(counts["healthy"] / total, percent_text(counts["healthy"], total)),
        "diverged_share": result(counts["diverged"] / total, percent_text(counts["diverged"], total)),
    }
    desc = (f"Phase diagram for {METHOD_LABELS[method]} on {land.title}: "
            f"{counts['healthy']} of {total} settings are healthy and {counts['diverged']} diverge; "
            f"the cell at τ = {fmt_number(tau)}, η = {fmt_number(lr)} is {OUTCOME_LABELS.get(code, code)}.")
    return DemoOutput(figures={"phase": fig.to_dict()}, results=results, description=desc,
                      extra={"codes": grid.codes.tolist()})


PHASE = register(DemoSpec(
    name="phase",
    title="Phase diagram: which τ and learning rate survive",
    params=tuple(p for p in _common_params() if p.kind != "hidden"),
    compute=compute_phase,
    results=(
        ("cell", "At the current τ and η"),
        ("healthy_share", "Healthy settings"),
        ("diverged_share", "Diverging settings"),
    ),
    figures=(("phase", "Each cell is one run from the landscape's start with that τ and learning "
                        "rate; click a cell to try it."),),
))
