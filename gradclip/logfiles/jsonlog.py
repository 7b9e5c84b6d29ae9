"""JSON norm logs: a Hugging Face ``trainer_state.json``, TensorBoard's JSON download, plain JSON.

Plain JSON is a list of numbers, a list of objects each holding a norm field, or an object
with a key (``grad_norm``, ``norms``, ...) holding the list. ``null`` is read as NaN
(JavaScript's ``JSON.stringify`` writes NaN that way), as are ``NaN`` and ``Infinity`` (what
Python's ``json.dumps`` writes).
"""

from __future__ import annotations

import json
import math
from itertools import compress, repeat
from operator import itemgetter
from typing import Callable

import numpy as np

from gradclip.logfiles.common import (HF, JSON, MAX_JSON_DEPTH, MAX_ROWS, NORM_NAMES, TB_JSON, NormLog,
                                     Series, refuse_negative, loss_key, norm_key, show, step_key, too_many)

# A trainer_state.json spends five to seven commas on each logged step; more commas than this
# cannot be a log within MAX_ROWS, and are refused before json.loads builds them in memory.
_MAX_COMMAS = 10 * MAX_ROWS + 100
_NUMBER_TYPES = {float, int}   # exactly: bool is an int subclass, and not a norm


def read_json(text: str) -> NormLog:
    """A :class:`NormLog` from JSON text, by the shape of the document."""
    if text.count(",") > _MAX_COMMAS:
        raise too_many(text.count(","))
    check_json_depth(text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{JSON}, line {exc.lineno}: the JSON is malformed ({exc.msg}, column {exc.colno})") from None
    if isinstance(data, dict) and "log_history" in data:
        return _trainer_state(data, text)
    if isinstance(data, dict):
        return _object(data, text)
    if not isinstance(data, list):
        raise ValueError(f"{JSON}, line 1: expected a JSON list of numbers, found {type(data).__name__}")
    if not data:
        raise ValueError(f"{JSON}: the JSON list is empty: no gradient norms in it")
    if len(data) > MAX_ROWS:
        raise too_many(len(data))
    if isinstance(data[0], list):
        return _tensorboard(data, text)
    return _records(data, text, 0)


def numbers(items: list, where: Callable[[int], str], expected: str = "a number") -> np.ndarray:
    """The items as floats (``None`` as NaN), or a ValueError at the first that is not a number."""
    if set(map(type, items)) <= _NUMBER_TYPES:
        return np.array(items, dtype=float)           # the common case, in one step
    out = np.empty(len(items))
    for i, v in enumerate(items):
        if v is None:
            out[i] = math.nan
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[i] = v
        else:
            raise ValueError(f"{where(i)} ({show(json.dumps(v))}) is not {expected}")
    return out


def _trainer_state(data: dict, text: str) -> NormLog:
    """The ``log_history`` of a Trainer: one entry per logging step (``loss``, ``grad_norm``,
    ``learning_rate``, ``step``), one per evaluation (``eval_loss``, no ``grad_norm``), and a
    last one with the run's totals."""
    history = data["log_history"]
    if not isinstance(history, list):
        raise ValueError(f"{HF}, key 'log_history': holds {type(history).__name__}; expected a list of log entries")
    if len(history) > MAX_ROWS:
        raise too_many(len(history))
    at = text.find("[", text.find('"log_history"'))

    def where(i: int) -> str:
        return f"{HF}, line {json_element_line(text, at, i)}: log_history entry {i + 1}"

    if set(map(type, history)) != {dict}:
        bad = next(i for i, e in enumerate(history) if not isinstance(e, dict))
        raise ValueError(f"{where(bad)} is {show(json.dumps(history[bad]))}; expected an object")
    rows = _having(history, "grad_norm")
    if not rows:
        raise ValueError(f"{HF}: none of the {len(history)} log_history entries has 'grad_norm'; expected "
                         "training entries such as {\"grad_norm\": 1.3, \"loss\": 2.1, \"step\": 10}")
    norms = _field(history, rows, "grad_norm", where)
    refuse_negative(norms.values, lambda k: where(rows[k]) + "'s grad_norm")
    # Training entries carry "loss"; evaluation entries "eval_loss", which is another curve.
    loss_rows = _having(history, "loss")
    loss = _field(history, loss_rows, "loss", where) if loss_rows else None
    return NormLog(HF, norms, loss)


def _having(history: list[dict], key: str) -> list[int]:
    """The indices of the entries that hold ``key`` (map and compress: no Python-level loop)."""
    return list(compress(range(len(history)), map(dict.__contains__, history, repeat(key))))


def _field(history: list[dict], rows: list[int], name: str, where: Callable[[int], str]) -> Series:
    """The ``name`` and ``step`` of the entries at ``rows`` (a million entries: a few C-level passes)."""
    entries = list(map(history.__getitem__, rows))
    values = numbers(list(map(itemgetter(name), entries)), lambda k: f"{where(rows[k])}'s {name!r}")
    try:
        steps = list(map(itemgetter("step"), entries))
    except KeyError:
        k = next(k for k, e in enumerate(entries) if "step" not in e)
        raise ValueError(f"{where(rows[k])} has {name!r} but no 'step'; expected the step it was logged at") from None
    return Series(name, numbers(steps, lambda k: f"{where(rows[k])}'s 'step'"), values)


def _tensorboard(data: list, text: str) -> NormLog:
    """TensorBoard's JSON download: ``[[wall_time, step, value], ...]``."""
    try:
        table = np.array(data, dtype=float)
    except (ValueError, TypeError):
        table = None
    if table is None or table.ndim != 2 or table.shape[1] != 3:
        i = next(i for i, row in enumerate(data)
                 if not (isinstance(row, list) and len(row) == 3
                         and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)))
        raise ValueError(f"{TB_JSON}, line {json_element_line(text, text.find('['), i)}: entry {i + 1} "
                         f"({show(json.dumps(data[i]))}) is not [wall time, step, value]")
    norms = Series("value", table[:, 1].copy(), table[:, 2].copy(), "step")
    refuse_negative(norms.values, lambda i: f"{TB_JSON}, line {json_element_line(text, text.find('['), i)}")
    return NormLog(TB_JSON, norms)


