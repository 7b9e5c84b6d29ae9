"""Synthetic training tasks, generated from a seed (no downloads).

Three tasks, each a small frozen dataclass with a ``batches`` method:

* :class:`AddingTask` -- the *adding problem* (Hochreiter & Schmidhuber 1997), one of the
  long-range tasks Pascanu, Mikolov & Bengio (2013) used to study exploding gradients.
  Each input step carries a value :math:`u_t \\sim U(0, 1)` and a marker :math:`m_t \\in \\{0, 1\\}`;
  exactly two steps are marked, one in each half of the sequence, and the target is

  .. math:: y = \\sum_t m_t u_t .

  Predicting the mean (always 1) scores a mean squared error of :math:`2 \\cdot 1/12 = 1/6`,
  the task's ``baseline_loss``.
* :class:`TemporalOrderTask` -- the *temporal order* problem from the same papers: a
  sequence of distractor symbols with two relevant symbols, each ``X`` or ``Y``, one early
  and one in the middle; the class is the ordered pair (XX, XY, YX, YY). Cross-entropy
  baseline :math:`\\ln 4`.
* :class:`RegressionTask` -- a linear regression data set built the way scikit-learn's
  ``make_regression`` builds one (here 1000 samples, 20 features, noise 0.1): standard normal features,
  10 informative ones with coefficients :math:`100 \\cdot U(0, 1)`, Gaussian noise of
  standard deviation 0.1. Batches walk through shuffled epochs, the last batch of an
  epoch being smaller (as a PyTorch ``DataLoader`` with ``shuffle=True`` does).

:class:`BadBatches` wraps any of them: the same stream of batches, except a few chosen steps
whose targets (or inputs) are multiplied by a large factor -- rare gradient spikes on demand,
for studying what a clipping threshold does to them.

Sequence inputs are *time-major*: ``x`` has shape ``(T, B, n_in)`` so a recurrent loop
reads ``x[t]`` without copying. Targets are ``(B, n_out)`` floats for a squared-error task
and ``(B,)`` integer classes for a cross-entropy task.

Examples
--------
>>> task = AddingTask(seq_len=10)
>>> b = task.batches(steps=2, batch_size=4, seed=0)
>>> len(b), b[0].x.shape, b[0].y.shape
(2, (10, 4, 2), (4, 1))
>>> bool(np.all(b[0].x[:, :, 1].sum(axis=0) == 2))    # two markers per sequence
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradclip.checks import budget, choice, integer, real

__all__ = [
    "Batch", "AddingTask", "TemporalOrderTask", "RegressionTask", "BadBatches", "TASKS", "make_task",
    "BAD_PARTS",
]

# Different streams for data and for initial weights, so changing one never shifts the other.
_DATA_STREAM = 1


def _rng(seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([integer(seed, "seed", 0), _DATA_STREAM, salt])


def _check_batches(steps: Any, batch_size: Any, seed: Any, bytes_per_example: int) -> tuple[int, int]:
    """``batches()``'s arguments checked, and the memory its arrays need refused if too much."""
    steps = integer(steps, "steps", 1, 100_000)
    batch_size = integer(batch_size, "batch_size", 1, 4096)
    integer(seed, "seed", 0)
    budget(bytes_per_example * steps * batch_size, "the batches", "steps, batch_size or seq_len")
    return steps, batch_size


