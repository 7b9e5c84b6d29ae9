"""Gradient-norm logs from real training loops: record, save, read back, summarise, suggest tau.

:class:`NormTracker` collects one number per step -- typically the total norm that
``torch.nn.utils.clip_grad_norm_`` returns (PyTorch is optional; nothing here imports it
unless you call :meth:`NormTracker.clip_grad_norm_` or :meth:`NormTracker.measure`, which
only reads the gradients). :func:`parse_norm_log` reads such a
log back from CSV or JSON text, naming the first bad line when it cannot.
:func:`analyse_norms` summarises a log and asks :func:`gradclip.adaptive.suggest_thresholds`
for thresholds (percentiles, AutoClip, ZClip), each with the share of steps it would clip.

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

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradclip.adaptive import Suggestion, suggest_thresholds
from gradclip.checks import integer, real, real_array
from gradclip.figures.numbers import size_text

__all__ = ["NormTracker", "NormSummary", "NormAnalysis", "parse_norm_log", "analyse_norms",
           "MAX_ROWS", "FILE_LIMIT", "MAX_JSON_DEPTH"]

MAX_ROWS = 1_000_000
# The largest norm-log file read, in bytes: by the command line and by the page (the limit
# reaches docs/javascripts/generated.js through site_hooks/jsgen.py). A million rows of
# "step,norm" fit in well under half of it.
FILE_LIMIT = 64 * 1024 * 1024
# The deepest JSON nesting read. A norm log nests two or three levels; json.loads recurses
# once per level, and a few hundred thousand levels overflow CPython's stack (RecursionError)
# and kill Pyodide's outright, so deeper text is refused before it reaches the parser.
MAX_JSON_DEPTH = 100
# Column names that hold a gradient norm, in order of preference (lower case).
_NORM_COLUMNS = ("grad_norm", "gradient_norm", "total_norm", "norm", "value")


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


# ------------------------------------------------------------------------------ parsing


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _show(s: str, limit: int = 40) -> str:
    s = s.strip()
    return repr(s if len(s) <= limit else s[:limit] + "…")


def parse_norm_log(text: str) -> np.ndarray:
    """Read gradient norms from the text of a CSV or JSON file.

    Accepted:

    * CSV (comma, semicolon, tab or spaces): one number per line, or several columns with
      a header naming the norm column (``grad_norm``, ``gradient_norm``, ``total_norm``,
      ``norm`` or ``value``, any case; otherwise the last column). Blank lines and lines
      starting with ``#`` are skipped. ``nan`` and ``inf`` are read as such.
    * JSON: a list of numbers; a list of objects each holding one of those column names;
      or an object with such a key (or ``norms``) holding a list of numbers.

    Raises ``ValueError`` naming the problem and, where there is one, the first bad line
    (1-based): an empty file, a value that is not a number, a negative norm, a row with
    the wrong number of columns, malformed JSON, or more than ``MAX_ROWS`` rows.

    Examples
    --------
    >>> parse_norm_log("step,loss,grad_norm\\n0,2.3,1.5\\n1,2.1,0.9\\n").tolist()
    [1.5, 0.9]
    >>> parse_norm_log('{"grad_norm": [1, 2.5]}').tolist()
    [1.0, 2.5]
    >>> parse_norm_log("1.0\\n2.0\\nabc\\n")
    Traceback (most recent call last):
    ...
    ValueError: line 3: 'abc' is not a number
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str (the file's text), got {type(text).__name__}")
    body = text.lstrip("\ufeff")
    if not body.strip():
        raise ValueError("the file is empty: no gradient norms in it")
    _check_text(body)
    head = body.lstrip()[:1]
    if head in "[{":
        return _parse_json(body)
    return _parse_csv(body)


def _check_text(text: str) -> None:
    """ValueError for what is not a text file: NUL bytes, or bytes that were not UTF-8 (which
    a browser decodes to U+FFFD, the replacement character)."""
    for bad, what in (("\x00", "NUL bytes"), ("\ufffd", "bytes that are not UTF-8 text")):
        at = text.find(bad)
        if at >= 0:
            raise ValueError(f"line {text.count(chr(10), 0, at) + 1}: this is not a text file (it holds "
                             f"{what}); expected CSV or JSON text")


_DEPTH_CHUNK = 1 << 20
_STEP = np.zeros(256, dtype=np.int32)          # what each byte does to the nesting depth
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"\n')


def _check_json_depth(text: str) -> None:
    """ValueError, naming the line, if brackets nest deeper than :data:`MAX_JSON_DEPTH`.

    A scan without recursion: the running count of ``[``/``{`` minus ``]``/``}`` outside
    strings. Escaped backslashes and quotes are removed first, so every quote left opens or
    closes a string; then everything but brackets, quotes and newlines (the line number of
    an error), so that NumPy sums a few bytes per log entry, a chunk at a time.

    >>> _check_json_depth('["]]]]", ' + "[" * 101)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: line 1: the JSON nests deeper than 100 levels; a norm log needs ...
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return                                   # cannot nest deeper than it has brackets
    bare = text.replace("\\\\", "").replace('\\"', "").encode("utf-8", "surrogatepass")
    data = np.frombuffer(bare.translate(None, _NOT_STRUCTURE), dtype=np.uint8)
    depth, inside = 0, 0
    for start in range(0, data.size, _DEPTH_CHUNK):
        chunk = data[start:start + _DEPTH_CHUNK]
        quotes = np.cumsum(chunk == ord('"'), dtype=np.int32) + inside
        step = _STEP[chunk]
        step[(quotes & 1) == 1] = 0              # inside a string
        level = np.cumsum(step) + depth
        deep = np.flatnonzero(level > MAX_JSON_DEPTH)
        if deep.size:
            line = int(np.count_nonzero(data[:start + int(deep[0])] == ord("\n"))) + 1
            raise ValueError(f"line {line}: the JSON nests deeper than {MAX_JSON_DEPTH} levels; "
                             "a norm log needs two or three")
        depth, inside = int(level[-1]), int(quotes[-1]) & 1


def _too_many(n: int) -> ValueError:
    return ValueError(f"the file has more than {MAX_ROWS:,} rows ({n:,}); "
                      f"keep every k-th step or the last {MAX_ROWS:,} steps")


def _finish(values: np.ndarray, line_of: Any) -> np.ndarray:
    neg = np.flatnonzero(values < 0)
    if neg.size:
        i = int(neg[0])
        raise ValueError(f"line {line_of(i)}: {float(values[i])!r} is negative, and a gradient norm cannot be")
    return values


def _data_lines(lines: list[str], start: int = 0):
    """(1-based line number, text) of every line that holds data: not blank, not a # comment."""
    return [(i + 1, ln) for i, ln in enumerate(lines[start:], start)
            if ln.strip() and not ln.lstrip().startswith("#")]


def _parse_csv(text: str) -> np.ndarray:
    if text.count("\n") > 2 * MAX_ROWS + 100:    # hopeless even if half the lines were blank
        raise _too_many(text.count("\n"))
    lines = text.splitlines()
    first_at = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), None)
    if first_at is None:
        raise ValueError("the file has no data lines (only blank lines or # comments)")
    first_no, first = first_at + 1, lines[first_at]
    delim = next((d for d in (",", "\t", ";") if d in first), None)

    def split(s: str) -> list[str]:
        return s.split(delim) if delim else s.split()

    cells = split(first)
    ncol = len(cells)
    col = ncol - 1
    if all(_is_number(c.strip().strip('"')) for c in cells):
        data_from = first_at
    else:
        header = [c.strip().strip('"').lower() for c in cells]
        col = next((header.index(n) for n in _NORM_COLUMNS if n in header), col)
        data_from = first_at + 1

    if not any(ln.strip() and not ln.lstrip().startswith("#") for ln in lines[data_from:]):
        raise ValueError(f"line {first_no}: only a header ({_show(first)}), no gradient norms below it")
    # Fast path: NumPy's C reader, all columns (so a row with a missing or extra cell fails
    # here too). Anything it refuses goes through the slow path below, which either finds
    # and names the first bad line or reads a file whose other columns are not numbers.
    try:
        table = np.loadtxt(lines[data_from:], delimiter=delim, comments="#", quotechar='"',
                           ndmin=2, dtype=float)
    except ValueError:
        table = None
    if table is not None and table.shape[1] == ncol:
        if table.shape[0] > MAX_ROWS:
            raise _too_many(table.shape[0])
        return _finish(np.ascontiguousarray(table[:, col]), lambda i: _data_lines(lines, data_from)[i][0])

    rows = _data_lines(lines, data_from)
    if len(rows) > MAX_ROWS:
        raise _too_many(len(rows))
    cells: list[str] = []
    for no, ln in rows:
        parts = split(ln)
        if len(parts) != ncol:
            raise ValueError(f"line {no}: expected {ncol} column{'s' if ncol != 1 else ''} "
                             f"like line {first_no}, found {len(parts)} ({_show(ln)})")
        cell = parts[col].strip().strip('"')
        if not _is_number(cell):
            where = f" (column {col + 1})" if ncol > 1 else ""
            raise ValueError(f"line {no}: {_show(cell)}{where} is not a number")
        cells.append(cell)
    return _finish(np.array(cells, dtype=float), lambda i: rows[i][0])


