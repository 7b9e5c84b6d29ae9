"""Demos for the teaching pages (Learn: why gradients explode, theory, conversation, FAQ).

The teaching demos live in three modules, one per group:

* this one, why gradients explode: ``jacobian_product`` (norm of a product of recurrent
  Jacobians against sequence length) and ``rnn_cliff`` (the one-unit RNN loss surface of
  Pascanu et al. with plain and clipped descent);
* :mod:`gradclip.demos.teaching_theory`, one gradient clipped: ``clip_vector``,
  ``global_norm_tensors``;
* :mod:`gradclip.demos.teaching_rules`, the rules compared: ``cliff_methods``, ``agc_units``,
  ``adaptive_thresholds``, ``tau_from_norms``.

Each demo is a :class:`~gradclip.demos.DemoSpec` registered at import. The numerical
work lives in small pure functions (arrays in, arrays or dataclasses out) so the tests can
check them directly; the ``_compute_*`` functions only turn their results into display
lists and result fields. This module also re-exports the other two modules' public
functions, their older import path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradclip.demos import DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.run_figures import batch_verdict_text
from gradclip.demos.teaching_rules import NormSeries, example_layer, synthetic_norms  # noqa: F401 - re-exported
from gradclip.demos.teaching_theory import angle_degrees, example_gradients  # noqa: F401 - re-exported
from gradclip.figures import Figure
from gradclip.figures.helpers import padded_log_range
from gradclip.figures.landscape import TEACHING_SURFACE, add_landscape
from gradclip.figures.numbers import fmt_number, prose_number
from gradclip.figures.numbers import vector_text as _vec_text  # noqa: F401 - the tests' name
from gradclip.figures.paths import finite_path
from gradclip.landscapes import LANDSCAPES
from gradclip.simulate import simulate_batch

__all__ = [
    "JacobianProducts", "jacobian_product_norms", "recurrent_matrices", "angle_degrees",
    "NormSeries", "synthetic_norms", "example_gradients", "example_layer",
]


# ---------------------------------------------------------------------------------------
# Pure numerical helpers
# ---------------------------------------------------------------------------------------

MATRIX_KINDS = ("orthogonal", "gaussian")


def recurrent_matrices(rho: float, hidden: int, runs: int, kind: str = "orthogonal",
                       seed: int = 0) -> np.ndarray:
    """Random recurrent matrices with spectral radius exactly ``rho``.

    ``orthogonal``: :math:`W = \\rho Q` with :math:`Q` a random orthogonal matrix, so every
    singular value of :math:`W` equals :math:`\\rho` and :math:`\\lVert W^k\\rVert_2 = \\rho^k`.
    ``gaussian``: :math:`W = \\rho A / \\rho(A)` with :math:`A_{ij} \\sim N(0, 1/n)`; its
    spectral norm exceeds its spectral radius, so products can grow for a while even when
    :math:`\\rho < 1` (a non-normal transient).

    Parameters
    ----------
    rho : float
        Spectral radius, > 0.
    hidden : int
        Matrix size n, >= 1.
    runs : int
        Number of independent matrices, >= 1.
    kind : {"orthogonal", "gaussian"}
    seed : int

    Returns
    -------
    ndarray of shape (runs, hidden, hidden)

    Examples
    --------
    >>> W = recurrent_matrices(0.9, 4, 2, "gaussian", seed=1)
    >>> np.round(np.abs(np.linalg.eigvals(W)).max(axis=1), 6)
    array([0.9, 0.9])
    """
    if not rho > 0:
        raise ValueError(f"rho must be > 0, got {rho!r}")
    if hidden < 1:
        raise ValueError(f"hidden must be >= 1, got {hidden!r}")
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs!r}")
    if kind not in MATRIX_KINDS:
        raise ValueError(f"kind must be one of {', '.join(MATRIX_KINDS)}, got {kind!r}")
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(runs, hidden, hidden)) / math.sqrt(hidden)
    if kind == "orthogonal":
        q, r = np.linalg.qr(a)
        # Fixing the signs of R's diagonal makes Q uniformly (Haar) distributed.
        q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
        return rho * q
    radius = np.abs(np.linalg.eigvals(a)).max(axis=1)
    return rho * a / radius[:, None, None]


@dataclass(frozen=True)
class JacobianProducts:
    """Norms of backpropagated Jacobian products.

    Attributes
    ----------
    steps : ndarray of int, shape (m,)
        The numbers of time steps k at which the norm was measured (1 .. length).
    norms : ndarray, shape (runs, m)
        :math:`\\lVert \\partial h_T / \\partial h_{T-k} \\rVert_2` for each run and each k.
    rho : float
        The spectral radius used.
    """

    steps: np.ndarray
    norms: np.ndarray
    rho: float

    @property
    def median(self) -> np.ndarray:
        """The median over runs at each measured k."""
        return np.median(self.norms, axis=0)


def jacobian_product_norms(rho: float, length: int, *, hidden: int = 16, runs: int = 6,
                           kind: str = "orthogonal", tanh: bool = False,
                           input_scale: float = 1.0, seed: int = 0,
                           max_points: int = 40) -> JacobianProducts:
    """Spectral norm of the product of recurrent Jacobians, as backpropagation through time forms it.

    For the recurrence :math:`h_t = \\sigma(W h_{t-1} + x_t)` the chain rule gives

    .. math::

        \\frac{\\partial h_T}{\\partial h_{T-k}} = \\prod_{t=T-k+1}^{T} J_t,\\qquad
        J_t = \\operatorname{diag}(\\sigma'(a_t))\\, W,

    with :math:`\\sigma` the identity (``tanh=False``, so :math:`J_t = W`) or :math:`\\tanh`
    (``tanh=True``, so :math:`\\sigma' = 1 - h_t^2 \\le 1`). Inputs :math:`x_t` are drawn
    from :math:`N(0, \\text{input\\_scale}^2)`. All runs are computed together.

    Parameters
    ----------
    rho : float
        Spectral radius of W, > 0.
    length : int
        Sequence length T, 1 .. 2000.
    hidden, runs, kind, seed
        See :func:`recurrent_matrices`.
    tanh : bool
        Include the derivative of a tanh nonlinearity.
    input_scale : float
        Standard deviation of the inputs (tanh only), >= 0.
    max_points : int
        The norm is measured at no more than this many values of k (evenly spread,
        always including k = 1 and k = T); products are still formed at every step.

    Returns
    -------
    JacobianProducts

    Examples
    --------
    A scaled orthogonal matrix without a nonlinearity grows exactly like :math:`\\rho^k`:

    >>> out = jacobian_product_norms(1.1, 10, hidden=4, runs=2)
    >>> bool(np.allclose(out.norms[:, -1], 1.1 ** 10))
    True
    """
    if not 1 <= length <= 2000:
        raise ValueError(f"length must be in 1 .. 2000, got {length!r}")
    if input_scale < 0:
        raise ValueError(f"input_scale must be >= 0, got {input_scale!r}")
    if max_points < 2:
        raise ValueError(f"max_points must be >= 2, got {max_points!r}")
    w = recurrent_matrices(rho, hidden, runs, kind, seed)
    deriv = _tanh_derivatives(w, length, input_scale, np.random.default_rng(seed + 1)) if tanh else None
    steps = np.unique(np.linspace(1, length, min(length, max_points)).round().astype(int))
    prods = _backward_products(w, deriv, steps, length)
    return JacobianProducts(steps=steps, norms=_spectral_norms(prods), rho=float(rho))


def _tanh_derivatives(w: np.ndarray, length: int, input_scale: float, rng: np.random.Generator) -> np.ndarray:
    """Forward pass of :math:`h_t = \\tanh(W h_{t-1} + x_t)`: :math:`\\sigma'(a_t) = 1 - h_t^2`,
    shape ``(length, runs, hidden)`` (the Jacobian at step t needs the activation h_t)."""
    runs, hidden = w.shape[0], w.shape[1]
    x = rng.normal(scale=input_scale, size=(length, runs, hidden))
    h = np.zeros((runs, hidden))
    deriv = np.empty((length, runs, hidden))
    for t in range(length):
        h = np.tanh((w @ h[:, :, None])[:, :, 0] + x[t])
        deriv[t] = 1.0 - h * h
    return deriv


def _backward_products(w: np.ndarray, deriv: np.ndarray | None, steps: np.ndarray, length: int) -> np.ndarray:
    """The products :math:`J_T J_{T-1} \\cdots J_{T-k+1}` at each k in ``steps``, shape
    ``(runs, len(steps), hidden, hidden)``; ``deriv`` None means no nonlinearity."""
    want = np.zeros(length + 1, dtype=bool)
    want[steps] = True
    prod = np.broadcast_to(np.eye(w.shape[-1]), w.shape).copy()
    kept = []
    # Multiply in J_T first, then J_{T-1}, ... as backpropagation through time does.
    for k in range(1, length + 1):
        j = w if deriv is None else deriv[length - k][:, :, None] * w
        prod = prod @ j
        if want[k]:
            kept.append(prod)
    return np.stack(kept, axis=1)


def _spectral_norms(prods: np.ndarray) -> np.ndarray:
    """:math:`\\lVert P \\rVert_2` of each matrix in the last two axes."""
    # sqrt(largest eigenvalue of PᵀP): eigvalsh of the symmetric product is cheaper than a
    # full SVD and exact enough for a log-scale plot.
    gram = np.swapaxes(prods, -1, -2) @ prods
    return np.sqrt(np.maximum(np.linalg.eigvalsh(gram)[..., -1], 0.0))


# ---------------------------------------------------------------------------------------
# 1. Why gradients explode: the product of Jacobians
# ---------------------------------------------------------------------------------------

def _compute_jacobian_product(p: dict[str, Any]) -> DemoOutput:
    rho, length = float(p["rho"]), int(p["length"])
    # Every k is measured (the results need the step where the median first drops below 1);
    # the figure plots at most 40 of them, which is all a log-scale line needs.
    full = jacobian_product_norms(rho, length, kind=p["matrix"], tanh=bool(p["tanh"]),
                                  input_scale=float(p["inputs"]), seed=int(p["seed"]),
                                  max_points=max(length, 2))
    shown = np.unique(np.linspace(1, length, min(length, 40)).round().astype(int)) - 1
    out = JacobianProducts(steps=full.steps[shown], norms=full.norms[:, shown], rho=full.rho)
    full_median = full.median
    below = np.flatnonzero(full_median < 1.0)
    k = out.steps
    med, lo, hi = out.median, out.norms.min(axis=0), out.norms.max(axis=0)
    ref = rho ** k.astype(float)
    y_range = padded_log_range(np.concatenate([lo, hi, ref, [1.0]]))
    fig = Figure(x_range=(0, max(length, 2)), y_range=y_range, y_log=True,
                 x_label="steps back in time k", y_label="‖∂h_T / ∂h_(T−k)‖₂",
                 title="Norm of the product of k Jacobians", legend=True,
                 alt=f"Log-scale plot of the Jacobian product norm over {length} steps "
                     f"for spectral radius {fmt_number(rho)}.")
    fig.hline(1.0, color="muted", width=1.0, dash=[2, 3])
    fig.line(k, lo, color="s0", width=1.0, dash=[2, 2], label="range over 6 matrices")
    fig.line(k, hi, color="s0", width=1.0, dash=[2, 2])
    fig.line(k, med, color="s0", width=2.5, label="median", hover=True,
             hover_names=("k", "norm"))
    # Drawn last: for an orthogonal W it coincides with the median and must stay visible.
    fig.line(k, ref, color="fg", width=1.5, dash=[6, 4], label="ρᵏ")
    final = float(med[-1])
    rate = final ** (1.0 / length) if final > 0 else 0.0
    if final > 10:
        trend = "explodes"
    elif final < 0.1:
        trend = "vanishes"
    else:
        trend = "stays within 0.1 to 10"
    return DemoOutput(
        figures={"norms": fig.to_dict()},
        results={
            "norm_T": result(final, prose_number(final)),
            "rho_T": result(rho ** length, prose_number(rho ** length)),
            "rate": result(rate),
            "trend": result(trend),
            "norm_first": result(float(full_median[0])),
            "below_one_at": (result(int(full.steps[below[0]]), f"k = {int(full.steps[below[0]])}")
                             if below.size else {"value": "none", "text": "never"}),
        },
        description=(f"With spectral radius {fmt_number(rho)} over {length} steps the median "
                     f"norm of the Jacobian product is {prose_number(final)}: it {trend}."),
    )


register(DemoSpec(
    name="jacobian_product",
    title="Backpropagation through time multiplies Jacobians",
    params=(
        Param("rho", "float", 1.1, "Spectral radius ρ of W", min=0.5, max=2.0, step=0.01,
              help="The largest absolute eigenvalue of the recurrent matrix."),
        Param("length", "int", 60, "Sequence length T", min=1, max=200, step=1,
              help="How many time steps the gradient travels back through."),
        Param("matrix", "choice", "orthogonal", "Recurrent matrix",
              choices=(("orthogonal", "ρ × random orthogonal"),
                       ("gaussian", "random Gaussian, rescaled to radius ρ"))),
        Param("tanh", "bool", False, "Include the tanh derivative",
              help="Multiply each Jacobian by diag(1 − h_t²) from a forward pass."),
        Param("inputs", "float", 0.1, "Input scale (tanh only)", min=0.0, max=1.0, step=0.01,
              help="Standard deviation of the random inputs x_t; larger inputs saturate tanh."),
        Param("seed", "int", 0, "Random seed", min=0, max=999, step=1),
    ),
    compute=_compute_jacobian_product,
    results=(("norm_T", "Median ‖∂h_T/∂h_0‖₂"), ("rho_T", "ρᵀ"),
             ("rate", "Growth factor per step"), ("trend", "The product"),
             ("norm_first", "Median norm after one step"),
             ("below_one_at", "Median first below 1 at")),
    figures=(("norms", "Median and range over six random recurrent matrices; the dashed "
                       "line is ρᵏ."),),
))


# ---------------------------------------------------------------------------------------
# 1b. Why gradients explode: the one-unit RNN cliff
# ---------------------------------------------------------------------------------------

_RNN = "pascanu_rnn"
_RNN_START = (5.25, -3.25)  # from here one plain step on the wall leaves the map (lr 0.05)


def _cliff_slice_figure(land: Any, start: tuple[float, float]) -> Figure:
    """The loss along b at the start's w: the cliff is a jump of the loss over a short b-interval."""
    x0, x1, y0, y1 = land.view
    b = np.linspace(y0, y1, 400)
    with np.errstate(all="ignore"):
        slice_loss = land.value(np.full_like(b, start[0]), b)
    top = float(np.nanmax(slice_loss))
    cut = Figure(x_range=(y0, y1), y_range=(0.0, top * 1.08 if top > 0 else 1.0),
                 x_label="bias b", y_label="loss", width=480, height=240,
                 title=f"Slice at w = {fmt_number(start[0])}",
                 alt="The loss along b at the start's w: a plateau, a sudden drop, a valley.")
    cut.line(b, slice_loss, color="fg", width=2.0, hover=True, hover_names=("b", "loss"))
    cut.vline(start[1], color="start", width=1.5, dash=[4, 3], label="start")
    jump = np.abs(np.diff(np.nan_to_num(slice_loss)))
    if jump.size and jump.max() > 0.2 * top:  # a drop of a fifth of the range in one grid cell
        i = int(jump.argmax())
        cut.text(b[i] + 0.08, 0.5 * (slice_loss[i] + slice_loss[i + 1]), "← the cliff",
                 color="danger", size=12)
    return cut


def _compute_rnn_cliff(p: dict[str, Any]) -> DemoOutput:
    land = LANDSCAPES[_RNN]
    tau, lr, steps = float(p["tau"]), float(p["lr"]), int(p["steps"])
    start = (float(p["w0"]), float(p["b0"]))
    batch = simulate_batch(_RNN, method=["none", "norm"], tau=tau, lr=lr, steps=steps,
                           start=start)
    names = ("plain", "clipped")
    colors = {"plain": "danger", "clipped": "s0"}
    labels = {"plain": "plain gradient descent", "clipped": f"clipped by norm, τ = {fmt_number(tau)}"}
    x0, x1, y0, y1 = land.view
    surf = Figure(x_range=(x0, x1), y_range=(y0, y1), x_label="recurrent weight w",
                  y_label="bias b", title="Loss of the one-unit RNN", legend=True,
                  width=480, height=400,
                  alt=(f"Loss surface over w and b with plain and clipped descent from "
                       f"({fmt_number(start[0])}, {fmt_number(start[1])})."))
    add_landscape(surf, land.name, TEACHING_SURFACE)
    for i, k in enumerate(names):
        px, py = finite_path(batch.positions[i])
        surf.line(px, py, color=colors[k], width=2.0, label=labels[k], marker=(k == "clipped"))
        surf.points(px[1:], py[1:], color=colors[k], size=1.5)
    surf.handle(start[0], start[1], ("w0", "b0"))

    cut = _cliff_slice_figure(land, start)

    norms = Figure(x_range=(0, steps), y_range=(1e-3, 1e3), y_log=True, x_label="step",
                   y_label="raw gradient norm", title="Gradient norm before clipping",
                   legend=True, width=480, height=240,
                   alt="Raw gradient norm per step for both runs, with the threshold τ.")
    raw_all = batch.raw_norms[np.isfinite(batch.raw_norms) & (batch.raw_norms > 0)]
    if raw_all.size:
        norms.y_range = padded_log_range(np.concatenate([raw_all, [tau]]))
    norms.hline(tau, color="muted", width=1.0, dash=[5, 4], label="τ")
    for i, k in enumerate(names):
        norms.line(np.arange(steps), batch.raw_norms[i], color=colors[k], width=1.8,
                   label=k, hover=True, hover_names=("step", "norm"))
        if batch.diverged[i]:
            norms.points(np.arange(steps), batch.raw_norms[i], color=colors[k], size=3.5)

    steps_len = lr * np.nan_to_num(batch.clipped_norms, nan=0.0).max(axis=1)
    res = {
        "plain_max_norm": result(float(batch.max_raw_norm[0])),
        "plain_max_step": result(float(steps_len[0])),
        "plain_outcome": result(str(batch.codes[0]), batch_verdict_text(batch, 0)),
        "clip_max_step": result(float(steps_len[1])),
        "clip_events": result(int(batch.clip_events[1])),
        "clip_outcome": result(str(batch.codes[1]), batch_verdict_text(batch, 1)),
        "step_bound": result(lr * tau),
    }
    return DemoOutput(
        figures={"surface": surf.to_dict(), "slice": cut.to_dict(), "norms": norms.to_dict()},
        results=res,
        description=(f"Plain descent: largest step {res['plain_max_step']['text']}, "
                     f"{res['plain_outcome']['text']}. Clipped descent: largest step "
                     f"{res['clip_max_step']['text']} (bound ητ = {fmt_number(lr * tau)}), "
                     f"{res['clip_outcome']['text']}."),
    )


register(DemoSpec(
    name="rnn_cliff",
    title="The cliff in a one-unit recurrent network",
    params=(
        Param("tau", "float", 1.0, "Threshold τ", min=0.1, max=20.0, log=True),
        Param("lr", "float", 0.05, "Learning rate η", min=0.005, max=0.5, log=True),
        Param("steps", "int", 60, "Steps", min=10, max=300, step=10),
        Param("w0", "hidden", _RNN_START[0], "start w", min=LANDSCAPES[_RNN].view[0],
              max=LANDSCAPES[_RNN].view[1]),
        Param("b0", "hidden", _RNN_START[1], "start b", min=LANDSCAPES[_RNN].view[2],
              max=LANDSCAPES[_RNN].view[3]),
    ),
    compute=_compute_rnn_cliff,
    results=(("plain_max_norm", "Plain: largest gradient norm"),
             ("plain_max_step", "Plain: largest step"),
             ("plain_outcome", "Plain: outcome"),
             ("clip_max_step", "Clipped: largest step"),
             ("step_bound", "Bound ητ"),
             ("clip_events", "Clipped: clip events"),
             ("clip_outcome", "Clipped: outcome")),
    figures=(("surface", "Brighter is higher loss; contour lines crowd where the cliff is. "
                         "Drag the start point."),
             ("slice", "The loss along b through the start point."),
             ("norms", "Raw gradient norm per step, log scale; the dashed line is τ.")),
))