@dataclass(frozen=True)
class Batch:
    """One minibatch: inputs ``x`` and targets ``y`` (see the module docstring for shapes)."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class AddingTask:
    """The adding problem: sum the two marked values of a sequence of length ``seq_len``.

    ``batch_size`` is the default minibatch size of :meth:`batches`.

    Examples
    --------
    >>> AddingTask(seq_len=20).n_in, AddingTask().loss, round(AddingTask().baseline_loss, 4)
    (2, 'mse', 0.1667)
    """

    seq_len: int = 10
    batch_size: int = 8
    # What the task is, not an option: fixed, and out of the constructor.
    name: str = field(default="adding", init=False)
    title: str = field(default="Adding problem", init=False)
    n_in: int = field(default=2, init=False)
    n_out: int = field(default=1, init=False)
    loss: str = field(default="mse", init=False)
    sequence: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        integer(self.seq_len, "seq_len", 2, 1000)
        integer(self.batch_size, "batch_size", 1, 4096)

    @property
    def baseline_loss(self) -> float:
        """Squared error of always predicting the mean target, 1: twice the variance of U(0,1)."""
        return 1.0 / 6.0

    def batches(self, steps: int, batch_size: int | None = None, seed: int = 0) -> list[Batch]:
        """``steps`` fresh batches drawn in one vectorised call (deterministic for ``seed``)."""
        # values, marks and their stack: four floats per time step and example
        steps, batch_size = _check_batches(steps, self.batch_size if batch_size is None else batch_size,
                                           seed, 4 * 8 * self.seq_len)
        rng = _rng(seed, 11)
        T, n = self.seq_len, steps * batch_size
        values = rng.random((T, n))
        half = T // 2
        first = rng.integers(0, half, size=n)
        second = rng.integers(half, T, size=n)
        marks = np.zeros((T, n))
        cols = np.arange(n)
        marks[first, cols] = 1.0
        marks[second, cols] = 1.0
        x = np.stack([values, marks], axis=-1)                     # (T, n, 2)
        y = (values[first, cols] + values[second, cols])[:, None]  # (n, 1)
        return [Batch(x[:, i * batch_size:(i + 1) * batch_size], y[i * batch_size:(i + 1) * batch_size])
                for i in range(steps)]


@dataclass(frozen=True)
class TemporalOrderTask:
    """The temporal order problem: which of X/Y came first and second among distractors.

    Symbols are one-hot over ``(a, b, c, d, X, Y)``; the relevant symbols sit in the
    10--20 % and 50--60 % stretches of the sequence. Classes: 0 = XX, 1 = XY, 2 = YX, 3 = YY.

    Examples
    --------
    >>> b = TemporalOrderTask(seq_len=20).batches(1, 3, seed=1)[0]
    >>> b.x.shape, b.y.dtype.kind, bool(np.all(b.x.sum(axis=2) == 1))
    ((20, 3, 6), 'i', True)
    """

    seq_len: int = 10
    batch_size: int = 8
    name: str = field(default="temporal_order", init=False)
    title: str = field(default="Temporal order", init=False)
    n_in: int = field(default=6, init=False)
    n_out: int = field(default=4, init=False)
    loss: str = field(default="xent", init=False)
    sequence: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        integer(self.seq_len, "seq_len", 10, 1000)
        integer(self.batch_size, "batch_size", 1, 4096)

    @property
    def baseline_loss(self) -> float:
        """Cross-entropy of a uniform guess over the four classes."""
        return math.log(4.0)

    def batches(self, steps: int, batch_size: int | None = None, seed: int = 0) -> list[Batch]:
        # the symbols and their one-hot code: seven numbers per time step and example
        steps, batch_size = _check_batches(steps, self.batch_size if batch_size is None else batch_size,
                                           seed, 7 * 8 * self.seq_len)
        rng = _rng(seed, 12)
        T, n = self.seq_len, steps * batch_size
        symbols = rng.integers(0, 4, size=(T, n))             # distractors a..d
        lo1, hi1 = max(1, int(0.1 * T)), max(2, int(0.2 * T))
        lo2, hi2 = int(0.5 * T), max(int(0.5 * T) + 1, int(0.6 * T))
        t1 = rng.integers(lo1, hi1, size=n)
        t2 = rng.integers(lo2, hi2, size=n)
        which = rng.integers(0, 2, size=(2, n))               # 0 = X, 1 = Y
        cols = np.arange(n)
        symbols[t1, cols] = 4 + which[0]
        symbols[t2, cols] = 4 + which[1]
        x = np.eye(6)[symbols]                                # (T, n, 6)
        y = (2 * which[0] + which[1]).astype(np.int64)
        return [Batch(x[:, i * batch_size:(i + 1) * batch_size], y[i * batch_size:(i + 1) * batch_size])
                for i in range(steps)]


@dataclass(frozen=True)
class RegressionTask:
    """A ``make_regression``-style linear data set, served in shuffled epochs.

    .. math:: y = X w + \\varepsilon,\\quad X_{ij} \\sim N(0, 1),\\quad
              w_j = 100\\,U(0, 1) \\text{ for } j < n_\\text{informative}, \\text{ else } 0,
              \\quad \\varepsilon \\sim N(0, \\text{noise}^2)

    Examples
    --------
    >>> t = RegressionTask()
    >>> X, y, w = t.dataset(seed=0)
    >>> X.shape, y.shape, int((w != 0).sum())
    ((1000, 20), (1000, 1), 10)
    >>> [b.x.shape[0] for b in t.batches(9, 128, seed=0)][-2:]     # epoch ends: 1000 = 7*128 + 104
    [104, 128]
    """

    n_samples: int = 1000
    n_features: int = 20
    n_informative: int = 10
    noise: float = 0.1
    batch_size: int = 128
    name: str = field(default="regression", init=False)
    title: str = field(default="Linear regression (20 features)", init=False)
    n_out: int = field(default=1, init=False)
    loss: str = field(default="mse", init=False)
    sequence: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        integer(self.n_samples, "n_samples", 2, 1_000_000)
        integer(self.n_features, "n_features", 1, 10_000)
        integer(self.n_informative, "n_informative", 0, int(self.n_features))
        real(self.noise, "noise", 0)
        integer(self.batch_size, "batch_size", 1, 1_000_000)     # batches() caps it at n_samples
        # the data set: features and their reshuffled batches, 8-byte floats
        budget(2 * 8 * int(self.n_samples) * int(self.n_features), "the data set", "n_samples or n_features")

    @property
    def n_in(self) -> int:
        return self.n_features

    @property
    def baseline_loss(self) -> float:
        """Squared error of predicting 0 (the targets' mean) -- the variance of y, in expectation."""
        return self.n_informative * 100.0 ** 2 / 3.0 + self.noise ** 2

    def dataset(self, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The full data set ``(X, y, w)``: features, targets ``(n, 1)`` and true coefficients."""
        rng = _rng(seed, 13)
        X = rng.standard_normal((self.n_samples, self.n_features))
        w = np.zeros(self.n_features)
        informative = rng.permutation(self.n_features)[: self.n_informative]
        w[informative] = 100.0 * rng.random(self.n_informative)
        y = X @ w + self.noise * rng.standard_normal(self.n_samples)
        return X, y[:, None], w

    def batches(self, steps: int, batch_size: int | None = None, seed: int = 0) -> list[Batch]:
        """Minibatches from epochs over one data set, reshuffled every epoch."""
        steps = integer(steps, "steps", 1, 100_000)
        batch_size = integer(self.batch_size if batch_size is None else batch_size, "batch_size",
                             1, self.n_samples)
        integer(seed, "seed", 0)
        budget(8 * (self.n_features + 1) * steps * batch_size, "the batches", "steps or batch_size")
        X, y, _ = self.dataset(seed)
        rng = _rng(seed, 14)
        out: list[Batch] = []
        while len(out) < steps:
            order = rng.permutation(self.n_samples)
            for start in range(0, self.n_samples, batch_size):
                idx = order[start:start + batch_size]
                out.append(Batch(X[idx], y[idx]))
                if len(out) == steps:
                    break
        return out


BAD_PARTS = ("targets", "inputs")
_BAD_STREAM_SALT = 15      # the bad steps' own random stream: drawing them never shifts the batches


@dataclass(frozen=True)
class BadBatches:
    """A task whose stream of batches carries a few corrupted ones: rare gradient spikes.

    The batches are exactly those of ``task`` except at ``count`` steps :math:`S`, drawn
    uniformly without replacement from :math:`\\{\\text{start}, \\dots, \\text{steps}-1\\}`
    (with a random stream of their own, so the ordinary batches never change), where the
    targets (``part="targets"``) or the inputs (``part="inputs"``) are multiplied by ``scale``
    :math:`k`:

    .. math:: (x_s, y_s) \\mapsto (x_s,\\; k\\,y_s) \\quad\\text{or}\\quad (k\\,x_s,\\; y_s),
              \\qquad s \\in S,\\ \\lvert S \\rvert = \\text{count}

    A squared-error readout's error, and so the whole gradient, grows about in proportion to
    :math:`k` when the targets are scaled: a mislabelled or mis-scaled batch. Scaling the
    inputs of a tanh network mostly saturates it, which makes far smaller spikes. Targets can
    only be scaled for a squared-error task (classes are not numbers). ``start`` >= 1 keeps the
    first step clean, so a run's initial loss is that of an ordinary batch.

    Every run trained on this task (:func:`gradclip.train.train_runs`) sees the same batches,
    the same bad ones included, and its log marks them (``TrainLog.bad_batch``).

    Parameters
    ----------
    task : AddingTask, TemporalOrderTask or RegressionTask
    count : int
        How many bad batches, 0 to 10,000 (and at most ``steps - start`` when drawn).
    scale : float
        The factor :math:`k`, > 0 and <= 1e6.
    part : {"targets", "inputs"}
    start : int
        The first step that may be bad, 1 to 100,000.

    Examples
    --------
    >>> bad = BadBatches(AddingTask(), count=2, scale=10.0, start=5)
    >>> steps = bad.bad_steps(20, seed=0)
    >>> steps.size, bool(steps.min() >= 5)
    (2, True)
    >>> plain, spiked = AddingTask().batches(20, seed=0), bad.batches(20, seed=0)
    >>> s = int(steps[0])
    >>> bool(np.array_equal(spiked[s].y, 10.0 * plain[s].y)), bool(np.array_equal(spiked[0].y, plain[0].y))
    (True, True)
    """

    task: Any
    count: int = 3
    scale: float = 10.0
    part: str = "targets"
    start: int = 1

    def __post_init__(self) -> None:
        if not all(hasattr(self.task, a) for a in ("batches", "loss", "name")) or isinstance(self.task, BadBatches):
            raise TypeError(f"task must be an AddingTask, TemporalOrderTask or RegressionTask, got {self.task!r}")
        integer(self.count, "count", 0, 10_000)
        real(self.scale, "scale", 0, 1e6, lo_open=True)
        choice(self.part, "part", BAD_PARTS)
        integer(self.start, "start", 1, 100_000)
        if self.part == "targets" and self.task.loss != "mse":
            raise ValueError(f"part must be 'inputs' for a classification task ({self.task.name!r}: its "
                             f"targets are classes, not numbers to scale), got 'targets'")

    def __getattr__(self, name: str) -> Any:
        # What the task is (name, n_in, loss, seq_len, batch_size, baseline_loss, ...) is the
        # wrapped task's: a model is sized and a loss chosen as for the clean task.
        if name.startswith("_") or name == "task":
            raise AttributeError(name)
        return getattr(self.task, name)

    @property
    def title(self) -> str:
        return f"{self.task.title}, {self.count} bad batches ({self.part} × {self.scale:g})"

    def bad_steps(self, steps: int, seed: int = 0) -> np.ndarray:
        """The sorted steps whose batch is bad in a run of ``steps`` steps with this ``seed``."""
        steps = integer(steps, "steps", 1, 100_000)
        if self.count > max(steps - self.start, 0):
            raise ValueError(f"count must be at most steps - start = {max(steps - self.start, 0)} "
                             f"(the steps that may be bad), got {self.count}")
        rng = _rng(seed, _BAD_STREAM_SALT)
        return np.sort(rng.choice(np.arange(self.start, steps), size=self.count, replace=False))

    def batches(self, steps: int, batch_size: int | None = None, seed: int = 0) -> list[Batch]:
        """The task's batches, the bad ones scaled (new arrays; the others shared)."""
        out = self.task.batches(steps, batch_size, seed=seed)
        for s in self.bad_steps(steps, seed).tolist():
            b = out[s]
            out[s] = Batch(b.x, self.scale * b.y) if self.part == "targets" else Batch(self.scale * b.x, b.y)
        return out


TASKS = {
    "adding": AddingTask,
    "temporal_order": TemporalOrderTask,
    "regression": RegressionTask,
}


def make_task(name: str, **options) -> AddingTask | TemporalOrderTask | RegressionTask:
    """A task by name (``adding``, ``temporal_order``, ``regression``) with its options.

    Examples
    --------
    >>> make_task("adding", seq_len=30).seq_len
    30
    """
    return TASKS[choice(name, "task", TASKS)](**options)
