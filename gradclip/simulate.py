"""The optimisation simulator: gradient descent with clipping on a 2-D landscape, many runs at once.

One loop, vectorised over runs: positions are an ``(R, 2)`` array and every run has its
own threshold ``tau``, learning rate ``lr`` and clipping ``method``. :func:`simulate` is the
one-run case, :func:`simulate_batch` the general one and :func:`sweep` a ``tau`` × ``lr``
grid in a single call. Each step, for every run,

.. math::

    g_t = \\nabla f(\\theta_t) \\;(+\\text{bad-batch noise}), \\qquad
    \\tilde g_t = \\operatorname{clip}(g_t), \\qquad
    \\theta_{t+1} = \\theta_t - \\operatorname{opt}(\\tilde g_t),

so clipping acts on the raw gradient before the optimizer, as ``clip_grad_norm_`` does in
PyTorch. The clipping itself is the code of :func:`gradclip.clipping.clip_by_norm` and
:func:`gradclip.clipping.clip_by_value` (their formulas, called without re-checking the
arguments at every step): the package clips through one implementation. The adaptive
thresholds are those of :func:`gradclip.adaptive.autoclip_threshold` and
:func:`gradclip.adaptive.zclip_step`, kept up to date step by step (tests check the bits).

Methods (what ``tau`` means for each)
-------------------------------------
``none``      no clipping; ``tau`` is ignored.
``norm``      :math:`g \\leftarrow g \\min(1, \\tau / \\lVert g \\rVert)`.
``value``     each component clamped to :math:`[-\\tau, \\tau]`.
``agc``       adaptive gradient clipping: the norm is capped at
              :math:`\\tau \\max(\\lVert\\theta\\rVert, 10^{-3})` (``tau`` is the ratio).
``autoclip``  the cap is the 10th percentile of every raw norm seen so far
              (:func:`gradclip.adaptive.autoclip_threshold`, AutoClip).
``zclip``     the cap follows an exponential moving mean and deviation of the norm and
              pulls z-score outliers back (:func:`gradclip.adaptive.zclip_step`, ZClip
              with its defaults).
``adaptive``  the same as ``zclip``: the site's "adaptive" choice.

The adaptive rules need a history before they mean anything, so for their first 25 steps
``autoclip`` and ``zclip`` clip at the fixed ``tau`` (ZClip's reference code also keeps a
fixed cap); from step 25 on ``tau`` is not used. For them ``tau`` is the *warm-up cap*
(the ``warmup_cap`` knob of :data:`gradclip.methods.CLIP_METHODS`), not the percentile or
z-score that training's ``tau`` sets.

Optimizers: ``sgd`` (:math:`\\theta \\mathrel{-}= \\eta g`), ``momentum`` (PyTorch's heavy ball,
:math:`\\mu = 0.9`), ``adam`` (:math:`\\beta = (0.9, 0.999)`, :math:`\\epsilon = 10^{-8}`).

Divergence
----------
A run diverges when a step would take it to a non-finite point, to a non-finite loss, or
out of the landscape's ``bound`` box. The run stops there: ``diverged_at`` is the number of
steps taken, ``positions[diverged_at]`` is where the last step crosses the edge of the box
(finite, so a plot can draw up to it) and everything after is NaN. No warning is printed
and nothing is raised.

Verdict rules
-------------
With :math:`L_0` the start loss, :math:`L_f` the final loss, :math:`f^*` the landscape's
minimum value and "the tail" the last quarter of the steps, the first rule that matches
gives the verdict:

1. ``diverged``      the run diverged.
2. ``healthy``       :math:`L_f - f^* \\le 10^{-3} (L_0 - f^*)` (or :math:`\\le 10^{-8}`):
                     the run reached the valley floor.
3. ``oscillating``   in at least half of the tail steps the move reverses the previous one
                     (negative dot product): the step overshoots the floor.
4. ``spiked``        a single step raised the loss by more than :math:`L_0 - f^*`: a huge
                     gradient threw the run back.
5. ``over_clipped``  at least half of the tail steps were clipped: ``tau`` shrinks ordinary
                     steps and the run crawls.
6. ``slow``          none of the above: still descending.

Examples
--------
>>> run = simulate("cliff", method="none")
>>> run.summary.diverged, run.summary.diverged_at, run.summary.verdict.code
(True, 1, 'diverged')
>>> simulate("cliff", method="norm").summary.verdict.code
'healthy'
>>> grid = sweep("cliff", "norm", taus=[0.1, 1.0], lrs=[0.05, 0.9], steps=200)
>>> grid.codes.tolist()
[['over_clipped', 'healthy'], ['healthy', 'oscillating']]
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from gradclip.autoclip import LowestNorms
from gradclip.clipping import _clamp, _clip_rows_by_norm
from gradclip.landscapes import Landscape, get_landscape
from gradclip.methods import (ADAPTIVE_WARMUP, AGC_EPS, AUTOCLIP_PERCENTILE, ZCLIP_ALPHA, ZCLIP_Z,
                              method_names)
from gradclip.zclip import ZClip, ZClipKernel
from gradclip.optim import OPTIMIZERS, ArrayStepper, float_stepper

__all__ = [
    "SIM_MAX_STEPS", "MAX_STEPS", "METHODS", "OPTIMIZERS", "OUTCOMES", "VERDICT_REASONS", "RANGES",
    "Verdict", "Summary", "Run", "RunBatch", "Sweep",
    "simulate", "simulate_batch", "sweep",
]

SIM_MAX_STEPS = 2000        # the longest simulated run
MAX_STEPS = SIM_MAX_STEPS   # the older name, kept importable
METHODS = method_names("simulator")
TAU_MAX = 1e6
LR_MAX = 10.0
RANGES = {
    "tau": f"a number > 0 and <= {TAU_MAX:g}",
    "lr": f"a number > 0 and <= {LR_MAX:g}",
    "steps": f"a whole number from 1 to {MAX_STEPS}",
    "seed": "a whole number >= 0",
}

# Verdict codes, in the order of the rules in the module docstring (grids use the same codes).
OUTCOMES = ("healthy", "slow", "over_clipped", "spiked", "oscillating", "diverged")
VERDICT_REASONS = {
    "healthy": "healthy: the run reached the valley floor",
    "slow": "slow: still descending; raise the learning rate or run more steps",
    "over_clipped": "over-clipping: tau shrinks ordinary steps, so the run crawls; raise tau",
    "spiked": "spiked: a huge gradient threw the run back; clip by norm or lower tau",
    "oscillating": "oscillating: each step overshoots the valley floor; lower the learning rate",
    "diverged": "diverged: lower the learning rate or the threshold",
}

CONVERGED_RATIO = 1e-3   # healthy: the excess loss fell to this fraction of the start's
CONVERGED_ABS = 1e-8     # ... or below this, whatever the start
TAIL_FRACTION = 0.25     # the verdict looks at the last quarter of the run
REVERSAL_SHARE = 0.5     # oscillating: share of tail steps that reverse the previous move
CLIPPED_SHARE = 0.5      # over-clipped: share of tail steps that were clipped



# --- results ---------------------------------------------------------------------------


def _json_number(x: float) -> float | str | None:
    """Plain JSON: finite floats stay, infinities become "inf"/"-inf", NaN becomes None."""
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


@dataclass(frozen=True)
class Verdict:
    """A one-word ``code`` (one of :data:`OUTCOMES`) and a plain-words ``reason``."""

    code: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class Summary:
    """The six results of a run, and its verdict.

    ``final_loss`` is ``inf`` and ``loss_reduction_pct`` is ``-inf`` for a diverged run;
    ``diverged_at`` is the number of steps taken when it diverged, else ``None``.
    ``loss_reduction_pct`` is :math:`100 (L_0 - L_f) / (L_0 - f^*)`.
    """

    final_loss: float
    max_raw_norm: float
    clip_events: int
    diverged: bool
    diverged_at: int | None
    loss_reduction_pct: float
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: plain floats, ``"inf"``/``"-inf"`` for infinities, ``None`` for NaN."""
        return {
            "final_loss": _json_number(self.final_loss),
            "max_raw_norm": _json_number(self.max_raw_norm),
            "clip_events": int(self.clip_events),
            "diverged": bool(self.diverged),
            "diverged_at": None if self.diverged_at is None else int(self.diverged_at),
            "loss_reduction_pct": _json_number(self.loss_reduction_pct),
            "verdict": self.verdict.to_dict(),
        }


