"""Teaching demos that compare clipping rules: on the cliff, per unit (AGC), adaptive thresholds.

Registered here (the rest of the teaching pages' demos are in :mod:`gradclip.demos.teaching`):

``cliff_methods``       no clipping, norm clipping and value clipping on the cliff landscape
``agc_units``           adaptive gradient clipping (AGC) of one layer, unit by unit
``adaptive_thresholds`` fixed, AutoClip and ZClip thresholds following a norm series
``tau_from_norms``      choosing a threshold from the distribution of observed norms

>>> from gradclip.demos import run
>>> sorted(run("agc_units")["figures"])
['units']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradclip.adaptive import (ZClip, adaptive_grad_clip, autoclip_series, suggest_thresholds,
                               unitwise_norm, zclip_series)
from gradclip.clipping import clip_by_value
from gradclip.demos import DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.run_figures import batch_verdict_text
from gradclip.figures import Figure
from gradclip.figures.helpers import padded_log_range
from gradclip.figures.landscape import TEACHING_SURFACE, add_landscape
from gradclip.figures.numbers import fmt_number, vector_text
from gradclip.figures.paths import finite_path
from gradclip.landscapes import LANDSCAPES
from gradclip.simulate import simulate_batch

__all__ = ["NormSeries", "synthetic_norms", "example_layer"]


# ---------------------------------------------------------------------------------------
# A synthetic norm log
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NormSeries:
    """A synthetic log of gradient norms.

    Attributes
    ----------
    norms : ndarray, shape (steps,)
        The global gradient norm of every step, before clipping.
    spike : ndarray of bool, shape (steps,)
        True on the steps that received a spike.
    """

    norms: np.ndarray
    spike: np.ndarray


def synthetic_norms(steps: int = 400, *, spike_rate: float = 0.02, spike_size: float = 20.0,
                    noise: float = 0.35, seed: int = 0) -> NormSeries:
    """A plausible series of gradient norms: a slowly decaying baseline, log-normal noise, rare spikes.

    .. math::

        n_t = b_t \\, e^{\\,\\text{noise}\\cdot z_t} \\, (1 + s_t),\\qquad
        b_t = 0.6 + 1.4\\, e^{-t/150},\\qquad z_t \\sim N(0, 1),

    where :math:`s_t = \\text{spike\\_size} \\cdot u_t` (:math:`u_t \\sim U(0.5, 1.5)`) on a
    random fraction ``spike_rate`` of the steps and 0 elsewhere.

    Parameters
    ----------
    steps : int
        Length of the series, 10 .. 5000.
    spike_rate : float
        Probability of a spike at each step, 0 .. 0.5.
    spike_size : float
        Typical spike height as a multiple of the baseline, >= 0.
    noise : float
        Standard deviation of the log-normal noise, >= 0.
    seed : int

    Returns
    -------
    NormSeries

    Examples
    --------
    >>> s = synthetic_norms(100, spike_rate=0.0, noise=0.0)
    >>> float(s.norms[0]), int(s.spike.sum())
    (2.0, 0)
    """
    if not 10 <= steps <= 5000:
        raise ValueError(f"steps must be in 10 .. 5000, got {steps!r}")
    if not 0 <= spike_rate <= 0.5:
        raise ValueError(f"spike_rate must be in 0 .. 0.5, got {spike_rate!r}")
    if spike_size < 0:
        raise ValueError(f"spike_size must be >= 0, got {spike_size!r}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    base = 0.6 + 1.4 * np.exp(-t / 150.0)
    z = rng.normal(size=steps)
    spike = rng.random(steps) < spike_rate
    height = spike * spike_size * rng.uniform(0.5, 1.5, size=steps)
    return NormSeries(norms=base * np.exp(noise * z) * (1.0 + height), spike=spike)


# ---------------------------------------------------------------------------------------
# 3. Conversation / FAQ: three rules on the cliff valley
# ---------------------------------------------------------------------------------------

# danger and s1 are the same vermillion, so value clipping takes the third series colour.
_METHODS = (("none", "no clipping", "danger"), ("norm", "clip by norm", "s0"),
            ("value", "clip by value", "s2"))


def _compute_cliff_methods(p: dict[str, Any]) -> DemoOutput:
    land = LANDSCAPES["cliff"]
    tau, lr, steps = float(p["tau"]), float(p["lr"]), int(p["steps"])
    batch = simulate_batch("cliff", method=[m for m, _, _ in _METHODS], tau=tau, lr=lr,
                           steps=steps)
    x0, x1, y0, y1 = land.view
    contour = Figure(x_range=(x0, x1), y_range=(y0, y1), x_label="x", y_label="y",
                     title="Cliff valley: three runs from one start", legend=True,
                     width=480, height=400,
                     alt=(f"Contour plot of the cliff valley with paths of no clipping, norm "
                          f"clipping and value clipping at τ = {fmt_number(tau)}."))
    add_landscape(contour, land.name, TEACHING_SURFACE)
    for i, (m, label, color) in enumerate(_METHODS):
        px, py = finite_path(batch.positions[i])
        contour.line(px, py, color=color, width=2.0, label=label, marker=(m == "norm"))
        contour.points(px[1:], py[1:], color=color, size=1.5)
    contour.marker(*land.minimum, shape="star", color="min", size=8, label="minimum")
    contour.marker(*land.start, shape="circle", color="start", size=6, label="start")

    finite = batch.raw_norms[np.isfinite(batch.raw_norms) & (batch.raw_norms > 0)]
    norms = Figure(x_range=(0, steps), y_range=padded_log_range(np.concatenate([finite, [tau]])),
                   y_log=True, x_label="step", y_label="raw gradient norm", legend=True,
                   title="Gradient norm before clipping", width=480, height=240,
                   alt="Raw gradient norm per step for the three runs, with the threshold τ.")
    norms.hline(tau, color="muted", width=1.0, dash=[5, 4], label="τ")
    losses = batch.losses[:, :]
    fl = losses[np.isfinite(losses) & (losses > 0)]
    loss = Figure(x_range=(0, steps), y_range=padded_log_range(fl, lo_floor=1e-12), y_log=True,
                  x_label="step", y_label="loss", legend=True, title="Loss",
                  width=480, height=240, alt="Loss per step for the three runs.")
    for i, (m, label, color) in enumerate(_METHODS):
        norms.line(np.arange(steps), batch.raw_norms[i], color=color, width=1.8, label=label,
                   hover=True, hover_names=("step", "norm"))
        if batch.diverged[i]:  # a run that stops after a step or two is a dot, not a line
            norms.points(np.arange(steps), batch.raw_norms[i], color=color, size=3.5)
        loss.line(np.arange(steps + 1), np.where(losses[i] > 1e-12, losses[i], np.nan),
                  color=color, width=1.8, label=label, hover=True, hover_names=("step", "loss"))
    res: dict[str, dict[str, str]] = {}
    for i, (m, _, _) in enumerate(_METHODS):
        res[f"{m}_outcome"] = result(str(batch.codes[i]), batch_verdict_text(batch, i))
        if m != "none":  # the unclipped run never clips, and its final loss is the verdict
            res[f"{m}_final"] = result(float(batch.final_loss[i]))
            res[f"{m}_clips"] = result(int(batch.clip_events[i]))
    res["max_raw"] = result(float(np.nanmax(batch.max_raw_norm)))
    # The first step, where the three rules differ most: the gradient at the shared start,
    # what value clipping makes of it, and how far the unclipped step would jump.
    g0 = np.array([float(c) for c in land.grad(*land.start)])
    res["start_grad"] = result(vector_text(g0))
    res["value_start"] = result(vector_text(clip_by_value(g0, tau)))
    res["none_step"] = result(lr * float(np.linalg.norm(g0)))
    return DemoOutput(
        figures={"contour": contour.to_dict(), "norms": norms.to_dict(), "loss": loss.to_dict()},
        results=res,
        description=(f"No clipping: {res['none_outcome']['text']}. Clip by norm: "
                     f"{res['norm_outcome']['text']}. Clip by value: {res['value_outcome']['text']}."),
    )


register(DemoSpec(
    name="cliff_methods",
    title="No clipping, clip by norm, clip by value",
    params=(
        Param("tau", "float", 1.0, "Threshold τ", min=0.05, max=50.0, log=True),
        Param("lr", "float", 0.05, "Learning rate η", min=0.001, max=1.0, log=True),
        Param("steps", "int", 100, "Steps", min=10, max=300, step=10),
    ),
    compute=_compute_cliff_methods,
    results=(("none_outcome", "No clipping"), ("norm_outcome", "Clip by norm"),
             ("value_outcome", "Clip by value"), ("norm_clips", "Norm: clip events"),
             ("value_clips", "Value: clip events"), ("norm_final", "Norm: final loss"),
             ("value_final", "Value: final loss"), ("max_raw", "Largest raw norm"),
             ("start_grad", "Gradient at the start"),
             ("value_start", "Start gradient clipped by value"),
             ("none_step", "No clipping: length of the first step")),
    figures=(("contour", "Brighter is higher loss. All three runs start at the same point."),
             ("norms", "Raw gradient norm per step, log scale; the dashed line is τ."),
             ("loss", "Loss per step, log scale.")),
))


# ---------------------------------------------------------------------------------------
# 2c. Theory: AGC, a threshold per unit relative to its weights
# ---------------------------------------------------------------------------------------

# Column norms of the example layer's weights: units of very different size, so the same
# gradient norm is a large step for one unit and a small one for another.
_UNIT_WEIGHT_NORMS = (0.3, 1.0, 2.0, 0.6, 1.5, 0.8)
_SPIKY_UNIT = 2  # 0-based: the third unit receives the spike


def example_layer(spike: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``W`` and gradient ``G`` of a dense layer with 8 inputs and 6 output units.

    Shapes are (in, out) = (8, 6), the layout optax assumes, so a *unit* is a column. Column
    :math:`i` of ``W`` has norm ``_UNIT_WEIGHT_NORMS[i]``; column :math:`i` of ``G`` has norm :math:`0.005 \\cdot (i + 1)` times ``spike`` for the
    third unit.

    >>> W, G = example_layer()
    >>> np.round(np.linalg.norm(W, axis=0), 6).tolist()
    [0.3, 1.0, 2.0, 0.6, 1.5, 0.8]
    """
    if not spike > 0:
        raise ValueError(f"spike must be > 0, got {spike!r}")
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(8, 6))
    g = rng.normal(size=(8, 6))
    w = w / np.linalg.norm(w, axis=0) * np.array(_UNIT_WEIGHT_NORMS)
    g_norms = 0.005 * np.arange(1, 7)
    g_norms[_SPIKY_UNIT] *= spike
    g = g / np.linalg.norm(g, axis=0) * g_norms
    return w, g


