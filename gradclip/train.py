"""Train a small network and log what clipping does, step by step.

:func:`train` runs one configuration; :func:`train_runs` runs several configurations
(method, tau, learning rate) on the *same* seed in one vectorised loop -- identical
initial weights, identical batches -- which is what a fair clipped-versus-unclipped
comparison needs. :func:`train_iter` is the same loop as a generator, for a page that
draws the run while it trains.

Each step of run :math:`r`:

.. math::

    g = \\nabla_\\theta L(\\theta; \\text{batch}_s),\\qquad
    \\tilde g = \\operatorname{clip}(g),\\qquad
    \\theta \\leftarrow \\theta + \\Delta\\theta(\\tilde g)

where ``clip`` is one of the package's own rules (``gradclip.clipping`` /
``gradclip.adaptive``; nothing is re-implemented here) and :math:`\\Delta\\theta` the
optimizer's step (``sgd``, ``momentum`` as in PyTorch: :math:`v \\leftarrow \\mu v + \\tilde g`,
:math:`\\Delta\\theta = -\\eta v`; ``adam``). The log (:class:`TrainLog`) keeps, per step,
the loss, :math:`\\lVert g\\rVert`, :math:`\\lVert\\tilde g\\rVert`, :math:`\\lVert\\Delta\\theta\\rVert`,
whether clipping changed the gradient, the threshold in force, the per-layer norms of
:math:`g`, and whether the step's batch was a bad one injected on purpose
(:class:`gradclip.tasks.BadBatches`; the same steps in every run).

A run *diverges* at the first step whose loss is not finite or exceeds
``BLOWUP`` times its initial loss; a bad batch's own loss is large by construction and does
not count (unless it is not finite).

>>> log = train("rnn1", "adding", method="norm", tau=1.0, lr=0.05, steps=20, seed=0)
>>> log.loss.shape, bool(np.all(log.clipped_norm <= 1.0 + 1e-6))
((20,), True)
>>> a, b = (train("rnn1", "adding", steps=20, seed=3) for _ in range(2))
>>> bool(np.array_equal(a.loss, b.loss))          # deterministic for a seed
True
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from gradclip import adaptive, clipping
from gradclip.checks import boolean, budget, choice, integer, real
from gradclip.autoclip import RunningPercentile
from gradclip.zclip import ZClip, ZClipKernel
from gradclip.methods import CLIP_METHODS, method_names
from gradclip.optim import OPTIMIZERS, ArrayStepper
from gradclip.nets import MODELS, make_model
from gradclip.tasks import TASKS, make_task

__all__ = [
    "METHODS", "OPTIMIZERS", "TRAIN_MAX_STEPS", "MAX_STEPS", "BLOWUP", "RunSpec", "TrainSummary", "TrainLog",
    "TrainProgress", "train", "train_runs", "train_iter", "resolve",
]

METHODS = method_names("training")
TRAIN_MAX_STEPS = 5000          # the longest training run
MAX_STEPS = TRAIN_MAX_STEPS     # the older name, kept importable
BLOWUP = 100.0
_TAU_RANGE = (1e-6, 1e6)
_LR_RANGE = (1e-6, 10.0)


@dataclass(frozen=True)
class RunSpec:
    """One configuration in a batch of runs.

    ``tau`` is the method's one number; what it means in training (the percentile for
    ``autoclip``, the z-score for ``zclip``, ...) is the method's ``training`` knob in
    :data:`gradclip.methods.CLIP_METHODS`.

    Two switches apply to ``zclip`` only. ``skip_update_on_spike`` is the reference code's
    option of that name (:class:`gradclip.zclip.ZClip`): a spike is still clipped and stepped
    on, but its norm does not enter the running mean and variance. ``skip_step_on_spike``
    takes no optimiser step at all on a spike: the weights, the momentum and Adam's moments
    and step count stay as they were (a zero gradient would not do that: momentum would
    still move the weights, and Adam would decay its moments). The log marks those steps
    (``TrainLog.skipped``).
    """

    method: str = "none"
    tau: float = 1.0
    lr: float = 0.05
    skip_update_on_spike: bool = False
    skip_step_on_spike: bool = False

    def __post_init__(self) -> None:
        choice(self.method, "method", METHODS)
        real(self.tau, "tau", *_TAU_RANGE)
        if self.method == "autoclip" and not CLIP_METHODS["autoclip"].training.allows(self.tau):
            raise ValueError(f"tau (the AutoClip percentile) must be in (0, 100], got {self.tau!r}")
        real(self.lr, "lr", *_LR_RANGE)
        for name in ("skip_update_on_spike", "skip_step_on_spike"):
            if boolean(getattr(self, name), name) and self.method != "zclip":
                raise ValueError(f"{name} applies to method 'zclip' only, got method {self.method!r}")


@dataclass(frozen=True)
class TrainSummary:
    """Headline numbers of one run.

    ``final_loss`` is the mean loss over the last tenth of the steps (at least one step):
    each step's loss is measured on a small fresh batch, so the last value alone is noisy.
    It is NaN or inf when any of those steps was. ``loss_reduction_pct`` compares it with
    ``initial_loss``, the loss of the untrained network on the first batch. The loss of a
    bad batch (``TrainLog.bad_batch``) is measured on corrupted data, so it is left out of
    ``final_loss``, ``min_loss`` and the blow-up test (a non-finite one still counts).
    """

    initial_loss: float
    final_loss: float
    min_loss: float
    max_grad_norm: float
    clip_events: int
    clip_fraction: float
    diverged: bool
    diverged_at: int | None
    loss_reduction_pct: float


@dataclass
class TrainLog:
    """Per-step record of one run (arrays of length ``steps``; see the module docstring)."""

    model: str
    task: str
    method: str
    tau: float
    lr: float
    optimizer: str
    seed: int
    loss: np.ndarray
    grad_norm: np.ndarray
    clipped_norm: np.ndarray
    update_norm: np.ndarray
    clipped: np.ndarray
    threshold: np.ndarray
    layer_norms: np.ndarray
    bad_batch: np.ndarray
    layer_names: tuple[str, ...] = ()
    skipped: np.ndarray | None = None      # steps not taken (skip_step_on_spike, a clip hook)

    @property
    def steps(self) -> int:
        return int(self.loss.shape[0])

    @functools.cached_property
    def summary(self) -> TrainSummary:
        """Computed once per log object. Logs handed out by :func:`train_runs` and
        :meth:`TrainProgress.logs` are snapshots: steps already taken never change."""
        loss = self.loss
        n = loss.shape[0]
        if n == 0:
            nan = float("nan")
            return TrainSummary(nan, nan, nan, nan, 0, nan, False, None, nan)
        first = float(loss[0])
        ordinary = ~self.bad_batch
        bad = ~np.isfinite(loss) | ((loss > BLOWUP * abs(first)) & ordinary)
        at = int(np.argmax(bad)) if bad.any() else None
        finite = loss[np.isfinite(loss) & ordinary]
        tail = slice(n - max(1, n // 10), n)
        kept = loss[tail][ordinary[tail]]
        with np.errstate(all="ignore"):          # a blown-up run may sum past the float range
            last = float(np.mean(kept)) if kept.size else float("nan")
        reduction = 100.0 * (first - last) / first if (first > 0 and math.isfinite(last)) else float("nan")
        gn = self.grad_norm[np.isfinite(self.grad_norm)]
        clips = int(self.clipped.sum())
        return TrainSummary(
            initial_loss=first, final_loss=last,
            min_loss=float(finite.min()) if finite.size else float("nan"),
            max_grad_norm=float(gn.max()) if gn.size else float("nan"),
            clip_events=clips, clip_fraction=clips / n, diverged=at is not None, diverged_at=at,
            loss_reduction_pct=reduction)

    def head(self, n: int) -> "TrainLog":
        """The first ``n`` steps (views, no copy)."""
        cut = {k: getattr(self, k)[:n] for k in _ARRAYS}
        return TrainLog(**{**self._meta(), **cut})

    def _meta(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("model", "task", "method", "tau", "lr", "optimizer",
                                              "seed", "layer_names")}


_ARRAYS = ("loss", "grad_norm", "clipped_norm", "update_norm", "clipped", "threshold", "layer_norms",
           "bad_batch", "skipped")


@dataclass
class TrainProgress:
    """What :func:`train_iter` yields: ``done`` of ``total`` steps finished; ``logs()`` so far."""

    done: int
    total: int
    _full: list[TrainLog] = field(repr=False, default_factory=list)

    def logs(self) -> list[TrainLog]:
        return [log.head(self.done) for log in self._full]


def resolve(model: Any, task: Any, *, seq_len: int | None = None, n_hidden: int | None = None,
            rho: float | None = None):
    """Turn names into objects: ``(model, task)``. Objects pass through unchanged.

    Defaults for names: those of :func:`gradclip.tasks.make_task` and
    :func:`gradclip.nets.make_model`.
    """
    if isinstance(task, str):
        opts = {} if seq_len is None or task == "regression" else {"seq_len": seq_len}
        task = make_task(task, **opts)
    if not hasattr(task, "batches"):
        raise TypeError(f"task must be one of {', '.join(TASKS)} or a task object, got {task!r}")
    if isinstance(model, str):
        model = make_model(model, task, n_hidden=n_hidden, rho=rho)
    if not hasattr(model, "loss_and_grads"):
        raise TypeError(f"model must be one of {', '.join(MODELS)} or a model object, got {model!r}")
    return model, task


def _rule(spec: RunSpec) -> Any:
    """The running state of an adaptive rule for one run (None for the others).

    ``autoclip``: :class:`gradclip.autoclip.RunningPercentile` at the percentile ``tau``;
    ``zclip``: :class:`gradclip.zclip.ZClipKernel` with z-score threshold ``tau``. Each
    equals its reference (``autoclip_threshold`` of the whole history; ``zclip_step``) bit
    for bit.
    """
    if spec.method == "autoclip":
        return RunningPercentile(float(spec.tau) / 100)   # as numpy.percentile divides
    if spec.method == "zclip":
        return ZClipKernel(ZClip(z_thresh=spec.tau, skip_update_on_spike=spec.skip_update_on_spike))
    return None


def _apply(spec: RunSpec, grads: np.ndarray | list[np.ndarray], params: list[np.ndarray] | None,
           rule: Any) -> tuple[list[np.ndarray], float, bool]:
    """Clip one run's gradients (one flat array, or its tensors for AGC) with the package's
    rule (``rule``: the run's adaptive state, see :func:`_rule`); returns (clipped tensors,
    threshold, whether to skip the step), as a ``clip`` hook of :func:`train_iter` does."""
    m = spec.method
    unchanged = [grads] if isinstance(grads, np.ndarray) else grads
    if m == "none":
        return unchanged, math.inf, False
    if m == "norm":
        out, _ = clipping.clip_grad_norm(grads, spec.tau)
        return out, spec.tau, False
    if m == "value":
        return clipping.clip_grad_value(grads, spec.tau), spec.tau, False
    if m == "agc":
        return adaptive.adaptive_grad_clip(grads, params, clipping=spec.tau), math.nan, False
    total = float(clipping.global_norm(grads))
    if not math.isfinite(total):
        # The adaptive rules keep statistics of finite norms only; a blown-up run has no
        # meaningful threshold left, and its gradient is unusable either way. ZClip's last
        # judgement (``spiked``) stands for a skip.
        return unchanged, math.nan, bool(spec.skip_step_on_spike and rule.spiked)
    if m == "autoclip":   # a percentile of every norm seen so far, this step's included
        thr = float(rule.add(total))
    else:                 # zclip: tau is the z-score above which a norm counts as a spike
        thr = rule.update(total)
        if thr is None:   # warm-up: nothing is clipped yet
            return unchanged, math.inf, False
        thr = float(thr)
    out, _ = clipping.clip_grad_norm(grads, thr)
    return out, thr, bool(spec.skip_step_on_spike and rule.spiked)


class _FlatRuns:
    """The runs still training, with their weights as rows of one flat ``(A, P)`` array.

    The model sees views of ``theta`` and writes its gradients into views of ``g``; norms,
    clipping and the optimiser then cost one operation per step for all runs, not one per
    tensor or run. A run whose weights are no longer finite leaves (:meth:`drop_dead`).
    """

    def __init__(self, net: Any, runs: list[RunSpec], optimizer: str, momentum: float, seed: int, x0: Any,
                 clip: Callable | None = None):
        R = len(runs)
        init = net.init(seed=seed, runs=R)
        self.shapes = [p.shape[1:] for p in init]
        self.bounds = np.concatenate([[0], np.cumsum([p[0].size for p in init])]).astype(int)
        self.theta = np.concatenate([p.reshape(R, -1) for p in init], axis=1)
        self.stepper = ArrayStepper(optimizer, np.array([r.lr for r in runs])[:, None],
                                    self.theta.shape, momentum=momentum, bias_in_lr=False)
        # a sequence model keeps its scratch buffers from step to step (batches share a shape)
        self.workspace = getattr(net, "workspace", None)
        self.x0 = x0
        self.runs, self.clip = runs, clip         # clip: train_iter's hook, or None
        # steps taken per run (Adam's bias correction), kept only when a run may skip one
        self.taken = np.zeros((R, 1)) if clip is not None or any(r.skip_step_on_spike for r in runs) else None
        self.alive = np.arange(R)
        self.rows: Any = slice(None)      # the rows of the alive runs in the log tables
        self._make_buffers()

    def views(self, flat: np.ndarray) -> list[np.ndarray]:
        return [flat[:, a:b].reshape((flat.shape[0],) + sh)
                for a, b, sh in zip(self.bounds[:-1], self.bounds[1:], self.shapes)]

    def _make_buffers(self) -> None:
        """Per-batch-of-runs buffers: gradients (and the model's views of them), squares."""
        A, x0, ws = self.alive.size, self.x0, self.workspace
        self.params = self.views(self.theta)
        self.g = np.empty((A, self.theta.shape[1]))
        self.g_views = self.views(self.g)
        self.sq = np.empty_like(self.g)
        self.work = ws(A, x0.shape[0], x0.shape[1]) if ws is not None and x0.ndim == 3 else None
        self.clip_runs = [(j, int(r), self.runs[r]) for j, r in enumerate(self.alive)
                          if self.clip is not None or self.runs[r].method != "none"]

    def drop_dead(self) -> None:
        """Dead: a run whose weights are no longer finite. Every later loss and gradient of it
        is NaN, which its log already holds, so it leaves the batch."""
        live = np.isfinite(self.theta).all(axis=1)
        if live.all():
            return
        self.alive, self.theta = self.alive[live], self.theta[live]
        self.stepper.keep(live)
        if self.taken is not None:
            self.taken = self.taken[live]
        self.rows = self.alive
        self._make_buffers()


def _log_tables(net: Any, tk: Any, runs: list[RunSpec], steps: int, optimizer: str,
                seed: int) -> tuple[dict[str, np.ndarray], list[TrainLog]]:
    """The logs of all runs as rows of ``(R, steps)`` arrays (one assignment per step fills a
    field for every run) and one :class:`TrainLog` per run holding views of its rows."""
    R, groups = len(runs), net.groups()
    table = {k: np.full((R, steps), np.nan) for k in _ARRAYS}
    table["clipped"] = np.zeros((R, steps), dtype=bool)
    table["bad_batch"] = np.zeros((R, steps), dtype=bool)
    table["skipped"] = np.zeros((R, steps), dtype=bool)
    bad_steps = getattr(tk, "bad_steps", None)      # a task with bad batches says which (BadBatches)
    if bad_steps is not None:
        table["bad_batch"][:, bad_steps(steps, seed)] = True
    table["layer_norms"] = np.full((R, steps, len(groups)), np.nan)
    names = tuple(name for name, _ in groups)
    logs = [TrainLog(model=net.name, task=tk.name, method=r.method, tau=r.tau, lr=r.lr,
                     optimizer=optimizer, seed=int(seed), layer_names=names,
                     **{k: table[k][i] for k in _ARRAYS}) for i, r in enumerate(runs)]
    return table, logs


def _group_starts(net: Any, bounds: np.ndarray) -> list[int]:
    """Where each layer group starts in a flat row (groups are runs of consecutive tensors,
    so their norms are segment sums of the row)."""
    groups = net.groups()
    if any(list(idx) != list(range(idx[0], idx[-1] + 1)) for _, idx in groups):
        raise ValueError("model groups must list consecutive tensors")  # pragma: no cover
    return [int(bounds[idx[0]]) for _, idx in groups]


def _train_step(net: Any, flat: _FlatRuns, batch: Any, s: int, rules: list[Any],
                default_thr: np.ndarray, starts: list[int], table: dict[str, np.ndarray],
                gradients: Callable | None = None) -> None:
    """Step ``s`` for every alive run: gradients, clipping, the optimiser, the log row."""
    g, sq, rows = flat.g, flat.sq, flat.rows
    if gradients is None:
        loss, _ = net.loss_and_grads(flat.params, batch, out=flat.g_views, work=flat.work)
    else:
        loss = gradients(flat.params, batch, flat.g_views, flat.alive, s)
    layer = np.sqrt(np.add.reduceat(np.multiply(g, g, out=sq), starts, axis=1))  # (A, G)
    raw = np.sqrt(np.add.reduce(layer * layer, axis=1))
    thresholds = default_thr[flat.alive]
    skip = []
    for j, r, spec in flat.clip_runs:
        # a hook and AGC (unit by unit) get the tensors; the package's other rules one flat row
        by_tensor = flat.clip is not None or spec.method == "agc"
        row = [a[j] for a in flat.g_views] if by_tensor else g[j]
        mine = [p[j] for p in flat.params] if by_tensor else None
        out, thresholds[j], skipped = (flat.clip(row, mine, r, s) if flat.clip is not None
                                       else _apply(spec, row, mine, rules[r]))
        g[j] = out[0] if len(out) == 1 else np.concatenate([o.ravel() for o in out])
        if skipped:
            skip.append(j)
    after = np.sqrt(np.add.reduce(np.multiply(g, g, out=sq), axis=1))
    step = _optimiser_step(flat, g, s, skip)
    flat.theta -= step
    if skip:
        table["skipped"][flat.alive[skip], s] = True
    table["update_norm"][rows, s] = np.sqrt(np.add.reduce(np.multiply(step, step, out=sq), axis=1))
    table["loss"][rows, s] = loss
    table["grad_norm"][rows, s] = raw
    table["clipped_norm"][rows, s] = after
    table["threshold"][rows, s] = thresholds
    table["layer_norms"][rows, s] = layer
    # Clipped = the rule changed the gradient (a relative tolerance absorbs rounding).
    table["clipped"][rows, s] = after < raw * (1.0 - 1e-9)


def _optimiser_step(flat: _FlatRuns, g: np.ndarray, s: int, skip: list[int]) -> np.ndarray:
    """The optimiser's move for every alive run at step ``s``; the runs in ``skip`` take none
    and keep their optimiser state (moments and step count) as it was."""
    if flat.taken is None:
        return flat.stepper.step(g, s + 1)
    st = flat.stepper
    kept = (st.m[skip].copy(), st.v[skip].copy()) if skip else None
    flat.taken += 1
    flat.taken[skip] -= 1
    step = st.step(g, np.maximum(flat.taken, 1))
    if skip:
        st.m[skip], st.v[skip] = kept
        step[skip] = 0.0
    return step


def _check_train_args(steps: Any, optimizer: Any, momentum: Any, seed: Any, runs: Any) -> list[RunSpec]:
    """TypeError/ValueError naming the first bad argument; the runs as RunSpecs."""
    integer(steps, "steps", 1, TRAIN_MAX_STEPS)
    choice(optimizer, "optimizer", OPTIMIZERS)
    real(momentum, "momentum", 0, 1, hi_open=True)
    integer(seed, "seed", 0)
    if isinstance(runs, (str, bytes, RunSpec)) or not isinstance(runs, Sequence):
        raise TypeError(f"runs must be a list of RunSpec (or of (method, tau, lr) tuples), got {runs!r}")
    specs = [_run_spec(i, r) for i, r in enumerate(runs)]
    if not specs:
        raise ValueError("runs must hold at least one RunSpec, got an empty list")
    return specs


def _run_spec(i: int, r: Any) -> RunSpec:
    """``runs[i]`` as a RunSpec; an error names the run it is about."""
    if isinstance(r, RunSpec):
        return r
    if not isinstance(r, (tuple, list)):
        raise TypeError(f"runs must hold RunSpec objects or (method, tau, lr) tuples; runs[{i}] is {r!r}")
    try:
        return RunSpec(*r)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"runs[{i}]: {exc}") from None