def _list(values: np.ndarray) -> list:
    """Nested plain lists with None for non-finite numbers (strict JSON)."""
    a = np.asarray(values, dtype=float)
    out = np.where(np.isfinite(a), a, np.nan).astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


@dataclass
class Run:
    """One optimisation run.

    Attributes
    ----------
    positions : (steps + 1, 2) array
        Where the run was after each step (row 0 is the start); NaN after divergence.
    losses : (steps + 1,) array
        The clean loss at each position.
    raw_norms, clipped_norms : (steps,) arrays
        Gradient norm at each step before and after clipping.
    clipped : (steps,) bool array
        True where clipping changed the gradient.
    summary : Summary
    """

    landscape: str
    method: str
    optimizer: str
    tau: float
    lr: float
    steps: int
    seed: int
    start: tuple[float, float]
    positions: np.ndarray
    losses: np.ndarray
    raw_norms: np.ndarray
    clipped_norms: np.ndarray
    clipped: np.ndarray
    summary: Summary

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (the browser demos and ``gradclip simulate --json``)."""
        return {
            "landscape": self.landscape, "method": self.method, "optimizer": self.optimizer,
            "tau": float(self.tau), "lr": float(self.lr), "steps": int(self.steps),
            "seed": int(self.seed), "start": [float(v) for v in self.start],
            "positions": _list(self.positions), "losses": _list(self.losses),
            "raw_norms": _list(self.raw_norms), "clipped_norms": _list(self.clipped_norms),
            "clipped": [bool(c) for c in self.clipped],
            "summary": self.summary.to_dict(),
        }


@dataclass
class RunBatch:
    """Many runs from one vectorised loop; arrays have the run index first.

    ``shape`` is the broadcast shape of the ``method``, ``tau`` and ``lr`` arguments; the
    ``R = prod(shape)`` runs are stored flat in C order. Per-run summary arrays:
    ``final_loss``, ``max_raw_norm``, ``clip_events``, ``diverged``, ``diverged_at``
    (``-1`` when the run did not diverge), ``loss_reduction_pct``, ``codes`` (verdicts).
    """

    landscape: str
    optimizer: str
    steps: int
    seed: int
    start: tuple[float, float]
    shape: tuple[int, ...]
    methods: np.ndarray
    taus: np.ndarray
    lrs: np.ndarray
    positions: np.ndarray       # (R, steps + 1, 2)
    losses: np.ndarray          # (R, steps + 1)
    raw_norms: np.ndarray       # (R, steps)
    clipped_norms: np.ndarray   # (R, steps)
    clipped: np.ndarray         # (R, steps) bool
    final_loss: np.ndarray
    max_raw_norm: np.ndarray
    clip_events: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    loss_reduction_pct: np.ndarray
    codes: np.ndarray

    def __len__(self) -> int:
        return int(self.taus.size)

    def summary(self, i: int) -> Summary:
        """The :class:`Summary` of run ``i``."""
        at = int(self.diverged_at[i])
        code = str(self.codes[i])
        return Summary(
            final_loss=float(self.final_loss[i]), max_raw_norm=float(self.max_raw_norm[i]),
            clip_events=int(self.clip_events[i]), diverged=bool(self.diverged[i]),
            diverged_at=None if at < 0 else at,
            loss_reduction_pct=float(self.loss_reduction_pct[i]),
            verdict=Verdict(code, VERDICT_REASONS[code]),
        )

    def run(self, i: int) -> Run:
        """Run ``i`` on its own (copies of its rows)."""
        return Run(
            landscape=self.landscape, method=str(self.methods[i]), optimizer=self.optimizer,
            tau=float(self.taus[i]), lr=float(self.lrs[i]), steps=self.steps, seed=self.seed,
            start=self.start, positions=self.positions[i].copy(), losses=self.losses[i].copy(),
            raw_norms=self.raw_norms[i].copy(), clipped_norms=self.clipped_norms[i].copy(),
            clipped=self.clipped[i].copy(), summary=self.summary(i),
        )

    def runs(self) -> list[Run]:
        return [self.run(i) for i in range(len(self))]


@dataclass
class Sweep:
    """A ``tau`` × ``lr`` grid of runs: row ``i`` is ``taus[i]``, column ``j`` is ``lrs[j]``.

    ``codes`` holds each cell's verdict code (see :data:`OUTCOMES`); ``final_loss``,
    ``clip_fraction`` (clip events / steps) and ``diverged_at`` (``-1``: did not) are grids
    of the same shape.
    """

    landscape: str
    method: str
    optimizer: str
    steps: int
    taus: np.ndarray
    lrs: np.ndarray
    codes: np.ndarray
    final_loss: np.ndarray
    clip_fraction: np.ndarray
    diverged_at: np.ndarray

    def counts(self) -> dict[str, int]:
        """How many cells have each outcome (every code of :data:`OUTCOMES` present)."""
        return {code: int((self.codes == code).sum()) for code in OUTCOMES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "landscape": self.landscape, "method": self.method, "optimizer": self.optimizer,
            "steps": int(self.steps), "taus": _list(self.taus), "lrs": _list(self.lrs),
            "codes": self.codes.tolist(), "final_loss": _list(self.final_loss),
            "clip_fraction": _list(self.clip_fraction),
            "diverged_at": self.diverged_at.astype(int).tolist(), "counts": self.counts(),
        }


# --- validation ------------------------------------------------------------------------


def _positive(name: str, value: Any, hi: float) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {RANGES[name]}; got {value!r}") from None
    if a.size == 0:
        raise ValueError(f"{name} must be {RANGES[name]}; got an empty array")
    bad = ~(np.isfinite(a) & (a > 0) & (a <= hi))
    if bad.any():
        first = a[bad].ravel()[0]
        raise ValueError(f"{name} must be {RANGES[name]}; got {first:g}")
    return a


def _whole(name: str, value: Any, lo: int, hi: int | None) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok and isinstance(value, float) and value.is_integer():
        value, ok = int(value), True
    if not ok or value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be {RANGES[name]}; got {value!r}")
    return int(value)


def _choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _start(land: Landscape, start: Any) -> np.ndarray:
    if start is None:
        return np.asarray(land.start, dtype=float)
    try:
        p = np.asarray(start, dtype=float)
    except (TypeError, ValueError):
        p = np.array([np.nan])
    x0, x1, y0, y1 = land.bound
    if p.shape != (2,) or not np.isfinite(p).all() or not land.inside(p[0], p[1]):
        raise ValueError(f"start must be a point (x, y) inside the {land.name} bound "
                         f"x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]; got {start!r}")
    return p


# --- the loop --------------------------------------------------------------------------
#
# The browser recomputes a run on every slider move, and in WebAssembly each NumPy call on a
# tiny array costs microseconds, so the loop is written to make few calls per step: arguments
# are checked once (in simulate_batch) and the loop calls the unchecked helpers of
# gradclip.clipping, which share their formulas with the public clip_by_norm/clip_by_value;
# "did anything happen" questions are answered with np.count_nonzero or a Python counter
# rather than .any()/.all() (a reduction costs several ufunc calls); the adaptive rules update
# small state in place. Every change of this kind keeps each run's numbers bit for bit.

# 0-d arrays: NumPy converts a Python float operand on every call, a 0-d array it does not
_FLOAT_MAX = np.array(np.finfo(float).max)
_AGC_EPS = np.array(AGC_EPS)


def _norms(g: np.ndarray) -> np.ndarray:
    """Euclidean length of each row of an ``(R, 2)`` array (hypot: no overflow of squares)."""
    return np.hypot(g[:, 0], g[:, 1])


class _Clipper:
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
        self.none = bytes(tau.shape[0])   # a boolean mask with no True, as bytes (see _loop)
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
        return self._to_cap(g, n, self.tau * np.maximum(_norms(p), _AGC_EPS))

    # The adaptive rules see every raw norm; an overflowed one counts as the largest float
    # (np.fmin: NaN and inf become it, every other norm passes as it is). Until they have
    # ADAPTIVE_WARMUP norms of history the fixed tau stands in.

    def _autoclip(self, t: int, g: np.ndarray, n: np.ndarray, p: np.ndarray):
        self.lowest.add(np.fmin(n, _FLOAT_MAX))
        return self._to_cap(g, n, self.lowest.percentile() if t >= ADAPTIVE_WARMUP else self.tau)

    def _zclip(self, t: int, g: np.ndarray, n: np.ndarray, p: np.ndarray):
        seen = np.fmin(n, _FLOAT_MAX)
        if self.single:   # one run: its statistics as plain floats (far cheaper than arrays)
            cap = self.zclip.update(seen.item())
            cap = None if cap is None else np.array(cap, ndmin=1)
        else:
            cap = self.zclip.update(seen)
        return self._to_cap(g, n, self.tau if t < ADAPTIVE_WARMUP else cap)


def _edge_points(p: np.ndarray, q: np.ndarray, bound: tuple[float, float, float, float]) -> np.ndarray:
    """Where the segment from ``p`` (inside) towards ``q`` leaves the box (``q`` if it does not)."""
    d = np.nan_to_num(q - p, nan=0.0, posinf=1e300, neginf=-1e300)
    lo = np.array([bound[0], bound[2]])
    hi = np.array([bound[1], bound[3]])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(d > 0, (hi - p) / d, np.where(d < 0, (lo - p) / d, np.inf))
    s = np.clip(s.min(axis=1), 0.0, 1.0)
    return p + s[:, None] * d


CHECK_EVERY = 32   # a single run of _loop checks its bound every this many steps


def _bad_batches(land: Landscape, seed: int, steps: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The gradient noise ``(nx, ny)`` of the first ``steps`` steps, or None (no noise).

    One draw for a whole batch, so every run meets the same bad batches; always
    :data:`MAX_STEPS` long, so a longer or shorter run meets them at the same steps.
    """
    if land.noise_fn is None:
        return None
    nx, ny = land.noise_fn(np.random.default_rng(seed), (MAX_STEPS,))
    return nx[:steps], ny[:steps]