def _compute_agc_units(p: dict[str, Any]) -> DemoOutput:
    lam, spike, eps = float(p["clipping"]), float(p["spike"]), 1e-3
    w, g = example_layer(spike, int(p["seed"]))
    (clipped,) = adaptive_grad_clip([g], [w], clipping=lam, eps=eps)
    w_unit = np.maximum(unitwise_norm(w)[0], eps)
    before = unitwise_norm(g)[0] / w_unit
    after = unitwise_norm(clipped)[0] / w_unit
    units = np.arange(1, w.shape[1] + 1)
    fig = Figure(x_range=(0.3, len(units) + 0.9), y_range=padded_log_range(np.r_[before, after, lam]),
                 y_log=True, x_label="output unit", y_label="‖Gᵢ‖ / max(‖Wᵢ‖, ε)",
                 title="Gradient-to-weight ratio per unit", legend=True, width=480, height=300,
                 alt=(f"Ratio of gradient norm to weight norm for six units before and after "
                      f"AGC with clipping factor {fmt_number(lam)}."))
    fig.hline(lam, color="danger", width=1.5, dash=[5, 4], label="λ")
    fig.line(units, before, color="fg", width=1.5, dash=[6, 3], label="before AGC")
    fig.points(units, before, color="fg", size=4.0)
    fig.line(units, after, color="s0", width=2.5, label="after AGC", hover=True,
             hover_names=("unit", "ratio"))
    fig.points(units, after, color="s0", size=4.5)
    for u, wn in zip(units, _UNIT_WEIGHT_NORMS):
        fig.text(u, fig.y_range[0] * 1.4, f"‖W‖={fmt_number(wn)}", color="muted",
                 anchor="middle", size=10)
    hit = before > lam
    return DemoOutput(
        figures={"units": fig.to_dict()},
        results={
            "units_clipped": result(int(hit.sum()), f"{int(hit.sum())} of {len(units)}"),
            "which": result(", ".join(str(int(u)) for u in units[hit]) or "none"),
            "max_before": result(float(before.max())),
            "max_after": result(float(after.max())),
            "norm_before": result(float(np.linalg.norm(g))),
            "norm_after": result(float(np.linalg.norm(clipped))),
        },
        description=(f"With λ = {fmt_number(lam)}, AGC clips {int(hit.sum())} of {len(units)} "
                     f"units; the largest gradient-to-weight ratio goes from "
                     f"{fmt_number(float(before.max()))} to {fmt_number(float(after.max()))}."),
    )


