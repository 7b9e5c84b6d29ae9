"""Gradient-norm logs from real training loops: record, save, read back, summarise, suggest tau.

:class:`NormTracker` collects one number per step -- typically the total norm that
``torch.nn.utils.clip_grad_norm_`` returns (PyTorch is optional; nothing here imports it
unless you call :meth:`NormTracker.clip_grad_norm_` or :meth:`NormTracker.measure`, which
only reads the gradients). :func:`gradclip.logfiles.read_norm_log` reads such a log back,
and the logs training tools write (:func:`parse_norm_log`, re-exported here, gives just the
norms). :func:`analyse_norms` summarises a log and asks
:func:`gradclip.adaptive.suggest_thresholds` for thresholds (percentiles, AutoClip, ZClip), each
with the share of steps it would clip; :func:`suggestion_text` words one for the page and the
command line alike.

In a PyTorch loop::

    tracker = gradclip.NormTracker()
    for batch in loader:
        loss = model(batch).mean()
        loss.backward()
        tracker.clip_grad_norm_(model.parameters(), max_norm=1.0, loss=loss)   # clips and records
        optimizer.step(); optimizer.zero_grad()
    tracker.save("norms.csv")          # then: gradclip suggest norms.csv

Examples
--------
>>> t = NormTracker()
>>> for n in [0.5, 0.7, 0.6, 9.0]:
...     _ = t.record(n)
>>> print(t.csv_text(), end="")
step,grad_norm
0,0.5
1,0.7
2,0.6
3,9.0
>>> parse_norm_log(t.csv_text()).tolist()
[0.5, 0.7, 0.6, 9.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradclip.adaptive import Suggestion, check_zclip_settings, suggest_thresholds
from gradclip.checks import integer, real, real_array
from gradclip.figures.numbers import fmt_number
from gradclip.logfiles import FILE_LIMIT, MAX_JSON_DEPTH, MAX_ROWS, parse_norm_log  # noqa: F401 - re-exported

__all__ = ["NormTracker", "NormSummary", "NormAnalysis", "parse_norm_log", "analyse_norms", "RULE_LABELS",
           "suggestion_text", "MAX_ROWS", "FILE_LIMIT", "MAX_JSON_DEPTH"]



@dataclass
class NormTracker:
    """Collects one gradient norm per optimizer step, with the step number and, optionally, the loss.

    :meth:`record` accepts a Python or NumPy number or anything with ``.item()`` (a PyTorch
    scalar tensor). Non-finite norms are kept: they are the interesting steps. Steps are
    the training loop's own numbers (``trainer.global_step``), so a log taken every k-th
    step keeps its real step numbers; without one, a record is the step after the last.

    Attributes
    ----------
    values : list of float
        The norms, in the order recorded.
    steps : list of int
        The step of each norm: integers >= 0, strictly increasing. ``None`` when
        constructing means 0, 1, 2, ...
    losses : list of float or None
        The loss at each step, ``None`` where none was recorded. ``None`` when constructing
        means no loss at any step.

    Examples
    --------
    >>> t = NormTracker()
    >>> _ = t.record(0.5, step=10, loss=2.3)
    >>> _ = t.record(9.0, step=20)              # no loss at this step: written as nan
    >>> t.record(0.7)                           # no step: the one after the last
    0.7
    >>> print(t.csv_text(), end="")
    step,grad_norm,loss
    10,0.5,2.3
    20,9.0,nan
    21,0.7,nan
    >>> t.record(1.0, step=21)
    Traceback (most recent call last):
    ...
    ValueError: step must be an integer >= 22 (steps increase strictly; the last recorded is 21), got 21
    """

    values: list[float] = field(default_factory=list)
    steps: list[int] | None = None
    losses: list[float | None] | None = None

    def __post_init__(self) -> None:
        self.values = real_array(self.values, "values", 0, finite=False, nan=True, ndim=1,
                                 shape_text="(steps,), a list of norms").astype(float).tolist()
        n = len(self.values)
        self.steps = list(range(n)) if self.steps is None else _step_list(self.steps, n)
        self.losses = [None] * n if self.losses is None else _loss_list(self.losses, n)

    def record(self, norm: Any, step: Any = None, loss: Any = None) -> float:
        """Append one step's norm (and loss); returns the norm as a float.

        Parameters
        ----------
        norm : float or scalar tensor
            The total gradient norm, >= 0; inf and NaN are kept.
        step : int, optional
            The step number, > the last one recorded (>= 0 for the first); default: the
            last step + 1, or 0 for the first record.
        loss : float or scalar tensor, optional
            The loss at this step, any real number (NaN and ±inf kept).
        """
        x, s, lo = _scalar(norm, "norm", lo=0), self._next_step(step), _optional_loss(loss)
        self.values.append(x)
        self.steps.append(s)
        self.losses.append(lo)
        return x

    def measure(self, parameters: Any, norm_type: float = 2.0, *, step: Any = None, loss: Any = None) -> float:
        """Record the total norm of the parameters' gradients, without changing any gradient.

        The norm is ``torch.nn.utils.get_total_norm`` (PyTorch >= 2.6, checked on 2.13.0)
        over the ``.grad`` of the parameters that have one (0 when none has). Unlike
        ``clip_grad_norm_(parameters, inf)``, which multiplies every gradient by
        ``inf / inf = nan`` when one entry is inf, this only reads the gradients. PyTorch
        is imported here, on first use, and is never a dependency of gradclip.

        Parameters
        ----------
        parameters : torch.Tensor or iterable of torch.Tensor
            Typically ``model.parameters()``.
        norm_type : float
            The p of the p-norm, > 0 (``float("inf")`` for the largest entry).
        step, loss
            As for :meth:`record`.

        Returns
        -------
        float
            The norm recorded.
        """
        p = real(norm_type, "norm_type", lo=0, lo_open=True, finite=False)
        s, lo = self._next_step(step), _optional_loss(loss)   # checked before any work
        import torch  # optional: only for this method

        params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
        total = torch.nn.utils.get_total_norm([q.grad for q in params if q.grad is not None], p)
        return self.record(total, s, lo)

    def clip_grad_norm_(self, parameters: Any, max_norm: float = math.inf, norm_type: float = 2.0, *,
                        step: Any = None, loss: Any = None) -> float:
        """Call ``torch.nn.utils.clip_grad_norm_`` and record the total norm it returns.

        That norm is the one before clipping. With the default ``max_norm=inf`` nothing is
        clipped, but a gradient with an inf entry becomes NaN everywhere (``inf / inf``);
        to measure only, use :meth:`measure`. ``step`` and ``loss`` are as for
        :meth:`record`, and checked before anything is clipped. PyTorch is imported here,
        on first use, and is never a dependency of gradclip.
        """
        s, lo = self._next_step(step), _optional_loss(loss)
        import torch  # optional: only for this convenience

        total = torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=norm_type)
        return self.record(total, s, lo)

    def _next_step(self, step: Any) -> int:
        """The step of the next record: ``step`` checked, or the last step + 1."""
        last = self.steps[-1] if self.steps else -1
        if step is None:
            return last + 1
        n = integer(step, "step", 0)
        if n <= last:
            raise ValueError(f"step must be an integer >= {last + 1} (steps increase strictly; "
                             f"the last recorded is {last}), got {step!r}")
        return n

    @property
    def norms(self) -> np.ndarray:
        return np.asarray(self.values, dtype=float)

    def csv_text(self) -> str:
        """The log as CSV: ``step,grad_norm`` (and ``,loss`` when any step has a loss), one row
        per record; floats are written with ``repr`` (exact), a missing loss as ``nan``."""
        if any(v is not None for v in self.losses):
            rows = ["step,grad_norm,loss"] + [f"{s},{v!r},{float('nan') if lo is None else lo!r}"
                                               for s, v, lo in zip(self.steps, self.values, self.losses)]
        else:
            rows = ["step,grad_norm"] + [f"{s},{v!r}" for s, v in zip(self.steps, self.values)]
        return "\n".join(rows) + "\n"

    def save(self, path: str) -> None:
        """Write :meth:`csv_text` to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.csv_text())

    def summary(self) -> "NormSummary":
        return analyse_norms(self.norms).summary

    def suggest(self) -> list[Suggestion]:
        """Thresholds by the package's rules, from the finite norms recorded so far."""
        return analyse_norms(self.norms).suggestions


