"""ZClip (Kumar, Owen, Chowdhury, Güra 2025, arXiv:2504.02507): z-score spike clipping.

Exponential moving averages of the gradient norm's mean and variance; a norm whose z-score is
too high is a spike and is pulled back towards the mean. :class:`ZClip` is the frozen state and
:func:`zclip_step` the readable reference, one step at a time. :class:`ZClipKernel` is the one
fast implementation of the same arithmetic, on plain floats, NumPy floats or arrays of runs:
:func:`zclip_series`, the simulator and training all call it, and tests hold it to
:func:`zclip_step` bit for bit.

Examples
--------
>>> s, tau = zclip_step(ZClip(warmup_steps=1), 2.0)
>>> s.mean, tau
(2.0, inf)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gradclip.checks import boolean, choice, integer, real, real_array
from gradclip.norm_logs import check_norms

__all__ = ["ZClip", "zclip_step", "ZClipKernel", "ZClipSeries", "zclip_series"]

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

    unless ``skip_update_on_spike`` is set. The reference code (bluorion-com/ZClip,
    ``zclip/zclip.py``, release 1.0.0) also caps every step at a fixed ``max_grad_norm``
    (1.0 by default): during the warm-up that is the only clipping, and afterwards a step is
    clipped at the smaller of the two thresholds. That cap is not part of ZClip's rule and is
    left out here (combine with :func:`gradclip.clip_by_norm` if you want it); the simulator
    uses its ``tau`` as the warm-up cap only (:data:`gradclip.methods.CLIP_METHODS`).

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
        real(self.alpha, "alpha", 0, 1, lo_open=True, hi_open=True)
        real(self.z_thresh, "z_thresh", 0, lo_open=True)
        integer(self.warmup_steps, "warmup_steps", 1)
        real(self.eps, "eps", 0)
        choice(self.mode, "mode", ("zscore", "percentile"))
        choice(self.clip_option, "clip_option", ("adaptive_scaling", "mean"))
        real(self.clip_factor, "clip_factor", 0, lo_open=True)
        boolean(self.skip_update_on_spike, "skip_update_on_spike")
        integer(self.step, "step", 0)
        # The statistics may be inf or NaN after an infinite norm, and a hand-made variance
        # may be negative (zclip_step's to handle), but they are real numbers, one or one per run.
        for name in ("mean", "var"):
            real_array(getattr(self, name), name, nan=True, ndim=(0, 1), shape_text="() or (runs,)")

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
    n = _checked_norm(state, norm)
    if not state.ready:
        return _warm_up(state, n)
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
    new = replace(state, step=state.step + 1, mean=_out(np.asarray(new_mean)), var=_out(np.asarray(new_var)))
    return new, _out(np.asarray(threshold, dtype=np.float64))


def _out(x: np.ndarray) -> Any:
    """A 0-d result as a float, an array as it is."""
    return float(x) if x.ndim == 0 else x


def _checked_norm(state: ZClip, norm: Any) -> np.ndarray:
    """:func:`zclip_step`'s arguments checked; the norm(s) as a float64 array."""
    if not isinstance(state, ZClip):
        raise TypeError(f"state must be a ZClip, got {type(state).__name__}")
    n = real_array(norm, "norm", lo=0, ndim=(0, 1), empty=False, shape_text="() or (runs,)").astype(np.float64)
    if state.step > 0 and np.shape(state.mean) != n.shape:
        raise ValueError(f"norm has shape {n.shape} but this ZClip state tracks shape {np.shape(state.mean)}")
    return n


def _warm_up(state: ZClip, n: np.ndarray) -> tuple[ZClip, Any]:
    """A warm-up step of :func:`zclip_step`: Welford's running mean and population variance."""
    k = state.step + 1
    with np.errstate(invalid="ignore"):
        if state.step == 0:
            mean, var = n.copy(), np.zeros_like(n)
        else:
            delta = n - state.mean
            mean = state.mean + delta / k
            var = state.var + (delta * (n - mean) - state.var) / k
    new = replace(state, step=k, mean=_out(np.asarray(mean)), var=_out(np.asarray(var)))
    return new, _out(np.full(n.shape, np.inf))


