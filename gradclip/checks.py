"""Argument checks for the public API: one implementation per idea, one wording for every message.

Every exported function checks its arguments through these helpers, so a caller always
reads the same kind of sentence: the argument's name, what it allows, and what it got::

    tau must be a number > 0 and <= 1e+06, got -2
    steps must be an integer from 1 to 2000, got 1.5
    optimizer must be one of sgd, momentum, adam; got 'rmsprop'

``TypeError`` when the value is of the wrong kind (a string, ``None``, a bool, a complex
number, an array of objects); ``ValueError`` when it is of the right kind but outside the
range (NaN, a negative, too large, the wrong shape). Bools are not numbers here, although
Python lets ``True + True == 2``: ``tau=True`` is almost surely a slip. No helper modifies
its input; an array may come back as the very same object, which the caller must then not
modify either.

=====================  ==============================================================
helper                 checks
=====================  ==============================================================
:func:`real`           one real number in a range (ends open or closed; inf or not)
:func:`integer`        one integer in a range (``200.0`` is accepted, ``1.5`` is not)
:func:`real_array`     an array of real numbers: kind, dimensions, size, range
:func:`choice`         a name from a registry (the message lists the names)
:func:`boolean`        a flag: True or False (not 0, 1 or "yes")
:func:`budget`         work that would not fit in memory, refused before it starts
=====================  ==============================================================

Examples
--------
>>> real(0.5, "lr", lo=0, hi=10, lo_open=True)
0.5
>>> real("a", "lr", lo=0, hi=10, lo_open=True)
Traceback (most recent call last):
...
TypeError: lr must be a number > 0 and <= 10, got 'a'
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any, Iterable

import numpy as np

from gradclip.figures.numbers import size_text

__all__ = ["real", "integer", "real_array", "choice", "boolean", "optional_path", "budget", "range_text", "integer_text",
           "WORK_LIMIT"]

# The most memory one call may plan to fill with its results. Pyodide's WebAssembly memory
# tops out at a few GiB, and a browser tab dies long before that; 1 GiB leaves room for the
# rest of the page and is far above any demo's needs (the largest sweep uses tens of MiB).
# A CPython user with memory to spare may raise it: gradclip.checks.WORK_LIMIT = 8 << 30.
WORK_LIMIT = 1 << 30

_SHOW_LIMIT = 60   # characters of a bad value quoted in a message


def _num(x: float) -> str:
    return f"{x:g}"


def _shown(value: Any) -> str:
    """The bad value as a message quotes it: its repr, cut short, and its type where that helps."""
    text = repr(value)
    if len(text) > _SHOW_LIMIT:
        text = text[:_SHOW_LIMIT] + "…"
    if isinstance(value, (bytes, complex, bool, np.bool_)) or value is None:
        return text if value is None else f"{text} ({type(value).__name__})"
    return text


def range_text(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
               hi_open: bool = False, finite: bool = True, noun: str = "a number") -> str:
    """What a range allows, as a message says it: ``a number > 0 and <= 10``.

    ``finite`` is mentioned only where no finite bound already implies it.

    >>> range_text(0, None, lo_open=True), range_text(0, None, finite=False), range_text(0, 100)
    ('a finite number > 0', 'a number >= 0 (inf allowed)', 'a number >= 0 and <= 100')
    """
    conds = []
    if lo is not None:
        conds.append(f"{'>' if lo_open else '>='} {_num(lo)}")
    if hi is not None:
        conds.append(f"{'<' if hi_open else '<='} {_num(hi)}")
    bounded = lo is not None and hi is not None
    if finite and not bounded:
        noun = noun.replace("a number", "a finite number").replace("numbers", "finite numbers")
    text = " ".join([noun, " and ".join(conds)]) if conds else noun
    if not finite and hi is None:
        text += " (inf allowed)"
    return text


def _in_range(x: Any, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool,
              finite: bool) -> Any:
    """True where ``x`` (a float or an array) is inside the range; NaN never is."""
    ok = np.isfinite(x) if finite else ~np.isnan(x)
    if lo is not None:
        ok = ok & ((x > lo) if lo_open else (x >= lo))
    if hi is not None:
        ok = ok & ((x < hi) if hi_open else (x <= hi))
    return ok


def _as_real(value: Any) -> float | None:
    """``value`` as a Python float if it is one real number (not a bool), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, np.ndarray):
        if value.ndim != 0 or value.dtype.kind not in "iuf":
            return None
        value = value[()]
    if not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:           # an int beyond the float range is, for a range check, infinite
        return math.inf if value > 0 else -math.inf