register(DemoSpec(
    name="agc_units",
    title="Adaptive gradient clipping, unit by unit",
    params=(
        Param("clipping", "float", 0.05, "Clipping factor λ", min=0.001, max=1.0, log=True),
        Param("spike", "float", 10.0, "Spike in unit 3 (×)", min=1.0, max=1000.0, log=True),
        Param("seed", "int", 0, "Random seed", min=0, max=999, step=1),
    ),
    compute=_compute_agc_units,
    results=(("units_clipped", "Units clipped"), ("which", "Which units"),
             ("max_before", "Largest ratio before"), ("max_after", "Largest ratio after"),
             ("norm_before", "Gradient norm before"), ("norm_after", "Gradient norm after")),
    figures=(("units", "Each unit's gradient norm divided by its weight norm (at least ε = "
                       "0.001), log scale. AGC pulls every unit above λ down to λ."),),
))


# ---------------------------------------------------------------------------------------
# 2c. Theory: adaptive thresholds following a norm series
# ---------------------------------------------------------------------------------------

def _series_params(default_steps: int) -> tuple[Param, ...]:
    return (
        Param("spike_rate", "float", 0.02, "Spike rate (per step)", min=0.0, max=0.1, step=0.005,
              help="Probability that a step's batch produces a spike."),
        Param("spike_size", "float", 20.0, "Spike size (× baseline)", min=1.0, max=200.0, log=True),
        # ZClip replays the log one step at a time, so the length is what costs time.
        Param("steps", "int", default_steps, "Steps logged", min=100, max=1000, step=50),
        Param("seed", "int", 0, "Random seed", min=0, max=999, step=1),
    )