class ZClipKernel:
    r"""The arithmetic of :func:`zclip_step`, operation for operation, without its checks and
    without a new frozen state per step (together ~20 times the arithmetic).

    :meth:`update` takes this step's norm: a Python float, a NumPy float, or an array of
    shape ``(runs,)`` for many runs at once, and returns the threshold ``zclip_step`` would
    (``None`` during the warm-up). Scalars take ``if`` branches, arrays ``np.where``; the
    IEEE operations are the same, so are the bits. One subtlety is the square in the variance
    update, :math:`(n' - \mu)^2`: ``zclip_step`` squares a single run's NumPy scalar with C
    ``pow`` and an array by multiplication, which differ in the last bit about once in a
    thousand, so ``square_by_multiply`` says which of the two to reproduce.

    On plain floats a step raises where NumPy would warn (``ZeroDivisionError`` when
    ``eps = 0`` and the variance is 0, ``ValueError`` for the square root of a negative,
    hand-made variance); the kernel's state is then as before that step, and the caller
    continues with :func:`zclip_step`. A square that overflows is ``inf``, as in NumPy.
    After each step past the warm-up, ``judged`` holds the mean and standard deviation the
    norm was judged against, and ``spiked`` whether the norm was a spike (a bool, or a bool
    array for many runs; False during the warm-up): training reads it to skip a spike's step.

    Examples
    --------
    >>> k = ZClipKernel(ZClip(warmup_steps=2))
    >>> k.update(1.0), k.update(3.0)              # warm-up: mean 2, std 1
    (None, None)
    >>> round(k.update(10.0), 4), k.judged        # z = 8: a spike, pulled back
    (2.7813, (2.0, 1.0))
    """

    def __init__(self, state: ZClip, *, square_by_multiply: bool = False):
        self.alpha, self.z, self.eps = float(state.alpha), float(state.z_thresh), float(state.eps)
        self.keep = 1 - self.alpha                    # zclip_step's (1 - a)
        self.factor = float(state.clip_factor)
        self.warmup = state.warmup_steps
        self.zscore = state.mode == "zscore"
        self.scaling = state.clip_option == "adaptive_scaling"
        self.skip = state.skip_update_on_spike
        self.multiply = square_by_multiply
        self.step = state.step
        self.mean: Any = state.mean if state.step else 0.0
        self.var: Any = state.var if state.step else 0.0
        self.judged: tuple[Any, Any] | None = None
        self.spiked: Any = False
        self.calm: bytes | None = None   # an array spike mask with no spike, as bytes

    def update(self, n: Any) -> Any:
        """Feed this step's norm(s) (>= 0, inf allowed, no NaN); the threshold(s), or None in warm-up."""
        k = self.step + 1
        if k <= self.warmup:       # Welford: running mean and population variance
            if k == 1:
                self.mean = n.copy() if isinstance(n, np.ndarray) else n
                self.var = np.zeros_like(n)[()] if isinstance(n, np.ndarray) else 0.0
            else:
                delta = n - self.mean
                self.mean = self.mean + delta / k
                self.var = self.var + (delta * (n - self.mean) - self.var) / k
            self.step = k
            return None
        if isinstance(n, np.ndarray):
            self.step = k
            return self._runs(n)
        return self.one(n)

    def one(self, n: float) -> float:
        """:meth:`update` for one run past its warm-up (plain or NumPy floats): the threshold.
        The statistics follow; a step that raises leaves them as they were."""
        mean, var, alpha, keep = self.mean, self.var, self.alpha, self.keep
        std = math.sqrt(var)
        z, limit, spike = self._score(n, std)
        self.judged, self.spiked = (mean, std), bool(spike)
        if spike:
            n = threshold = self._target(z, std, limit)   # the statistics follow the clipped norm
            if self.skip:
                self.step += 1
                return threshold
        else:
            threshold = n if n >= limit else limit        # np.maximum(limit, n), NaN included
        new_mean = alpha * mean + keep * n
        d = n - new_mean
        if self.multiply:
            var = alpha * var + keep * (d * d)
        else:
            try:
                var = alpha * var + keep * d ** 2
            except OverflowError:   # plain floats raise where NumPy gives inf
                var = alpha * var + keep * math.inf
        self.mean, self.var = new_mean, var
        self.step += 1
        return threshold

    def _runs(self, n: np.ndarray) -> np.ndarray:
        """A step of many runs: :meth:`one` with ``np.where`` for the branches (arrays square
        by multiplying either way)."""
        mean, var, alpha, keep = self.mean, self.var, self.alpha, self.keep
        std = np.sqrt(var)
        z, limit, spike = self._score(n, std)
        self.judged, self.spiked = (mean, std), spike
        if self.calm is None:
            self.calm = bytes(n.size)
        if spike.tobytes() == self.calm:   # no spike (most steps): skip the np.where calls
            threshold, effective = np.maximum(limit, n), n
        else:
            target = self._target(z, std, limit)
            threshold, effective = np.where(spike, target, np.maximum(limit, n)), np.where(spike, target, n)
        new_mean = alpha * mean + keep * effective
        d = effective - new_mean
        new_var = alpha * var + keep * (d * d)
        if self.skip:
            new_mean, new_var = np.where(spike, mean, new_mean), np.where(spike, var, new_var)
        self.mean, self.var = new_mean, new_var
        return threshold

    def _score(self, n: Any, std: Any) -> tuple[Any, Any, Any]:
        """The z-score (None in percentile mode), the spike limit and the spike test."""
        mean, zt = self.mean, self.z
        if self.zscore:
            pad = std + self.eps
            z = (n - mean) / pad
            return z, mean + zt * pad, z > zt
        limit = mean + zt * std
        return None, limit, n > limit

    def _target(self, z: Any, std: Any, limit: Any) -> Any:
        """Where a spike is pulled back to (computed for spikes only: z / zt may be 0 elsewhere)."""
        if not self.zscore:
            return limit
        if self.scaling:   # eta = z / zt: the bigger the outlier, the harder the pull
            return (self.mean + (self.z * std) / (z / self.z)) * self.factor
        return self.mean

    def state(self, start: ZClip) -> ZClip:
        """The :class:`ZClip` after the steps fed so far (``start`` itself if none was)."""
        if self.step == start.step:
            return start
        return replace(start, step=self.step, mean=self.mean, var=self.var)


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