def _check_work(net: Any, tk: Any, runs: int, steps: int, batch_size: Any) -> None:
    """Refuse a training run whose buffers would not fit in memory, before it starts."""
    b = tk.batch_size if batch_size is None else integer(batch_size, "batch_size", 1, 1_000_000)
    per_step = 8 * len(_ARRAYS) * runs + 8 * runs * len(net.groups())     # the log tables
    if getattr(net, "n_layers", None):       # an RNN keeps ~8 arrays of its hidden states
        work = 8 * 8 * net.n_layers * tk.seq_len * runs * b * net.n_hidden
    else:
        work = 8 * 4 * runs * b * net.n_hidden
    budget(per_step * steps + work, "the training run", "runs, steps, batch_size, seq_len or n_hidden")


def train_iter(model: Any = "rnn3", task: Any = "adding", runs: Sequence[RunSpec] = (RunSpec(),),
               steps: int = 500, optimizer: str = "sgd", seed: int = 0, *, momentum: float = 0.9,
               batch_size: int | None = None, seq_len: int | None = None, n_hidden: int | None = None,
               rho: float | None = None, gradients: Callable | None = None,
               clip: Callable | None = None) -> Iterator[TrainProgress]:
    """Train every run in ``runs`` together; yield a :class:`TrainProgress` after each step.

    ``gradients``: optional ``f(params, batch, out, runs, step) -> loss`` that replaces the
    model's ``loss_and_grads``: it writes the alive runs' gradients into ``out`` (views shaped
    as ``params``, rows = the runs numbered ``runs`` in ``runs``) and returns their losses
    (:func:`gradclip.dp.dp_sgd_train` computes DP-SGD gradients this way;
    :func:`gradclip.accumulation.train_accumulated` averages micro-batches).

    ``clip``: optional ``f(grads, params, run, step) -> (clipped, threshold, skip)`` that
    replaces the runs' own clip (their ``method`` then only names them) on run ``run``'s
    gradient and weights (lists of tensors); ``skip``: no step at all, as with ZClip's
    ``skip_step_on_spike`` (:func:`gradclip.loss_scale.train_amp`'s hook skips an fp16 overflow).

    The runs share the seed: the same initial weights and the same batches in the same
    order (a task with bad batches, :class:`gradclip.tasks.BadBatches`, puts them at the same
    steps for every run). Deterministic: the same arguments give the same numbers, bit for bit.
    """
    runs = _check_train_args(steps, optimizer, momentum, seed, runs)
    steps = int(steps)
    net, tk = resolve(model, task, seq_len=seq_len, n_hidden=n_hidden, rho=rho)
    _check_work(net, tk, len(runs), steps, batch_size)
    batches = tk.batches(steps, batch_size, seed=seed)
    for hook, name, form in ((gradients, "gradients", "(params, batch, out, runs, step)"),
                             (clip, "clip", "(grads, params, run, step)")):
        if hook is not None and not callable(hook):
            raise TypeError(f"{name} must be a function f{form} or None, got {hook!r:.60}")
    # Checked here, when called, not at the first next(): a generator would defer the error.
    return _train_steps(net, tk, runs, steps, optimizer, seed, momentum, batches, gradients, clip)