def _series(p: dict[str, Any]) -> NormSeries:
    return synthetic_norms(int(p["steps"]), spike_rate=float(p["spike_rate"]),
                           spike_size=float(p["spike_size"]), seed=int(p["seed"]))


def _missed(s: NormSeries, clipped: np.ndarray) -> dict[str, str]:
    """The spikes a rule lets through: value the steps (comma-separated), text for a sentence."""
    missed = np.flatnonzero(s.spike & ~clipped)
    if missed.size == 0:
        return {"value": "none", "text": "none"}
    if missed.size == 1:
        i = int(missed[0])
        return result(str(i), f"step {i} (norm {fmt_number(float(s.norms[i]))})")
    steps = [str(int(i)) for i in missed]
    return result(", ".join(steps), "steps " + ", ".join(steps[:-1]) + " and " + steps[-1])


def _compute_adaptive_thresholds(p: dict[str, Any]) -> DemoOutput:
    s = _series(p)
    n, steps = s.norms, len(s.norms)
    tau, pct, z = float(p["tau"]), float(p["percentile"]), float(p["z_thresh"])
    auto = autoclip_series(n, pct)
    zs = zclip_series(n, ZClip(z_thresh=z))
    clipped = {"fixed": n > tau, "autoclip": n > auto, "zclip": zs.clipped}
    t = np.arange(steps)
    fig = Figure(x_range=(0, steps), y_range=padded_log_range(np.concatenate([n, [tau]])), y_log=True,
                 x_label="step", y_label="gradient norm", legend=True, width=480, height=320,
                 title="One run's gradient norms and three thresholds",
                 alt=(f"{steps} synthetic gradient norms with a fixed threshold, the AutoClip "
                      f"threshold and the ZClip threshold."))
    fig.line(t, n, color="muted", width=1.0, label="raw norm", hover=True,
             hover_names=("step", "norm"))
    fig.hline(tau, color="s2", width=2.0, label=f"fixed τ = {fmt_number(tau)}")
    fig.line(t, auto, color="s0", width=2.0, label=f"AutoClip, p = {fmt_number(pct)}")
    fig.line(t, np.where(np.isfinite(zs.threshold), zs.threshold, np.nan), color="s1",
             width=2.0, label=f"ZClip, z = {fmt_number(z)}")
    spikes = int(s.spike.sum())
    res: dict[str, dict[str, str]] = {"spikes": result(spikes)}
    for k, c in clipped.items():
        k_all, k_spike = int(c.sum()), int((c & s.spike).sum())
        res[f"{k}_clipped"] = result(k_all, f"{k_all} of {steps} steps ({100 * k_all / steps:.0f}%)")
        res[f"{k}_spikes"] = result(k_spike, f"{k_spike} of {spikes}")
        res[f"{k}_ordinary"] = result(k_all - k_spike)
    res["fixed_missed"] = _missed(s, clipped["fixed"])
    return DemoOutput(
        figures={"series": fig.to_dict()}, results=res,
        description=(f"Of {steps} steps with {spikes} spikes, the fixed threshold clips "
                     f"{int(clipped['fixed'].sum())}, AutoClip {int(clipped['autoclip'].sum())} "
                     f"and ZClip {int(clipped['zclip'].sum())}."),
    )


