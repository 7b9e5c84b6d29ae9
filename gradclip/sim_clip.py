"""The simulator's clipping step: for arrays of runs and, on the fast path, for one run in floats.

The formulas are those of :func:`gradclip.clipping.clip_by_norm` and
:func:`gradclip.clipping.clip_by_value` (their unchecked helpers, so arguments are checked
once, not at every step); the adaptive caps come from :class:`gradclip.autoclip.LowestNorms`
and :class:`gradclip.zclip.ZClipKernel`. For ``autoclip`` and ``zclip`` the method's ``tau``
is its warm-up cap (see :data:`gradclip.methods.CLIP_METHODS`).

Examples
--------
>>> clip = float_clipper("norm", 1.0)
>>> clip(3.0, 4.0)
(0.6000000000000001, 0.8, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradclip.autoclip import LowestNorms
from gradclip.clipping import _clamp, _clip_rows_by_norm
from gradclip.methods import ADAPTIVE_WARMUP, AGC_EPS, AUTOCLIP_PERCENTILE, ZCLIP_ALPHA, ZCLIP_Z
from gradclip.zclip import ZClip, ZClipKernel

__all__ = ["RowClipper", "batch_clipper", "row_norms", "FLOAT_METHODS", "float_clipper"]

# 0-d arrays: NumPy converts a Python float operand on every call, a 0-d array it does not
_FLOAT_MAX = np.array(np.finfo(float).max)
_AGC_EPS = np.array(AGC_EPS)


def row_norms(g: np.ndarray) -> np.ndarray:
    """Euclidean length of each row of an ``(R, 2)`` array (hypot: no overflow of squares)."""
    return np.hypot(g[:, 0], g[:, 1])


class RowClipper:
    """The clipping step for the runs of one method (rows ``sel``); keeps adaptive state.

    ``clip(t, g, n, p)`` takes this step's gradients ``g`` ``(rows, 2)``, their norms ``n``
    and the positions ``p``, and returns the clipped gradients and the clip mask, or
    ``(g, None)`` (``g`` itself, no mask to write) when no row is clipped. It is the method's
    own function, chosen once here rather than by name at every step.
    """

    def __init__(self, method: str, sel: Any, tau: np.ndarray, steps: int):
        self.method = "zclip" if method == "adaptive" else method
        self.sel = sel
        self.tau = tau
        self.warmup_cap = tau   # what tau means for autoclip and zclip (gradclip.methods)
        self.none = bytes(tau.shape[0])   # a boolean mask with no True, as bytes (see gradclip.sim_loop)
        self.single = tau.shape[0] == 1
        if self.method == "value":
            self.hi = np.repeat(tau[:, None], 2, axis=1)   # the bounds, at g's shape (R, 2)
            self.lo = -self.hi
            self.none = bytes(2 * tau.shape[0])
        if self.method == "autoclip":
            self.lowest = LowestNorms(AUTOCLIP_PERCENTILE, steps, tau.shape[0])
        if self.method == "zclip":
            # the simulator's statistics are arrays, even for one run: squares by multiplying
            self.zclip = ZClipKernel(ZClip(alpha=ZCLIP_ALPHA, z_thresh=ZCLIP_Z,
                                           warmup_steps=ADAPTIVE_WARMUP), square_by_multiply=True)
        self.clip = getattr(self, "_" + self.method)

    def _value(self, t: int, g: np.ndarray, n: np.ndarray, p: np.ndarray):
        big = np.abs(g) > self.hi
        if big.tobytes() == self.none:
            return g, None
        return _clamp(g, self.lo, self.hi), big[:, 0] | big[:, 1]

    def _to_cap(self, g: np.ndarray, n: np.ndarray, cap: np.ndarray):
        # Is any norm above its cap? For one run, comparing the two floats is the same test
        # and far cheaper than an array comparison; a NaN norm is above nothing either way.
        if self.single:
            if not n.item() > cap.item():
                return g, None
            over = n > cap
        else:
            over = n > cap
            if over.tobytes() == self.none:
                return g, None
        return _clip_rows_by_norm(g, cap), over

    def _norm(self, t: int, g: np.ndarray, n: np.ndarray, p: np.ndarray):
        return self._to_cap(g, n, self.tau)

    def _agc(self, t: int, g: np.ndarray, n: np.ndarray, p: np.ndarray):
        return self._to_cap(g, n, self.tau * np.maximum(row_norms(p), _AGC_EPS))

    # The adaptive rules see every raw norm; an overflowed one counts as the largest float
    # (np.fmin: NaN and inf become it, every other norm passes as it is). Until they have
    # ADAPTIVE_WARMUP norms of history the fixed tau stands in.

    def _autoclip(self, t: int, g: np.ndarray, n: np.ndarray, p: np.ndarray):
        self.lowest.add(np.fmin(n, _FLOAT_MAX))
        return self._to_cap(g, n, self.lowest.percentile() if t >= ADAPTIVE_WARMUP else self.warmup_cap)

    def _zclip(self, t: int, g: np.ndarray, n: np.ndarray, p: np.ndarray):
        seen = np.fmin(n, _FLOAT_MAX)
        if self.single:   # one run: its statistics as plain floats (far cheaper than arrays)
            cap = self.zclip.update(seen.item())
            cap = None if cap is None else np.array(cap, ndmin=1)
        else:
            cap = self.zclip.update(seen)
        return self._to_cap(g, n, self.warmup_cap if t < ADAPTIVE_WARMUP else cap)


def batch_clipper(methods: np.ndarray, tau: np.ndarray, steps: int):
    """``clip(t, g, n, p) -> (gc, over)`` for a batch of runs, each with its own method.

    ``gc`` is ``g`` itself when no run was clipped (and ``over`` is None), else a new array
    with the clipped rows and ``over`` the ``(R,)`` clip mask. One method for all runs (the
    usual case) is that method's own clipper, with no per-step dispatch.
    """
    clippers = []
    for m in dict.fromkeys(methods.tolist()):
        if m == "none":
            continue
        rows = slice(None) if (methods == m).all() else np.flatnonzero(methods == m)
        clippers.append(RowClipper(m, rows, tau[rows], steps))
    if not clippers:
        return lambda t, g, n, p: (g, None)
    if len(clippers) == 1 and isinstance(clippers[0].sel, slice):
        return clippers[0].clip
    R = tau.shape[0]

    def clip_each(t: int, g: np.ndarray, n: np.ndarray, p: np.ndarray):
        gc, over = g, None
        for c in clippers:
            part, hit = c.clip(t, g[c.sel], n[c.sel], p[c.sel])
            if hit is not None:
                if gc is g:
                    gc, over = g.copy(), np.zeros(R, dtype=bool)
                gc[c.sel] = part
                over[c.sel] = hit
        return gc, over
    return clip_each


FLOAT_METHODS = ("none", "norm", "value")
# A squared norm this far (relative) from tau**2 is on the same side of tau as NumPy's
# hypot, whose error is under one ulp: only closer calls need hypot itself.
_NORM_MARGIN = 1e-12


def float_clipper(method: str, tau: float):
    """``clip(gx, gy) -> (cx, cy, clipped)`` for one gradient, as the array loop clips it
    (:func:`gradclip.clipping._clip_to_norm` and :func:`gradclip.clipping._clamp`)."""
    if method == "none":
        return lambda gx, gy: (gx, gy, False)
    if method == "value":
        def clamp(v: float) -> float:   # np.minimum(np.maximum(v, -tau), tau); NaN stays
            return tau if v > tau else -tau if v < -tau else v

        def clip_value(gx: float, gy: float) -> tuple[float, float, bool]:
            if not (abs(gx) > tau or abs(gy) > tau):
                return gx, gy, False
            return clamp(gx), clamp(gy), True
        return clip_value

    # norm: clipped when hypot(g) > tau (the raw norm the array loop compares)
    tau_sq = tau * tau
    decide = 1e-290 < tau_sq < 1e290   # tau**2 and the margin are ordinary floats
    above, below = tau_sq * (1 + _NORM_MARGIN), tau_sq * (1 - _NORM_MARGIN)
    tau_a = np.array([tau])

    def over(gx: float, gy: float, ss: float) -> bool:
        """NumPy's ``hypot(gx, gy) > tau``, from the sum of squares ``ss`` when it is clear."""
        if decide:
            if ss > above:   # an overflow (inf) too: far above tau
                return True
            if ss < below:
                return False
        return bool(np.hypot(gx, gy) > tau)   # close to tau, NaN, or a tiny tau

    def clip_norm(gx: float, gy: float) -> tuple[float, float, bool]:
        ss = gx * gx + gy * gy            # _clip_to_norm's sum of squares, term for term
        if not over(gx, gy, ss):
            return gx, gy, False
        if 0.0 < ss < math.inf:
            scale = tau / math.sqrt(ss)
            scale = scale if scale < 1.0 else 1.0   # np.fmin(scale, 1)
            return gx * scale, gy * scale, True
        # squares that overflow (inf, NaN) or vanish (0): the array code's special cases
        cx, cy = _clip_rows_by_norm(np.array([[gx, gy]]), tau_a)[0].tolist()
        return cx, cy, True
    return clip_norm
