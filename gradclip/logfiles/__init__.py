"""Gradient-norm logs as training tools write them: recognise the file, read its series.

:func:`read_norm_log` takes the text of a file and returns a :class:`NormLog`: which kind of
file it took it for, the gradient-norm series against the steps the file logged them at, and
the training loss when the file has one. It recognises, without being told:

* a Hugging Face ``trainer_state.json`` (``log_history`` entries; evaluation entries, which
  carry no ``grad_norm``, are skipped);
* a PyTorch Lightning ``CSVLogger`` ``metrics.csv`` (a ``grad_2.0_norm_total`` column from
  ``lightning.pytorch.utilities.grad_norm``; empty cells where a row has no value);
* a Weights & Biases CSV export (``<run> - <key>`` columns with ``__MIN``/``__MAX``
  companions; several runs in one file, one read at a time);
* TensorBoard's CSV and JSON downloads (``Wall time,Step,Value``, ``[[time, step, value]]``);
* plain CSV or JSON: one norm per line, a column named like ``grad_norm``, a list of numbers,
  or a list of objects (what :class:`gradclip.NormTracker` writes is one of these).

A TensorBoard event file is binary: it is recognised and refused with a pointer to
``gradclip suggest``, which reads event files through :mod:`gradclip.integrations.tensorboard`.
Every refusal is a ``ValueError`` that names the kind of file, the line (1-based, as an editor
counts) or key that broke, and what was expected there.

>>> log = read_norm_log("step,loss,grad_norm\\n10,2.3,1.5\\n20,2.1,0.9\\n")
>>> log.kind, log.norms.steps.tolist(), log.norms.values.tolist(), log.loss.key
('CSV file', [10.0, 20.0], [1.5, 0.9], 'loss')
"""

from __future__ import annotations

import numpy as np

from gradclip.logfiles.common import (COMMAND_FILE_LIMIT, CSV, FILE_LIMIT, HF, JSON, KINDS, LIGHTNING,
                                      MAX_JSON_DEPTH, MAX_ROWS, TB_CSV, TB_EVENTS, TB_JSON, WANDB, NormLog,
                                      Series, check_text, log_from_series)
from gradclip.logfiles.csvlog import read_csv
from gradclip.logfiles.jsonlog import read_json

__all__ = ["Series", "NormLog", "read_norm_log", "parse_norm_log", "log_from_series", "KINDS",
           "HF", "LIGHTNING", "WANDB", "TB_CSV", "TB_JSON", "TB_EVENTS", "CSV", "JSON",
           "MAX_ROWS", "FILE_LIMIT", "COMMAND_FILE_LIMIT", "MAX_JSON_DEPTH"]

# ----------------------------------------------------------------------------- the reader


def read_norm_log(text: str, run: int | str | None = None) -> NormLog:
    """Read a gradient-norm log from the text of a file, recognising which tool wrote it.

    Parameters
    ----------
    text : str
        The file's text (a leading byte-order mark is ignored).
    run : int or str, optional
        For a Weights & Biases export holding several runs: the run to read, by its 1-based
        number in ``NormLog.runs`` or by name. Default: the first. Other files ignore it.

    Returns
    -------
    NormLog
        ``kind`` (one of :data:`KINDS`), ``norms`` (a :class:`Series`: steps and values),
        ``loss`` (a :class:`Series` or None), ``runs`` and ``run``.

    Raises
    ------
    ValueError
        Naming the kind of file, the first bad line or key, and what was expected: an empty
        file, a value that is not a number, a negative norm, a row with the wrong number of
        columns, malformed JSON, a binary file, more than ``MAX_ROWS`` rows.

    Examples
    --------
    >>> state = '{"log_history": [{"grad_norm": 2.0, "loss": 1.1, "step": 5}, {"eval_loss": 1.3, "step": 5}]}'
    >>> log = read_norm_log(state)
    >>> log.kind, log.norms.steps.tolist(), log.norms.values.tolist()
    ('Hugging Face trainer_state.json', [5.0], [2.0])
    >>> read_norm_log("1.0\\n2.0\\nabc\\n")
    Traceback (most recent call last):
    ...
    ValueError: CSV file, line 3: 'abc' is not a number
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str (the file's text), got {type(text).__name__}")
    if run is not None and not isinstance(run, str) and not (isinstance(run, int) and not isinstance(run, bool)):
        raise TypeError(f"run must be a run's number (an int >= 1), its name or None, got {run!r}")
    if isinstance(run, int) and run < 1:
        raise ValueError(f"run must be a run's number >= 1 (or its name), got {run}")
    body = text.lstrip("\ufeff")
    if "brain.Event:" in body[:200]:
        raise ValueError(f"this is a {TB_EVENTS} (binary), which the page cannot read; download the "
                         "gradient-norm chart as CSV from TensorBoard's Scalars tab and drop that, or run "
                         "gradclip suggest on the event file")
    if not body.strip():
        raise ValueError("the file is empty: no gradient norms in it")
    check_text(body)
    if body.lstrip()[:1] in "[{":
        return read_json(body)
    return read_csv(body, run)


def parse_norm_log(text: str) -> np.ndarray:
    """The gradient norms of a log, in file order: ``read_norm_log(text).norms.values``.

    >>> parse_norm_log("step,loss,grad_norm\\n0,2.3,1.5\\n1,2.1,0.9\\n").tolist()
    [1.5, 0.9]
    >>> parse_norm_log('{"grad_norm": [1, 2.5]}').tolist()
    [1.0, 2.5]
    """
    return read_norm_log(text).norms.values
