"""Teaching demos on one gradient: clipped by norm or by value, and over several tensors.

Registered here (see :mod:`gradclip.demos.teaching` for the other teaching demos):

``clip_vector``          a draggable 2-D gradient, clipped by norm and by value
``global_norm_tensors``  global-norm, per-tensor and value clipping of several tensors
``clip_bias``            clipping biases the average of noisy batch gradients

>>> angle_degrees(np.array([1.0, 2.0]), np.array([2.5, 5.0]))
0.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradclip.checks import choice, integer, real, real_array
from gradclip.clipping import (angle_degrees, clip_by_global_norm, clip_by_norm, clip_by_norm_per_tensor,
                               clip_by_value, clip_grad_value, global_norm, _norm_scale)
from gradclip.demos import DemoOutput, DemoSpec, Param, register, result
from gradclip.figures import Figure
from gradclip.figures.helpers import padded_log_range
from gradclip.figures.numbers import fmt_number, vector_text

__all__ = ["angle_degrees", "example_gradients", "batch_gradients", "clipping_bias"]


# ---------------------------------------------------------------------------------------
# 2. Theory: one 2-D gradient, clipped two ways
# ---------------------------------------------------------------------------------------

_PLANE = 8.0  # the drag area is [-8, 8]²: large enough for gradients well outside the ball


def _compute_clip_vector(p: dict[str, Any]) -> DemoOutput:
    g = np.array([float(p["gx"]), float(p["gy"])])
    tau, lr = float(p["tau"]), float(p["lr"])
    by_norm = clip_by_norm(g, tau)
    by_value = clip_by_value(g, tau)
    raw_norm = float(np.linalg.norm(g))
    norm_n, value_n = float(np.linalg.norm(by_norm)), float(np.linalg.norm(by_value))
    a_norm, a_value = angle_degrees(g, by_norm), angle_degrees(g, by_value)
    fig = Figure(x_range=(-_PLANE, _PLANE), y_range=(-_PLANE, _PLANE), aspect_equal=True,
                 width=420, height=420, x_label="g₁", y_label="g₂", legend=True,
                 title="Drag the gradient g",
                 alt=(f"The gradient ({fmt_number(g[0])}, {fmt_number(g[1])}) with the ball and "
                      f"box of size {fmt_number(tau)} and its two clipped versions."))
    fig.hline(0.0, color="grid", width=1.0).vline(0.0, color="grid", width=1.0)
    fig.circle(0.0, 0.0, tau, color="s0", dash=[5, 4])
    fig.line([-tau, tau, tau, -tau, -tau], [-tau, -tau, tau, tau, -tau], color="s1",
             width=1.5, dash=[2, 3], label="box |gᵢ| ≤ τ")
    fig.arrow(0.0, 0.0, g[0], g[1], color="fg", width=2.0, label="raw g")
    fig.arrow(0.0, 0.0, by_value[0], by_value[1], color="s1", width=3.0, label="clipped by value")
    fig.arrow(0.0, 0.0, by_norm[0], by_norm[1], color="s0", width=3.0, label="clipped by norm")
    fig.text(tau * 0.72, -tau * 0.72 - 0.5, "‖g‖ = τ", color="s0", anchor="start", size=11)
    fig.handle(g[0], g[1], ("gx", "gy"))
    clipped = "yes" if raw_norm > tau else "no"
    return DemoOutput(
        figures={"plane": fig.to_dict()},
        results={
            "raw_norm": result(raw_norm),
            "clipped": result(raw_norm > tau, clipped),
            "norm_vec": result(vector_text(by_norm)),
            "norm_norm": result(norm_n),
            "value_vec": result(vector_text(by_value)),
            "value_norm": result(value_n),
            "angle_norm": result(a_norm, f"{fmt_number(a_norm)}°"),
            "angle_value": result(a_value, f"{fmt_number(a_value)}°"),
            "step_norm": result(lr * norm_n),
            "step_value": result(lr * value_n),
            "step_bound": result(lr * tau),
        },
        description=(f"Gradient of norm {fmt_number(raw_norm)} with threshold {fmt_number(tau)}: "
                     f"clipping by norm gives {vector_text(by_norm)} at 0 degrees; clipping by "
                     f"value gives {vector_text(by_value)}, turned by {fmt_number(a_value)} degrees."),
    )


register(DemoSpec(
    name="clip_vector",
    title="Clip by norm and clip by value, side by side",
    params=(
        Param("tau", "float", 2.0, "Threshold τ", min=0.2, max=6.0, step=0.05),
        Param("lr", "float", 0.1, "Learning rate η", min=0.001, max=1.0, log=True,
              help="Only scales the step lengths in the results."),
        Param("gx", "hidden", 6.0, "g₁", min=-_PLANE, max=_PLANE),
        Param("gy", "hidden", 2.5, "g₂", min=-_PLANE, max=_PLANE),
    ),
    compute=_compute_clip_vector,
    results=(("raw_norm", "Raw norm ‖g‖"), ("clipped", "Above τ?"),
             ("norm_vec", "Clipped by norm"), ("norm_norm", "Norm after norm clipping"),
             ("angle_norm", "Turn by norm clipping"),
             ("value_vec", "Clipped by value"), ("value_norm", "Norm after value clipping"),
             ("angle_value", "Turn by value clipping"),
             ("step_norm", "Step length, norm clipping"),
             ("step_value", "Step length, value clipping"), ("step_bound", "Bound ητ")),
    figures=(("plane", "Dashed circle: the ball ‖g‖ ≤ τ. Dotted square: the box "
                       "|gᵢ| ≤ τ. Drag the tip of the raw gradient g."),),
))


# ---------------------------------------------------------------------------------------
# 2b. Theory: global norm over several tensors
# ---------------------------------------------------------------------------------------

_TENSORS = (("embedding", (8, 4), 0.10), ("hidden", (16, 16), 0.05), ("output", (4, 8), 0.09))


def example_gradients(spike: float = 1.0, seed: int = 0) -> list[np.ndarray]:
    """Three gradient tensors of a small network; the hidden layer's is multiplied by ``spike``.

    Entries are drawn from :math:`N(0, s_j^2)` with a fixed scale :math:`s_j` per tensor, so
    without a spike the tensors' norms are about 0.57, 0.8 and 0.51.

    >>> [g.shape for g in example_gradients()]
    [(8, 4), (16, 16), (4, 8)]
    """
    if not spike > 0:
        raise ValueError(f"spike must be > 0, got {spike!r}")
    rng = np.random.default_rng(seed)
    grads = [rng.normal(scale=s, size=shape) for _, shape, s in _TENSORS]
    grads[1] = grads[1] * spike
    return grads


def _cosine(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    va = np.concatenate([x.ravel() for x in a])
    vb = np.concatenate([x.ravel() for x in b])
    den = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb) / den if den > 0 else 1.0


def _compute_global_norm(p: dict[str, Any]) -> DemoOutput:
    tau, spike, value = float(p["tau"]), float(p["spike"]), float(p["clip_value"])
    raw = example_gradients(spike, int(p["seed"]))
    rules = {
        "raw": raw,
        "global": clip_by_global_norm(raw, tau),
        "per_tensor": clip_by_norm_per_tensor(raw, tau),
        "value": clip_grad_value(raw, value),
    }
    labels = {"raw": "raw gradient", "global": "global norm ≤ τ",
              "per_tensor": "each tensor ≤ τ", "value": "each entry ≤ clip value"}
    colors = {"raw": "fg", "global": "s0", "per_tensor": "s2", "value": "s1"}
    norms = {k: np.array([np.linalg.norm(g) for g in v]) for k, v in rules.items()}
    x = np.arange(1, len(_TENSORS) + 1)
    y_range = padded_log_range(np.concatenate([*norms.values(), [tau]]), pad=3.0)
    # (0.3, 3.9) at this width gives ticks at exactly 1, 2, 3, under the three tensors.
    fig = Figure(x_range=(0.3, len(_TENSORS) + 0.9), y_range=y_range, y_log=True,
                 x_label="tensor", y_label="norm of the tensor's gradient", legend=True,
                 title="Per-tensor norms before and after clipping",
                 alt=(f"Norms of three gradient tensors with a hidden-layer spike of "
                      f"{fmt_number(spike)}, raw and after three clipping rules."))
    fig.hline(tau, color="muted", width=1.0, dash=[5, 4], label="τ")
    for k, n in norms.items():
        fig.line(x, n, color=colors[k], width=2.5 if k != "raw" else 2.0, label=labels[k],
                 dash=[6, 3] if k == "raw" else None, hover=True, hover_names=("tensor", "norm"))
        fig.points(x, n, color=colors[k], size=4.0)
    for i, (name, _, _) in enumerate(_TENSORS):
        fig.text(i + 1, y_range[0] * 1.3, name, color="muted", anchor="middle", size=11)
    g_raw = float(global_norm(raw))
    scale = min(1.0, tau / g_raw) if g_raw > 0 else 1.0
    res = {
        "global_raw": result(g_raw),
        "scale": result(scale),
    }
    for k in ("global", "per_tensor", "value"):
        res[f"norm_{k}"] = result(float(global_norm(rules[k])))
        res[f"cos_{k}"] = result(_cosine(raw, rules[k]), f"{_cosine(raw, rules[k]):.4f}")
    return DemoOutput(
        figures={"tensors": fig.to_dict()}, results=res,
        description=(f"Raw global norm {fmt_number(g_raw)}; global clipping keeps the direction "
                     f"(cosine {res['cos_global']['text']}), per-tensor clipping gives cosine "
                     f"{res['cos_per_tensor']['text']}, value clipping {res['cos_value']['text']}."),
    )


register(DemoSpec(
    name="global_norm_tensors",
    title="One norm for all tensors, or one per tensor?",
    params=(
        Param("spike", "float", 20.0, "Spike in the hidden layer (×)", min=0.1, max=1000.0,
              log=True, help="Multiplies the hidden layer's gradient."),
        Param("tau", "float", 1.0, "Norm threshold τ", min=0.05, max=20.0, log=True),
        Param("clip_value", "float", 0.1, "Value threshold", min=0.005, max=2.0, log=True,
              help="For clipping by value: each entry is clamped to ± this."),
        Param("seed", "int", 0, "Random seed", min=0, max=999, step=1),
    ),
    compute=_compute_global_norm,
    results=(("global_raw", "Raw global norm"), ("scale", "Global factor min(1, τ/‖g‖)"),
             ("norm_global", "Global norm after global clipping"),
             ("cos_global", "Cosine to raw: global"),
             ("norm_per_tensor", "Global norm after per-tensor clipping"),
             ("cos_per_tensor", "Cosine to raw: per tensor"),
             ("norm_value", "Global norm after value clipping"),
             ("cos_value", "Cosine to raw: by value")),
    figures=(("tensors", "On a log axis, global clipping moves the raw profile down without "
                         "changing its shape; the other rules reshape it."),),
))


# ---------------------------------------------------------------------------------------
# 2c. Theory: clipping biases the average gradient
# ---------------------------------------------------------------------------------------

_ORDINARY_MEAN = np.array([1.0, 0.0])   # the ordinary batches' average gradient
_ORDINARY_SPREAD = 0.5                  # standard deviation of each of its coordinates
_SPIKE_DIRECTION = np.array([math.cos(math.radians(60.0)), math.sin(math.radians(60.0))])
_BIAS_SAMPLES = 40_000                  # batches drawn: enough for three significant digits
SPIKE_KINDS = ("aligned", "symmetric")


def batch_gradients(spike_rate: float = 0.03, spike_size: float = 20.0, kind: str = "aligned",
                    samples: int = _BIAS_SAMPLES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stochastic gradients of one parameter vector: ordinary batches and rare bad ones.

    .. math::

        g = \\mu + s\\,z \\ \\text{(ordinary)}, \\qquad g = \\mu + a\\,u \\ \\text{(bad batch, probability } p)

    with :math:`\\mu = (1, 0)`, :math:`s = 0.5`, :math:`z \\sim N(0, I_2)`, a spike length
    :math:`a = \\text{spike\\_size} \\cdot U(0.5, 1.5)` and :math:`u` the unit vector at 60°
    (``kind="aligned"``: every bad batch pulls the same way) or :math:`\\pm u` with equal
    probability (``"symmetric"``: the bad batches cancel on average).

    Returns
    -------
    g : ndarray, shape (samples, 2)
    spike : ndarray of bool, shape (samples,)

    Examples
    --------
    >>> g, spike = batch_gradients(spike_rate=0.0, samples=4)
    >>> g.shape, bool(spike.any())
    ((4, 2), False)
    """
    spike_rate = real(spike_rate, "spike_rate", 0, 1)
    spike_size = real(spike_size, "spike_size", 0)
    kind = choice(kind, "kind", SPIKE_KINDS)
    samples = integer(samples, "samples", 1, 10_000_000)
    rng = np.random.default_rng(integer(seed, "seed", 0))
    ordinary = _ORDINARY_MEAN + _ORDINARY_SPREAD * rng.normal(size=(samples, 2))
    spike = rng.random(samples) < spike_rate
    length = spike_size * rng.uniform(0.5, 1.5, size=samples)
    sign = np.where(rng.random(samples) < 0.5, -1.0, 1.0) if kind == "symmetric" else 1.0
    bad = _ORDINARY_MEAN + (sign * length)[:, None] * _SPIKE_DIRECTION
    return np.where(spike[:, None], bad, ordinary), spike