# --- one run, in Python floats ---------------------------------------------------------
#
# The browser's case: one run, recomputed on every slider move. On (1, 2) arrays each step
# is a dozen NumPy calls of a microsecond or more (several under WebAssembly), so one run
# steps with Python floats instead. Each operation is the one the array loop makes, in the
# same order: + - * / and sqrt are correctly rounded in IEEE arithmetic, so Python and NumPy
# give the same bits; the functions that are not (the landscape's sinh or tanh, hypot) are
# still NumPy's, called on one float. Only the methods without adaptive state take this path.

_ONE_RUN_METHODS = ("none", "norm", "value")
# A squared norm this far (relative) from tau**2 is on the same side of tau as NumPy's
# hypot, whose error is under one ulp: only closer calls need hypot itself.
_NORM_MARGIN = 1e-12


def _float_clipper(method: str, tau: float):
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


def _one_run(land: Landscape, method: str, tau: float, lr: float, steps: int, optimizer: str,
             start: np.ndarray, seed: int):
    """:func:`_loop` for one run of a method in :data:`_ONE_RUN_METHODS`, stepping in floats.

    The same results, bit for bit, as the array loop (the tests compare them). The
    landscape's ``grad_fn`` is called on two floats (0-d inputs); the raw and clipped norms
    and the losses are computed after the loop, in one NumPy call each, and the bound is
    checked at every step (a comparison of floats costs less than collecting blocks).
    """
    grad_fn = land.grad_fn
    x0, x1, y0, y1 = land.bound
    clip = _float_clipper(method, tau)
    move = float_stepper(optimizer, lr)
    bad = _bad_batches(land, seed, steps)
    nx, ny = (None, None) if bad is None else (bad[0].tolist(), bad[1].tolist())

    x, y = float(start[0]), float(start[1])
    xs, ys, gxs, gys = [x], [y], [], []
    clip_steps, cxs, cys = [], [], []
    div_at = -1
    for t in range(steps):
        gx, gy = grad_fn(x, y)
        gx, gy = float(gx), float(gy)
        if nx is not None:
            gx, gy = gx + nx[t], gy + ny[t]
        gxs.append(gx)
        gys.append(gy)
        cx, cy, clipped = clip(gx, gy)
        if clipped:
            clip_steps.append(t)
            cxs.append(cx)
            cys.append(cy)
        dx, dy = move(t + 1, cx, cy)
        qx, qy = x - dx, y - dy
        if not (x0 <= qx <= x1 and y0 <= qy <= y1):   # out, or NaN: stop at the edge
            edge = _edge_points(np.array([[x, y]]), np.array([[qx, qy]]), land.bound)
            qx, qy = edge[0].tolist()
            div_at = t + 1
            xs.append(qx)
            ys.append(qy)
            break
        x, y = qx, qy
        xs.append(x)
        ys.append(y)

    taken = len(gxs)
    pos = np.full((steps + 1, 1, 2), np.nan)
    pos[: taken + 1, 0, 0] = xs
    pos[: taken + 1, 0, 1] = ys
    loss = np.full((steps + 1, 1), np.nan)
    walked = pos[: taken + 1]
    loss[: taken + 1] = land.value_fn(walked[..., 0], walked[..., 1])
    # Every step taken inside the bound needs a finite loss (see _loop); else redo eagerly.
    checked = loss[1: taken + 1 if div_at < 0 else div_at]
    if np.count_nonzero(~np.isfinite(checked)):
        return _loop(land, np.array([method]), np.array([tau]), np.array([lr]), steps,
                     optimizer, start, seed, eager_loss=True)
    raw = np.full((steps, 1), np.nan)
    raw[:taken, 0] = np.hypot(gxs, gys)
    clipn = raw.copy()   # an unclipped step keeps its raw norm
    mask = np.zeros((steps, 1), dtype=bool)
    if clip_steps:
        clipn[clip_steps, 0] = np.hypot(cxs, cys)
        mask[clip_steps, 0] = True
    return pos, loss, raw, clipn, mask, np.array([div_at], dtype=np.int64)