def _train_steps(net: Any, tk: Any, runs: list[RunSpec], steps: int, optimizer: str, seed: int,
                 momentum: float, batches: list[Any], gradients: Callable | None = None,
                 clip: Callable | None = None) -> Iterator[TrainProgress]:
    """:func:`train_iter`'s loop, on checked arguments."""
    flat = _FlatRuns(net, runs, optimizer, momentum, seed, batches[0].x, clip)
    starts = _group_starts(net, flat.bounds)
    table, logs = _log_tables(net, tk, runs, steps, optimizer, seed)
    rules = [_rule(r) for r in runs]
    default_thr = np.array([math.inf if r.method == "none" else math.nan for r in runs])
    # A run that has blown up computes with inf/NaN until it is dropped; that is the point of
    # the demonstration, not an error, so NumPy's overflow warnings are silenced.
    with np.errstate(all="ignore"):
        for s in range(steps):
            if flat.alive.size:
                _train_step(net, flat, batches[s], s, rules, default_thr, starts, table, gradients)
                flat.drop_dead()
            yield TrainProgress(done=s + 1, total=steps, _full=logs)


def train_runs(model: Any = "rnn3", task: Any = "adding", runs: Sequence[RunSpec] = (RunSpec(),),
               steps: int = 500, optimizer: str = "sgd", seed: int = 0, **options: Any) -> list[TrainLog]:
    """:func:`train_iter` run to the end: one :class:`TrainLog` per run, in order.

    >>> a, b = train_runs("rnn1", "adding", [RunSpec("none"), RunSpec("norm", 0.5)], steps=5)
    >>> bool(a.loss[0] == b.loss[0])        # same seed: same weights, same first batch
    True

    A task with a bad batch (:class:`gradclip.tasks.BadBatches`): every run meets it at the
    same step, and its log marks it.

    >>> from gradclip.tasks import AddingTask, BadBatches
    >>> task = BadBatches(AddingTask(), count=1, scale=10.0, start=10)
    >>> clipped, plain = train_runs("rnn1", task, [RunSpec("norm", 3.0), RunSpec("none")], steps=20, rho=1.0)
    >>> s = int(np.flatnonzero(plain.bad_batch)[0])
    >>> s, bool(clipped.bad_batch[s]), bool(plain.grad_norm[s] > 20 * np.median(plain.grad_norm[:s]))
    (10, True, True)
    >>> bool(clipped.clipped[s]), round(float(clipped.clipped_norm[s]), 6)     # PyTorch divides by norm + 1e-6
    (True, 3.0)
    """
    last = None
    for last in train_iter(model, task, runs, steps, optimizer, seed, **options):
        pass
    return last.logs()


def train(model: Any = "rnn3", task: Any = "adding", method: str = "norm", tau: float = 1.0,
          lr: float = 0.05, steps: int = 500, optimizer: str = "sgd", seed: int = 0,
          **options: Any) -> TrainLog:
    """Train one configuration; returns its per-step :class:`TrainLog`.

    ``model``: ``rnn1``/``rnn2``/``rnn3``/``mlp`` or a model object from :mod:`gradclip.nets`;
    ``task``: ``adding``/``temporal_order``/``regression`` or a task object from
    :mod:`gradclip.tasks` (:class:`gradclip.tasks.BadBatches` injects rare bad batches). Options: ``momentum`` (0.9), ``batch_size`` (the task's default:
    8 for sequences, 128 for regression), ``seq_len``, ``n_hidden``, ``rho``.
    """
    return train_runs(model, task, [RunSpec(method, tau, lr)], steps, optimizer, seed, **options)[0]
