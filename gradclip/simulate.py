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
PyTorch. The clipping itself is :func:`gradclip.clipping.clip_by_norm` and
:func:`gradclip.clipping.clip_by_value`: the package clips through one implementation.

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
fixed cap); from step 25 on ``tau`` is not used.

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

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from gradclip.adaptive import ZClip, autoclip_threshold, zclip_step
from gradclip.clipping import clip_by_norm, clip_by_value
from gradclip.landscapes import Landscape, get_landscape

__all__ = [
    "MAX_STEPS", "METHODS", "OPTIMIZERS", "OUTCOMES", "VERDICT_REASONS", "RANGES",
    "Verdict", "Summary", "Run", "RunBatch", "Sweep",
    "simulate", "simulate_batch", "sweep",
]

MAX_STEPS = 2000
METHODS = ("none", "norm", "value", "adaptive", "agc", "autoclip", "zclip")
OPTIMIZERS = ("sgd", "momentum", "adam")
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

MOMENTUM = 0.9
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
AGC_EPS = 1e-3
AUTOCLIP_PERCENTILE = 10.0   # AutoClip's default
ZCLIP_ALPHA = 0.97           # ZClip's defaults
ZCLIP_Z = 2.5
ADAPTIVE_WARMUP = 25         # steps during which autoclip and zclip use the fixed tau


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


def _norms(g: np.ndarray) -> np.ndarray:
    """Euclidean length of each row of an ``(R, 2)`` array (hypot: no overflow of squares)."""
    return np.hypot(g[:, 0], g[:, 1])


class _Clipper:
    """The clipping step for the runs of one method (rows ``sel``); keeps adaptive state."""

    def __init__(self, method: str, sel: Any, tau: np.ndarray, steps: int):
        self.method = "zclip" if method == "adaptive" else method
        self.sel = sel
        self.tau = tau
        if self.method == "autoclip":
            self.history = np.empty((steps, tau.shape[0]))
        if self.method == "zclip":
            self.state = ZClip(alpha=ZCLIP_ALPHA, z_thresh=ZCLIP_Z, warmup_steps=ADAPTIVE_WARMUP)

    def __call__(self, t: int, g: np.ndarray, n: np.ndarray, p: np.ndarray):
        """Clipped gradient and clip mask for the rows of this method at step ``t``."""
        m = self.method
        if m == "value":
            over = (np.abs(g) > self.tau[:, None]).any(axis=1)
            # below the threshold clipping is the identity: skip the call (it dominates small runs)
            return (clip_by_value(g, self.tau[:, None]) if over.any() else g), over
        if m == "norm":
            cap = self.tau
        elif m == "agc":
            cap = self.tau * np.maximum(_norms(p), AGC_EPS)
        else:
            # the adaptive rules see every raw norm; an overflowed one counts as the largest float
            seen = np.nan_to_num(n, nan=np.finfo(float).max, posinf=np.finfo(float).max)
            if m == "autoclip":
                self.history[t] = seen
                cap = autoclip_threshold(self.history[: t + 1], AUTOCLIP_PERCENTILE)
            else:
                self.state, cap = zclip_step(self.state, seen)
            if t < ADAPTIVE_WARMUP:
                cap = self.tau  # no statistics yet: the fixed threshold stands in
        over = n > cap
        return (clip_by_norm(g, cap, axis=-1) if over.any() else g), over


def _edge_points(p: np.ndarray, q: np.ndarray, bound: tuple[float, float, float, float]) -> np.ndarray:
    """Where the segment from ``p`` (inside) towards ``q`` leaves the box (``q`` if it does not)."""
    d = np.nan_to_num(q - p, nan=0.0, posinf=1e300, neginf=-1e300)
    lo = np.array([bound[0], bound[2]])
    hi = np.array([bound[1], bound[3]])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(d > 0, (hi - p) / d, np.where(d < 0, (lo - p) / d, np.inf))
    s = np.clip(s.min(axis=1), 0.0, 1.0)
    return p + s[:, None] * d


