"""CSV norm logs: plain files, Lightning's ``metrics.csv``, W&B exports, TensorBoard's download.

The header decides the kind of file and which columns to read (:func:`plan_columns`); NumPy's
C reader then reads only those columns. A row that NumPy refuses is looked at again line by
line, to name the first bad line and what was expected there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradclip.logfiles.common import (CSV, EMPTY, LIGHTNING, LIGHTNING_TOTAL, MAX_ROWS, TB_CSV, WANDB,
                                      WANDB_COLUMN, NormLog, RunNotInFile, Series, is_number, last, loss_key,
                                      norm_key, refuse_negative, show, step_key, too_many)


@dataclass(frozen=True)
class ColumnPlan:
    """Which columns of a CSV file hold the norms, the steps and the loss (0-based; None: absent)."""

    kind: str
    norm: int
    step: int | None = None
    loss: int | None = None
    runs: tuple[str, ...] = ()
    run: str | None = None


def plan_columns(header: list[str], run: int | str | None = None) -> ColumnPlan:
    """The kind of CSV file a header belongs to, and the columns to read from it.

    >>> plan_columns(["epoch", "grad_2.0_norm/w", "grad_2.0_norm_total", "step", "train_loss"])
    ColumnPlan(kind='Lightning CSVLogger metrics.csv', norm=2, step=3, loss=4, runs=(), run=None)
    >>> plan_columns(["Step", "a - train/grad_norm", "a - train/grad_norm__MIN", "b - train/grad_norm"], run=2)
    ColumnPlan(kind='Weights & Biases CSV export', norm=3, step=0, loss=None, runs=('a', 'b'), run='b')
    """
    if [h.lower() for h in header] == ["wall time", "step", "value"]:
        return ColumnPlan(TB_CSV, norm=2, step=1)
    matches = [WANDB_COLUMN.match(h) for h in header]
    if any(matches):
        return _plan_wandb(header, matches, run)
    norm = norm_key(header)
    kind = LIGHTNING if norm is not None and LIGHTNING_TOTAL.match(last(norm)) else CSV
    col = header.index(norm) if norm is not None else len(header) - 1   # else: the last column
    step, loss = step_key(header), loss_key([h for i, h in enumerate(header) if i != col])
    return ColumnPlan(kind, col, header.index(step) if step else None, header.index(loss) if loss else None)


def _plan_wandb(header: list[str], matches: list, run: int | str | None) -> ColumnPlan:
    """A W&B export: ``<run> - <key>`` columns (plus ``__MIN``/``__MAX`` ones, left out); the
    first column is the x axis the chart was exported by (``Step`` unless changed)."""
    columns: dict[str, dict[str, int]] = {}                # run -> key -> column
    for i, m in enumerate(matches):
        if m and not m["agg"]:
            columns.setdefault(m["run"], {})[m["key"]] = i
    runs = tuple(r for r, keys in columns.items() if norm_key(list(keys)) is not None)
    if not runs:
        raise ValueError(f"{WANDB}, line 1: no column holds a gradient norm (columns such as "
                         f"{show(header[-1])}); expected one such as '<run> - train/grad_norm'")
    chosen = _pick_run(runs, run)
    keys = columns[chosen]
    norm = norm_key(list(keys))
    loss = loss_key([k for k in keys if k != norm])
    step = 0 if matches[0] is None else None
    return ColumnPlan(WANDB, keys[norm], step, keys[loss] if loss else None, runs, chosen)


def _pick_run(runs: tuple[str, ...], run: int | str | None) -> str:
    if run is None:
        return runs[0]
    if isinstance(run, str) and run in runs:
        return run
    if isinstance(run, int) and not isinstance(run, bool) and 1 <= run <= len(runs):
        return runs[run - 1]
    raise RunNotInFile(f"run must be 1 to {len(runs)} or one of {', '.join(map(repr, runs))} (the runs in "
                       f"this {WANDB}), got {run!r}", runs)


def read_csv(text: str, run: int | str | None = None) -> NormLog:
    """A :class:`NormLog` from CSV text (commas, semicolons, tabs or spaces)."""
    if text.count("\n") > 2 * MAX_ROWS + 100:     # hopeless even if half the lines were blank
        raise too_many(text.count("\n"))
    lines = text.splitlines()
    first_at = next((i for i, ln in enumerate(lines) if _holds_data(ln)), None)
    if first_at is None:
        raise ValueError(f"{CSV}: the file has no data lines (only blank lines or # comments)")
    first = lines[first_at]
    delim = next((d for d in (",", "\t", ";") if d in first), None)
    cells = [c.strip().strip('"') for c in _split(first, delim)]
    if all(is_number(c) for c in cells):
        plan, data_from, names = ColumnPlan(CSV, norm=len(cells) - 1), first_at, None
    else:
        plan, data_from, names = plan_columns(cells, run), first_at + 1, cells
    if not any(_holds_data(ln) for ln in lines[data_from:]):
        raise ValueError(f"{plan.kind}, line {first_at + 1}: only a header ({show(first)}), no gradient "
                         "norms below it")
    used = [c for c in (plan.step, plan.norm, plan.loss) if c is not None]
    table = _load(text, lines, data_from, delim, len(cells), used, plan.kind, names, first_at + 1)
    col = dict(zip(used, table.T))

    def line(row: int) -> int:
        return _data_lines(lines, data_from)[row][0]

    steps = col[plan.step] if plan.step is not None else np.arange(table.shape[0], dtype=float)
    step_name = names[plan.step] if plan.step is not None and names else "step"
    norms = _series(plan, col[plan.norm], steps, names, step_name, line, norm=True)
    loss = None if plan.loss is None else _series(plan, col[plan.loss], steps, names, step_name, line)
    if loss is not None and loss.values.size == 0:
        loss = None
    return NormLog(plan.kind, norms, loss, plan.runs, plan.run)


def _series(plan: ColumnPlan, values: np.ndarray, steps: np.ndarray, names, step_name: str, line,
            norm: bool = False) -> Series:
    """The rows of one column that hold a value, against their steps."""
    at = plan.norm if norm else plan.loss
    name = names[at] if names else "grad_norm"
    has = values != EMPTY
    if norm and not has.any():
        raise ValueError(f"{plan.kind}: the column {name!r} is empty on every row; expected a gradient norm "
                         "on at least one")
    rows = np.flatnonzero(has)
    s = steps[rows]
    missing = np.flatnonzero((s == EMPTY) | ~np.isfinite(s))
    if missing.size:
        raise ValueError(f"{plan.kind}, line {line(int(rows[missing[0]]))}: a value of {name!r} with no "
                         f"step; expected a number in the {step_name!r} column")
    v = np.ascontiguousarray(values[rows])
    if norm:
        refuse_negative(v, lambda i: f"{plan.kind}, line {line(int(rows[i]))}")
    return Series(name, np.ascontiguousarray(s), v, step_name)


def _holds_data(line: str) -> bool:
    s = line.strip()
    return bool(s) and not s.startswith("#")


def _split(s: str, delim: str | None) -> list[str]:
    return s.split(delim) if delim else s.split()


def _data_lines(lines: list[str], start: int) -> list[tuple[int, str]]:
    """(1-based line number, text) of every line that holds data: not blank, not a # comment."""
    return [(i + 1, ln) for i, ln in enumerate(lines[start:], start) if _holds_data(ln)]


