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

Where the parts live: this module checks the arguments and returns the results
(:mod:`gradclip.sim_results`: :class:`Run`, :class:`RunBatch`, :class:`Sweep`, verdicts);
:mod:`gradclip.sim_loop` steps many runs as arrays (step loop, boundary rule, recording),
:mod:`gradclip.sim_fast` one run of a stateless method in Python floats (the browser's fast
path, held to the array loop bit for bit), :mod:`gradclip.sim_clip` clips, and
:mod:`gradclip.optim` steps. The methods and what ``tau`` means for each:
:data:`gradclip.methods.CLIP_METHODS`.

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
from typing import Any

import numpy as np

from gradclip.checks import budget, choice, integer, integer_text, range_text, real, real_array

from gradclip.landscapes import Landscape, get_landscape
from gradclip.methods import method_names
from gradclip.optim import OPTIMIZERS
from gradclip.sim_clip import FLOAT_METHODS
from gradclip.sim_fast import one_run
from gradclip.sim_loop import SIM_MAX_STEPS, Trace, array_loop
from gradclip.sim_results import (OUTCOMES, VERDICT_REASONS, Run, RunBatch, Summary, Sweep, Verdict,
                                  verdicts)

__all__ = [
    "SIM_MAX_STEPS", "MAX_STEPS", "METHODS", "OPTIMIZERS", "OUTCOMES", "VERDICT_REASONS", "RANGES",
    "Verdict", "Summary", "Run", "RunBatch", "Sweep",
    "simulate", "simulate_batch", "sweep",
]

MAX_STEPS = SIM_MAX_STEPS   # the older name of the longest simulated run, kept importable
METHODS = method_names("simulator")
TAU_MAX = 1e6
LR_MAX = 10.0
RANGES = {
    "tau": range_text(0, TAU_MAX, lo_open=True),
    "lr": range_text(0, LR_MAX, lo_open=True),
    "steps": integer_text(1, MAX_STEPS),
    "seed": integer_text(0, None),
}
# Memory a simulated run fills per step with its record (positions, losses, norms, flags),
# measured with tracemalloc at about 72 bytes at the peak and rounded up.
BYTES_PER_RUN_STEP = 80

# --- validation ------------------------------------------------------------------------


def _positive(name: str, value: Any, hi: float) -> np.ndarray:
    """``tau`` or ``lr``: one number or an array of them, each > 0 and <= ``hi``."""
    if not isinstance(value, (list, tuple, np.ndarray)):
        return np.asarray(real(value, name, 0, hi, lo_open=True))
    return real_array(value, name, 0, hi, lo_open=True, finite=True, empty=False)


def _start(land: Landscape, start: Any) -> np.ndarray:
    if start is None:
        return np.asarray(land.start, dtype=float)
    p = real_array(start, "start", nan=True).astype(float)
    x0, x1, y0, y1 = land.bound
    if p.shape != (2,) or not np.isfinite(p).all() or not land.inside(p[0], p[1]):
        raise ValueError(f"start must be a point (x, y) inside the {land.name} bound "
                         f"x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]; got {start!r}")
    return p


# --- public entry points ---------------------------------------------------------------

_loop = array_loop   # the older name (tests call the loop directly)


def _trace(land: Landscape, methods: np.ndarray, taus: np.ndarray, lrs: np.ndarray, steps: int,
           optimizer: str, start: np.ndarray, seed: int) -> Trace:
    """Simulate the runs: the float fast path for one run of a stateless method, else the array
    loop. Both compute the losses after the loop; if one is non-finite at a step taken inside
    the bound, the runs are simulated once more with the loss checked at every step."""
    if taus.shape[0] == 1 and methods[0] in FLOAT_METHODS:
        trace = one_run(land, str(methods[0]), float(taus[0]), float(lrs[0]), steps, optimizer,
                        start, seed)
    else:
        trace = array_loop(land, methods, taus, lrs, steps, optimizer, start, seed)
    if trace is None:
        trace = array_loop(land, methods, taus, lrs, steps, optimizer, start, seed, eager_loss=True)
    return trace



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
    optimizer = choice(optimizer, "optimizer", OPTIMIZERS)
    steps = integer(steps, "steps", 1, MAX_STEPS)
    seed = integer(seed, "seed", 0)
    tau_a = _positive("tau", tau, TAU_MAX)
    lr_a = _positive("lr", lr, LR_MAX)
    meth_a = np.asarray(method, dtype=object)
    if meth_a.size == 0:
        raise ValueError(f"method must be one of {', '.join(METHODS)} (or an array of them), got {method!r}")
    for m in meth_a.ravel().tolist():
        choice(m, "method", METHODS)
    p0 = _start(land, start)
    try:
        shape = np.broadcast_shapes(meth_a.shape, tau_a.shape, lr_a.shape)
    except ValueError:
        raise ValueError(f"method, tau and lr must broadcast together; got shapes "
                         f"{meth_a.shape}, {tau_a.shape}, {lr_a.shape}") from None
    budget(BYTES_PER_RUN_STEP * math.prod(shape) * (steps + 1), "the simulation",
           "the number of runs (the shape of method, tau and lr broadcast together) or steps")
    methods = np.broadcast_to(meth_a, shape).ravel().astype(str)
    taus = np.broadcast_to(tau_a, shape).ravel().copy()
    lrs = np.broadcast_to(lr_a, shape).ravel().copy()

    with np.errstate(all="ignore"):
        tr = _trace(land, methods, taus, lrs, steps, optimizer, p0, seed)
        diverged = tr.diverged_at >= 0
        codes, final, reduction = verdicts(tr.positions, tr.losses, tr.clipped, diverged,
                                           land.min_value)
        max_raw = np.fmax.reduce(tr.raw_norms, axis=0)

    return RunBatch(
        landscape=land.name, optimizer=optimizer, steps=steps, seed=seed,
        start=(float(p0[0]), float(p0[1])), shape=tuple(shape), methods=methods, taus=taus,
        lrs=lrs, positions=np.moveaxis(tr.positions, 1, 0), losses=tr.losses.T,
        raw_norms=tr.raw_norms.T, clipped_norms=tr.clipped_norms.T, clipped=tr.clipped.T,
        final_loss=final, max_raw_norm=max_raw, clip_events=tr.clipped.sum(axis=0),
        diverged=diverged, diverged_at=tr.diverged_at, loss_reduction_pct=reduction, codes=codes,
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
        if isinstance(v, (list, tuple)) or np.ndim(v) != 0:
            raise ValueError(f"{name} must be {RANGES[name]} (one number; use simulate_batch "
                             f"for arrays); got {v!r}")
    choice(method, "method", METHODS)
    return simulate_batch(landscape, method, tau, lr, steps, optimizer, start, seed).run(0)


def _grid(name: str, values: Any, hi: float) -> np.ndarray:
    """A non-empty one-dimensional float array of grid values, each > 0 and <= ``hi``."""
    return real_array(values, name, 0, hi, lo_open=True, finite=True, ndim=1, empty=False,
                      shape_text="(n,), a list of numbers").astype(float)


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
    choice(method, "method", METHODS)
    taus = np.logspace(-2, 2, 16) if taus is None else _grid("taus", taus, TAU_MAX)
    lrs = np.logspace(-3, 0, 16) if lrs is None else _grid("lrs", lrs, LR_MAX)
    steps = integer(steps, "steps", 1, MAX_STEPS)
    budget(BYTES_PER_RUN_STEP * taus.size * lrs.size * (steps + 1), "the sweep",
           "the number of taus or lrs (their product is the number of runs) or steps")
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
