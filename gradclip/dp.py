r"""Per-example clipping and the DP-SGD step (Abadi et al. 2016), computed as Opacus 1.6.0 does.

DP-SGD bounds how much any one example can move the model: each example's gradient
:math:`g_i` is clipped to norm at most :math:`C`, the clipped gradients are summed, Gaussian
noise of standard deviation :math:`\sigma C` is added to every coordinate of the sum, and the
result is divided by the (expected) batch size :math:`B`:

.. math:: \tilde g = \frac{1}{B}\Big(\sum_{i=1}^{B} g_i \min\Big(1, \frac{C}{\lVert g_i\rVert + 10^{-6}}\Big)
          + \mathcal N(0, \sigma^2 C^2 I)\Big)

The factor is Opacus's: ``DPOptimizer.clip_and_accumulate`` multiplies each example's
gradient by ``(max_grad_norm / (per_sample_norms + 1e-6)).clamp(max=1.0)``
(``opacus/optimizers/optimizer.py``, lines 452-455), where the per-sample norm is the norm of
the per-tensor norms. Per-layer clipping (``clipping="per_layer"``, ``DPPerLayerOptimizer`` in
``opacus/optimizers/perlayeroptimizer.py``) gives every tensor its own threshold
:math:`C_t` (line 66, the same ``+ 1e-6`` and clamp) and noise of standard deviation
:math:`\sigma \lVert (C_1, \dots, C_T)\rVert_2` (line 46). Opacus divides by
``expected_batch_size`` (``scale_grad``, line 504), the data set size over the number of
batches; by default the functions here divide by the batch's own size.

Privacy accounting (what :math:`(\varepsilon, \delta)` a run reaches) is not computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from gradclip.checks import boolean, integer, real, real_array
from gradclip.clipping import TORCH_EPS

__all__ = ["DP_MAX_RUNS", "DPRuns", "DPStep", "clip_per_example", "dp_sgd_step", "dp_sgd_train"]


@dataclass(frozen=True)
class DPStep:
    """One DP-SGD step's result.

    ``grad``: the noisy mean gradient, one array per tensor (the tensors' shapes without the
    example axis); ``norms``: ``(B,)`` each example's gradient norm before clipping (over all
    tensors); ``clipped``: ``(B,)`` whether the example was scaled down (per-layer: in any
    tensor); ``noise_std``: the standard deviation added to each coordinate of the sum
    (:math:`\\sigma C`, per-layer :math:`\\sigma\\lVert C\\rVert_2`); ``divisor``: what the sum
    was divided by.
    """

    grad: list[np.ndarray]
    norms: np.ndarray
    clipped: np.ndarray
    noise_std: float
    divisor: int

    @property
    def clipped_fraction(self) -> float:
        """The fraction of the batch's examples that were clipped."""
        return float(np.mean(self.clipped))


def _check_grads(grads: Any) -> list[np.ndarray]:
    """Per-example gradients: a list of finite arrays (or one array) sharing a leading axis B >= 1."""
    if isinstance(grads, np.ndarray):
        grads = [grads]
    if not isinstance(grads, (list, tuple)) or not grads:
        raise TypeError(f"grads must be a non-empty list of arrays of shape (B, ...), got {grads!r:.60}")
    out = [real_array(g, f"grads[{i}]", finite=True) for i, g in enumerate(grads)]
    for i, g in enumerate(out):
        if g.ndim == 0 or g.shape[0] == 0:
            raise ValueError(f"grads[{i}] must have a leading example axis of length >= 1, got shape {g.shape}")
        if g.shape[0] != out[0].shape[0]:
            raise ValueError(f"grads must share their leading example axis; grads[0] has {out[0].shape[0]} "
                             f"examples, grads[{i}] has {g.shape[0]}")
    return out


def _check_caps(max_norm: Any, n_tensors: int, per_layer: Any) -> np.ndarray:
    """The thresholds: ``(1,)`` for flat clipping, ``(T,)`` per layer (one value is repeated)."""
    if not boolean(per_layer, "per_layer"):
        return np.full(1, real(max_norm, "max_norm", 0, lo_open=True))
    if np.ndim(max_norm) == 0:
        return np.full(n_tensors, real(max_norm, "max_norm", 0, lo_open=True))
    caps = real_array(max_norm, "max_norm", 0, lo_open=True, finite=True, ndim=1, empty=False)
    if caps.size != n_tensors:
        raise ValueError(f"max_norm must hold one threshold per tensor ({n_tensors}) with per_layer=True, "
                         f"got {caps.size}")
    return caps.astype(np.float64)


