"""Checks for logs of gradient norms, shared by the adaptive rules (AutoClip, ZClip, suggestions)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradclip.clipping import _as_float_array

__all__ = ["check_norms", "check_percentile"]


def check_norms(norms: Any, name: str, *, allow_inf: bool = False, max_ndim: int = 2) -> np.ndarray:
    """Gradient norms as float64 of shape (steps,) or (steps, runs); ValueError naming the problem.

    >>> check_norms([1, 2], "norms")
    array([1., 2.])
    """
    a = _as_float_array(norms, name).astype(np.float64, copy=False)
    if a.ndim == 0 or a.ndim > max_ndim:
        shapes = "(steps,)" if max_ndim == 1 else "(steps,) or (steps, runs)"
        raise ValueError(f"{name} must have shape {shapes}, got shape {a.shape}")
    if a.shape[0] == 0 or a.size == 0:
        raise ValueError(f"{name} is empty; at least one gradient norm is needed")
    bad = np.isnan(a) | (a < 0) | (np.isinf(a) if not allow_inf else False)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"{name}[{idx[0]}]" if len(idx) == 1 else f"{name}{list(idx)}"
        allowed = ">= 0 (inf allowed)" if allow_inf else "finite and >= 0"
        raise ValueError(f"{name} must be {allowed}; {where} is {a[idx]}")
    return a


def check_percentile(percentile: Any, name: str = "percentile") -> float:
    """A percentile as a float in [0, 100]; ValueError naming ``name`` otherwise.

    >>> check_percentile(10)
    10.0
    """
    try:
        q = float(percentile)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 100], got {percentile!r}") from None
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"{name} must be in [0, 100], got {percentile!r}")
    return q