def _loop(land: Landscape, methods: np.ndarray, tau: np.ndarray, lr: np.ndarray,
          steps: int, optimizer: str, start: np.ndarray, seed: int, eager_loss: bool = False):
    """The one loop. Arrays are time-major: ``pos[t]`` is ``(R, 2)``, ``raw[t]`` is ``(R,)``.

    A run diverges at the first step that takes it out of the bound or to a non-finite
    loss, and stops where that step crosses the edge. Two ways of doing less per step, both
    giving exactly the numbers of the plain step-by-step check:

    * The loss feeds nothing but that check, so the loop does not evaluate it (it costs as
      many NumPy calls as the gradient): every loss is computed in one call afterwards, and
      each step taken inside the bound must have had a finite one. If one did not (a
      landscape that is infinite inside its own bound), the runs are redone with
      ``eager_loss=True``, which evaluates and checks the loss at every step.
    * A single run (``R = 1``) of an adaptive method checks its bound every
      :data:`CHECK_EVERY` steps, on all the new positions at once. Nothing computed after
      the run left can change what came before, so the steps after the exit are dropped and
      the exit is handled as the step-by-step check handles it. (In a batch, a run that left
      stays at its edge point and takes part in later steps, so batches check every step.)

    A single run of a method without adaptive state goes to :func:`_one_run` instead.

    Call with floating-point errors ignored (``simulate_batch`` does).
    """
    R = tau.shape[0]
    if R == 1 and not eager_loss and methods[0] in _ONE_RUN_METHODS:
        return _one_run(land, str(methods[0]), float(tau[0]), float(lr[0]), steps, optimizer,
                        start, seed)
    grad_fn, value_fn = land.grad_fn, land.value_fn
    P = np.repeat(start[None, :], R, axis=0)
    X, Y = P[:, 0], P[:, 1]
    # Per-run constants at the full (R, 2) shape: an operation between arrays of one shape
    # takes NumPy's fast path, one that broadcasts costs about twice as much.
    lr2 = np.repeat(lr[:, None], 2, axis=1)
    x0, x1, y0, y1 = land.bound
    lo = np.tile([x0, y0], (R, 1)).astype(float)
    hi = np.tile([x1, y1], (R, 1)).astype(float)
    symmetric = x0 == -x1 and y0 == -y1   # then |q| <= hi is the same test as lo <= q <= hi

    def inside(q: np.ndarray) -> np.ndarray:
        """Where q (rows of R points) is in the bound; NaN fails every comparison, so is out."""
        return np.abs(q) <= hi if symmetric else (q >= lo) & (q <= hi)

    clippers = []
    for m in dict.fromkeys(methods.tolist()):
        if m == "none":
            continue
        rows = slice(None) if (methods == m).all() else np.flatnonzero(methods == m)
        clippers.append(_Clipper(m, rows, tau[rows], steps))
    whole = len(clippers) == 1 and isinstance(clippers[0].sel, slice)
    clip_all = clippers[0].clip if whole else None

    bad = _bad_batches(land, seed, steps)
    noise = None if bad is None else np.stack(bad, axis=-1)

    # The history is collected in lists (an append is far cheaper than writing a row of an
    # array) and copied into arrays in one call per block of steps. An array appended is not
    # changed afterwards, except a position whose step left the bound (it becomes the edge).
    pos = np.full((steps + 1, R, 2), np.nan)
    pos_t, raw_t = [P], []
    flushed = 0          # pos_t[:flushed] are copied into pos
    loss_t = [value_fn(X, Y)] if eager_loss else None
    # steps where something was clipped, with the clipped gradients (and, for one method,
    # the clip masks): their norms and masks are written after the loop
    clip_steps, clip_gc, clip_over = [], [], []
    mask = np.zeros((steps, R), dtype=bool)
    div_at = np.full(R, -1, dtype=np.int64)

    g = np.empty((R, 2))
    gx, gy = g[:, 0], g[:, 1]   # views, made once: g is refilled in place every step
    stepper = ArrayStepper(optimizer, lr2, (R, 2))
    live = R             # runs still going (a count: no per-step .all()/.any())
    gone = None          # which runs have diverged, once some have
    # "all True" for a boolean array a is a.tobytes() == ones: far cheaper than a.all() on a
    # few elements (NumPy stores booleans as the bytes 0 and 1)
    ones_r, ones_2r = b"\x01" * R, b"\x01" * (2 * R)
    in_blocks = R == 1 and not eager_loss
    Lq = finite = None
    for t in range(steps):
        gx[...], gy[...] = grad_fn(X, Y)
        if noise is not None:
            g += noise[t]
        n = np.hypot(gx, gy)
        raw_t.append(n)
        gc = g
        if clip_all is not None:
            gc, over = clip_all(t, g, n, P)
            if over is not None:
                clip_over.append(over)
        else:
            for c in clippers:
                part, over = c.clip(t, g[c.sel], n[c.sel], P[c.sel])
                if over is not None:
                    if gc is g:
                        gc = g.copy()
                    gc[c.sel] = part
                    mask[t, c.sel] = over
        if gc is not g:   # (a new array, never changed later)
            clip_steps.append(t)
            clip_gc.append(gc)

        Q = P - stepper.step(gc, t + 1)
        pos_t.append(Q)

        if in_blocks:
            P, X, Y = Q, Q[:, 0], Q[:, 1]
            if len(pos_t) - flushed < CHECK_EVERY and t + 1 < steps:
                continue
            first, flushed = flushed, len(pos_t)
            block = pos[first:flushed].reshape(-1, 2)   # a view: pos is C-contiguous
            np.concatenate(pos_t[first:], out=block)
            ok = inside(block)
            if ok.tobytes() == b"\x01" * ok.size:
                continue
            # The run left at step s: forget the steps after it, then handle step s below.
            s = first + int(np.flatnonzero(~(ok[:, 0] & ok[:, 1]))[0])
            del pos_t[s + 1:], raw_t[s:]
            kept = bisect.bisect_left(clip_steps, s)
            del clip_steps[kept:], clip_gc[kept:], clip_over[kept:]
            pos[s:] = np.nan
            flushed = s
            t, before, Q = s - 1, pos_t[s - 1], pos_t[s]
            ok = np.zeros(1, dtype=bool)
        else:
            ok = inside(Q)
            if eager_loss:
                Lq = value_fn(Q[:, 0], Q[:, 1])
                loss_t.append(Lq)
                finite = np.isfinite(Lq)
            if live < R:
                Q[gone] = P[gone]  # a diverged run stays at its edge point (finite arithmetic)
                ok[gone] = True
                if eager_loss:
                    finite[gone] = True
            # one test for the whole batch; only a step where some run leaves looks at rows
            if ok.tobytes() == ones_2r and (not eager_loss or finite.tobytes() == ones_r):
                P, X, Y = Q, Q[:, 0], Q[:, 1]
                continue
            ok = ok[:, 0] & ok[:, 1]
            if eager_loss:
                ok &= finite
            before = P
        # Step t took the runs in `rows` out: each stops where its step crosses the edge.
        rows = np.flatnonzero(~ok)
        edge = _edge_points(before[rows], Q[rows], land.bound)
        Q[rows] = edge
        if eager_loss:
            Lq[rows] = value_fn(edge[:, 0], edge[:, 1])
        div_at[rows] = t + 1
        live -= rows.size
        gone = div_at >= 0
        if not live:
            break
        P, X, Y = Q, Q[:, 0], Q[:, 1]

    if flushed < len(pos_t):
        np.concatenate(pos_t[flushed:], out=pos[flushed:len(pos_t)].reshape(-1, 2))
    # Steps after the last one taken (every run diverged) stay NaN. (concatenate, not
    # stack: stack would index every array once more to add an axis)
    taken = len(raw_t)
    loss = np.full((steps + 1, R), np.nan)
    if eager_loss:
        np.concatenate(loss_t, out=loss[: taken + 1].reshape(-1))
    else:
        walked = pos[: taken + 1]
        loss[: taken + 1] = value_fn(walked[..., 0], walked[..., 1])
        # The eager loop stops a run at a step inside the bound with a non-finite loss; the
        # steps checked are those before each run's divergence (1 .. diverged_at - 1).
        unchecked = ~np.isfinite(loss[1: taken + 1])
        if np.count_nonzero(unchecked):
            if live < R:
                unchecked &= ~(gone & (np.arange(1, taken + 1)[:, None] >= div_at))
            if np.count_nonzero(unchecked):
                return _loop(land, methods, tau, lr, steps, optimizer, start, seed, eager_loss=True)
    raw = np.full((steps, R), np.nan)
    np.concatenate(raw_t, out=raw[:taken].reshape(-1))
    clipn = raw.copy()   # an unclipped row keeps its raw norm
    if clip_steps:
        clipn[clip_steps] = _norms(np.concatenate(clip_gc)).reshape(-1, R)
        if clip_over:
            mask[clip_steps] = np.concatenate(clip_over).reshape(-1, R)

    # Blank everything after each run's divergence in one go (cheaper than per step).
    if live < R:
        tt = np.arange(steps + 1)[:, None]
        after = gone & (tt > div_at)                 # (steps + 1, R): positions past the edge
        pos[after] = np.nan
        loss[after] = np.nan
        stepped = gone & (tt[:steps] >= div_at)     # steps never taken
        raw[stepped] = np.nan
        clipn[stepped] = np.nan
        mask[stepped] = False
    return pos, loss, raw, clipn, mask, div_at


