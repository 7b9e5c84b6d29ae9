"""What the simulator returns: a run, a batch of runs, a sweep, their summaries and verdicts.

The verdict rules are listed in :mod:`gradclip.simulate`'s docstring; :func:`verdicts` applies
them to many runs at once.

Examples
--------
>>> Verdict("healthy", VERDICT_REASONS["healthy"]).to_dict()["code"]
'healthy'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["OUTCOMES", "VERDICT_REASONS", "Verdict", "Summary", "Run", "RunBatch", "Sweep", "verdicts"]

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


def verdicts(pos: np.ndarray, loss: np.ndarray, mask: np.ndarray, diverged: np.ndarray,
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