def clip_factors(norms: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """:math:`\\min(1, \\tau/\\lVert g\\rVert)` for every threshold (rows) and gradient (columns):
    :func:`gradclip.clip_by_norm`'s own factor, as a matrix (a slider's hot path: one
    ``(thresholds, samples)`` array, three times faster than clipping every sample for every
    threshold)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _norm_scale(norms[None, :], np.asarray(taus, dtype=float)[:, None], special=False)


def clipping_bias(g: np.ndarray, taus: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean clipped gradient and the clip rate for each threshold, from samples ``g``.

    .. math::

        \\mathbb{E}[\\hat g] - \\mathbb{E}[g] = -\\,\\mathbb{E}\\Bigl[\\Bigl(1 - \\frac{\\tau}{\\lVert g\\rVert}\\Bigr)_{+} g\\Bigr]

    which is zero when no gradient is longer than :math:`\\tau` and, in general, not otherwise.

    Returns
    -------
    mean_clipped : ndarray, shape (len(taus), 2)
    clip_rate : ndarray, shape (len(taus),)
        The fraction of samples longer than :math:`\\tau`.
    bias : ndarray, shape (len(taus), 2)
        ``mean_clipped`` minus the mean of ``g``.

    Examples
    --------
    >>> g = np.array([[3.0, 4.0], [0.3, 0.4]])
    >>> mean, rate, bias = clipping_bias(g, [1.0])
    >>> mean.round(3).tolist(), rate.tolist()
    ([[0.45, 0.6]], [0.5])
    """
    g = real_array(g, "g", finite=True, ndim=(2,), empty=False, shape_text="(samples, d)")
    taus = np.atleast_1d(real_array(taus, "taus", lo=0, ndim=(0, 1), empty=False,
                                    shape_text="() or (k,)"))
    norms = np.linalg.norm(g, axis=1)
    # The bias from the formula (the excess that clipping removes), so that it is exactly zero
    # when nothing is clipped, rather than the rounding noise of a difference of two means.
    bias = -((1.0 - clip_factors(norms, taus)) @ g) / len(g)
    return g.mean(axis=0) + bias, (norms[None, :] > taus[:, None]).mean(axis=1), bias


def _bias_plane(g: np.ndarray, spike: np.ndarray, tau: float, raw: np.ndarray, clipped: np.ndarray) -> Figure:
    """The clipped batch gradients (a sample of them), the ball of radius τ and the two means."""
    half = 1.15 * max(2.0, min(tau, 8.0), float(np.linalg.norm(raw)), float(np.linalg.norm(clipped)))
    fig = Figure(x_range=(-half, half), y_range=(-half, half), aspect_equal=True, width=420,
                 height=420, x_label="g₁", y_label="g₂", legend=True,
                 title="Clipped batch gradients and their average",
                 alt=(f"Batch gradients clipped to norm {fmt_number(tau)}, with the average raw "
                      f"gradient {vector_text(raw)} and the average clipped gradient {vector_text(clipped)}."))
    fig.hline(0.0, color="grid", width=1.0).vline(0.0, color="grid", width=1.0)
    fig.circle(0.0, 0.0, tau, color="s0", dash=[5, 4])
    shown = clip_by_norm(g[:600], tau, axis=-1)     # enough points to see the cloud
    ordinary, bad = shown[~spike[:600]], shown[spike[:600]]
    fig.points(ordinary[:, 0], ordinary[:, 1], color="muted", size=1.5, label="ordinary batch, after clipping")
    if len(bad):
        fig.points(bad[:, 0], bad[:, 1], color="danger", size=3.0, label="bad batch, after clipping")
    fig.arrow(0.0, 0.0, raw[0], raw[1], color="fg", width=2.5, label="average raw gradient")
    fig.arrow(0.0, 0.0, clipped[0], clipped[1], color="s0", width=3.0, label="average clipped gradient")
    return fig


def _bias_sweep(g: np.ndarray, tau: float) -> Figure:
    """Clip rate and relative bias against the threshold, on a log axis."""
    taus = np.geomspace(0.2, 60.0, 61)
    mean_clipped, rate, bias = clipping_bias(g, taus)
    rel = np.linalg.norm(bias, axis=1) / np.linalg.norm(g.mean(axis=0))
    fig = Figure(x_range=(0.2, 60.0), y_range=(0.0, 105.0), x_log=True, x_label="threshold τ",
                 y_label="percent", legend=True, width=480, height=280,
                 title="Bias and clip rate against τ",
                 alt="The share of batches clipped and the size of the bias both fall to zero "
                     "only as τ passes the longest batch gradient.")
    fig.line(taus, 100 * rate, color="s1", width=2.0, label="batches clipped", hover=True,
             hover_names=("τ", "% clipped"))
    fig.line(taus, 100 * rel, color="s0", width=2.5, label="bias, % of the average's length",
             hover=True, hover_names=("τ", "bias %"))
    fig.vline(tau, color="fg", width=1.5, dash=[4, 3], label="your τ")
    return fig


def _compute_clip_bias(p: dict[str, Any]) -> DemoOutput:
    tau = float(p["tau"])
    g, spike = batch_gradients(float(p["spike_rate"]), float(p["spike_size"]), p["spikes"],
                               seed=int(p["seed"]))
    raw = g.mean(axis=0)
    mean_clipped, rate, bias = clipping_bias(g, tau)
    clipped, rate, bias = mean_clipped[0], float(rate[0]), bias[0]
    raw_n, clip_n = float(np.linalg.norm(raw)), float(np.linalg.norm(clipped))
    rel = float(np.linalg.norm(bias)) / raw_n
    turn = angle_degrees(raw, clipped, decimals=6)
    ordinary_rate = float((np.linalg.norm(g[~spike], axis=1) > tau).mean()) if (~spike).any() else 0.0
    return DemoOutput(
        figures={"plane": _bias_plane(g, spike, tau, raw, clipped).to_dict(),
                 "sweep": _bias_sweep(g, tau).to_dict()},
        results={
            "clip_rate": result(rate, f"{100 * rate:.1f}%"),
            "ordinary_clipped": result(ordinary_rate, f"{100 * ordinary_rate:.1f}%"),
            "mean_raw": result(vector_text(raw)),
            "mean_clipped": result(vector_text(clipped)),
            "length_ratio": result(clip_n / raw_n),
            "angle": result(turn, f"{fmt_number(turn)}°"),
            "rel_bias": result(rel, f"{100 * rel:.0f}%"),
        },
        description=(f"Clipping {100 * rate:.1f}% of the batches at τ = {fmt_number(tau)} turns the "
                     f"average gradient by {fmt_number(turn)} degrees and scales its length by "
                     f"{fmt_number(clip_n / raw_n)}."),
    )


register(DemoSpec(
    name="clip_bias",
    title="Clipping biases the average gradient",
    params=(
        Param("tau", "float", 3.0, "Threshold τ", min=0.2, max=60.0, log=True),
        Param("spike_rate", "float", 0.03, "Bad batches (share)", min=0.0, max=0.2, step=0.005,
              help="The probability that a batch is a bad one, with a long gradient."),
        Param("spike_size", "float", 20.0, "Bad batch length", min=2.0, max=100.0, log=True,
              help="How long a bad batch's extra pull is (each one 0.5 to 1.5 times this)."),
        Param("spikes", "choice", "aligned", "Bad batches pull",
              choices=(("aligned", "all the same way"), ("symmetric", "both ways, equally often"))),
        Param("seed", "int", 0, "Random seed", min=0, max=999, step=1),
    ),
    compute=_compute_clip_bias,
    results=(("clip_rate", "Batches clipped"), ("ordinary_clipped", "Ordinary batches clipped"),
             ("mean_raw", "Average raw gradient"), ("mean_clipped", "Average clipped gradient"),
             ("length_ratio", "Length, clipped ÷ raw"), ("angle", "Turn of the average"),
             ("rel_bias", "Bias, share of the average's length")),
    figures=(("plane", "Dots: batch gradients after clipping (the ordinary ones grey, the bad "
                       "ones red, on the dashed circle of radius τ); arrows: the two averages."),
             ("sweep", "How many batches are clipped and how large the bias is, for every τ; "
                       "the dashed line is your τ.")),
))
