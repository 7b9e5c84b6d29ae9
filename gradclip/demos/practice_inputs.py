"""The inputs of the practice demos that are not a landscape, as small pure functions.

The gradients of a toy transformer, a chain of recurrent Jacobians, a log of gradient norms
with a lasting shift, and two measures of a run (its longest clipped streak, its step
lengths). Arrays in, arrays out, so tests can check each on its own.

>>> longest_streak([True, True, False, True])
2
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ToyGradients", "toy_transformer_gradients", "backprop_chain", "synthetic_norm_log",
           "longest_streak", "step_lengths", "max_step", "TRANSFORMER_TENSORS"]


# ---------------------------------------------------------------------------------------
# Pure helpers


def longest_streak(mask: Any) -> int:
    """The length of the longest run of consecutive ``True`` values.

    >>> longest_streak([True, False, True, True, True, False])
    3
    >>> longest_streak([])
    0
    """
    m = np.asarray(mask, dtype=bool).astype(np.int8)
    if m.size == 0 or not m.any():
        return 0
    edges = np.diff(np.concatenate([[0], m, [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max())


def step_lengths(positions: Any) -> np.ndarray:
    """Length of every step of a trajectory, :math:`\\lVert\\theta_{t+1} - \\theta_t\\rVert`
    (NaN after a run stopped).

    >>> step_lengths(np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 5.0]])).tolist()
    [5.0, 1.0]
    """
    p = np.asarray(positions, dtype=float)
    return np.sqrt((np.diff(p, axis=0) ** 2).sum(axis=-1))


def max_step(positions: np.ndarray) -> float:
    """The longest finite step of a path (0 for a path without one).

    >>> max_step(np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 5.0]]))
    5.0
    """
    s = step_lengths(positions)
    s = s[np.isfinite(s)]
    return float(s.max()) if s.size else 0.0


# The tensors of one block of a small transformer: (name, number of entries, typical norm).
# The sizes follow a width-8 block with a 4x MLP and a 32-token vocabulary; the typical
# norms make the global norm settle near 0.6 after the early phase.
TRANSFORMER_TENSORS: tuple[tuple[str, int, float], ...] = (
    ("embed", 256, 0.20), ("attn.q", 64, 0.10), ("attn.k", 64, 0.10), ("attn.v", 64, 0.18),
    ("attn.o", 64, 0.18), ("mlp.1", 256, 0.28), ("mlp.2", 256, 0.26),
    ("norm", 8, 0.05), ("head", 256, 0.30),
)


@dataclass(frozen=True)
class ToyGradients:
    """Per-step gradients of the toy transformer.

    Attributes
    ----------
    names : tuple of str
        Tensor names, in order.
    grads : tuple of ndarray
        One array per tensor, shape ``(steps, size)``: row t is that tensor's gradient at step t.
    spike_steps : ndarray of int
        The steps where one tensor spiked.
    spike_tensor : ndarray of int
        Which tensor spiked at each of those steps.
    """

    names: tuple[str, ...]
    grads: tuple[np.ndarray, ...]
    spike_steps: np.ndarray
    spike_tensor: np.ndarray

    @property
    def steps(self) -> int:
        return int(self.grads[0].shape[0])

    def at(self, t: int) -> list[np.ndarray]:
        """The list of tensors of step ``t`` (what a framework's clipping function receives)."""
        return [g[t] for g in self.grads]

    def flat(self) -> np.ndarray:
        """All tensors side by side, shape ``(steps, total size)``: one long vector per step."""
        return np.concatenate(self.grads, axis=1)


def toy_transformer_gradients(steps: int = 300, *, spike: float = 50.0, spike_rate: float = 0.02,
                              spike_tensor: int | None = None, seed: int = 0) -> ToyGradients:
    """Synthetic per-step gradients with the tensor layout of a small transformer block.

    Tensor i at step t is a random direction scaled to norm
    :math:`n_i \\, (1 + 4 e^{-t/25}) \\, e^{0.15 z}` with :math:`z \\sim N(0, 1)`: large after
    initialisation, then settling. On each step after the first 40, with probability
    ``spike_rate``, one tensor (``spike_tensor``, or a random one when ``None``) is
    multiplied by ``spike``.

    Parameters
    ----------
    steps : int, >= 1
    spike : float, >= 1
        The size of a spike, as a factor on the tensor's usual norm.
    spike_rate : float in [0, 1]
    spike_tensor : int or None
        Index into :data:`TRANSFORMER_TENSORS`.
    seed : int, >= 0

    Examples
    --------
    >>> g = toy_transformer_gradients(100, spike_rate=0.0)
    >>> g.steps, len(g.names), g.spike_steps.size
    (100, 9, 0)
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps!r}")
    if not spike >= 1:
        raise ValueError(f"spike must be >= 1, got {spike!r}")
    if not 0 <= spike_rate <= 1:
        raise ValueError(f"spike_rate must be in [0, 1], got {spike_rate!r}")
    n = len(TRANSFORMER_TENSORS)
    if spike_tensor is not None and not 0 <= spike_tensor < n:
        raise ValueError(f"spike_tensor must be an index from 0 to {n - 1} or None, got {spike_tensor!r}")
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    early = 1.0 + 4.0 * np.exp(-t / 25.0)
    jitter = np.exp(0.15 * rng.normal(size=(n, steps)))
    spiking = (rng.random(steps) < spike_rate) & (t >= 40)
    who = rng.integers(0, n, size=steps) if spike_tensor is None else np.full(steps, spike_tensor)
    grads = []
    for i, (_, size, typical) in enumerate(TRANSFORMER_TENSORS):
        d = rng.normal(size=(steps, size))
        d /= np.sqrt((d * d).sum(axis=1, keepdims=True))
        scale = typical * early * jitter[i] * np.where(spiking & (who == i), spike, 1.0)
        grads.append(d * scale[:, None])
    steps_idx = np.flatnonzero(spiking)
    return ToyGradients(names=tuple(name for name, _, _ in TRANSFORMER_TENSORS), grads=tuple(grads),
                        spike_steps=steps_idx, spike_tensor=who[steps_idx])


def backprop_chain(rho: float, length: int, *, hidden: int = 16, seed: int = 0) -> np.ndarray:
    """A gradient carried back through ``length`` steps of a linear recurrence.

    With :math:`W = \\rho Q` (:math:`Q` a fixed random orthogonal matrix) and a unit vector
    :math:`g_T`, row k is :math:`g_{T-k} = (W^\\top)^k g_T`, so
    :math:`\\lVert g_{T-k} \\rVert = \\rho^k` exactly.

    Returns
    -------
    ndarray, shape (length + 1, hidden)

    Examples
    --------
    >>> G = backprop_chain(0.5, 3)
    >>> np.round(np.linalg.norm(G, axis=1), 12).tolist()
    [1.0, 0.5, 0.25, 0.125]
    """
    if not rho > 0:
        raise ValueError(f"rho must be > 0, got {rho!r}")
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length!r}")
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(hidden, hidden)))
    q = q * np.sign(np.diag(r))
    g = rng.normal(size=hidden)
    g /= np.linalg.norm(g)
    out = np.empty((length + 1, hidden))
    out[0] = g
    wt = rho * q.T
    for k in range(1, length + 1):
        out[k] = wt @ out[k - 1]
    return out


def synthetic_norm_log(steps: int = 400, *, shift_at: int = 250, shift: float = 4.0,
                       spike_rate: float = 0.02, seed: int = 0) -> np.ndarray:
    """A log of gradient norms: steady noise, rare spikes, and a lasting level shift.

    :math:`n_t = e^{0.2 z_t} \\cdot (\\text{shift if } t \\ge \\text{shift\\_at}) \\cdot
    (\\text{spike of 5 to 50 with probability spike\\_rate})`.

    >>> x = synthetic_norm_log(300, shift_at=200, shift=10.0, spike_rate=0.0)
    >>> bool(np.median(x[200:]) > 5 * np.median(x[:200]))
    True
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps!r}")
    if not shift > 0:
        raise ValueError(f"shift must be > 0, got {shift!r}")
    if not 0 <= spike_rate <= 1:
        raise ValueError(f"spike_rate must be in [0, 1], got {spike_rate!r}")
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    base = np.exp(0.2 * rng.normal(size=steps))
    level = np.where(t >= shift_at, shift, 1.0)
    spikes = np.where(rng.random(steps) < spike_rate,
                      np.exp(rng.uniform(math.log(5.0), math.log(50.0), steps)), 1.0)
    return base * level * spikes