# --- verdicts --------------------------------------------------------------------------


def _verdicts(pos: np.ndarray, loss: np.ndarray, mask: np.ndarray, diverged: np.ndarray,
              min_value: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Verdict codes, final losses and loss reductions (%) of runs; arrays are time-major."""
    steps = mask.shape[0]
    L0 = loss[0] - min_value
    Lf = np.where(diverged, np.inf, loss[-1] - min_value)
    with np.errstate(invalid="ignore", divide="ignore"):
        reduction = np.where(L0 > 0, 100.0 * (L0 - Lf) / np.where(L0 > 0, L0, 1.0), 0.0)
        healthy = ~diverged & ((Lf <= CONVERGED_RATIO * L0) | (Lf <= CONVERGED_ABS))

        tail = max(1, int(round(steps * TAIL_FRACTION)))
        moves = np.diff(pos[-tail - 2:], axis=0)         # the last tail + 1 moves
        dots = (moves[1:] * moves[:-1]).sum(axis=-1)     # (tail, R)
        reversals = (dots < 0).sum(axis=0) / tail
        oscillating = reversals >= REVERSAL_SHARE

        rises = np.diff(loss, axis=0)
        jumped = np.fmax.reduce(np.where(np.isfinite(rises), rises, -np.inf), axis=0) > L0
        over = mask[-tail:].sum(axis=0) / tail >= CLIPPED_SHARE

    codes = np.full(diverged.shape, "slow", dtype="<U12")
    # assign in reverse rule order so the first matching rule wins
    codes[over] = "over_clipped"
    codes[jumped] = "spiked"
    codes[oscillating] = "oscillating"
    codes[healthy] = "healthy"
    codes[diverged] = "diverged"
    return codes, Lf + min_value, np.where(diverged, -np.inf, reduction)


# --- public entry points ---------------------------------------------------------------


def simulate_batch(landscape: str | Landscape = "cliff", method: Any = "norm", tau: Any = 1.0,
                   lr: Any = 0.05, steps: int = 200, optimizer: str = "sgd",
                   start: Any = None, seed: int = 0) -> RunBatch:
    """Many runs in one vectorised loop.

    ``method``, ``tau`` and ``lr`` may be scalars or arrays (a list of method names, too);
    they broadcast together and each element is one run. Every run starts at ``start``
    (default: the landscape's) and meets the same bad batches (``seed``).

    Examples
    --------
    >>> b = simulate_batch("cliff", method=["none", "norm", "value"])
    >>> b.codes.tolist(), b.diverged_at.tolist()
    (['diverged', 'healthy', 'healthy'], [1, -1, -1])
    >>> simulate_batch("ravine", tau=[[0.5], [1.0]], lr=[0.01, 0.05]).shape
    (2, 2)
    """
    land = get_landscape(landscape)
    optimizer = _choice("optimizer", optimizer, OPTIMIZERS)
    steps = _whole("steps", steps, 1, MAX_STEPS)
    seed = _whole("seed", seed, 0, None)
    tau_a = _positive("tau", tau, TAU_MAX)
    lr_a = _positive("lr", lr, LR_MAX)
    meth_a = np.asarray(method, dtype=object)
    for m in set(meth_a.ravel().tolist()):
        _choice("method", m, METHODS)
    p0 = _start(land, start)
    try:
        shape = np.broadcast_shapes(meth_a.shape, tau_a.shape, lr_a.shape)
    except ValueError:
        raise ValueError(f"method, tau and lr must broadcast together; got shapes "
                         f"{meth_a.shape}, {tau_a.shape}, {lr_a.shape}") from None
    methods = np.broadcast_to(meth_a, shape).ravel().astype(str)
    taus = np.broadcast_to(tau_a, shape).ravel().copy()
    lrs = np.broadcast_to(lr_a, shape).ravel().copy()

    with np.errstate(all="ignore"):
        pos, loss, raw, clipn, mask, div_at = _loop(land, methods, taus, lrs, steps,
                                                    optimizer, p0, seed)
        diverged = div_at >= 0
        codes, final, reduction = _verdicts(pos, loss, mask, diverged, land.min_value)
        max_raw = np.fmax.reduce(raw, axis=0)

    return RunBatch(
        landscape=land.name, optimizer=optimizer, steps=steps, seed=seed,
        start=(float(p0[0]), float(p0[1])), shape=tuple(shape), methods=methods, taus=taus,
        lrs=lrs, positions=np.moveaxis(pos, 1, 0), losses=loss.T, raw_norms=raw.T,
        clipped_norms=clipn.T, clipped=mask.T, final_loss=final, max_raw_norm=max_raw,
        clip_events=mask.sum(axis=0), diverged=diverged, diverged_at=div_at,
        loss_reduction_pct=reduction, codes=codes,
    )


def simulate(landscape: str | Landscape = "cliff", method: str = "norm", tau: float = 1.0,
             lr: float = 0.05, steps: int = 200, optimizer: str = "sgd", start: Any = None,
             seed: int = 0) -> Run:
    """One optimisation run: the ``R = 1`` case of :func:`simulate_batch`.

    Parameters
    ----------
    landscape : str
        A name in :data:`gradclip.landscapes.LANDSCAPES`.
    method : str
        One of :data:`METHODS` (see the module docstring for what ``tau`` means for each).
    tau : float
        The clipping threshold, > 0 and <= 1e6.
    lr : float
        The learning rate, > 0 and <= 10.
    steps : int
        1 to :data:`MAX_STEPS` (2000).
    optimizer : str
        ``sgd``, ``momentum`` or ``adam``.
    start : (float, float) or None
        The starting point, inside the landscape's bound; default the landscape's start.
    seed : int
        Seeds the bad batches of ``spiky`` (other landscapes are deterministic).

    Examples
    --------
    >>> s = simulate("cliff", method="norm", tau=1.0, lr=0.05, steps=200).summary
    >>> s.diverged, s.clip_events, s.verdict.code, s.loss_reduction_pct > 99.9
    (False, 45, 'healthy', True)
    """
    for name, v in (("tau", tau), ("lr", lr)):
        if np.ndim(v) != 0:
            raise ValueError(f"{name} must be {RANGES[name]} (one number; use simulate_batch "
                             f"for arrays); got {v!r}")
    _choice("method", method, METHODS)
    return simulate_batch(landscape, method, tau, lr, steps, optimizer, start, seed).run(0)


def _grid(name: str, values: Any, each: str) -> np.ndarray:
    """A non-empty one-dimensional float array of grid values; else ValueError naming ``name``."""
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        a = None
    if a is None or a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty one-dimensional list of numbers, each {each}; "
                         f"got {values!r}")
    return a


def sweep(landscape: str | Landscape = "cliff", method: str = "norm",
          taus: Any = None, lrs: Any = None, steps: int = 500, optimizer: str = "sgd",
          start: Any = None, seed: int = 0) -> Sweep:
    r"""Outcomes over a ``tau`` × ``lr`` grid, all runs in one vectorised loop.

    Cell :math:`(i, j)` is the run with :math:`\tau = \text{taus}_i` and
    :math:`\eta = \text{lrs}_j`, everything else shared:
    :math:`\text{codes}_{ij} = \operatorname{verdict}\bigl(\text{simulate}(\tau_i, \eta_j)\bigr)`
    (the rules in the module docstring), and the same for the final loss, the share of
    clipped steps and the step of divergence.

    Parameters
    ----------
    landscape, method, steps, optimizer, start, seed
        As for :func:`simulate_batch` (``method`` one of :data:`METHODS`, ``steps`` from 1
        to :data:`MAX_STEPS`).
    taus, lrs : sequence of float, optional
        One-dimensional; each ``tau`` > 0 and <= 1e6, each ``lr`` > 0 and <= 10. Default
        grids: 16 values of ``tau`` from 0.01 to 100 and 16 of ``lr`` from 0.001 to 1, both
        log-spaced.

    Returns
    -------
    Sweep
        Arrays of shape ``(len(taus), len(lrs))``.

    Raises
    ------
    ValueError
        Naming the argument and its allowed range.

    Examples
    --------
    >>> s = sweep("cliff", "norm", taus=[0.1, 1, 100], lrs=[0.01, 0.05, 0.9], steps=200)
    >>> s.codes.tolist()[2]
    ['healthy', 'oscillating', 'diverged']
    """
    _choice("method", method, METHODS)
    taus = np.logspace(-2, 2, 16) if taus is None else _grid("taus", taus, RANGES["tau"])
    lrs = np.logspace(-3, 0, 16) if lrs is None else _grid("lrs", lrs, RANGES["lr"])
    batch = simulate_batch(landscape, method, taus[:, None], lrs[None, :], steps, optimizer,
                           start, seed)
    shape = batch.shape
    return Sweep(
        landscape=batch.landscape, method=method, optimizer=optimizer, steps=batch.steps,
        taus=taus.copy(), lrs=lrs.copy(), codes=batch.codes.reshape(shape),
        final_loss=batch.final_loss.reshape(shape),
        clip_fraction=(batch.clip_events / batch.steps).reshape(shape),
        diverged_at=batch.diverged_at.reshape(shape),
    )