def real(value: Any, name: str, lo: float | None = None, hi: float | None = None, *,
         lo_open: bool = False, hi_open: bool = False, finite: bool = True) -> float:
    """One real number inside a range, as a float; ``TypeError``/``ValueError`` naming ``name``.

    Parameters
    ----------
    value : Any
        A Python or NumPy real number (or a 0-d real array). Bools and complex numbers are
        refused.
    name : str
        The argument's name, for the message.
    lo, hi : float, optional
        The bounds (``None``: unbounded on that side).
    lo_open, hi_open : bool
        Exclude the bound itself.
    finite : bool
        Refuse ``inf`` (NaN is refused always: it lies in no range).

    Examples
    --------
    >>> real(2, "tau", lo=0, lo_open=True)
    2.0
    >>> real(float("inf"), "max_norm", lo=0, finite=False)
    inf
    >>> real(-1.0, "tau", lo=0, lo_open=True)
    Traceback (most recent call last):
    ...
    ValueError: tau must be a finite number > 0, got -1.0
    """
    allowed = range_text(lo, hi, lo_open=lo_open, hi_open=hi_open, finite=finite)
    x = _as_real(value)
    if x is None:
        raise TypeError(f"{name} must be {allowed}, got {_shown(value)}")
    if not _in_range(x, lo, hi, lo_open, hi_open, finite):
        raise ValueError(f"{name} must be {allowed}, got {_shown(value)}")
    return x


def integer_text(lo: int | None, hi: int | None) -> str:
    """What an integer range allows: ``an integer from 1 to 2000`` or ``an integer >= 0``.

    >>> integer_text(1, 2000), integer_text(0, None)
    ('an integer from 1 to 2000', 'an integer >= 0')
    """
    if lo is not None and hi is not None:
        return f"an integer from {lo} to {hi}"
    if lo is not None:
        return f"an integer >= {lo}"
    return "an integer" if hi is None else f"an integer <= {hi}"


