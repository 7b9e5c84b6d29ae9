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
from typing import Any, Sequence

import numpy as np

from gradclip.checks import choice, integer, real
from gradclip.clipping import _as_array_list, clip_grad_norm
from gradclip.optim import OPTIMIZERS, ArrayStepper
from gradclip.train import TRAIN_MAX_STEPS, resolve

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
    mean, or on ``each`` micro-batch (:func:`accumulate`).

    >>> out = train_accumulated(k=4, tau=0.5, steps=10)
    >>> bool(np.all(out.norm_each <= out.norm_once + 1e-9))     # clipping each never lengthens it
    True
    """
    k, steps, seed = integer(k, "k", 1, 64), integer(steps, "steps", 1, TRAIN_MAX_STEPS), integer(seed, "seed", 0)
    tau, lr = real(tau, "tau", 1e-6, 1e6), real(lr, "lr", 1e-6, 10.0)
    choice(optimizer, "optimizer", OPTIMIZERS)
    micro_batch = integer(micro_batch, "micro_batch", 1, 4096)
    integer(k * steps, "k * steps", 1, 20_000)
    net, tk = resolve(model, task, rho=rho)
    batches = tk.batches(k * steps, micro_batch, seed=seed)
    params = net.init(seed=seed, runs=2)                 # row 0: clip once; row 1: clip each
    sizes = [p[0].size for p in params]
    stepper = ArrayStepper(optimizer, np.array(lr), (2, sum(sizes)), bias_in_lr=False)
    rec = {f: np.zeros(steps) for f in ("loss_once", "loss_each", "norm_once", "norm_each", "angle",
                                        "micro_clipped", "once_clipped")}
    with np.errstate(all="ignore"):
        for s in range(steps):
            micro, losses = [], np.zeros(2)
            for b in batches[s * k:(s + 1) * k]:
                loss, grads = net.loss_and_grads(params, b)
                losses += loss / k
                micro.append([a.copy() for a in grads])
            rows = [[[a[r] for a in m] for m in micro] for r in (0, 1)]
            once = _flat(accumulate(rows[0], tau, "once"))
            other = _flat(accumulate(rows[0], tau, "each"))        # at the once run's weights
            mine = _flat(accumulate(rows[1], tau, "each"))
            raw = np.linalg.norm(_flat([sum(p) / k for p in zip(*rows[0])]))
            rec["loss_once"][s], rec["loss_each"][s] = losses
            rec["norm_once"][s], rec["norm_each"][s] = np.linalg.norm(once), np.linalg.norm(other)
            cos = np.dot(once, other) / (np.linalg.norm(once) * np.linalg.norm(other))
            rec["angle"][s] = math.degrees(math.acos(min(1.0, max(-1.0, float(cos))))) if np.isfinite(cos) else math.nan
            rec["micro_clipped"][s] = sum(np.linalg.norm(_flat(m)) > tau for m in rows[0])
            rec["once_clipped"][s] = raw > tau
            move = stepper.step(np.stack([once, mine]), s + 1)
            for p, piece in zip(params, np.split(move, np.cumsum(sizes)[:-1], axis=1)):
                p -= piece.reshape(p.shape)
    return AccumulationRuns(k=k, tau=tau, **rec)


def _flat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([a.ravel() for a in arrays])
