"""Small helpers every demo uses to turn numbers into figure data.

Axis ranges for log axes, values rounded so a display list stays short in JSON, and the
"rug" that marks clipped steps under a norm curve. Each exists once here; the demos import
them rather than keeping their own copies.

Examples
--------
>>> log_range([0.02, 30.0])
(0.01, 100.0)
>>> padded_log_range([1.0, 4.0])
(0.2, 20.0)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

__all__ = ["nan_median", "round_sig", "round_to_span", "decade_bounds", "log_range", "capped_log_range",
           "padded_log_range", "clipped_rug"]


# ---------------------------------------------------------------------------------------
# Rounding for JSON


def nan_median(values: Any) -> float:
    r"""The median of the values that are not NaN (NaN if there are none): ``np.nanmedian``'s
    value, bit for bit, computed the way ``np.median`` does (a partition, then the mean of the
    middle one or two).

    Why not ``np.nanmedian``: every ``np.median`` call ends in a NaN check that imports
    ``numpy.ma`` (thousands of lines), which under Pyodide would put that import in front of
    the first figure of the site's simulator.

    >>> nan_median([3.0, np.nan, 1.0, 2.0, 10.0])
    2.5
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[~np.isnan(v)]
    if v.size == 0:
        return math.nan
    k = v.size // 2
    if v.size % 2:
        return float(np.mean(np.partition(v, k)[k:k + 1]))
    return float(np.mean(np.partition(v, [k - 1, k])[k - 1:k + 1]))


def round_sig(values: Any, digits: int = 4) -> np.ndarray:
    """Round to ``digits`` significant figures so a display list stays small.

    Each value becomes the double nearest to a short decimal, so JSON writes ``0.01235``,
    not ``0.012345678901234567``. Non-finite values pass through.

    .. math:: r(v) = \\operatorname{rint}(v \\cdot 10^{d-1-e}) / 10^{d-1-e},
              \\quad e = \\lfloor \\log_{10} |v| \\rfloor

    >>> round_sig([0.0123456, 123456.0, 0.0, float("nan"), 9.0399e-20]).tolist()
    [0.01235, 123500.0, 0.0, nan, 9.04e-20]
    """
    v = np.asarray(values, dtype=float)
    out = v.copy()
    ok = np.isfinite(v) & (v != 0)
    if not ok.any():
        return out
    idx = np.flatnonzero(ok)
    e = np.floor(np.log10(np.abs(v[idx]))).astype(int)
    k = digits - 1 - e
    # Powers of ten up to 1e22 are exact doubles: divide by one when k >= 0, multiply by
    # one when k < 0, both correctly rounded, so the result is the double closest to the
    # short decimal. Beyond that (tiny or huge values, rare) go through the decimal text.
    exact = np.abs(k) <= 22
    i, kk = idx[exact], k[exact]
    up = 10.0 ** np.maximum(kk, 0)
    down = 10.0 ** np.maximum(-kk, 0)
    out[i] = np.rint(v[i] * up / down) / up * down
    slow = idx[~exact]
    if slow.size:
        short = f"{{:.{digits - 1}e}}".format
        out[slow] = [float(short(x)) for x in v[slow].tolist()]
    return out


def round_to_span(values: Any, span: float, digits: int = 5) -> np.ndarray:
    r"""Round coordinates to :math:`10^{-d}` of the ``span`` they are drawn across (a
    plot's view): finer than any screen shows, and short in JSON.

    Unlike :func:`round_sig` this is absolute, so a run converging to a minimum at 0 (whose
    coordinates fall to 1e-40) costs one vectorised call, not a decimal text per value.

    .. math:: r(v) = \operatorname{rint}(v \cdot 10^{k}) / 10^{k},
              \quad k = \lceil d - \log_{10} s \rceil

    >>> round_to_span([1.23456789, -3e-40, 2.5, float("nan")], 5.0).tolist()
    [1.23457, -0.0, 2.5, nan]
    """
    v = np.asarray(values, dtype=float)
    if not (math.isfinite(span) and span > 0):
        return round_sig(v, digits)
    k = math.ceil(digits - math.log10(span))
    if abs(k) > 22:   # 10**k is no longer exact (a view nobody draws): go by digits
        return round_sig(v, digits)
    return np.round(v, k)


# ---------------------------------------------------------------------------------------
# Log-axis ranges


def decade_bounds(lo: float, hi: float, max_decades: int | None = None) -> tuple[float, float]:
    r"""The whole decades around ``[lo, hi]`` (both > 0), at least one decade wide.

    .. math:: \left(10^{\lfloor \log_{10} lo \rfloor}, 10^{\lceil \log_{10} hi \rceil}\right)

    ``max_decades`` raises the lower end so the axis spans at most that many decades.

    >>> decade_bounds(0.02, 30.0), decade_bounds(5.0, 5.0), decade_bounds(1e-30, 1.0, max_decades=3)
    ((0.01, 100.0), (1.0, 10.0), (0.001, 1.0))
    """
    lo_d, hi_d = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if max_decades is not None:
        lo_d = max(lo_d, hi_d - max_decades)
    if hi_d <= lo_d:
        hi_d = lo_d + 1
    return (10.0 ** lo_d, 10.0 ** hi_d)