register(DemoSpec(
    name="adaptive_thresholds",
    title="Fixed, percentile and z-score thresholds on one run",
    params=(
        Param("tau", "float", 10.0, "Fixed threshold τ", min=0.1, max=200.0, log=True),
        Param("percentile", "float", 10.0, "AutoClip percentile p", min=1.0, max=99.0, step=1.0),
        Param("z_thresh", "float", 2.5, "ZClip z-score threshold", min=1.0, max=6.0, step=0.1),
    ) + _series_params(400),
    compute=_compute_adaptive_thresholds,
    results=(("spikes", "Spikes in the run"),
             ("fixed_clipped", "Fixed τ: steps clipped"), ("fixed_spikes", "Fixed τ: spikes caught"),
             ("fixed_ordinary", "Fixed τ: ordinary steps clipped"),
             ("fixed_missed", "Fixed τ: spikes let through"),
             ("autoclip_clipped", "AutoClip: steps clipped"),
             ("autoclip_spikes", "AutoClip: spikes caught"),
             ("autoclip_ordinary", "AutoClip: ordinary steps clipped"),
             ("zclip_clipped", "ZClip: steps clipped"), ("zclip_spikes", "ZClip: spikes caught"),
             ("zclip_ordinary", "ZClip: ordinary steps clipped")),
    figures=(("series", "Synthetic gradient norms (log scale) and the threshold each rule "
                        "applies at every step. ZClip has no threshold during its 25-step "
                        "warm-up."),),
))


# ---------------------------------------------------------------------------------------
# 4. FAQ: choosing tau from the distribution of observed norms
# ---------------------------------------------------------------------------------------

_SUGGESTION_LABELS = {"p50": "median", "p90": "90th percentile", "p95": "95th percentile",
                      "p99": "99th percentile", "autoclip": "AutoClip (last step)",
                      "zclip": "ZClip limit (last step)"}