def _scalar(value: Any, name: str, lo: float | None = None) -> float:
    """One number as a float, from a Python or NumPy number or a scalar tensor (``.item()``);
    NaN is kept, everything else is range-checked."""
    try:
        v = value.item() if hasattr(value, "item") else value
    except (ValueError, RuntimeError):   # an array of several numbers (RuntimeError: torch's)
        v = value
    # NaN is a legitimate record (a step that blew up); everything else is range-checked.
    return v if isinstance(v, float) and math.isnan(v) else real(v, name, lo, finite=False)


def _optional_loss(loss: Any, name: str = "loss") -> float | None:
    """A loss: any real number (NaN, ±inf and negatives are losses too), or None for none."""
    if loss is None:
        return None
    try:
        return _scalar(loss, name)
    except (TypeError, ValueError):     # the one way to fail here is the wrong kind of value
        raise TypeError(f"{name} must be a real number (NaN and ±inf allowed) or None, "
                        f"got {loss!r:.60}") from None


def _sequence(value: Any, name: str, n: int, what: str) -> list:
    """``value`` as a list of ``n`` items; TypeError/ValueError naming ``name``."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of {what}, one per value, got {value!r:.60}")
    if len(value) != n:
        raise ValueError(f"{name} must hold one entry per value ({n}), got {len(value)}")
    return list(value)


def _step_list(steps: Any, n: int) -> list[int]:
    out = [integer(s, f"steps[{i}]", 0) for i, s in enumerate(_sequence(steps, "steps", n, "integers >= 0"))]
    for i in range(1, n):
        if out[i] <= out[i - 1]:
            raise ValueError(f"steps must increase strictly; steps[{i}] is {out[i]}, after {out[i - 1]}")
    return out


def _loss_list(losses: Any, n: int) -> list[float | None]:
    items = _sequence(losses, "losses", n, "numbers or None")
    return [_optional_loss(x, f"losses[{i}]") for i, x in enumerate(items)]


@dataclass(frozen=True)
class NormSummary:
    """Descriptive numbers of a norm log (percentiles over the finite values)."""

    steps: int
    nonfinite: int
    min: float
    median: float
    mean: float
    p90: float
    p99: float
    max: float
    first_nonfinite: int | None


@dataclass(frozen=True)
class NormAnalysis:
    """A summary plus the suggestions of :func:`gradclip.adaptive.suggest_thresholds`."""

    summary: NormSummary
    suggestions: list[Suggestion]


def analyse_norms(norms: Any, zclip: Any = None) -> NormAnalysis:
    r"""Summarise a log of gradient norms and suggest thresholds.

    Non-finite entries (a run that blew up) are counted in ``summary.nonfinite`` and left
    out of the percentiles and suggestions, which need finite numbers. With :math:`F` the
    finite norms, the summary holds :math:`\min F`, :math:`\max F`, the mean and the
    percentiles :math:`P_{50}, P_{90}, P_{99}` of :math:`F` (linear interpolation, as
    ``numpy.percentile``); the suggestions are those of
    :func:`gradclip.adaptive.suggest_thresholds` on :math:`F`, in log order (AutoClip and
    ZClip are replayed step by step: a million norms take a few seconds).

    Parameters
    ----------
    norms : array_like
        One gradient norm per step (flattened), each >= 0 or NaN/inf; at least one.
    zclip : ZClip, optional
        ZClip's settings for its suggestion (see :func:`gradclip.adaptive.suggest_thresholds`).

    Returns
    -------
    NormAnalysis
        ``summary`` (a :class:`NormSummary`) and ``suggestions`` (empty when no norm is
        finite).

    Raises
    ------
    ValueError
        For an empty log or a negative norm (naming its index).

    Examples
    --------
    >>> a = analyse_norms([1.0, 2.0, 3.0, float("nan")])
    >>> a.summary.steps, a.summary.nonfinite, a.summary.median, a.summary.first_nonfinite
    (4, 1, 2.0, 3)
    >>> [s.rule for s in a.suggestions]
    ['p50', 'p90', 'p95', 'p99', 'autoclip', 'zclip']
    """
    x = real_array(norms, "norms", 0, finite=False, nan=True, empty=False).astype(float).ravel()
    check_zclip_settings(zclip)
    ok = np.isfinite(x)
    fin = x[ok]
    bad = np.flatnonzero(~ok)
    nan = float("nan")
    if fin.size:
        p = np.percentile(fin, [50, 90, 99])
        summary = NormSummary(int(x.size), int(bad.size), float(fin.min()), float(p[0]), _mean(fin),
                              float(p[1]), float(p[2]), float(fin.max()),
                              int(bad[0]) if bad.size else None)
        suggestions = suggest_thresholds(fin, zclip=zclip)
    else:
        summary = NormSummary(int(x.size), int(bad.size), nan, nan, nan, nan, nan, nan, 0)
        suggestions = []
    return NormAnalysis(summary, suggestions)


def _mean(x: np.ndarray) -> float:
    """The mean of finite numbers, also when their sum overflows (1e308 + 1e308): then it is
    computed on the numbers divided by the largest, which cannot overflow, and scaled back."""
    with np.errstate(over="ignore"):
        m = float(np.mean(x))
    if math.isfinite(m):
        return m
    big = float(np.max(x))
    return big * float(np.mean(x / big))


# Each rule's name, as the norm-log analyser's page and `gradclip suggest` print it.
RULE_LABELS = {"p50": "50th percentile", "p90": "90th percentile", "p95": "95th percentile",
               "p99": "99th percentile", "autoclip": "AutoClip (p = 10)", "zclip": "ZClip (z = 2.5)"}


def suggestion_text(s: Suggestion, logged: int) -> str:
    """One suggestion in words, the same on the page and in ``gradclip suggest``.

    ``logged`` is the number of logged steps the rule was replayed over (the finite norms): a
    file that logs every k-th step shows how many of *those* a threshold would have clipped.

    >>> from gradclip.adaptive import suggest_thresholds
    >>> suggestion_text(suggest_thresholds([1.0, 2.0, 3.0, 40.0])[1], 4)
    'τ = 28.9 · would clip 1 of 4 logged steps (25%)'
    """
    pct = 100.0 * s.fraction_clipped
    share = "<1%" if 0 < pct < 1 else f"{pct:.0f}%"
    tau = fmt_number(s.tau) if math.isfinite(s.tau) else "not yet (still warming up)"
    return f"τ = {tau} · would clip {s.steps_clipped:,} of {logged:,} logged steps ({share})"
