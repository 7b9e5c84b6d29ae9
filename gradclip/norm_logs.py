"""The check of a log of gradient norms, shared by the adaptive rules (AutoClip, ZClip, suggestions)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradclip.checks import real_array

__all__ = ["check_norms"]


def check_norms(norms: Any, name: str, *, allow_inf: bool = False, max_ndim: int = 2) -> np.ndarray:
    """Gradient norms as a float array of shape (steps,) or (steps, runs), each >= 0, at least one.

    :func:`gradclip.checks.real_array` with the rules every norm log follows; ``allow_inf``
    lets infinite norms through (NaN never).

    >>> check_norms([1, 2], "norms")
    array([1., 2.])
    """
    shapes = "(steps,)" if max_ndim == 1 else "(steps,) or (steps, runs)"
    a = real_array(norms, name, lo=0, finite=not allow_inf, ndim=tuple(range(1, max_ndim + 1)),
                   empty=False, shape_text=shapes)
    return a.astype(np.float64, copy=False)
