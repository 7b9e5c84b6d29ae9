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
  :func:`autoclip_series`.
* **ZClip** (Kumar, Owen, Chowdhury, Güra 2025, *ZClip: Adaptive Spike Mitigation for LLM
  Pre-Training*, arXiv:2504.02507): exponential moving averages of the norm's mean and
  variance; a step whose z-score is too high is a spike and is pulled back towards the
  mean. :class:`ZClip` (a frozen state), :func:`zclip_step`, :func:`zclip_series`.

:func:`suggest_thresholds` turns a log of gradient norms into candidate thresholds
(percentiles, AutoClip, ZClip), each with how often it would have clipped.

Examples
--------
>>> import numpy as np
>>> autoclip_threshold([1.0, 2.0, 3.0, 4.0, 100.0], percentile=50)
3.0
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gradclip.clipping import (
    _as_array_list,
    _as_float_array,
    _check_nonneg_array,
    _check_scalar,
    _normalize_axes,
)

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
    a = _as_float_array(x, "x")
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
    steps; ``eps`` keeps zero-initialised weights (biases) from freezing. Reference: Brock,
    De, Smith, Simonyan, *High-Performance Large-Scale Image Recognition Without
    Normalization*, 2021; code: optax/transforms/_clipping.py (``adaptive_grad_clip``,
    ``unitwise_clip``).

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
        New arrays, same shapes and dtypes as ``grads``. A unit with a NaN entry comes
        back all NaN.

    Examples
    --------
    >>> import numpy as np
    >>> adaptive_grad_clip([np.array([3.0, 4.0])], [np.array([6.0, 8.0])], clipping=0.1)
    [array([0.6, 0.8])]
    >>> adaptive_grad_clip([np.array([0.3, 0.4])], [np.array([6.0, 8.0])], clipping=0.1)
    [array([0.3, 0.4])]
    """
    gs = _as_array_list(grads, "grads")
    ps = _as_array_list(params, "params")
    if len(gs) != len(ps):
        raise ValueError(f"grads and params must have the same length, got {len(gs)} and {len(ps)}")
    lam = _check_nonneg_array(clipping, "clipping")
    eps_v = _check_scalar(eps, "eps")
    out = []
    for i, (g, p) in enumerate(zip(gs, ps)):
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
        dt = g.dtype.type
        g_norm = unitwise_norm(g, axis)
        p_norm = unitwise_norm(p.astype(g.dtype, copy=False), axis)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            max_norm = lam.astype(g.dtype) * np.maximum(p_norm, dt(eps_v))
            clipped = g * (max_norm / np.maximum(g_norm, dt(AGC_DIV_EPS)))
        out.append(np.where(g_norm < max_norm, g, clipped).astype(g.dtype, copy=False))
    return out


# --------------------------------------------------------------------------- norm logs


def _check_norms(norms: Any, name: str, *, allow_inf: bool = False, max_ndim: int = 2) -> np.ndarray:
    """Gradient norms as float64 of shape (steps,) or (steps, runs); ValueError naming the problem."""
    a = _as_float_array(norms, name).astype(np.float64, copy=False)
    if a.ndim == 0 or a.ndim > max_ndim:
        shapes = "(steps,)" if max_ndim == 1 else "(steps,) or (steps, runs)"
        raise ValueError(f"{name} must have shape {shapes}, got shape {a.shape}")
    if a.shape[0] == 0 or a.size == 0:
        raise ValueError(f"{name} is empty; at least one gradient norm is needed")
    bad = np.isnan(a) | (a < 0) | (np.isinf(a) if not allow_inf else False)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"{name}[{idx[0]}]" if len(idx) == 1 else f"{name}{list(idx)}"
        allowed = ">= 0 (inf allowed)" if allow_inf else "finite and >= 0"
        raise ValueError(f"{name} must be {allowed}; {where} is {a[idx]}")
    return a


def _check_percentile(percentile: Any, name: str = "percentile") -> float:
    try:
        q = float(percentile)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 100], got {percentile!r}") from None
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"{name} must be in [0, 100], got {percentile!r}")
    return q


def autoclip_threshold(history: Any, percentile: float = 10.0) -> float | np.ndarray:
    r"""AutoClip's threshold: the ``percentile``-th percentile of all gradient norms so far.

    .. math:: \tau_t = \operatorname{percentile}_p\bigl(\lVert g_1\rVert, \dots, \lVert g_t\rVert\bigr)

    AutoClip (Seetharaman, Wichern, Pardo, Le Roux, *AutoClip: Adaptive Gradient Clipping
    for Source Separation Networks*, 2020) appends the current norm to the history first,
    then clips the current gradient to :math:`\tau_t`; the paper's default is
    :math:`p = 10`. Percentiles interpolate linearly, as ``numpy.percentile`` does (the
    reference code calls it).

    Parameters
    ----------
    history : array_like, shape (steps,) or (steps, runs)
        Gradient norms, finite and >= 0.
    percentile : float
        :math:`p \in [0, 100]`.

    Returns
    -------
    float, or numpy.ndarray of shape (runs,)

    Examples
    --------
    >>> autoclip_threshold([4.0, 1.0, 3.0, 2.0], percentile=10.0)
    1.3
    """
    h = _check_norms(history, "history")
    q = _check_percentile(percentile)
    tau = np.percentile(h, q, axis=0)
    return float(tau) if h.ndim == 1 else np.asarray(tau)


def _running_percentile(x: np.ndarray, q: float) -> np.ndarray:
    r"""``percentile(x[:t+1], 100 q)`` for every ``t``, in O(log t) per step with two heaps.

    ``lower`` (a max-heap, stored negated) holds the :math:`k+1` smallest values and
    ``upper`` the rest, where :math:`k = \lfloor h\rfloor`, :math:`h = (n - 1)\,q`, is the
    floor of NumPy's virtual index for ``method="linear"`` after :math:`n` values. As
    :math:`q \le 1`, :math:`k` grows by at most one per step, so a new value costs one or two
    heap operations: into ``upper``, or into ``lower`` with ``lower``'s largest moved across
    (``heapreplace``), and the mirror image when ``lower`` must grow. The answer interpolates
    between the top of ``lower`` and the bottom of ``upper`` exactly as ``numpy.percentile``
    does (same index formula, same two-sided lerp), so it equals NumPy's bit for bit.

    The loop runs on plain Python floats (from ``tolist``): about a microsecond a step,
    where the same arithmetic on NumPy scalars costs several times that.

    Examples
    --------
    >>> _running_percentile(np.array([4.0, 1.0, 3.0, 2.0]), 0.5).tolist()
    [4.0, 2.5, 3.0, 2.5]
    """
    lower: list[float] = []  # negated: lower[0] is minus the largest of the k + 1 smallest
    upper: list[float] = []
    push, replace_top = heapq.heappush, heapq.heapreplace
    out: list[float] = []
    emit = out.append
    size = 0  # len(lower)
    for i, v in enumerate(x.tolist()):  # i = n - 1
        # numpy's virtual index for method="linear", written the same way so that it
        # rounds the same way; 0 <= h <= i as 0 <= q <= 1, so int() is its floor.
        h = i * q
        want = int(h) + 1  # k + 1 values in lower
        if want == size:  # lower keeps its size: v, or lower's largest if v is smaller, goes up
            if v < -lower[0]:
                push(upper, -replace_top(lower, -v))
            else:
                push(upper, v)
        elif want == size + 1:  # lower grows by one: v, or upper's smallest if v is larger
            if upper and v > upper[0]:
                push(lower, -replace_top(upper, v))
            else:
                push(lower, -v)
            size = want
        else:  # never for q <= 1 in exact arithmetic; kept general (k jumps by 2 or more)
            push(upper, v)
            while size < want:
                push(lower, -heapq.heappop(upper))
                size += 1
        a = -lower[0]
        if h >= i or not upper:
            emit(a)
            continue
        b = upper[0]
        t = h - (want - 1)
        diff = b - a
        emit(b - diff * (1.0 - t) if t >= 0.5 else a + diff * t)
    return np.array(out, dtype=np.float64)


def autoclip_series(norms: Any, percentile: float = 10.0) -> np.ndarray:
    r"""AutoClip's threshold at every step of a run: :math:`\tau_t` of :func:`autoclip_threshold`
    for each prefix ``norms[:t+1]`` (the current norm included, as in AutoClip).

    Parameters
    ----------
    norms : array_like, shape (steps,) or (steps, runs)
        Gradient norms before clipping, finite and >= 0.
    percentile : float
        :math:`p \in [0, 100]`.

    Returns
    -------
    numpy.ndarray
        Same shape as ``norms``. Step ``t`` is clipped when ``norms[t] > thresholds[t]``.

    Examples
    --------
    >>> autoclip_series([1.0, 2.0, 30.0, 4.0], percentile=50.0)
    array([1. , 1.5, 2. , 3. ])
    """
    x = _check_norms(norms, "norms")
    q = _check_percentile(percentile) / 100.0
    if x.ndim == 1:
        return _running_percentile(x, q)
    return np.stack([_running_percentile(x[:, r], q) for r in range(x.shape[1])], axis=1)


# --------------------------------------------------------------------------- ZClip


@dataclass(frozen=True)
class ZClip:
    r"""ZClip's settings and running statistics (an immutable value; :func:`zclip_step` returns a new one).

    ZClip (A. Kumar, L. Owen, N. R. Chowdhury, F. Güra, *ZClip: Adaptive Spike Mitigation
    for LLM Pre-Training*, arXiv:2504.02507, 2025; reference code bluorion-com/ZClip,
    ``zclip.py``) keeps exponential
    moving averages of the gradient norm's mean :math:`\mu` and variance :math:`\sigma^2`.
    The first ``warmup_steps`` norms only initialise them (their mean and population
    variance); after that a norm :math:`n` has z-score
    :math:`z = (n - \mu)/(\sigma + \epsilon)` and is a spike when :math:`z > z_{\text{thr}}`.

    ``mode="zscore"`` with ``clip_option="adaptive_scaling"`` (the paper's rule and the
    reference default) pulls a spike back to
    :math:`\bigl(\mu + z_{\text{thr}}^2\,\sigma / z\bigr) \cdot \text{clip\_factor}`:
    the bigger the spike, the closer to the mean. ``clip_option="mean"`` clips it to
    :math:`\mu`. ``mode="percentile"`` clips any norm above :math:`\mu + z_{\text{thr}}\sigma`
    to exactly that value. The statistics are then updated with the clipped norm
    :math:`n'` (the raw one for a normal step), with the *new* mean in the variance term:

    .. math::

        \mu \leftarrow \alpha\mu + (1-\alpha)\,n', \qquad
        \sigma^2 \leftarrow \alpha\sigma^2 + (1-\alpha)\,(n' - \mu)^2

    unless ``skip_update_on_spike`` is set. The reference code also caps every step at a
    fixed ``max_grad_norm`` (1.0 by default); that cap is not part of ZClip itself and is
    left out here (combine with :func:`gradclip.clip_by_norm` if you want it).

    ``mean`` and ``var`` are floats for one run or arrays of shape ``(runs,)`` for many;
    ``step`` counts the norms seen. During warm-up they hold the running mean and
    population variance of the norms so far (Welford's update, equal to the reference's
    two-pass computation up to rounding).

    Examples
    --------
    >>> s = ZClip(warmup_steps=3)
    >>> for n in (1.0, 1.2, 0.8):
    ...     s, tau = zclip_step(s, n)
    >>> s.ready, round(s.mean, 6)
    (True, 1.0)
    """

    alpha: float = 0.97
    z_thresh: float = 2.5
    warmup_steps: int = 25
    eps: float = 1e-6
    mode: str = "zscore"
    clip_option: str = "adaptive_scaling"
    clip_factor: float = 1.0
    skip_update_on_spike: bool = False
    step: int = 0
    mean: Any = 0.0
    var: Any = 0.0

    def __post_init__(self) -> None:
        if not (isinstance(self.alpha, (int, float)) and 0.0 < self.alpha < 1.0):
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")
        if not (isinstance(self.z_thresh, (int, float)) and self.z_thresh > 0 and math.isfinite(self.z_thresh)):
            raise ValueError(f"z_thresh must be a finite number > 0, got {self.z_thresh!r}")
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int) or self.warmup_steps < 1:
            raise ValueError(f"warmup_steps must be an integer >= 1, got {self.warmup_steps!r}")
        _check_scalar(self.eps, "eps", finite=True)
        if self.mode not in ("zscore", "percentile"):
            raise ValueError(f'mode must be "zscore" or "percentile", got {self.mode!r}')
        if self.clip_option not in ("adaptive_scaling", "mean"):
            raise ValueError(f'clip_option must be "adaptive_scaling" or "mean", got {self.clip_option!r}')
        _check_scalar(self.clip_factor, "clip_factor", positive=True, finite=True)
        if isinstance(self.step, bool) or not isinstance(self.step, int) or self.step < 0:
            raise ValueError(f"step must be an integer >= 0, got {self.step!r}")

    @property
    def ready(self) -> bool:
        """True once the warm-up is over and spikes can be detected."""
        return self.step >= self.warmup_steps

    @property
    def std(self) -> Any:
        """The running standard deviation :math:`\\sigma`."""
        return np.sqrt(self.var)

    def limit(self) -> Any:
        """The largest norm that is *not* a spike at the next step (inf during warm-up).

        :math:`\\mu + z_{\\text{thr}}(\\sigma + \\epsilon)` in z-score mode,
        :math:`\\mu + z_{\\text{thr}}\\sigma` in percentile mode.
        """
        if not self.ready:
            return np.full(np.shape(self.mean), np.inf)[()]
        pad = self.eps if self.mode == "zscore" else 0.0
        return self.mean + self.z_thresh * (self.std + pad)


def zclip_step(state: ZClip, norm: Any) -> tuple[ZClip, Any]:
    r"""One ZClip step: the threshold for this step's gradient, and the updated state.

    See :class:`ZClip` for the rule. Pure: ``state`` is not changed.

    Parameters
    ----------
    state : ZClip
    norm : float or array_like of shape (runs,)
        This step's gradient norm(s) before clipping; >= 0, ``inf`` allowed (it counts as
        a spike after the warm-up), NaN not.

    Returns
    -------
    new_state : ZClip
    threshold : float or numpy.ndarray
        The largest norm this step's gradient may keep: pass it as ``max_norm`` to
        :func:`gradclip.clip_by_norm`. It is ``inf`` during the warm-up, the clipped value
        for a spike, and otherwise :meth:`ZClip.limit` (never below ``norm``, so a normal
        step is left alone).

    Examples
    --------
    >>> s = ZClip(warmup_steps=2)
    >>> s, tau = zclip_step(s, 1.0); s, tau = zclip_step(s, 3.0)   # warm-up: mean 2, std 1
    >>> tau
    inf
    >>> s, tau = zclip_step(s, 10.0)                               # z = 8: a spike
    >>> round(tau, 4)                                              # about 2 + 2.5**2 * 1 / 8
    2.7813
    """
    if not isinstance(state, ZClip):
        raise ValueError(f"state must be a ZClip, got {type(state).__name__}")
    n = _as_float_array(norm, "norm").astype(np.float64)
    if n.ndim > 1:
        raise ValueError(f"norm must be a number or an array of shape (runs,), got shape {n.shape}")
    if np.isnan(n).any() or (n < 0).any():
        raise ValueError(f"norm must be >= 0 (inf allowed, NaN not), got {norm!r}")
    if state.step > 0 and np.shape(state.mean) != n.shape:
        raise ValueError(f"norm has shape {n.shape} but this ZClip state tracks shape {np.shape(state.mean)}")

    def out(x: np.ndarray) -> Any:
        return float(x) if x.ndim == 0 else x

    if not state.ready:
        k = state.step + 1
        with np.errstate(invalid="ignore"):
            if state.step == 0:
                mean, var = n.copy(), np.zeros_like(n)
            else:
                # Welford: running mean and population variance of the warm-up norms.
                delta = n - state.mean
                mean = state.mean + delta / k
                var = state.var + (delta * (n - mean) - state.var) / k
        new = replace(state, step=k, mean=out(np.asarray(mean)), var=out(np.asarray(var)))
        return new, out(np.full(n.shape, np.inf))

    mean = np.asarray(state.mean, dtype=np.float64)
    var = np.asarray(state.var, dtype=np.float64)
    std = np.sqrt(var)
    zt = state.z_thresh
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if state.mode == "zscore":
            z = (n - mean) / (std + state.eps)
            spike = z > zt
            if state.clip_option == "adaptive_scaling":
                eta = z / zt  # the reference's name: the bigger the outlier, the harder the pull
                target = (mean + (zt * std) / eta) * state.clip_factor
            else:
                target = mean
            limit = mean + zt * (std + state.eps)
        else:
            limit = mean + zt * std
            spike = n > limit
            target = limit
        effective = np.where(spike, target, n)
        a = state.alpha
        new_mean = a * mean + (1 - a) * effective
        new_var = a * var + (1 - a) * (effective - new_mean) ** 2
    if state.skip_update_on_spike:
        new_mean = np.where(spike, mean, new_mean)
        new_var = np.where(spike, var, new_var)
    threshold = np.where(spike, target, np.maximum(limit, n))
    new = replace(state, step=state.step + 1, mean=out(np.asarray(new_mean)), var=out(np.asarray(new_var)))
    return new, out(np.asarray(threshold, dtype=np.float64))


@dataclass(frozen=True)
class ZClipSeries:
    """ZClip run over a whole series of norms (see :func:`zclip_series`).

    Attributes
    ----------
    threshold : numpy.ndarray
        The threshold of each step (``inf`` during the warm-up); shape of the input.
    clipped : numpy.ndarray of bool
        Steps whose norm was above their threshold.
    clipped_norm : numpy.ndarray
        ``min(norm, threshold)``: the norm after clipping.
    mean, std : numpy.ndarray
        The statistics each step was judged against (NaN during the warm-up).
    final_state : ZClip
        The state after the last step, to continue from.
    """

    threshold: np.ndarray
    clipped: np.ndarray
    clipped_norm: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    final_state: ZClip


def _zclip_replay(norms: list[float], state: ZClip, *, runs: bool = False
                  ) -> tuple[list[float], list[float], list[float], ZClip]:
    r""":func:`zclip_step` over one run's norms, as plain Python float arithmetic.

    The same IEEE operations in the same order as ``zclip_step``, so the results are the
    same bits, at a fraction of the cost: no argument checks, no 0-d arrays, no new frozen
    state per step. ``n if n >= limit else limit`` stands for ``np.maximum(limit, n)``
    (which returns ``n`` on a tie and ``limit`` when it is NaN). ``zclip_step`` squares
    :math:`n' - \mu` with ``** 2``: for one run that is a NumPy float's ``**``, which calls
    the C ``pow`` as a Python float's ``**`` does (and which is not always the correctly
    rounded square); for the columns of an array of runs (``runs=True``) NumPy squares by
    multiplication, ``d * d``. With :math:`n'` the clipped norm,

    .. math::

        \mu \leftarrow \alpha\mu + (1-\alpha)\,n', \qquad
        \sigma^2 \leftarrow \alpha\sigma^2 + (1-\alpha)\,(n' - \mu)^2 .

    Plain floats raise where NumPy returns inf or NaN with a warning (a division by zero
    when ``eps = 0`` and the variance is 0, the square root of a negative variance in a
    hand-made state); from such a step on, ``zclip_step`` itself takes over. (A square that
    overflows is inf, as in NumPy.)

    Returns the thresholds, the means and standard deviations each step was judged
    against (NaN during the warm-up) and the final state.

    Examples
    --------
    >>> thr, mean, std, s = _zclip_replay([1.0, 3.0, 10.0], ZClip(warmup_steps=2))
    >>> thr[:2], round(thr[2], 4), mean[2], std[2], s.step
    ([inf, inf], 2.7813, 2.0, 1.0, 3)
    """
    alpha = float(state.alpha)
    keep = 1 - alpha                 # zclip_step's (1 - a)
    zt = float(state.z_thresh)
    eps = float(state.eps)
    factor = float(state.clip_factor)
    warmup = state.warmup_steps
    zscore = state.mode == "zscore"
    scaling = state.clip_option == "adaptive_scaling"
    skip = state.skip_update_on_spike
    step = state.step
    mean = float(state.mean) if step else 0.0
    var = float(state.var) if step else 0.0
    thresholds: list[float] = []
    means: list[float] = []
    stds: list[float] = []
    put_threshold, put_mean, put_std = thresholds.append, means.append, stds.append
    inf, nan, sqrt = math.inf, math.nan, math.sqrt
    total = len(norms)
    i = 0
    try:
        while i < total and step < warmup:    # warm-up: Welford's mean and population variance
            n = norms[i]
            k = step + 1
            if step == 0:
                mean, var = n, 0.0
            else:
                delta = n - mean
                mean = mean + delta / k
                var = var + (delta * (n - mean) - var) / k
            step = k
            put_threshold(inf)
            put_mean(nan)
            put_std(nan)
            i += 1
        for i in range(i, total):             # i: the step that raised, if one does
            n = norms[i]
            std = sqrt(var)
            if zscore:
                pad = std + eps
                z = (n - mean) / pad
                limit = mean + zt * pad
                spike = z > zt
                if spike:
                    target = (mean + (zt * std) / (z / zt)) * factor if scaling else mean
            else:
                limit = mean + zt * std
                spike = n > limit
                target = limit
            put_mean(mean)
            put_std(std)
            if spike:
                put_threshold(target)
                if skip:
                    continue
                n = target                    # the statistics follow the clipped norm
            else:
                put_threshold(n if n >= limit else limit)
            new_mean = alpha * mean + keep * n
            d = n - new_mean
            if runs:
                var = alpha * var + keep * (d * d)
            else:
                try:
                    var = alpha * var + keep * d ** 2
                except OverflowError:         # NumPy: inf
                    var = alpha * var + keep * inf
            mean = new_mean
        i = total
    except (ZeroDivisionError, ValueError):
        del means[i:], stds[i:]   # the failed step may have written its statistics
    s = replace(state, step=state.step + i, mean=mean, var=var) if i else state
    if i == total:
        return thresholds, means, stds, s
    # After such an exception: zclip_step on this run's norms, as a number (one run) or
    # as an array of one (a column of many runs, so that the arithmetic is an array's).
    if runs and s.step:
        s = replace(s, mean=np.array([s.mean], dtype=np.float64), var=np.array([s.var], dtype=np.float64))
    for n in norms[i:]:
        if s.ready:
            means.append(float(np.ravel(s.mean)[0]))
            stds.append(float(np.ravel(s.std)[0]))
        else:
            means.append(nan)
            stds.append(nan)
        s, t = zclip_step(s, np.array([n]) if runs else n)
        thresholds.append(float(np.ravel(t)[0]))
    if runs:
        s = replace(s, mean=float(s.mean[0]), var=float(s.var[0]))
    return thresholds, means, stds, s


def _zclip_series_steps(x: np.ndarray, s: ZClip):
    """zclip_series step by step through zclip_step: the reference, and the general case."""
    thresholds = np.empty_like(x)
    means = np.full_like(x, np.nan)
    stds = np.full_like(x, np.nan)
    for t in range(x.shape[0]):
        if s.ready:
            means[t] = s.mean
            stds[t] = s.std
        s, thresholds[t] = zclip_step(s, x[t])
    return thresholds, means, stds, s


def _real_of_shape(v: Any, shape: tuple[int, ...]) -> bool:
    a = np.asarray(v)
    return a.shape == shape and a.dtype.kind in "biuf"


def zclip_series(norms: Any, state: ZClip | None = None) -> ZClipSeries:
    r"""Run :func:`zclip_step` over a series of norms, for one run or many at once.

    Step :math:`t` gets the threshold :math:`\tau_t` of :func:`zclip_step` from the state
    after steps :math:`0, \dots, t-1`, and the norm after clipping is
    :math:`\min(\lVert g_t\rVert, \tau_t)`. The result is exactly (bit for bit) what
    calling :func:`zclip_step` in a loop gives; the loop runs on plain Python floats, one
    run at a time, in about a microsecond a step (a million-step log in a second or two).

    Parameters
    ----------
    norms : array_like, shape (steps,) or (steps, runs)
        Gradient norms before clipping (>= 0; inf allowed, NaN not).
    state : ZClip, optional
        Settings and statistics to start from; default ``ZClip()`` (alpha 0.97,
        z_thresh 2.5, 25 warm-up steps).

    Returns
    -------
    ZClipSeries

    Examples
    --------
    >>> import numpy as np
    >>> norms = np.r_[np.full(30, 1.0) + 0.1 * np.sin(np.arange(30)), 50.0]
    >>> res = zclip_series(norms)
    >>> int(res.clipped.sum()), bool(res.clipped[-1])
    (1, True)
    """
    x = _check_norms(norms, "norms", allow_inf=True)
    s = ZClip() if state is None else state
    if not isinstance(s, ZClip):
        raise ValueError(f"state must be a ZClip or None, got {type(s).__name__}")
    runs = x.shape[1:]
    if s.step and not (_real_of_shape(s.mean, runs) and _real_of_shape(s.var, runs)):
        # a state that does not match the norms: zclip_step raises (or broadcasts) as it does
        thresholds, means, stds, s = _zclip_series_steps(x, s)
    elif x.ndim == 1:
        thr, mu, sd, s = _zclip_replay(x.tolist(), s)
        thresholds, means, stds = np.array(thr), np.array(mu), np.array(sd)
        s = replace(s, mean=float(s.mean), var=float(s.var))
    else:
        m0 = np.asarray(s.mean, dtype=np.float64)
        v0 = np.asarray(s.var, dtype=np.float64)
        cols = []
        for r in range(x.shape[1]):
            start = replace(s, mean=float(m0[r]), var=float(v0[r])) if s.step else s
            cols.append(_zclip_replay(x[:, r].tolist(), start, runs=True))
        thresholds, means, stds = (np.array([c[j] for c in cols], dtype=np.float64).T.copy()
                                   for j in range(3))
        s = replace(s, step=cols[0][3].step,
                    mean=np.array([float(c[3].mean) for c in cols], dtype=np.float64),
                    var=np.array([float(c[3].var) for c in cols], dtype=np.float64))
    return ZClipSeries(
        threshold=thresholds,
        clipped=x > thresholds,
        clipped_norm=np.minimum(x, thresholds),
        mean=means,
        std=stds,
        final_state=s,
    )


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


def suggest_thresholds(norms: Any, percentiles: Any = (50, 90, 95, 99)) -> list[Suggestion]:
    """Candidate clipping thresholds for a log of gradient norms, and how often each would clip.

    One :class:`Suggestion` per percentile of the whole log (a fixed threshold), then
    AutoClip (10th percentile of the norms so far, recomputed each step) and ZClip (default
    settings), both replayed over the log step by step.

    Parameters
    ----------
    norms : array_like, shape (steps,)
        Gradient norms before clipping, finite and >= 0.
    percentiles : sequence of float
        Each in [0, 100].

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
    x = _check_norms(norms, "norms", max_ndim=1)
    try:
        ps = [_check_percentile(p, "percentiles") for p in percentiles]
    except TypeError:
        raise ValueError(f"percentiles must be a sequence of numbers in [0, 100], got {percentiles!r}") from None
    n = len(x)
    out = []
    for p in ps:
        tau = float(np.percentile(x, p))
        k = int(np.sum(x > tau))
        out.append(Suggestion(
            rule=f"p{p:g}",
            tau=tau,
            fraction_clipped=k / n,
            steps_clipped=k,
            explanation=(
                f"A fixed threshold at the {p:g}th percentile of this log. It would have "
                f"shortened {k} of {n} gradients; the rest pass unchanged."
            ),
        ))

    auto = autoclip_series(x, 10.0)
    k = int(np.sum(x > auto))
    out.append(Suggestion(
        rule="autoclip",
        tau=float(auto[-1]),
        fraction_clipped=k / n,
        steps_clipped=k,
        explanation=(
            "AutoClip recomputes the threshold every step as the 10th percentile of all norms "
            f"so far, so it clips most steps a little. Replayed on this log it clipped {k} of {n}; "
            "tau is its threshold after the last step."
        ),
    ))

    z = zclip_series(x)
    k = int(np.sum(z.clipped))
    tau_z = float(z.final_state.limit())
    warm = z.final_state.warmup_steps
    out.append(Suggestion(
        rule="zclip",
        tau=tau_z,
        fraction_clipped=k / n,
        steps_clipped=k,
        explanation=(
            "ZClip tracks a moving mean and spread of the norm and only pulls back steps whose "
            f"z-score exceeds 2.5. It clipped {k} of {n} steps; tau is the spike limit after the last step"
            + ("." if n >= warm else f" (inf: it needs {warm} steps of warm-up and the log has {n}).")
        ),
    ))
    return out