def _positive(values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    return v[np.isfinite(v) & (v > 0)]


def log_range(values: Any, extra: Sequence[float] = (), *, floor_ratio: float = 1e-12,
              empty: tuple[float, float] = (0.1, 10.0)) -> tuple[float, float]:
    r"""A log-axis range in whole decades over the positive finite ``values`` and ``extra``.

    The lower end is kept within ``floor_ratio`` of the largest value (a loss that
    reaches 1e-40 must not squeeze the rest of the curve into one corner):
    :math:`lo = \max(\min v, \, \text{floor\_ratio} \cdot \max v)`, then
    :func:`decade_bounds`. ``empty`` is the range when nothing is positive.

    >>> log_range([0.0, 0.5, 3.0, float("nan")], extra=(20.0,))
    (0.1, 100.0)
    >>> log_range([1e-40, 1.0]), log_range([], empty=(1e-3, 1.0))
    ((1e-12, 1.0), (0.001, 1.0))
    """
    v = np.concatenate([_positive(values), _positive(list(extra))])
    if v.size == 0:
        return empty
    hi = float(v.max())
    lo = max(float(v.min()), hi * floor_ratio)
    return decade_bounds(lo, hi)


def capped_log_range(values: Sequence[Any], extra: Sequence[float] = (),
                     typical: Sequence[Any] | None = None, *, headroom_decades: int = 6,
                     max_decades: int = 14) -> tuple[float, float]:
    r"""Whole-decade log range for training curves, whose diverged runs reach 1e30 and more.

    The top is capped ``headroom_decades`` above the median of the ``typical`` values (by
    default all of them), but never below an ``extra`` value (a threshold line must show):
    :math:`hi = \min(\max v, \max(\tilde t \cdot 10^{h}, \max e))`; the axis spans
    at most ``max_decades``.

    >>> capped_log_range([np.array([1.0, 2.0, 1e30])], extra=(0.5,))
    (0.1, 10000000.0)
    """
    def positive(arrs: Sequence[Any]) -> np.ndarray:
        return np.concatenate([_positive(a) for a in arrs] + [np.zeros(0)])

    v = positive(list(values) + [np.asarray(extra, float)])
    if v.size == 0:
        return (0.1, 10.0)
    t = positive(typical) if typical is not None else v
    lo, hi = float(v.min()), float(v.max())
    cap = float(np.median(t if t.size else v)) * 10.0 ** headroom_decades
    hi = min(hi, max(cap, max([e for e in extra if e > 0 and math.isfinite(e)], default=0.0)))
    lo = min(lo, hi)
    return decade_bounds(lo, hi, max_decades)


def padded_log_range(values: Any, lo_floor: float = 1e-300, pad: float = 2.0) -> tuple[float, float]:
    r"""A log-axis range holding every finite value above ``lo_floor`` with a factor ``pad``
    of room on each side, and at least two decades so the axis has ticks to read.

    Not snapped to decades: for small teaching figures whose values sit close together.
    :math:`(\min v / pad, \max v \cdot pad)`, widened about its geometric middle.

    >>> padded_log_range([10.0, 20.0])
    (1.4142135623730951, 141.4213562373095)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > lo_floor)]
    if v.size == 0:
        return (0.1, 10.0)
    lo, hi = float(v.min()) / pad, float(v.max()) * pad
    if hi / lo < 100:  # at least two decades, so the axis has ticks to read
        mid = math.sqrt(lo * hi)
        lo, hi = mid / 10, mid * 10
    return (lo, hi)


# ---------------------------------------------------------------------------------------
# Marks


def clipped_rug(clipped: np.ndarray, y: float) -> tuple[list[float], list[float]]:
    """Segments ``[a - 0.5, b + 0.5]`` at height ``y`` for each stretch a..b of clipped steps,
    separated by NaN (a line break); every segment at least 0.4% of the axis wide so a lone
    clipped step stays visible.

    >>> clipped_rug(np.array([True, True, False, True]), 1.0)
    ([-0.5, 1.5, nan, 2.5, 3.5, nan], [1.0, 1.0, nan, 1.0, 1.0, nan])
    """
    c = np.asarray(clipped, dtype=bool)
    edges = np.diff(np.concatenate([[0], c.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    half = max(0.5, 0.002 * c.size)
    xs: list[float] = []
    ys: list[float] = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        mid, w = (a + b) / 2, max((b - a) / 2 + 0.5, half)
        xs += [mid - w, mid + w, math.nan]
        ys += [y, y, math.nan]
    return xs, ys