def _load(text: str, lines: list[str], data_from: int, delim: str | None, ncol: int, used: list[int], kind: str,
          names: list[str] | None, header_line: int) -> np.ndarray:
    """The used columns of every data row, as floats (EMPTY where a cell is empty)."""
    rows = lines[data_from:]
    table = None
    # NumPy's C parser alone first; an empty cell (Lightning's and W&B's "no value on this
    # row") makes it fail, usually within a few rows, and then every used cell goes through a
    # converter, a Python call each.
    for converters in (None, {c: _cell for c in used}):
        try:
            table = np.loadtxt(rows, delimiter=delim, comments="#", quotechar='"', usecols=used, ndmin=2,
                               dtype=float, converters=converters)
            break
        except ValueError:
            if delim is None:
                break
    if table is not None:
        if table.shape[0] > MAX_ROWS:
            raise too_many(table.shape[0])
        # NumPy reads only the used columns, so a row with a cell too many would pass; so would
        # one too few past the last used column. Count the separators: a mismatch (or a blank
        # or comment line holding one) goes the slow way, which names the row.
        if delim is None or (text.count(delim) - sum(ln.count(delim) for ln in lines[:data_from])
                             == table.shape[0] * (ncol - 1)):
            return table
    return _load_slowly(lines, data_from, delim, ncol, used, kind, names, header_line)


def _cell(text: str) -> float:
    """One cell of a used column: a number, or :data:`EMPTY` when there is none."""
    return float(text) if text else EMPTY      # " " raises: the slow path names its line


def _load_slowly(lines, data_from, delim, ncol, used, kind, names, header_line) -> np.ndarray:
    """Line by line: the same table, or a ValueError naming the first line NumPy could not read."""
    rows = _data_lines(lines, data_from)
    if len(rows) > MAX_ROWS:
        raise too_many(len(rows))
    out = np.empty((len(rows), len(used)))
    for r, (no, ln) in enumerate(rows):
        parts = _split(ln, delim)
        if len(parts) != ncol:
            raise ValueError(f"{kind}, line {no}: expected {ncol} column{'s' if ncol != 1 else ''} like line "
                             f"{header_line}, found {len(parts)} ({show(ln)})")
        for k, c in enumerate(used):
            cell = parts[c].strip().strip('"')
            if cell == "" and delim is not None:
                out[r, k] = EMPTY
            elif is_number(cell):
                out[r, k] = float(cell)
            else:
                where = "" if ncol == 1 else f" (column {c + 1}{', ' + repr(names[c]) if names else ''})"
                raise ValueError(f"{kind}, line {no}: {show(cell)}{where} is not a number")
    return out
