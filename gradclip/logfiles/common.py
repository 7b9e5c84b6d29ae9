"""What every norm-log reader shares: the kinds of file, the result types, how a series is
chosen by its name, and the wording of errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

MAX_ROWS = 1_000_000
# The largest norm-log file the page reads, in bytes (it reaches docs/javascripts/generated.js
# through site_hooks/jsgen.py). The page's Python gets the text as a copy of a copy: a 103 MiB
# W&B export was analysed in Chromium and a 128 MiB one failed to reach Python ("RangeError:
# Invalid array length"), so the page stops well short of that.
FILE_LIMIT = 64 * 1024 * 1024
# The largest file `gradclip suggest` reads: a Hugging Face trainer_state.json spends about 170
# bytes on each logged step, so a million of them need about 170 MiB.
COMMAND_FILE_LIMIT = 256 * 1024 * 1024
# The deepest JSON nesting read. A norm log nests two or three levels; json.loads recurses
# once per level, and a few hundred thousand levels overflow CPython's stack (RecursionError)
# and kill Pyodide's outright, so deeper text is refused before it reaches the parser.
MAX_JSON_DEPTH = 100

HF = "Hugging Face trainer_state.json"
LIGHTNING = "Lightning CSVLogger metrics.csv"
WANDB = "Weights & Biases CSV export"
TB_CSV = "TensorBoard CSV download"
TB_JSON = "TensorBoard JSON download"
TB_EVENTS = "TensorBoard event file"
CSV = "CSV file"
JSON = "JSON file"
# Every kind, in the order the norm-log analyser's page lists them.
KINDS = (HF, LIGHTNING, WANDB, TB_CSV, TB_JSON, TB_EVENTS, CSV, JSON)

# Names that hold a gradient norm, in order of preference (lower case; for a key with a
# prefix such as "train/grad_norm", its last part counts).
NORM_NAMES = ("grad_norm", "gradient_norm", "total_norm", "norm", "value")
LIGHTNING_TOTAL = re.compile(r"^grad_(?:\d+(?:\.\d*)?|inf)_norm_total$")
STEP_NAMES = ("step", "global_step", "_step", "steps", "iteration", "iter")
LOSS_NAMES = ("loss", "train_loss", "training_loss", "train_loss_step")
HELD_OUT = ("val", "eval", "test")
WANDB_COLUMN = re.compile(r"^(?P<run>.+?) - (?P<key>.+?)(?P<agg>__MIN|__MAX)?$")
# An empty CSV cell is read as this number, which no norm or step can be (a norm is >= 0 and a
# step a count) and no loss a run logs, so "no value on this row" stays apart from a logged NaN.
EMPTY = -7.25e307


class RunNotInFile(ValueError):
    """A run asked for by number or name that the file does not hold; ``runs`` lists those it does."""

    def __init__(self, message: str, runs: tuple[str, ...]) -> None:
        super().__init__(message)
        self.runs = runs


@dataclass(frozen=True)
class Series:
    """One logged series: its name in the file, the steps it was logged at, its values."""

    key: str
    steps: np.ndarray
    values: np.ndarray
    step_key: str = "step"

    @property
    def every(self) -> int | None:
        """The logging interval when the steps are evenly spaced integers, else None.

        >>> Series("n", np.array([5.0, 10, 15]), np.ones(3)).every
        5
        """
        d = np.diff(self.steps)
        if d.size == 0 or not np.all(d == d[0]) or d[0] <= 0 or d[0] != round(d[0]):
            return None
        return int(d[0])

    def describe(self) -> str:
        """Which series, how many logged steps, over which steps and how far apart.

        >>> Series("grad_norm", np.array([5.0, 10, 15]), np.ones(3)).describe()
        "'grad_norm' at 3 logged steps (step 5 to 15, every 5)"
        """
        every = self.every
        spacing = "every step" if every == 1 else f"every {every:,}" if every else "at uneven steps"
        return (f"{self.key!r} at {self.values.size:,} logged steps ({self.step_key} {self.steps.min():g} to "
                f"{self.steps.max():g}, {spacing})")


@dataclass(frozen=True)
class NormLog:
    """What :func:`read_norm_log` found: the kind of file, the norms, the loss if any, the runs."""

    kind: str
    norms: Series
    loss: Series | None = None
    runs: tuple[str, ...] = ()
    run: str | None = None


# ------------------------------------------------------------------------- choosing series


def last(name: str) -> str:
    return name.strip().lower().rsplit("/", 1)[-1]


def norm_key(names: Sequence[str]) -> str | None:
    """The name that holds the total gradient norm: a known name (its last ``/`` part), else
    Lightning's ``grad_<p>_norm_total``, else None."""
    for want in NORM_NAMES:
        for n in names:
            if last(n) == want:
                return n
    return next((n for n in names if LIGHTNING_TOTAL.match(last(n))), None)