def _replay(norms: list[float], state: ZClip, *, runs: bool = False
            ) -> tuple[list[float], list[float], list[float], ZClip]:
    """One run's norms through :class:`ZClipKernel` on plain floats; if a step raises, the
    rest through :func:`zclip_step` on the state reached. ``runs``: the run is a column of
    many, so squares are an array's (products) and the fallback works on arrays of one.

    Returns the thresholds, the means and standard deviations each step was judged against
    (NaN during the warm-up) and the final state.

    Examples
    --------
    >>> thr, mean, std, s = _replay([1.0, 3.0, 10.0], ZClip(warmup_steps=2))
    >>> thr[:2], round(thr[2], 4), mean[2], std[2], s.step
    ([inf, inf], 2.7813, 2.0, 1.0, 3)
    """
    if state.step:
        state = replace(state, mean=float(state.mean), var=float(state.var))
    kernel = ZClipKernel(state, square_by_multiply=runs)
    thresholds: list[float] = []
    means: list[float] = []
    stds: list[float] = []
    i = 0
    try:
        for i, n in enumerate(norms):        # the warm-up (if any is left)
            if kernel.step >= kernel.warmup:
                break
            kernel.update(n)
            thresholds.append(math.inf)
            means.append(math.nan)
            stds.append(math.nan)
        else:
            i = len(norms)
        one, put, put_mean, put_std = kernel.one, thresholds.append, means.append, stds.append
        for i in range(i, len(norms)):
            put(one(norms[i]))
            mean, std = kernel.judged
            put_mean(mean)
            put_std(std)
        return thresholds, means, stds, kernel.state(state)
    except (ZeroDivisionError, ValueError):
        pass
    # zclip_step from here, as a number (one run) or an array of one (a column of many runs)
    s = kernel.state(state)
    if runs and s.step:
        s = replace(s, mean=np.array([s.mean], dtype=np.float64), var=np.array([s.var], dtype=np.float64))
    for n in norms[i:]:
        means.append(float(np.ravel(s.mean)[0]) if s.ready else math.nan)
        stds.append(float(np.ravel(s.std)[0]) if s.ready else math.nan)
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
    x = check_norms(norms, "norms", allow_inf=True)
    s = ZClip() if state is None else state
    if not isinstance(s, ZClip):
        raise TypeError(f"state must be a ZClip or None, got {type(s).__name__}")
    runs = x.shape[1:]
    if s.step and not (_real_of_shape(s.mean, runs) and _real_of_shape(s.var, runs)):
        # a state that does not match the norms: zclip_step raises (or broadcasts) as it does
        thresholds, means, stds, s = _zclip_series_steps(x, s)
    elif x.ndim == 1:
        thr, mu, sd, s = _replay(x.tolist(), s)
        thresholds, means, stds = np.array(thr), np.array(mu), np.array(sd)
        s = replace(s, mean=float(s.mean), var=float(s.var))
    else:
        m0 = np.asarray(s.mean, dtype=np.float64)
        v0 = np.asarray(s.var, dtype=np.float64)
        cols = []
        for r in range(x.shape[1]):
            start = replace(s, mean=float(m0[r]), var=float(v0[r])) if s.step else s
            cols.append(_replay(x[:, r].tolist(), start, runs=True))
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