def _parse_json(text: str) -> np.ndarray:
    if text.count(",") > 2 * MAX_ROWS + 100:
        raise _too_many(text.count(","))
    _check_json_depth(text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {exc.lineno}: the JSON is malformed ({exc.msg}, column {exc.colno})") from None
    list_at = 0                                   # where the list of norms starts in the text
    if isinstance(data, dict):
        lowered = {str(k).lower(): k for k in data}
        key = next((lowered[n] for n in (*_NORM_COLUMNS, "norms") if n in lowered), None)
        if key is None:
            raise ValueError("line 1: the JSON object has no list of norms; expected a key such as "
                             "'grad_norm' or 'norms'")
        data = data[key]
        if not isinstance(data, list):
            raise ValueError(f"line 1: the JSON key {key!r} holds {type(data).__name__}, not a list of numbers")
        list_at = text.find("[", text.find(json.dumps(key)))
    if not isinstance(data, list):
        raise ValueError(f"line 1: expected a JSON list of numbers, found {type(data).__name__}")
    if not data:
        raise ValueError("the JSON list is empty: no gradient norms in it")
    if len(data) > MAX_ROWS:
        raise _too_many(len(data))

    def line(i: int) -> int:
        return _json_element_line(text, list_at, i)

    name = None
    if isinstance(data[0], dict):
        keys = {str(k).lower(): k for k in data[0]}
        name = next((keys[n] for n in _NORM_COLUMNS if n in keys), None)
        if name is None:
            raise ValueError(f"line {line(0)}: the first JSON object has no norm field "
                             f"(one of {', '.join(_NORM_COLUMNS)})")
    if name is None and all(type(v) is float or type(v) is int for v in data):
        return _finish(np.array(data, dtype=float), line)      # the common case, in one step
    out = np.empty(len(data))
    for i, item in enumerate(data):
        if name is not None:
            if not isinstance(item, dict) or name not in item:
                raise ValueError(f"line {line(i)}: entry {i + 1} has no {name!r} field")
            item = item[name]
        if item is None:                          # JavaScript's JSON.stringify writes NaN as null
            out[i] = math.nan
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            out[i] = item
        else:
            raise ValueError(f"line {line(i)}: entry {i + 1} ({_show(json.dumps(item))}) is not a number")
    return _finish(out, line)


def _json_element_line(text: str, list_at: int, index: int) -> int:
    """1-based line of element ``index`` of the JSON list opening at ``text[list_at]``.

    Only called to word an error message, so it may walk the list element by element.
    """
    decoder = json.JSONDecoder()
    pos = list_at + 1
    ws = " \t\r\n"
    for i in range(index + 1):
        while pos < len(text) and text[pos] in ws + ",":
            pos += 1
        if i == index:
            break
        try:
            _, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:            # pragma: no cover - json.loads accepted the text
            break
    return text.count("\n", 0, pos) + 1
