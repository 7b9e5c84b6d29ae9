"""Adaptive clipping: thresholds that follow the gradients instead of a fixed number.

Three published rules, each as pure functions on arrays:

* **AGC**, adaptive gradient clipping (Brock, De, Smith, Simonyan 2021, the NFNet paper
  *High-Performance Large-Scale Image Recognition Without Normalization*): each unit
  (a row or filter) of a gradient may be at most ``clipping`` times as long as the
  matching unit of its weights. :func:`unitwise_norm` and :func:`adaptive_grad_clip`
  reproduce ``optax.adaptive_grad_clip``.
* **AutoClip** (Seetharaman, Wichern, Pardo, Le Roux 2020, *AutoClip: Adaptive Gradient
  Clipping for Source Separation Networks*): the threshold at each step is a low
  percentile of every gradient norm seen so far. :func:`autoclip_threshold`,
  :func:`autoclip_series` (their home: :mod:`gradclip.autoclip`).
* **ZClip** (Kumar, Owen, Chowdhury, Güra 2025, *ZClip: Adaptive Spike Mitigation for LLM
  Pre-Training*, arXiv:2504.02507): exponential moving averages of the norm's mean and
  variance; a step whose z-score is too high is a spike and is pulled back towards the
  mean. :class:`ZClip` (a frozen state), :func:`zclip_step`, :func:`zclip_series` (their
  home: :mod:`gradclip.zclip`).

:func:`suggest_thresholds` turns a log of gradient norms into candidate thresholds
(percentiles, AutoClip, ZClip), each with how often it would have clipped.

Examples
--------
>>> import numpy as np
>>> autoclip_threshold([1.0, 2.0, 3.0, 4.0, 100.0], percentile=50)
3.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# AutoClip and ZClip live in their own modules; they are re-exported here, the home of
# "adaptive thresholds" in the public API.
from gradclip.autoclip import autoclip_series, autoclip_threshold
from gradclip.checks import real, real_array
from gradclip.clipping import _as_array_list, _normalize_axes
from gradclip.methods import AUTOCLIP_PERCENTILE
from gradclip.norm_logs import check_norms
from gradclip.zclip import ZClip, ZClipSeries, zclip_series, zclip_step

__all__ = [
    "unitwise_norm",
    "adaptive_grad_clip",
    "autoclip_threshold",
    "autoclip_series",
    "ZClip",
    "zclip_step",
    "ZClipSeries",
    "zclip_series",
    "Suggestion",
    "suggest_thresholds",
]

# optax's unitwise_clip divides by max(g_norm, 1e-6) so that a zero gradient unit cannot
# produce 0/0; the branch that uses the quotient is never taken for such a unit anyway.
AGC_DIV_EPS = 1e-6


# --------------------------------------------------------------------------- AGC


def unitwise_norm(x: Any, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    r"""The L2 norm of each *unit* of ``x``, broadcast back to ``x``'s shape (as optax computes it).

    A unit is what one output neuron owns. Without ``axis`` the reduction follows the
    layouts optax assumes (``optax.transforms._clipping.unitwise_norm``):

    ========================================  ===========================
    ``x`` (after squeezing size-1 axes)        norm taken over
    ========================================  ===========================
    scalar or vector                           everything
    2-D (in, out) or 3-D (multi-head linear)   axis 0
    4-D convolution kernel (H, W, in, out)     axes 0, 1, 2
    ========================================  ===========================

    .. math:: \lVert x \rVert_{\text{unit}} = \sqrt{\textstyle\sum_{\text{unit}} x^2}

    Parameters
    ----------
    x : array_like
    axis : int or tuple of int, optional
        Reduce over these axes instead (e.g. ``axis=-1`` for simulator arrays of shape
        ``(runs, 2)``, where each run is one unit).

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``x``.

    Examples
    --------
    >>> unitwise_norm([3.0, 4.0])
    array([5., 5.])
    >>> unitwise_norm([[3.0, 1.0], [4.0, 0.0]])       # one norm per column (output unit)
    array([[5., 1.],
           [5., 1.]])
    """
    a = real_array(x, "x", nan=True)
    with np.errstate(over="ignore", invalid="ignore"):
        sq = a * a
        if axis is not None:
            total = np.sum(sq, axis=_normalize_axes(axis, a.ndim), keepdims=True)
        elif np.squeeze(a).ndim <= 1:
            total = np.sum(sq, keepdims=True)
        elif a.ndim in (2, 3):
            total = np.sum(sq, axis=0, keepdims=True)
        elif a.ndim == 4:
            total = np.sum(sq, axis=(0, 1, 2), keepdims=True)
        else:
            raise ValueError(
                f"x must have 1 to 4 dimensions when axis is None (got shape {a.shape}); "
                "pass axis=... to choose the reduction axes"
            )
    return np.array(np.broadcast_to(np.sqrt(total), a.shape))


def _check_agc_shapes(i: int, g: np.ndarray, p: np.ndarray, lam: np.ndarray) -> None:
    """ValueError unless gradient ``i`` and its weights match and ``lam`` fits them."""
    if g.shape != p.shape:
        raise ValueError(f"grads[{i}] has shape {g.shape} but params[{i}] has shape {p.shape}")
    try:
        fits = np.broadcast_shapes(g.shape, lam.shape) == g.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"clipping of shape {lam.shape} must broadcast to grads[{i}]'s shape {g.shape} "
            "without enlarging it"
        )


def adaptive_grad_clip(
    grads: Any,
    params: Any,
    clipping: Any = 0.01,
    eps: float = 1e-3,
    *,
    axis: int | tuple[int, ...] | None = None,
) -> list[np.ndarray]:
    r"""Adaptive gradient clipping (AGC), exactly as ``optax.adaptive_grad_clip``.

    For every unit (see :func:`unitwise_norm`) of every gradient :math:`G` with weights
    :math:`W`:

    .. math::

        m = \lambda \max(\lVert W\rVert_{\text{unit}}, \epsilon), \qquad
        G \leftarrow \begin{cases} G & \lVert G\rVert_{\text{unit}} < m \\
        G \,\dfrac{m}{\max(\lVert G\rVert_{\text{unit}}, 10^{-6})} & \text{otherwise} \end{cases}

    The threshold scales with the weights, so a layer with large weights may take larger
    steps; ``eps`` keeps zero-initialised weights (biases) from freezing. (Paper: see the
    module docstring; code: optax's ``adaptive_grad_clip`` and ``unitwise_clip``.)

    Parameters
    ----------
    grads, params : list of array_like (or one array each)
        Gradients and the weights they belong to; same number of arrays, same shapes.
    clipping : float or array_like
        :math:`\lambda \ge 0`, the largest allowed ratio of gradient norm to weight norm.
        An array must broadcast to each gradient's shape without enlarging it (one value
        per run with arrays of shape ``(runs, 2)``: pass ``clipping[:, None]``).
    eps : float
        :math:`\epsilon \ge 0`, the smallest weight norm used.
    axis : int or tuple of int, optional
        Passed to :func:`unitwise_norm`.

    Returns
    -------
    list of numpy.ndarray
        New arrays, same shapes and dtypes as ``grads`` (a unit with a NaN entry: all NaN).

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_grad_clip([np.array([3.0, 4.0])], [np.array([6.0, 8.0])], clipping=0.1)
    [array([0.6, 0.8])]
    >>> adaptive_grad_clip([np.array([0.3, 0.4])], [np.array([6.0, 8.0])], clipping=0.1)[0]
    array([0.3, 0.4])
    """
    gs = _as_array_list(grads, "grads")
    ps = _as_array_list(params, "params")
    if len(gs) != len(ps):
        raise ValueError(f"grads and params must have the same length, got {len(gs)} and {len(ps)}")
    lam = real_array(clipping, "clipping", lo=0)
    eps_v = real(eps, "eps", lo=0, finite=False)
    out = []
    for i, (g, p) in enumerate(zip(gs, ps)):
        _check_agc_shapes(i, g, p, lam)
        dt = g.dtype.type
        g_norm = unitwise_norm(g, axis)
        p_norm = unitwise_norm(p.astype(g.dtype, copy=False), axis)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            max_norm = lam.astype(g.dtype) * np.maximum(p_norm, dt(eps_v))
            clipped = g * (max_norm / np.maximum(g_norm, dt(AGC_DIV_EPS)))
        out.append(np.where(g_norm < max_norm, g, clipped).astype(g.dtype, copy=False))
    return out


# --------------------------------------------------------------------------- suggestions


@dataclass(frozen=True)
class Suggestion:
    """One candidate threshold for a log of gradient norms.

    Attributes
    ----------
    rule : str
        ``"p50"``, ``"p90"``, ... (a fixed percentile), ``"autoclip"`` or ``"zclip"``.
    tau : float
        The threshold (for the adaptive rules: its value after the last step; ``inf`` when
        the log is too short for ZClip to leave its warm-up).
    fraction_clipped : float
        Share of the steps in the log that the rule would have clipped.
    steps_clipped : int
        Their number.
    explanation : str
        One or two plain sentences.
    """

    rule: str
    tau: float
    fraction_clipped: float
    steps_clipped: int
    explanation: str


def suggest_thresholds(norms: Any, percentiles: Any = (50, 90, 95, 99), zclip: ZClip | None = None
                       ) -> list[Suggestion]:
    """Candidate clipping thresholds for a log of gradient norms, and how often each would clip.

    One :class:`Suggestion` per percentile of the whole log (a fixed threshold), then
    AutoClip (10th percentile of the norms so far, recomputed each step) and ZClip (default
    settings, or ``zclip``'s), both replayed over the log step by step.

    Parameters
    ----------
    norms : array_like, shape (steps,)
        Gradient norms before clipping, finite and >= 0.
    percentiles : sequence of float
        Each in [0, 100].
    zclip : ZClip, optional
        ZClip's settings for its row (fresh: ``step`` 0), e.g.
        ``ZClip(skip_update_on_spike=True)``; default ``ZClip()``.

    Returns
    -------
    list of Suggestion

    Examples
    --------
    >>> s = suggest_thresholds([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 100.0], percentiles=(90,))
    >>> [(x.rule, x.steps_clipped) for x in s]
    [('p90', 1), ('autoclip', 9), ('zclip', 0)]
    >>> round(s[0].tau, 9)
    18.1
    """
    x = check_norms(norms, "norms", max_ndim=1)
    ps = real_array(percentiles, "percentiles", 0, 100, ndim=1, shape_text="(k,), a list of percentiles").tolist()
    n = len(x)
    out = []
    for p in ps:
        tau = float(np.percentile(x, p))
        k = int(np.sum(x > tau))
        out.append(_suggestion(f"p{p:g}", tau, k, n, (
            f"A fixed threshold at the {p:g}th percentile of this log. It would have "
            f"shortened {k} of {n} gradients; the rest pass unchanged.")))

    auto = autoclip_series(x, AUTOCLIP_PERCENTILE)
    k = int(np.sum(x > auto))
    out.append(_suggestion("autoclip", float(auto[-1]), k, n, (
        "AutoClip recomputes the threshold every step as the 10th percentile of all norms "
        f"so far, so it clips most steps a little. Replayed on this log it clipped {k} of {n}; "
        "tau is its threshold after the last step.")))

    z = zclip_series(x, check_zclip_settings(zclip))
    frozen = zclip is not None and zclip.skip_update_on_spike
    k = int(np.sum(z.clipped))
    warm = z.final_state.warmup_steps
    out.append(_suggestion("zclip", float(z.final_state.limit()), k, n, (
        "ZClip tracks a moving mean and spread of the norm and only pulls back steps whose "
        f"z-score exceeds {z.final_state.z_thresh:g}"
        + (" (its statistics skip the spikes)" if frozen else "")
        + f". It clipped {k} of {n} steps; tau is the spike limit after the last step"
        + ("." if n >= warm else f" (inf: it needs {warm} steps of warm-up and the log has {n})."))))
    return out


def check_zclip_settings(zclip: Any) -> ZClip | None:
    """``zclip`` checked as ZClip settings for a replay from the first step: None or a ZClip at step 0."""
    if zclip is not None and not isinstance(zclip, ZClip):
        raise TypeError(f"zclip must be a ZClip or None, got {type(zclip).__name__}")
    if zclip is not None and zclip.step:
        raise ValueError(f"zclip must be fresh settings (step 0), got a state at step {zclip.step}")
    return zclip


def _suggestion(rule: str, tau: float, k: int, n: int, explanation: str) -> Suggestion:
    """A :class:`Suggestion` that clipped ``k`` of ``n`` steps."""
    return Suggestion(rule=rule, tau=tau, fraction_clipped=k / n, steps_clipped=k,
                      explanation=explanation)
