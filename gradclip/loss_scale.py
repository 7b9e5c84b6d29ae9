r"""fp16 loss scaling, simulated: PyTorch's ``GradScaler`` rule and where the clip goes.

Under float16 mixed precision the loss is multiplied by a scale :math:`S` before the
backward pass, so that small gradients do not round to zero in float16 (whose largest
finite value is 65504 and whose smallest normal one is :math:`2^{-14}`); the gradients come
out as :math:`S g` and must be divided by :math:`S` before they are used (Micikevicius et al.
2018, "Mixed Precision Training", arXiv:1710.03740). When :math:`S g` overflows, the step is
skipped and :math:`S` lowered. :class:`GradScalerRule` is PyTorch's dynamic rule
(``torch/amp/grad_scaler.py``, PyTorch 2.13: defaults at lines 126-129; ``update`` calls
``torch._amp_update_scale_`` at line 549, whose CPU logic ``torch/distributed/fsdp/
sharded_grad_scaler.py`` lines 288-306 spells out in Python):

.. math::

    \text{inf or NaN found:}\quad S \leftarrow \beta S,\; n \leftarrow 0; \qquad
    \text{else:}\quad n \leftarrow n + 1,\;
    \text{and if } n = N:\; S \leftarrow \gamma S,\; n \leftarrow 0

with backoff :math:`\beta = 0.5`, growth :math:`\gamma = 2`, interval :math:`N = 2000` and
:math:`S_0 = 2^{16}`. ``tests/unit/test_training_precision.py`` holds :func:`loss_scale_history`
equal to the real ``torch.amp.GradScaler("cpu")`` fed the same pattern of overflows.

:func:`fp16_scaled` is the simulation of one backward pass, kept simple on purpose: the true
gradient times :math:`S`, rounded to float16 (an entry beyond 65504 becomes inf, a tiny one
rounds to 0). A real fp16 backward also rounds every intermediate value; this only rounds
the result. :func:`amp_clip` then does what the loop does with it, with the clip in one of
three places (:data:`CLIP_ORDERS`):

* ``"after_unscale"`` (right): unscale, then clip the true gradient to :math:`\tau`;
* ``"before_unscale"`` (wrong): clip the scaled gradient to :math:`\tau`, then unscale: the
  gradient the optimiser gets is at most :math:`\tau / S` long;
* ``"none"``: unscale, no clip.

Either way a step whose scaled gradient holds an inf or NaN is skipped (``grads`` is None).

>>> rule = GradScalerRule(growth_interval=2)
>>> loss_scale_history([True, False, False, False, True], rule).tolist()
[65536.0, 32768.0, 32768.0, 65536.0, 65536.0]
>>> step = amp_clip([np.array([3.0, 4.0])], 1024.0, 1.0, "before_unscale")
>>> step.found_inf, round(float(np.linalg.norm(step.grads[0])) * 1024, 4)    # clipped to tau / S
(False, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from gradclip.checks import choice, integer, real, real_array
from gradclip.clipping import _as_array_list, clip_grad_norm
from gradclip.train import TRAIN_MAX_STEPS, RunSpec, TrainLog, train_runs

__all__ = ["CLIP_ORDERS", "FP16_MAX", "GradScalerRule", "AmpStep", "AmpRun", "loss_scale_history",
           "fp16_scaled", "amp_clip", "train_amp"]

CLIP_ORDERS = ("after_unscale", "before_unscale", "none")
FP16_MAX = float(np.finfo(np.float16).max)      # 65504
_SCALE_RANGE = (2.0 ** -24, float(np.finfo(np.float32).max))     # a starting scale (a float32)


@dataclass(frozen=True)
class GradScalerRule:
    """The dynamic loss-scale rule of ``torch.amp.GradScaler`` with its defaults (PyTorch 2.13).

    >>> rule = GradScalerRule()
    >>> rule.update(65536.0, 0, True), rule.update(65536.0, 1999, False)
    ((32768.0, 0), (131072.0, 0))
    """

    init_scale: float = 2.0 ** 16
    growth_factor: float = 2.0
    backoff_factor: float = 0.5
    growth_interval: int = 2000

    def __post_init__(self) -> None:
        real(self.init_scale, "init_scale", *_SCALE_RANGE)
        real(self.growth_factor, "growth_factor", 1.0, 1e6, lo_open=True)     # GradScaler asserts > 1
        real(self.backoff_factor, "backoff_factor", 0.0, 1.0, lo_open=True, hi_open=True)
        integer(self.growth_interval, "growth_interval", 1, 10 ** 9)

    def update(self, scale: float, tracker: int, found_inf: bool) -> tuple[float, int]:
        """The scale and the count of finite steps since the last change, after one step.

        A grown scale that would be infinite in float32 (the scale's dtype) is not taken and the
        count restarts, as ``torch._amp_update_scale_`` does on CPU (the unit test checks both)."""
        if found_inf:     # float32, as in torch: a run that overflows on every step reaches 0
            return float(np.float32(scale) * np.float32(self.backoff_factor)), 0
        tracker += 1
        if tracker == self.growth_interval:
            grown = scale * self.growth_factor
            return (grown if math.isfinite(np.float32(grown)) else scale), 0
        return scale, tracker


def loss_scale_history(found_inf: Any, rule: GradScalerRule = GradScalerRule()) -> np.ndarray:
    """The scale in force at each step, given which steps overflowed.

    .. math:: S_0 = \\text{init\\_scale},\\qquad (S_{t+1}, n_{t+1}) = \\text{update}(S_t, n_t, f_t)

    >>> loss_scale_history([False, True, False], GradScalerRule(init_scale=8.0)).tolist()
    [8.0, 8.0, 4.0]
    """
    flags = found_inf                                    # True/False per step, or 1/0
    if isinstance(flags, np.ndarray) and flags.dtype == bool:
        flags = flags.astype(float)
    elif isinstance(flags, (list, tuple)) and flags and all(isinstance(f, (bool, np.bool_)) for f in flags):
        flags = np.array(flags, dtype=float)
    flags = real_array(flags, "found_inf", 0, 1, ndim=1)
    if not isinstance(rule, GradScalerRule):
        raise TypeError(f"rule must be a GradScalerRule, got {rule!r}")
    out = np.empty(flags.size)
    scale, tracker = float(rule.init_scale), 0
    for t, f in enumerate(flags):
        out[t] = scale
        scale, tracker = rule.update(scale, tracker, bool(f))
    return out


def fp16_scaled(grads: Any, scale: float) -> tuple[list[np.ndarray], bool]:
    """What a float16 backward of the scaled loss gives: :math:`\\operatorname{fp16}(S g)` per
    tensor (as float64 arrays), and whether any entry is inf or NaN. ``scale``: from 0 to
    float32's largest value (a run that overflows on every step halves its scale down to 0).

    >>> g, found_inf = fp16_scaled([np.array([1.0, 1e-11])], 1024.0)
    >>> g[0].tolist(), found_inf          # 1e-11 * 1024 is below half float16's smallest subnormal
    ([1024.0, 0.0], False)
    >>> fp16_scaled([np.array([100.0])], 1024.0)[1]       # 102400 > 65504: inf
    True
    """
    arrays = _as_array_list(grads)
    # Any float32 scale, down to 0: backing off from an overflow on every step gets there.
    s = real(scale, "scale", 0.0, _SCALE_RANGE[1])
    with np.errstate(over="ignore", invalid="ignore"):
        out = [(a * s).astype(np.float16).astype(np.float64) for a in arrays]
    return out, not all(bool(np.isfinite(a).all()) for a in out)


@dataclass(frozen=True)
class AmpStep:
    """One step of the simulated AMP loop: the gradient the optimiser gets (None when the step
    is skipped), whether the scaled gradient overflowed, and the norm the clip call returned
    (of the scaled gradient for ``before_unscale``; NaN for ``none``)."""

    grads: list[np.ndarray] | None
    found_inf: bool
    total_norm: float


def amp_clip(grads: Any, scale: float, max_norm: float, order: str = "after_unscale") -> AmpStep:
    """One AMP step's gradient handling: :func:`fp16_scaled`, then unscale and clip in ``order``.

    The clip is :func:`gradclip.clipping.clip_grad_norm` (``torch.nn.utils.clip_grad_norm_``).

    >>> g = [np.array([30.0, 40.0])]
    >>> [round(float(np.linalg.norm(amp_clip(g, 256.0, 1.0, o).grads[0])), 5) for o in CLIP_ORDERS]
    [1.0, 0.00391, 50.0]
    >>> amp_clip(g, 65536.0, 1.0).grads is None           # 40 * 65536 overflows: step skipped
    True
    """
    order = choice(order, "order", CLIP_ORDERS)
    tau = real(max_norm, "max_norm", 0, math.inf)
    scaled, _ = fp16_scaled(grads, scale)
    s = float(scale)
    total = math.nan
    if order == "before_unscale":
        with np.errstate(invalid="ignore"):
            scaled, total = clip_grad_norm(scaled, tau)
    # unscale_ multiplies by 1/S and then looks for inf and NaN (so at S = 0 every step is skipped)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        true = [a * (1.0 / s if s else math.inf) for a in scaled]
    found_inf = not all(bool(np.isfinite(a).all()) for a in true)
    if order == "after_unscale" and not found_inf:
        true, total = clip_grad_norm(true, tau)
    return AmpStep(None if found_inf else true, found_inf, float(total))


@dataclass
class AmpRun:
    """One run of :func:`train_amp`: its :class:`gradclip.train.TrainLog` (``threshold`` = the
    threshold the *true* gradient met: :math:`\\tau`, :math:`\\tau/S` or inf; ``grad_norm`` =
    the true gradient's norm; ``clipped_norm`` and ``update_norm`` = 0 on a skipped step), the
    scale in force at each step and which steps were skipped."""

    order: str
    log: TrainLog
    scale: np.ndarray

    @property
    def skipped(self) -> np.ndarray:
        """The steps the scaler skipped (an overflow): the log's ``skipped``."""
        return self.log.skipped


def train_amp(orders: Sequence[str] = CLIP_ORDERS, tau: float = 1.0, lr: float = 0.05, steps: int = 300,
              rule: GradScalerRule = GradScalerRule(), optimizer: str = "sgd", seed: int = 0, *,
              model: str = "rnn1", task: str = "adding", rho: float = 1.0) -> list[AmpRun]:
    """Train one network per entry of ``orders`` on the same batches with simulated fp16 loss
    scaling (:func:`amp_clip` each step, one :class:`GradScalerRule` state per run); a skipped
    step leaves the weights and the optimiser's state untouched, as ``scaler.step`` does.

    The loop is :func:`gradclip.train.train_runs` with :func:`amp_clip` as its ``clip`` hook.

    >>> right, wrong = train_amp(["after_unscale", "before_unscale"], steps=20)
    >>> int(right.skipped.sum()) > 0, bool(np.all(wrong.log.threshold == 1.0 / wrong.scale))
    (True, True)
    """
    if isinstance(orders, str) or not isinstance(orders, Sequence) or not orders:
        raise TypeError(f"orders must be a non-empty list of {', '.join(CLIP_ORDERS)}; got {orders!r}")
    orders = tuple(choice(o, "orders", CLIP_ORDERS) for o in orders)
    tau, lr = real(tau, "tau", 1e-6, 1e6), real(lr, "lr", 1e-6, 10.0)
    steps = integer(steps, "steps", 1, TRAIN_MAX_STEPS)
    if not isinstance(rule, GradScalerRule):
        raise TypeError(f"rule must be a GradScalerRule, got {rule!r}")
    scale = np.full((len(orders), steps), np.nan)
    runs = [RunSpec("none" if o == "none" else "norm", tau, lr) for o in orders]
    logs = train_runs(model, task, runs, steps, optimizer, seed, rho=rho, clip=_amp_hook(orders, tau, rule, scale))
    for order, log in zip(orders, logs):     # an overflow or fp16 rounding is no clip
        log.clipped &= ~log.skipped & (order != "none")
    return [AmpRun(order, log, scale[r]) for r, (order, log) in enumerate(zip(orders, logs))]


def _amp_hook(orders: tuple[str, ...], tau: float, rule: GradScalerRule, scale: np.ndarray) -> Any:
    """The ``clip`` hook of :func:`gradclip.train.train_iter` for :func:`train_amp`: run ``r``
    clips in ``orders[r]`` at its own loss scale, which it records in ``scale[r, step]``; an
    overflow skips the step (the optimiser gets zeros, logged as a clipped norm of 0)."""
    state = [(float(rule.init_scale), 0)] * len(orders)

    def clip(grads: list[np.ndarray], params: list[np.ndarray], r: int, step: int) -> tuple:
        s, tracker = state[r]
        scale[r, step] = s
        out = amp_clip(grads, s, tau, orders[r])
        state[r] = rule.update(s, tracker, out.found_inf)
        threshold = {"after_unscale": tau, "before_unscale": tau / s if s else math.inf}.get(orders[r], math.inf)
        kept = [np.zeros_like(a) for a in grads] if out.grads is None else out.grads
        return kept, threshold, out.found_inf
    return clip
