"""Gradient-norm logs from real training loops: record, save, read back, summarise, suggest tau.

:class:`NormTracker` collects one number per step -- typically the total norm that
``torch.nn.utils.clip_grad_norm_`` returns (PyTorch is optional; nothing here imports it
unless you call :meth:`NormTracker.clip_grad_norm_`). :func:`parse_norm_log` reads such a
log back from CSV or JSON text, naming the first bad line when it cannot.
:func:`analyse_norms` summarises a log and asks :func:`gradclip.adaptive.suggest_thresholds`
for thresholds (percentiles, AutoClip, ZClip), each with the share of steps it would clip.

In a PyTorch loop::

    tracker = gradclip.NormTracker()
    for batch in loader:
        loss = model(batch).mean()
        loss.backward()
        tracker.clip_grad_norm_(model.parameters(), max_norm=1.0)   # clips and records
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

from gradclip.adaptive import Suggestion, suggest_thresholds
from gradclip.checks import real, real_array
from gradclip.figures.numbers import fmt_number
from gradclip.normlog import FILE_LIMIT, MAX_JSON_DEPTH, MAX_ROWS, parse_norm_log  # noqa: F401 - re-exported

__all__ = ["NormTracker", "NormSummary", "NormAnalysis", "parse_norm_log", "analyse_norms", "RULE_LABELS",
           "suggestion_text", "MAX_ROWS", "FILE_LIMIT", "MAX_JSON_DEPTH"]



@dataclass
class NormTracker:
    """Collects one gradient norm per step.

    ``record(x)`` accepts a Python or NumPy number or anything with ``.item()`` (a
    PyTorch scalar tensor). Non-finite norms are kept: they are the interesting steps.
    """

    values: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.values = real_array(self.values, "values", 0, finite=False, nan=True, ndim=1,
                                 shape_text="(steps,), a list of norms").astype(float).tolist()

    def record(self, norm: Any) -> float:
        """Append this step's norm; returns it as a float."""
        try:
            v = norm.item() if hasattr(norm, "item") else norm
        except (ValueError, RuntimeError):   # an array of several numbers (RuntimeError: torch's)
            v = norm
        # NaN is a legitimate record (a step that blew up); everything else is range-checked.
        x = v if isinstance(v, float) and math.isnan(v) else real(v, "norm", 0, finite=False)
        self.values.append(x)
        return x

    def clip_grad_norm_(self, parameters: Any, max_norm: float = math.inf, norm_type: float = 2.0) -> float:
        """Call ``torch.nn.utils.clip_grad_norm_`` and record the total norm it returns.

        With the default ``max_norm=inf`` nothing is clipped: the tracker only measures.
        PyTorch is imported here, on first use, and is never a dependency of gradclip.
        """
        import torch  # optional: only for this convenience

        total = torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=norm_type)
        return self.record(total)

    @property
    def norms(self) -> np.ndarray:
        return np.asarray(self.values, dtype=float)

    def csv_text(self) -> str:
        """The log as CSV: a ``step,grad_norm`` header, then one row per step (``repr`` floats)."""
        rows = ["step,grad_norm"] + [f"{i},{v!r}" for i, v in enumerate(self.values)]
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


def analyse_norms(norms: Any) -> NormAnalysis:
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
    ok = np.isfinite(x)
    fin = x[ok]
    bad = np.flatnonzero(~ok)
    nan = float("nan")
    if fin.size:
        p = np.percentile(fin, [50, 90, 99])
        summary = NormSummary(int(x.size), int(bad.size), float(fin.min()), float(p[0]), _mean(fin),
                              float(p[1]), float(p[2]), float(fin.max()),
                              int(bad[0]) if bad.size else None)
        suggestions = suggest_thresholds(fin)
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
