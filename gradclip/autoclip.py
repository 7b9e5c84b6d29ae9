"""AutoClip (Seetharaman, Wichern, Pardo, Le Roux 2020): clip to a low percentile of every norm so far.

:func:`autoclip_threshold` is the reference (``numpy.percentile`` of the whole history).
:class:`RunningPercentile` is its one incremental kernel, used by :func:`autoclip_series` and
by training; :class:`LowestNorms` is the simulator's vectorised fast path for batches of runs.
Tests hold both to the reference bit for bit.

Examples
--------
>>> autoclip_threshold([1.0, 2.0, 3.0, 4.0, 100.0], percentile=50)
3.0
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import numpy as np

from gradclip.checks import real
from gradclip.norm_logs import check_norms

__all__ = ["autoclip_threshold", "RunningPercentile", "autoclip_series", "LowestNorms"]


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
    h = check_norms(history, "history")
    q = real(percentile, "percentile", 0, 100)
    tau = np.percentile(h, q, axis=0)
    return float(tau) if h.ndim == 1 else np.asarray(tau)


class RunningPercentile:
    r"""AutoClip's running percentile for one run: :meth:`add` a norm, get
    ``percentile(all norms so far, 100 q)``, in O(log t) per step with two heaps.

    ``lower`` (a max-heap, stored negated) holds the :math:`k+1` smallest values and
    ``upper`` the rest, where :math:`k = \lfloor h\rfloor`, :math:`h = (n - 1)\,q`, is the
    floor of NumPy's virtual index for ``method="linear"`` after :math:`n` values. As
    :math:`q \le 1`, :math:`k` grows by at most one per step, so a new value costs one or two
    heap operations. The answer interpolates between the top of ``lower`` and the bottom of
    ``upper`` exactly as ``numpy.percentile`` does (same index formula, same two-sided lerp),
    so it equals :func:`autoclip_threshold` bit for bit. Plain Python floats: about a
    microsecond a step, where NumPy scalars cost several times that. This is the one kernel
    of :func:`autoclip_series` and of training's AutoClip.

    Examples
    --------
    >>> add = RunningPercentile(0.5).add
    >>> [add(v) for v in (4.0, 1.0, 3.0, 2.0)]
    [4.0, 2.5, 3.0, 2.5]
    """

    def __init__(self, q: float):
        self.q = q               # the percentile / 100, as np.percentile divides
        self.lower: list[float] = []   # negated: lower[0] is minus the largest of the k + 1 smallest
        self.upper: list[float] = []
        self.n = 0

    def add(self, v: float) -> float:
        """Add one value (finite or inf; no NaN); the percentile of all values so far."""
        lower, upper, push = self.lower, self.upper, heapq.heappush
        i = self.n                # n - 1 after this value
        self.n = i + 1
        # numpy's virtual index, written the same way so that it rounds the same way;
        # 0 <= h <= i as 0 <= q <= 1, so int() is its floor
        h = i * self.q
        want = int(h) + 1         # k + 1 values in lower
        size = len(lower)
        if want == size:          # lower keeps its size: v, or lower's largest if smaller, goes up
            if v < -lower[0]:
                push(upper, -heapq.heapreplace(lower, -v))
            else:
                push(upper, v)
        elif want == size + 1:    # lower grows by one: v, or upper's smallest if v is larger
            if upper and v > upper[0]:
                push(lower, -heapq.heapreplace(upper, v))
            else:
                push(lower, -v)
        else:                     # never for q <= 1 in exact arithmetic; kept general
            push(upper, v)
            while len(lower) < want:
                push(lower, -heapq.heappop(upper))
        a = -lower[0]
        if h >= i or not upper:
            return a
        b = upper[0]
        t = h - (want - 1)
        diff = b - a
        return b - diff * (1.0 - t) if t >= 0.5 else a + diff * t


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
    x = check_norms(norms, "norms")
    q = real(percentile, "percentile", 0, 100) / 100.0
    columns = x[:, None] if x.ndim == 1 else x
    out = np.empty_like(columns)
    for r in range(columns.shape[1]):
        add = RunningPercentile(q).add
        out[:, r] = [add(v) for v in columns[:, r].tolist()]
    return out.reshape(x.shape)


class LowestNorms:
    r"""The simulator's fast path for many runs at once: the ``size`` smallest values added so
    far in each of ``runs`` columns, sorted (``inf``: none yet).

    :class:`RunningPercentile` is one run at a time in Python floats; a sweep of thousands
    of runs needs one NumPy call per step for all of them, which this gives. Both equal
    :func:`autoclip_threshold` (the reference) bit for bit, and tests hold them to it.

    AutoClip's threshold after ``n`` norms is their ``p``-th percentile as ``numpy.percentile``
    computes it (method ``"linear"``): with :math:`h = (n - 1)\,p/100` and :math:`k = \lfloor h\rfloor`
    it interpolates between the ``k``-th and ``(k+1)``-th smallest norms. Over a run of
    ``steps`` norms those ranks stay below :math:`\lfloor (\text{steps} - 1)\,p/100\rfloor + 2`, so
    only that many of the smallest norms are kept. Adding ``v`` moves it into place with
    one maximum and one minimum, :math:`b'_0 = \min(b_0, v)`,
    :math:`b'_i = \min(\max(b_{i-1}, v), b_i)`: O(size) work per step where re-partitioning
    the whole history costs O(t). The interpolation repeats NumPy's own (its ``_lerp``), so
    :meth:`percentile` equals ``np.percentile(history, p, axis=0)`` bit for bit.

    Examples
    --------
    >>> low = LowestNorms(50.0, steps=4, runs=1)
    >>> for v in (4.0, 1.0, 3.0):
    ...     low.add(np.array([v]))
    >>> low.percentile(), float(np.percentile([4.0, 1.0, 3.0], 50.0))
    (array([3.]), 3.0)
    """

    def __init__(self, percentile: float, steps: int, runs: int):
        real(percentile, "percentile", 0, 100, hi_open=True)
        self.q = percentile / 100  # as np.percentile divides (true_divide(q, 100))
        self.low = np.full((math.floor((steps - 1) * self.q) + 2, runs), np.inf)
        self.n = 0
        self.head, self.tail, self.first = self.low[:-1], self.low[1:], self.low[0]  # views
        # one run: read NumPy floats, so that the interpolation is scalar arithmetic (the
        # same operations, far cheaper than on one-element arrays)
        self.ranked = self.low[:, 0] if runs == 1 else self.low

    def add(self, v: np.ndarray) -> None:
        """Add one value per column (finite or inf; no NaN)."""
        up = np.maximum(self.head, v)       # b_{i-1}, or v where v is larger
        np.minimum(up, self.tail, out=self.tail)    # in place
        np.minimum(self.first, v, out=self.first)   # row 0 was read above, before this
        self.n += 1

    def percentile(self) -> np.ndarray:
        """The percentile of every value added so far, one per column (a new array)."""
        n = self.n
        h = (n - 1) * self.q
        if h >= n - 1:  # only n = 1 when p < 100: NumPy then takes the largest (the only) value
            return self.low[0].copy()
        k = math.floor(h)
        gamma = h - k
        a, b = self.ranked[k], self.ranked[k + 1]
        diff = b - a
        return np.array(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma, ndmin=1)