def _object(data: dict, text: str) -> NormLog:
    """``{"grad_norm": [...]}`` (or ``norms``), with ``step``/``steps`` and ``loss`` lists beside it
    when they have the same length."""
    key = norm_key(list(data)) or next((k for k in data if str(k).lower() == "norms"), None)
    if key is None:
        shown = ", ".join(repr(k) for k in list(data)[:6])
        raise ValueError(f"{JSON}, line 1: the JSON object has no list of norms (its keys: {shown}); expected a "
                         "key such as 'grad_norm' or 'norms', or a Hugging Face trainer_state.json's 'log_history'")
    if not isinstance(data[key], list):
        raise ValueError(f"{JSON}, key {key!r}: holds {type(data[key]).__name__}, not a list of numbers")
    log = _records(data[key], text, text.find("[", text.find(json.dumps(key))))
    n = log.norms.values.size
    steps_key = step_key([k for k in data if k != key]) or next((k for k in data if str(k).lower() == "steps"), None)
    steps = data.get(steps_key) if steps_key else None
    if isinstance(steps, list) and len(steps) == n:
        s = numbers(steps, lambda i: f"{JSON}, key {steps_key!r}: entry {i + 1}")
        log = NormLog(JSON, Series(key, s, log.norms.values, str(steps_key)))
    lk = loss_key([k for k in data if k not in (key, steps_key)])
    if lk and isinstance(data[lk], list) and len(data[lk]) == n:
        loss = Series(lk, log.norms.steps, numbers(data[lk], lambda i: f"{JSON}, key {lk!r}: entry {i + 1}"))
        log = NormLog(JSON, log.norms, loss)
    return log