def _factors(grads: list[np.ndarray], caps: np.ndarray, per_layer: bool) -> tuple[np.ndarray, np.ndarray]:
    """The kernel, vectorised over runs: tensors ``(R, B, ...)``, thresholds ``caps`` ``(R, 1)``
    (flat) or ``(R, T)`` (per tensor), inf = no clipping. Returns the factor each row of each
    tensor is multiplied by, ``(R, B, T)`` (flat: ``(R, B, 1)``), and the rows' norms over all
    tensors ``(R, B)``. Opacus: ``(max_grad_norm / (norm + 1e-6)).clamp(max=1.0)``."""
    sq = np.stack([np.add.reduce((g * g).reshape(g.shape[:2] + (-1,)), axis=2) for g in grads], axis=2)
    norms = np.sqrt(np.add.reduce(sq, axis=2))                                   # (R, B)
    with np.errstate(invalid="ignore"):
        if per_layer:
            return np.minimum(caps[:, None, :] / (np.sqrt(sq) + TORCH_EPS), 1.0), norms
        return np.minimum(caps / (norms + TORCH_EPS), 1.0)[:, :, None], norms


def _clip_sum(grads: list[np.ndarray], caps: np.ndarray, per_layer: bool
              ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """:func:`_factors`, then the sums of the clipped rows ``(R, ...)`` (Opacus's
    ``einsum("i,i...")``), the norms ``(R, B)`` and whether each row was scaled down ``(R, B)``."""
    factor, norms = _factors(grads, caps, per_layer)
    sums = [np.einsum("rb,rb...->r...", factor[:, :, t if per_layer else 0], g) for t, g in enumerate(grads)]
    return sums, norms, (factor < 1.0).any(axis=2)


def _factored_clip_sum(factors: list[tuple], caps: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """:func:`_clip_sum` (flat) on per-example gradients given as factors
    (:meth:`gradclip.nets.MLP.per_example_factors`): the norms from the factors' norms, the
    weighted sums as matrix products; equal to :func:`_clip_sum` on the built gradients up to
    rounding (``tests/unit/test_dp.py``)."""
    sq = 0.0
    for left, right in factors:
        r2 = np.add.reduce(right * right, axis=-1)
        sq = sq + (r2 if left is None else np.add.reduce(left * left, axis=-1) * r2)
    norms = np.sqrt(sq)                                                       # (R, B)
    with np.errstate(invalid="ignore"):
        factor = np.minimum(caps / (norms + TORCH_EPS), 1.0)                 # caps (R, 1)
    sums = []
    for left, right in factors:
        weighted = right * factor[:, :, None]
        sums.append(np.add.reduce(weighted, axis=1) if left is None
                    else np.matmul(left.transpose(0, 2, 1), weighted))
    return sums, norms, factor < 1.0


def _add_noise(sums: list[np.ndarray], std: np.ndarray, draw: Callable[[tuple], np.ndarray]) -> list[np.ndarray]:
    """``sums[t] + std * N(0, 1)`` per coordinate, ``std`` ``(R,)``; ``draw(shape)`` gives the
    standard normal numbers (one draw per tensor, in order)."""
    out = []
    for s in sums:
        scale = std.reshape((-1,) + (1,) * (s.ndim - 1))
        out.append(s + np.where(scale > 0, scale, 0.0) * draw(s.shape) if np.any(std > 0) else s.copy())
    return out


def clip_per_example(grads: Any, max_norm: Any, *, per_layer: bool = False) -> list[np.ndarray]:
    r"""Clip each example's gradient (each row along the leading axis) to norm ``max_norm``.

    Flat (Opacus ``clipping="flat"``): the whole gradient of example :math:`i`, all tensors
    together, is scaled by :math:`\min(1, C / (\lVert g_i\rVert + 10^{-6}))`. Per layer
    (``clipping="per_layer"``): tensor :math:`t` of example :math:`i` by
    :math:`\min(1, C_t / (\lVert g_{i,t}\rVert + 10^{-6}))`; ``max_norm`` is then one threshold
    or one per tensor.

    Parameters
    ----------
    grads : list of array_like
        Per-example gradients, each of shape ``(B, ...)`` (finite; a single array is one tensor).
    max_norm : float or sequence of float
        :math:`C > 0` (with ``per_layer``: also one value per tensor).
    per_layer : bool
        Clip each tensor separately.

    Returns
    -------
    list of numpy.ndarray
        The clipped per-example gradients, same shapes.

    Examples
    --------
    >>> g = [np.array([[3.0, 4.0], [0.3, 0.4]])]          # two examples, norms 5 and 0.5
    >>> clip_per_example(g, 1.0)[0].round(6)
    array([[0.6, 0.8],
           [0.3, 0.4]])
    """
    grads = _check_grads(grads)
    caps = _check_caps(max_norm, len(grads), per_layer)
    factor, _ = _factors([g[None] for g in grads], caps[None], bool(per_layer))
    return [g * factor[0, :, t if per_layer else 0].reshape((-1,) + (1,) * (g.ndim - 1))
            for t, g in enumerate(grads)]


def dp_sgd_step(grads: Any, max_norm: Any, noise_multiplier: float, *, per_layer: bool = False,
                expected_batch_size: int | None = None, seed: int = 0) -> DPStep:
    r"""One DP-SGD gradient: clip each example, sum, add Gaussian noise, divide.

    .. math:: \tilde g = \frac{1}{B}\Big(\sum_i \operatorname{clip}_C(g_i)
              + \mathcal N(0, \sigma^2 C^2 I)\Big)

    As Opacus's ``DPOptimizer`` (``clip_and_accumulate``, ``add_noise``, ``scale_grad``), with
    :math:`B` = ``expected_batch_size`` when given (Opacus: data set size / number of
    batches), else the batch's size; per layer (:func:`clip_per_example`) the noise's standard
    deviation is :math:`\sigma\lVert (C_1,\dots,C_T)\rVert_2`, as ``DPPerLayerOptimizer``'s.

    Parameters
    ----------
    grads : list of array_like
        Per-example gradients, each ``(B, ...)``, finite.
    max_norm : float or sequence of float
        :math:`C > 0`, Opacus's ``max_grad_norm``.
    noise_multiplier : float
        :math:`\sigma \ge 0`; 0 gives the mean of the clipped gradients.
    per_layer : bool
        Clip each tensor with its own threshold.
    expected_batch_size : int, optional
        The divisor; default the number of examples.
    seed : int
        Seed of the noise (NumPy's default generator).

    Returns
    -------
    DPStep
        ``grad`` (noisy mean), ``norms`` (before clipping), ``clipped``, ``noise_std``, ``divisor``.

    Examples
    --------
    >>> g = [np.array([[3.0, 4.0], [0.3, 0.4]])]
    >>> step = dp_sgd_step(g, 1.0, 0.0)                   # sigma = 0: the mean of the clipped rows
    >>> step.grad[0].round(6), step.norms, step.clipped_fraction
    (array([0.45, 0.6 ]), array([5. , 0.5]), 0.5)
    >>> dp_sgd_step(g, 1.0, 2.0, seed=1).noise_std       # sigma * C
    2.0
    """
    grads = _check_grads(grads)
    caps = _check_caps(max_norm, len(grads), per_layer)
    sigma = real(noise_multiplier, "noise_multiplier", 0)
    B = grads[0].shape[0]
    divisor = B if expected_batch_size is None else integer(expected_batch_size, "expected_batch_size", 1)
    rng = np.random.default_rng(integer(seed, "seed", 0))
    sums, norms, clipped = _clip_sum([g[None] for g in grads], caps[None], bool(per_layer))
    with np.errstate(over="ignore", invalid="ignore"):
        std = sigma * float(np.sqrt(np.add.reduce(caps * caps)))
        noisy = _add_noise(sums, np.array([std]), lambda shape: rng.standard_normal(shape))
    return DPStep(grad=[s[0] / divisor for s in noisy], norms=norms[0], clipped=clipped[0],
                  noise_std=std, divisor=int(divisor))


DP_MAX_RUNS = 64


@dataclass(frozen=True)
class DPRuns:
    """The runs of :func:`dp_sgd_train`: ``logs`` (one :class:`gradclip.train.TrainLog` per
    run), ``max_norms`` and ``noise_multipliers`` ``(R,)``, and per step ``(R, steps)``: the
    median of the examples' gradient norms before clipping (``median_norm``) and the fraction
    of examples clipped (``clipped_fraction``)."""

    logs: list
    max_norms: np.ndarray
    noise_multipliers: np.ndarray
    median_norm: np.ndarray
    clipped_fraction: np.ndarray

    def final_loss(self, last: int = 10) -> np.ndarray:
        """Each run's mean loss over its last ``last`` steps ``(R,)`` (NaN once a run blew up)."""
        k = integer(last, "last", 1)
        return np.array([np.mean(log.loss[-k:]) for log in self.logs])


def _dp_gradients(net: Any, caps: np.ndarray, stds: np.ndarray, seed: int, record: DPRuns) -> Callable:
    """The ``gradients`` hook of :func:`gradclip.train.train_iter` for DP-SGD runs of ``net``:
    per-example gradients (one backward pass for all runs), each run's rows clipped to its
    ``caps[r]``, summed, noised with ``stds[r]`` and divided by the batch size; the norms'
    median and the fraction clipped go into ``record``. Every run shares one standard normal
    draw per step (generator seeded ``(seed, s)``), scaled by its own ``stds[r]``: runs that
    differ in C or σ differ only by them, and a run's noise never depends on the others."""
    def gradients(params: list[np.ndarray], batch: Any, out: list[np.ndarray], runs: np.ndarray,
                  step: int) -> np.ndarray:
        loss, factors = net.per_example_factors(params, batch)
        sums, norms, clipped = _factored_clip_sum(factors, caps[runs])
        record.median_norm[runs, step] = np.median(norms, axis=1)
        record.clipped_fraction[runs, step] = clipped.mean(axis=1)
        rng = np.random.default_rng([seed, step])
        noisy = _add_noise(sums, stds[runs], lambda shape: rng.standard_normal(shape[1:]))
        for o, s in zip(out, noisy):
            np.divide(s, batch.x.shape[0], out=o)
        return loss
    return gradients


def dp_sgd_train(max_norms: Any, noise_multipliers: Any, *, lr: float = 0.003, steps: int = 60,
                 batch_size: int = 64, seed: int = 0) -> DPRuns:
    r"""Train gradclip's MLP on the regression task with DP-SGD: one run per pair
    ``(max_norms[r], noise_multipliers[r])`` (the two broadcast), all side by side.

    Each step is :func:`dp_sgd_step` (flat clipping, divisor = the batch size) on the MLP's
    per-example gradients (in factored form, :meth:`gradclip.nets.MLP.per_example_factors`,
    so no example's gradient is built), then plain SGD
    with learning rate ``lr``, in the loop of :func:`gradclip.train.train_runs` (same weights,
    same batches for every run). ``max_norm = inf`` with ``noise_multiplier = 0`` is
    non-private SGD.

    .. math:: \theta_{t+1} = \theta_t - \eta\,\tilde g_t

    Returns
    -------
    DPRuns
        The logs (``loss``: each step's mean squared error before the update) and, per step,
        the examples' median gradient norm and the fraction clipped.

    Examples
    --------
    >>> out = dp_sgd_train([np.inf, 100.0], [0.0, 1.0], steps=3)
    >>> plain, private = out.logs
    >>> bool(plain.loss[0] == private.loss[0])        # same weights and batch at step 0
    True
    >>> out.clipped_fraction[:, 0]                    # C = 100 is below most examples' norms
    array([0.      , 0.953125])
    """
    from gradclip.nets import MLP
    from gradclip.tasks import RegressionTask
    from gradclip.train import RunSpec, train_runs

    caps = real_array(max_norms, "max_norms", 0, lo_open=True, ndim=(0, 1), empty=False)
    sigmas = real_array(noise_multipliers, "noise_multipliers", 0, finite=True, ndim=(0, 1), empty=False)
    try:
        caps, sigmas = np.broadcast_arrays(np.atleast_1d(caps), np.atleast_1d(sigmas))
    except ValueError:
        raise ValueError(f"max_norms and noise_multipliers must broadcast together, got shapes "
                         f"{np.shape(max_norms)} and {np.shape(noise_multipliers)}") from None
    if caps.size > DP_MAX_RUNS:
        raise ValueError(f"max_norms and noise_multipliers must make at most {DP_MAX_RUNS} runs, got {caps.size}")
    if np.any(np.isinf(caps) & (sigmas > 0)):
        raise ValueError("noise_multipliers must be 0 where max_norms is inf (the noise sigma*C would be infinite)")
    real(lr, "lr", 0, lo_open=True)
    steps = integer(steps, "steps", 1, 10_000)
    task = RegressionTask()
    integer(batch_size, "batch_size", 1, task.n_samples)
    net = MLP(n_in=task.n_in)
    with np.errstate(invalid="ignore", over="ignore"):
        stds = np.where(sigmas > 0, sigmas * caps, 0.0)
    record = DPRuns([], caps.astype(np.float64), sigmas.astype(np.float64),
                    np.full((caps.size, steps), np.nan), np.full((caps.size, steps), np.nan))
    hook = _dp_gradients(net, record.max_norms[:, None], stds, integer(seed, "seed", 0), record)
    runs = [RunSpec("none", 1.0, float(lr))] * caps.size
    record.logs.extend(train_runs(net, task, runs, steps, "sgd", seed, batch_size=batch_size, gradients=hook))
    return record