def _compute_tau_from_norms(p: dict[str, Any]) -> DemoOutput:
    s = _series(p)
    n, steps = s.norms, len(s.norms)
    tau = float(p["tau"])
    sugg = {x.rule: x for x in suggest_thresholds(n, percentiles=(50, 90, 95, 99))}
    above = n > tau
    lo, hi = padded_log_range(np.concatenate([n, [tau]]), pad=1.5)
    edges = np.geomspace(lo, hi, 41)
    counts, _ = np.histogram(n, bins=edges)
    centre = np.sqrt(edges[:-1] * edges[1:])
    hist = Figure(x_range=(lo, hi), y_range=(0.0, max(1.0, float(counts.max())) * 1.15),
                  x_log=True, x_label="gradient norm (log scale)", y_label="steps",
                  title="Distribution of the logged norms", legend=True, width=480, height=300,
                  alt=(f"Histogram of {steps} gradient norms with percentile lines and the "
                       f"chosen threshold {fmt_number(tau)}."))
    hist.rects(edges[:-1], edges[1:], np.zeros_like(counts), counts,
               fill=["danger" if c > tau else "s0" for c in centre])
    styles = {"p50": ("muted", [2, 3]), "p90": ("muted", [6, 3]), "p99": ("muted", [10, 3, 2, 3]),
              "autoclip": ("s2", [4, 3]), "zclip": ("s1", [4, 3])}
    for rule, (color, dash) in styles.items():
        x = sugg[rule].tau
        if math.isfinite(x) and lo < x < hi:
            hist.vline(x, color=color, width=1.5, dash=dash, label=_SUGGESTION_LABELS[rule])
    hist.vline(tau, color="fg", width=2.5, label=f"your τ = {fmt_number(tau)}")

    t = np.arange(steps)
    series = Figure(x_range=(0, steps), y_range=(lo, hi), y_log=True, x_label="step",
                    y_label="gradient norm", title="The same norms in order", legend=True,
                    width=480, height=260, alt="The gradient norms per step with the threshold.")
    series.line(t, n, color="muted", width=1.0, hover=True, hover_names=("step", "norm"))
    series.points(t[above], n[above], color="danger", size=2.5, label="would be clipped")
    series.hline(tau, color="fg", width=2.0, label="τ")

    k = int(above.sum())
    res: dict[str, dict[str, str]] = {
        "clipped": result(k / steps, f"{100 * k / steps:.1f}% ({k} of {steps} steps)"),
        "spikes_caught": result(int((above & s.spike).sum()),
                                f"{int((above & s.spike).sum())} of {int(s.spike.sum())}"),
    }
    for rule in ("p50", "p90", "p95", "p99", "autoclip", "zclip"):
        x = sugg[rule]
        res[rule] = result(x.tau, f"{fmt_number(x.tau)} (clips {100 * x.fraction_clipped:.1f}%)")
    return DemoOutput(
        figures={"hist": hist.to_dict(), "series": series.to_dict()}, results=res,
        description=(f"A threshold of {fmt_number(tau)} would clip {k} of {steps} steps; the "
                     f"median norm is {fmt_number(sugg['p50'].tau)} and the 99th percentile "
                     f"{fmt_number(sugg['p99'].tau)}."),
    )


register(DemoSpec(
    name="tau_from_norms",
    title="Choose τ from the norms you observed",
    params=(Param("tau", "float", 3.0, "Your threshold τ", min=0.05, max=500.0, log=True),)
    + _series_params(400),
    compute=_compute_tau_from_norms,
    results=(("clipped", "Steps your τ clips"), ("spikes_caught", "Spikes it catches"),
             ("p50", "Median"), ("p90", "90th percentile"), ("p95", "95th percentile"),
             ("p99", "99th percentile"), ("autoclip", "AutoClip (p = 10), last step"),
             ("zclip", "ZClip limit, last step")),
    figures=(("hist", "Bars right of your τ are the steps it would clip. Dashed lines: "
                      "percentiles and the adaptive rules' final thresholds."),
             ("series", "Each logged norm in order; the marked points exceed τ.")),
))