def _records(data: list, text: str, list_at: int) -> NormLog:
    """A list of numbers, or of objects that each hold a norm field (and maybe a step)."""
    if not data:
        raise ValueError(f"{JSON}: the JSON list is empty: no gradient norms in it")
    if len(data) > MAX_ROWS:
        raise too_many(len(data))

    def line(i: int) -> int:
        return json_element_line(text, list_at, i)

    steps = np.arange(len(data), dtype=float)
    name, step_name = "grad_norm", "step"
    if isinstance(data[0], dict):
        name = norm_key([str(k) for k in data[0]])
        if name is None:
            raise ValueError(f"{JSON}, line {line(0)}: the first JSON object has no norm field "
                             f"(one of {', '.join(NORM_NAMES)})")
        bad = next((i for i, e in enumerate(data) if not isinstance(e, dict) or name not in e), None)
        if bad is not None:
            raise ValueError(f"{JSON}, line {line(bad)}: entry {bad + 1} has no {name!r} field")
        sk = step_key([str(k) for k in data[0]])
        if sk is not None and all(sk in e for e in data):
            steps = numbers([e[sk] for e in data], lambda i: f"{JSON}, line {line(i)}: entry {i + 1}'s {sk!r}")
            step_name = sk
        data = [e[name] for e in data]
    values = numbers(data, lambda i: f"{JSON}, line {line(i)}: entry {i + 1}")
    refuse_negative(values, lambda i: f"{JSON}, line {line(i)}")
    return NormLog(JSON, Series(name, steps, values, step_name))


DEPTH_CHUNK = 1 << 22
_STEP = np.zeros(256, dtype=np.int8)           # what each byte does to the nesting depth
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_KEEP_LINES = bytes(c for c in range(256) if c not in b'[]{}"\n')
_KEEP = bytes(c for c in range(256) if c not in b'[]{}"')


def check_json_depth(text: str) -> None:
    """ValueError, naming the line, if brackets nest deeper than :data:`MAX_JSON_DEPTH`.

    A scan without recursion: the running count of ``[``/``{`` minus ``]``/``}`` outside
    strings. Escaped backslashes and quotes are removed first, so every quote left opens or
    closes a string; then everything but brackets and quotes. Only when that finds the limit
    passed is the text scanned again with its newlines, to name the line.

    >>> check_json_depth('["]]]]", ' + "[" * 101)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: JSON file, line 1: the JSON nests deeper than 100 levels; a norm log needs ...
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return                                   # cannot nest deeper than it has brackets
    if "\\" in text:
        text = text.replace("\\\\", "").replace('\\"', "")
    bare = text.encode("utf-8", "surrogatepass")
    # Two quotes side by side (a string with no bracket in it, such as every key of a log)
    # change nothing: every other byte keeps its side of the string boundary. Dropping them
    # leaves a few bytes per log entry to sum.
    if _first_too_deep(np.frombuffer(bare.translate(None, _KEEP).replace(b'""', b""), dtype=np.uint8)) is None:
        return
    data = np.frombuffer(bare.translate(None, _KEEP_LINES), dtype=np.uint8)
    at = _first_too_deep(data[data != ord("\n")])
    newline = data == ord("\n")
    line = int(np.count_nonzero(newline[: np.flatnonzero(~newline)[at]])) + 1
    raise ValueError(f"{JSON}, line {line}: the JSON nests deeper than {MAX_JSON_DEPTH} levels; "
                     "a norm log needs two or three")


def _first_too_deep(data: np.ndarray) -> int | None:
    """Index in ``data`` (brackets and quotes only) where the depth first passes the limit."""
    depth, inside = 0, 0
    for start in range(0, data.size, DEPTH_CHUNK):
        chunk = data[start:start + DEPTH_CHUNK]
        quotes = np.cumsum(chunk == ord('"'), dtype=np.int32) + inside
        step = _STEP[chunk]
        step[(quotes & 1) == 1] = 0              # inside a string
        level = np.cumsum(step, dtype=np.int32) + depth
        if level.max() > MAX_JSON_DEPTH:
            return start + int(np.argmax(level > MAX_JSON_DEPTH))
        depth, inside = int(level[-1]), int(quotes[-1]) & 1
    return None


def json_element_line(text: str, list_at: int, index: int) -> int:
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