def integer(value: Any, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """One integer inside ``[lo, hi]``, as an int; ``TypeError``/``ValueError`` naming ``name``.

    NumPy integers are integers; a float with no fractional part (``200.0``, which JSON and
    sliders produce) is accepted as the integer it equals; ``1.5``, NaN and inf are not
    integers (``ValueError``); bools, strings and ``None`` are the wrong kind (``TypeError``).

    Examples
    --------
    >>> integer(np.int64(5), "steps", 1, 2000), integer(200.0, "steps", 1, 2000)
    (5, 200)
    >>> integer(1.5, "seed", 0)
    Traceback (most recent call last):
    ...
    ValueError: seed must be an integer >= 0, got 1.5
    """
    allowed = integer_text(lo, hi)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {allowed}, got {_shown(value)}")
    if not isinstance(value, numbers.Integral):
        x = float(value)
        if not (math.isfinite(x) and x.is_integer()):
            raise ValueError(f"{name} must be {allowed}, got {_shown(value)}")
        value = x
    n = int(value)
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        raise ValueError(f"{name} must be {allowed}, got {_shown(value)}")
    return n


def real_array(value: Any, name: str, lo: float | None = None, hi: float | None = None, *,
               lo_open: bool = False, hi_open: bool = False, finite: bool = False,
               nan: bool = False, ndim: int | tuple[int, ...] | None = None,
               empty: bool = True, shape_text: str | None = None) -> np.ndarray:
    """An array of real numbers; floats keep their dtype, integers become float64.

    Parameters
    ----------
    value : array_like
        Refused (``TypeError``): bool, complex, string and object arrays, ``None``.
        Refused (``ValueError``): ragged nested lists.
    name : str
        The argument's name, for the message.
    lo, hi, lo_open, hi_open, finite
        Every entry must lie in this range, as for :func:`real`; by default any real
        number or ``±inf`` is allowed (``finite=False``).
    nan : bool
        Let NaN entries through without a range check.
    ndim : int or tuple of int, optional
        The allowed numbers of dimensions.
    empty : bool
        Allow an array with no entries.
    shape_text : str, optional
        How a message describes the allowed shapes (e.g. ``"(steps,) or (steps, runs)"``).

    Returns
    -------
    numpy.ndarray
        ``value`` itself when it already is a floating array (never modified), else a new one.

    Examples
    --------
    >>> real_array([1, 2], "norms", lo=0)
    array([1., 2.])
    >>> real_array([True, False], "g")
    Traceback (most recent call last):
    ...
    TypeError: g must be an array of real numbers, got an array of dtype bool
    """
    try:
        a = np.asarray(value)
    except (ValueError, TypeError) as exc:   # ragged nested lists, unconvertible objects
        raise ValueError(f"{name} must be an array of real numbers, got {_shown(value)} ({exc})") from None
    if a.dtype.kind not in "iuf":
        got = _shown(value) if a.dtype.kind == "O" else f"an array of dtype {a.dtype}"
        raise TypeError(f"{name} must be an array of real numbers, got {got}")
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if dims is not None and a.ndim not in dims:
        shapes = shape_text or " or ".join(f"{d} dimension{'s' if d != 1 else ''}" for d in dims)
        raise ValueError(f"{name} must have shape {shapes}, got shape {a.shape}")
    if not empty and a.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {a.shape}")
    if nan and not finite and lo is None and hi is None:
        return a                     # any real number passes: no pass over the entries
    with np.errstate(invalid="ignore"):
        ok = _in_range(a, lo, hi, lo_open, hi_open, finite)
        if nan:
            ok = ok | np.isnan(a)
    if not np.all(ok):
        idx = tuple(int(i) for i in np.argwhere(~np.asarray(ok))[0])
        where = name if not idx else f"{name}[{idx[0]}]" if len(idx) == 1 else f"{name}{list(idx)}"
        allowed = range_text(lo, hi, lo_open=lo_open, hi_open=hi_open, finite=finite, noun="numbers")
        raise ValueError(f"{name} must hold {allowed}{' or NaN' if nan else ''}; {where} is {a[idx]}")
    return a


def choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """A name from a registry; the message lists the choices.

    Examples
    --------
    >>> choice("sgd", "optimizer", ("sgd", "adam"))
    'sgd'
    >>> choice("rmsprop", "optimizer", ("sgd", "adam"))
    Traceback (most recent call last):
    ...
    ValueError: optimizer must be one of sgd, adam; got 'rmsprop'
    """
    names = tuple(choices)
    allowed = f"{name} must be one of {', '.join(names)}"
    if not isinstance(value, str):
        raise TypeError(f"{allowed}; got {_shown(value)}")
    if value not in names:
        raise ValueError(f"{allowed}; got {_shown(value)}")
    return value


def boolean(value: Any, name: str) -> bool:
    """A flag: ``True`` or ``False`` (NumPy's too); anything else is a ``TypeError``.

    Examples
    --------
    >>> boolean(np.True_, "error_if_nonfinite")
    True
    >>> boolean("no", "error_if_nonfinite")
    Traceback (most recent call last):
    ...
    TypeError: error_if_nonfinite must be True or False, got 'no'
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_shown(value)}")
    return bool(value)


def optional_path(value: Any, name: str) -> str | None:
    """A file path to write to (``str`` or ``os.PathLike``), or ``None``; anything else is a ``TypeError``.

    >>> optional_path(None, "path") is None, optional_path("norms.csv", "path")
    (True, 'norms.csv')
    >>> optional_path(3, "path")
    Traceback (most recent call last):
    ...
    TypeError: path must be a file path (str or os.PathLike) or None, got 3
    """
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or os.PathLike) or None, got {_shown(value)}")
    return os.fspath(value)


def budget(n_bytes: float, what: str, lower: str, limit: int | None = None) -> None:
    """Refuse work whose results would need more than ``limit`` bytes, before it starts.

    ``what`` is the work ("the sweep"), ``lower`` the arguments that set its size; ``limit``
    defaults to :data:`WORK_LIMIT`, read at each call (so that a user may raise it).

    Examples
    --------
    >>> budget(10 * 2**30, "the sweep", "taus, lrs or steps")
    Traceback (most recent call last):
    ...
    ValueError: the sweep would need 10 GiB of memory, more than the limit of 1 GiB; lower taus, lrs or steps
    """
    limit = WORK_LIMIT if limit is None else limit
    if n_bytes > limit:
        # An absurd request (an int of hundreds of digits) is quoted as 2**100 bytes: the
        # message stays a number, where the float of the exact size would overflow.
        shown = size_text(min(n_bytes, 2 ** 100))
        raise ValueError(f"{what} would need {shown} of memory, more than the limit "
                         f"of {size_text(limit)}; lower {lower}")