def _loop(land: Landscape, methods: np.ndarray, tau: np.ndarray, lr: np.ndarray,
          steps: int, optimizer: str, start: np.ndarray, seed: int):
    """The one loop. Arrays are time-major: ``pos[t]`` is ``(R, 2)``, ``raw[t]`` is ``(R,)``."""
    R = tau.shape[0]
    pos = np.full((steps + 1, R, 2), np.nan)
    loss = np.full((steps + 1, R), np.nan)
    raw = np.full((steps, R), np.nan)
    clipn = np.full((steps, R), np.nan)
    mask = np.zeros((steps, R), dtype=bool)
    div_at = np.full(R, -1, dtype=np.int64)

    P = np.repeat(start[None, :], R, axis=0)
    pos[0] = P
    loss[0] = land.value_fn(P[:, 0], P[:, 1])
    alive = np.ones(R, dtype=bool)
    lr2 = lr[:, None]
    lo = np.array([land.bound[0], land.bound[2]])
    hi = np.array([land.bound[1], land.bound[3]])

    clippers = []
    for m in dict.fromkeys(methods.tolist()):
        if m == "none":
            continue
        rows = slice(None) if (methods == m).all() else np.flatnonzero(methods == m)
        clippers.append(_Clipper(m, rows, tau[rows], steps))
    whole = len(clippers) == 1 and isinstance(clippers[0].sel, slice)

    # One draw of bad batches for the whole batch, so every run meets the same ones; always
    # MAX_STEPS long, so a longer or shorter run meets the same batches at the same steps.
    noise = None
    if land.noise_fn is not None:
        nx, ny = land.noise_fn(np.random.default_rng(seed), (MAX_STEPS,))
        noise = np.stack([nx[:steps], ny[:steps]], axis=-1)

    g = np.empty((R, 2))
    buf = np.zeros((R, 2))
    m1 = np.zeros((R, 2))
    m2 = np.zeros((R, 2))
    b1, b2 = ADAM_BETAS
    last = steps
    for t in range(steps):
        g[:, 0], g[:, 1] = land.grad_fn(P[:, 0], P[:, 1])
        if noise is not None:
            g += noise[t]
        n = _norms(g)
        raw[t] = n
        if whole:
            gc, mask[t] = clippers[0](t, g, n, P)
        elif clippers:
            gc = g.copy()
            for c in clippers:
                gc[c.sel], mask[t, c.sel] = c(t, g[c.sel], n[c.sel], P[c.sel])
        else:
            gc = g
        clipn[t] = _norms(gc) if gc is not g else n

        if optimizer == "sgd":
            step = lr2 * gc
        elif optimizer == "momentum":
            buf = MOMENTUM * buf + gc
            step = lr2 * buf
        else:
            m1 = b1 * m1 + (1 - b1) * gc
            m2 = b2 * m2 + (1 - b2) * gc * gc
            step = (lr2 / (1 - b1 ** (t + 1))) * m1 / (np.sqrt(m2 / (1 - b2 ** (t + 1))) + ADAM_EPS)
        Q = P - step
        Lq = land.value_fn(Q[:, 0], Q[:, 1])
        # inside the bound (NaN fails every comparison, so this rejects non-finite points too)
        ok = ((Q >= lo) & (Q <= hi)).all(axis=1) & np.isfinite(Lq)
        if not alive.all():
            gone = ~alive
            Q[gone] = P[gone]  # a diverged run stays at its edge point (finite arithmetic)
            ok[gone] = True
        if not ok.all():
            rows = np.flatnonzero(~ok)
            edge = _edge_points(P[rows], Q[rows], land.bound)
            Q[rows] = edge
            Lq[rows] = land.value_fn(edge[:, 0], edge[:, 1])
            div_at[rows] = t + 1
            alive &= ok
        pos[t + 1] = Q
        loss[t + 1] = Lq
        P = Q
        if not alive.any():
            last = t + 1
            break

    # Blank everything after each run's divergence in one go (cheaper than per step).
    gone = div_at >= 0
    if gone.any():
        tt = np.arange(steps + 1)[:, None]
        after = gone & (tt > div_at)                 # (steps + 1, R): positions past the edge
        pos[after] = np.nan
        loss[after] = np.nan
        stepped = gone & (tt[:steps] >= div_at)     # steps never taken
        raw[stepped] = np.nan
        clipn[stepped] = np.nan
        mask[stepped] = False
    if last < steps:
        raw[last:] = np.nan
        clipn[last:] = np.nan
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


def sweep(landscape: str | Landscape = "cliff", method: str = "norm",
          taus: Any = None, lrs: Any = None, steps: int = 500, optimizer: str = "sgd",
          start: Any = None, seed: int = 0) -> Sweep:
    """Outcomes over a ``tau`` × ``lr`` grid, all runs in one vectorised loop.

    Default grids: 16 values of ``tau`` from 0.01 to 100 and 16 of ``lr`` from 0.001 to 1,
    both log-spaced.

    >>> s = sweep("cliff", "norm", taus=[0.1, 1, 100], lrs=[0.01, 0.05, 0.9], steps=200)
    >>> s.codes.tolist()[2]
    ['healthy', 'oscillating', 'diverged']
    """
    _choice("method", method, METHODS)
    taus = np.logspace(-2, 2, 16) if taus is None else np.asarray(taus, dtype=float)
    lrs = np.logspace(-3, 0, 16) if lrs is None else np.asarray(lrs, dtype=float)
    if taus.ndim != 1 or lrs.ndim != 1:
        raise ValueError("taus and lrs must be one-dimensional lists of numbers")
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