def loss_key(names: Sequence[str]) -> str | None:
    """The training loss: a known name first, else any name with "loss" in it that is not a
    validation, evaluation or test loss."""
    for want in LOSS_NAMES:
        for n in names:
            if last(n) == want:
                return n
    return next((n for n in names if "loss" in n.lower() and not n.lower().startswith(HELD_OUT)), None)


def step_key(names: Sequence[str]) -> str | None:
    lowered = [n.strip().lower() for n in names]
    return next((names[lowered.index(s)] for s in STEP_NAMES if s in lowered), None)


def log_from_series(kind: str, series: dict[str, tuple[Any, Any]], where: str = "") -> NormLog:
    """A :class:`NormLog` from named ``(steps, values)`` pairs, such as the scalar tags of a
    TensorBoard event file: the norm and loss series are chosen by name, as in a CSV header.

    >>> log = log_from_series("TensorBoard event file", {"train/loss": ([0, 2], [3.0, 2.5]),
    ...                                                  "train/grad_norm": ([0, 2], [1.0, 4.0])})
    >>> log.norms.key, log.norms.steps.tolist(), log.loss.key
    ('train/grad_norm', [0.0, 2.0], 'train/loss')
    """
    names = list(series)
    key = norm_key(names)
    if key is None:
        shown = ", ".join(repr(n) for n in names[:8]) + (", …" if len(names) > 8 else "")
        raise ValueError(f"{kind}{where}: no series holds a gradient norm (found {shown or 'none'}); "
                         f"expected one named like {', '.join(NORM_NAMES[:3])} or train/grad_norm")

    def one(name: str) -> Series:
        steps, values = (np.asarray(a, dtype=float).ravel() for a in series[name])
        return Series(name, steps, values)

    norms = one(key)
    refuse_negative(norms.values, lambda i: f"{kind}{where}: {key!r} at step {norms.steps[i]:g}")
    loss = loss_key([n for n in names if n != key])
    return NormLog(kind, norms, one(loss) if loss else None)


def check_text(text: str) -> None:
    """ValueError for what is not a text file: NUL bytes, or bytes that were not UTF-8 (which
    a browser decodes to U+FFFD, the replacement character)."""
    for bad, what in (("\x00", "NUL bytes"), ("\ufffd", "bytes that are not UTF-8 text")):
        at = text.find(bad)
        if at >= 0:
            raise ValueError(f"line {text.count(chr(10), 0, at) + 1}: this is not a text file (it holds "
                             f"{what}); expected CSV or JSON text")


def too_many(n: int) -> ValueError:
    return ValueError(f"the file has more than {MAX_ROWS:,} rows ({n:,}); "
                      f"keep every k-th step or the last {MAX_ROWS:,} steps")


def show(s: str, limit: int = 40) -> str:
    s = s.strip()
    return repr(s if len(s) <= limit else s[:limit] + "…")


def is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def refuse_negative(values: np.ndarray, where: Any) -> None:
    """ValueError at the first negative norm; ``where(i)`` words its place."""
    neg = np.flatnonzero(values < 0)
    if neg.size:
        i = int(neg[0])
        raise ValueError(f"{where(i)}: {float(values[i])!r} is negative, and a gradient norm cannot be")
