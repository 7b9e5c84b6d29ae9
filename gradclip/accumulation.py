r"""Gradient accumulation and clipping: clip once, on the accumulated gradient, or each micro-batch.

With :math:`k` micro-batches per optimiser step and micro-batch gradients :math:`g_1, \dots, g_k`,
the step's gradient is their mean. Two places for a norm clip :math:`c_\tau` (``clip_grad_norm``):

.. math::

    \text{once:}\quad \bar g = c_\tau\Bigl(\frac1k \sum_{i=1}^k g_i\Bigr), \qquad
    \text{each:}\quad \bar g = \frac1k \sum_{i=1}^k c_\tau(g_i)

"once" is what a large batch of :math:`k` micro-batches would give, and what Hugging Face
Accelerate (clip under ``accelerator.sync_gradients``), ``optax.MultiSteps`` with the clip in
its inner chain and Keras 3's ``gradient_accumulation_steps`` do. "each" clips every
micro-batch's noisier gradient, so it clips more often, shortens the step and tilts it
toward the micro-batches with small gradients.

>>> g = [[np.array([3.0, 0.0])], [np.array([0.0, 1.0])]]
>>> [np.round(accumulate(g, 1.0, c)[0], 4).tolist() for c in ACCUMULATE_CLIPS]
[[0.9487, 0.3162], [0.5, 0.5]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from gradclip.checks import choice, integer, real
from gradclip.clipping import _as_array_list, angle_degrees, clip_grad_norm
from gradclip.train import TRAIN_MAX_STEPS, RunSpec, resolve, train_runs

__all__ = ["ACCUMULATE_CLIPS", "accumulate", "AccumulationRuns", "train_accumulated"]

ACCUMULATE_CLIPS = ("once", "each")


def accumulate(micro_grads: Sequence[Any], max_norm: float, clip: str = "once") -> list[np.ndarray]:
    """The mean of ``k`` micro-batch gradients (each a list of tensors), clipped ``once`` (the
    mean) or ``each`` (every micro-batch gradient before the mean) with
    :func:`gradclip.clipping.clip_grad_norm`.

    >>> accumulate([[np.array([4.0])], [np.array([2.0])]], 1.0)[0].round(8)    # the mean 3, cut to 1
    array([0.99999967])
    """
    clip = choice(clip, "clip", ACCUMULATE_CLIPS)
    tau = real(max_norm, "max_norm", 0, math.inf)
    if isinstance(micro_grads, (str, bytes, np.ndarray)) or not isinstance(micro_grads, Sequence) \
            or not micro_grads:
        raise TypeError(f"micro_grads must be a non-empty list of gradients (lists of arrays), got {micro_grads!r}")
    micro = [_as_array_list(g, f"micro_grads[{i}]") for i, g in enumerate(micro_grads)]
    if any([a.shape for a in m] != [a.shape for a in micro[0]] for m in micro):
        raise ValueError("micro_grads must all have the same tensors (shapes) as micro_grads[0]")
    if clip == "each":
        micro = [clip_grad_norm(m, tau)[0] for m in micro]
    mean = [sum(parts) / len(micro) for parts in zip(*micro)]
    return clip_grad_norm(mean, tau)[0] if clip == "once" else mean


@dataclass(frozen=True)
class AccumulationRuns:
    """What :func:`train_accumulated` records, per optimiser step (arrays of length ``steps``):
    the loss (mean over the step's micro-batches) of the ``once`` and ``each`` runs; and, at the
    ``once`` run's weights, the norm of both accumulated gradients, the angle between them in
    degrees, and how many of the ``k`` micro-batch gradients exceeded ``tau``."""

    k: int
    tau: float
    loss_once: np.ndarray
    loss_each: np.ndarray
    norm_once: np.ndarray
    norm_each: np.ndarray
    angle: np.ndarray
    micro_clipped: np.ndarray
    once_clipped: np.ndarray


def train_accumulated(k: int = 4, tau: float = 1.0, lr: float = 0.05, steps: int = 120, optimizer: str = "sgd",
                      seed: int = 0, *, model: str = "rnn1", task: str = "adding", rho: float = 1.0,
                      micro_batch: int = 8) -> AccumulationRuns:
    """Two runs on the same micro-batches, ``k`` per step: the clip ``once`` on the accumulated
    mean, or on ``each`` micro-batch (:func:`accumulate`), in the loop of
    :func:`gradclip.train.train_runs` (its ``gradients`` hook averages the micro-batches).

    >>> out = train_accumulated(k=4, tau=0.5, steps=10)
    >>> bool(np.all(out.norm_each <= out.norm_once + 1e-9))     # clipping each never lengthens it
    True
    """
    k, steps, seed = integer(k, "k", 1, 64), integer(steps, "steps", 1, TRAIN_MAX_STEPS), integer(seed, "seed", 0)
    tau, lr = real(tau, "tau", 1e-6, 1e6), real(lr, "lr", 1e-6, 10.0)
    micro_batch = integer(micro_batch, "micro_batch", 1, 4096)
    integer(k * steps, "k * steps", 1, 20_000)
    net, tk = resolve(model, task, rho=rho)
    rec = {f: np.full(steps, np.nan) for f in ("norm_once", "norm_each", "angle")}
    rec.update(micro_clipped=np.zeros(steps), once_clipped=np.zeros(steps))
    hook = _accumulating(net, tk.batches(k * steps, micro_batch, seed=seed), k, tau, rec)
    # Both clips happen in the hook (accumulate), so the loop's own clip is off for both runs.
    once, each = train_runs(net, tk, [RunSpec("none", tau, lr)] * 2, steps, optimizer, seed,
                            batch_size=micro_batch, gradients=hook)
    return AccumulationRuns(k=k, tau=tau, loss_once=once.loss, loss_each=each.loss, **rec)


def _accumulating(net: Any, micro: list[Any], k: int, tau: float, rec: dict[str, np.ndarray]) -> Callable:
    """The ``gradients`` hook of :func:`gradclip.train.train_iter` for :func:`train_accumulated`:
    at step ``s`` each run averages its gradients on ``micro[s*k:(s+1)*k]`` (the loop's own
    batch is not used), run 0 clipping ``once`` and run 1 ``each``; at run 0's weights it also
    records into ``rec`` what clipping ``each`` would give, and how many gradients exceed ``tau``."""
    def gradients(params: list[np.ndarray], batch: Any, out: list[np.ndarray], runs: np.ndarray,
                  s: int) -> np.ndarray:
        loss, grads = np.zeros(runs.size), []
        for b in micro[s * k:(s + 1) * k]:
            part_loss, part = net.loss_and_grads(params, b)
            loss += part_loss / k
            grads.append(part)
        for j, r in enumerate(runs):
            mine = [[a[j] for a in g] for g in grads]
            mean = accumulate(mine, tau, ACCUMULATE_CLIPS[r])
            for o, a in zip(out, mean):
                o[j] = a
            if r == 0:
                once, other = _flat(mean), _flat(accumulate(mine, tau, "each"))
                rec["norm_once"][s], rec["norm_each"][s] = np.linalg.norm(once), np.linalg.norm(other)
                finite = bool(np.isfinite(once).all() and np.isfinite(other).all())
                rec["angle"][s] = angle_degrees(once, other, decimals=12) if finite else math.nan
                rec["micro_clipped"][s] = sum(np.linalg.norm(_flat(m)) > tau for m in mine)
                rec["once_clipped"][s] = np.linalg.norm(_flat([sum(p) / k for p in zip(*mine)])) > tau
        return loss
    return gradients


def _flat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([a.ravel() for a in arrays])
