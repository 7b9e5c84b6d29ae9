"""Clipping operations, with the exact semantics of PyTorch, Keras/TensorFlow and optax.

Every function here is pure: it takes arrays (or lists of arrays, one per parameter
tensor) and returns new arrays; inputs are never modified. Floating dtypes are kept
(float32 in, float32 out); integer input is promoted to float64. Booleans, complex numbers,
strings and objects are refused (``TypeError``), as :mod:`gradclip.checks` refuses them
everywhere.

Two families live here:

* the textbook rules, vectorised over runs for the simulator:
  :func:`clip_by_norm` (rescale a vector whose length exceeds a threshold) and
  :func:`clip_by_value` (clamp each component);
* the frameworks' rules, reproduced operation by operation so that edge cases come
  out the same: :func:`clip_grad_norm` and :func:`clip_grad_value` (PyTorch
  ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``),
  :func:`clip_by_norm_per_tensor` (Keras ``clipnorm``, i.e. ``tf.clip_by_norm`` per
  variable) and :func:`clip_by_global_norm` (optax ``clip_by_global_norm`` or Keras
  ``global_clipnorm``).

:func:`gradclip.frameworks.framework_differences` runs a handful of edge cases through the
four conventions and reports what each one did.

Examples
--------
>>> import numpy as np
>>> clip_by_norm(np.array([3.0, 4.0]), 1.0)
array([0.6, 0.8])
>>> clipped, total = clip_grad_norm([np.array([3.0, 4.0])], 1.0)
>>> total
5.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from gradclip.checks import boolean, choice, real, real_array


__all__ = [
    "angle_degrees",
    "NonFiniteNormError",
    "clip_by_norm",
    "clip_by_value",
    "global_norm",
    "clip_grad_norm",
    "clip_grad_value",
    "clip_by_norm_per_tensor",
    "clip_by_global_norm",
]

# PyTorch adds this to the total norm before dividing (torch/nn/utils/clip_grad.py).
TORCH_EPS = 1e-6

class NonFiniteNormError(RuntimeError):
    """The total gradient norm is NaN or infinite and ``error_if_nonfinite=True`` was asked for.

    A subclass of ``RuntimeError`` because that is what PyTorch raises in the same case.
    """


# --------------------------------------------------------------------------- helpers


def _as_float_array(x: Any, name: str) -> np.ndarray:
    """``x`` as an array of a floating dtype (NaN and inf allowed: gradients may hold them)."""
    return real_array(x, name, nan=True)


def _as_array_list(grads: Any, name: str = "grads") -> list[np.ndarray]:
    """A list of float arrays. A single ndarray counts as one tensor, as a Tensor does in PyTorch."""
    if isinstance(grads, np.ndarray):
        return [_as_float_array(grads, name)]
    if not isinstance(grads, Iterable) or isinstance(grads, (str, bytes)):
        raise TypeError(f"{name} must be a list of arrays (or one array), got {type(grads).__name__}")
    return [_as_float_array(g, f"{name}[{i}]") for i, g in enumerate(grads)]


def _normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (int or tuple, negatives allowed) as a tuple of distinct non-negative axes."""
    if isinstance(axis, (list, tuple)):
        raw = tuple(axis)
    elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        raw = (axis,)
    else:
        raise TypeError(f"axis must be an integer or a tuple of integers, got {axis!r}")
    axes = []
    for ax in raw:
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
            raise TypeError(f"axis must be an integer or a tuple of integers, got {axis!r}")
        if not -ndim <= ax < ndim:
            raise ValueError(f"axis must be in [-{ndim}, {ndim - 1}] for g with {ndim} dimensions, got {axis!r}")
        axes.append(int(ax) % ndim)
    if not axes or len(set(axes)) != len(axes):
        raise ValueError(f"axis must name distinct axes of g, got {axis!r}")
    return tuple(sorted(axes))


def _norm_type(norm_type: Any) -> float:
    """PyTorch's ``norm_type``: p > 0, or inf."""
    return real(norm_type, "norm_type", lo=0, lo_open=True, finite=False)


def _opmath(dtype: np.dtype) -> np.dtype:
    """The type PyTorch computes a ``dtype`` in on the CPU (its "opmath" type): float32 for
    half precision, the dtype itself otherwise. Results are rounded back to ``dtype``."""
    return np.promote_types(dtype, np.float32)


def _pnorm(a: np.ndarray, p: float, name: str) -> np.floating:
    """The p-norm of all entries of ``a``, accumulated as PyTorch does, without rescaling.

    Half precision is summed in float32 and the norm rounded back to float16, as
    ``torch.linalg.vector_norm`` and ``torch._foreach_norm`` do: [300, 400] in float16 has
    norm 500 although 300² overflows float16. No protection against overflow of float32 or
    float64 squares, on purpose: PyTorch has none either, and the framework functions must
    return what the framework returns.
    """
    if p == math.inf:
        if a.size == 0:
            raise ValueError(f"{name} is empty: the inf norm of an empty array is undefined (as in PyTorch)")
        return np.max(np.abs(a))
    w = a.astype(_opmath(a.dtype), copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        if p == 2.0:
            norm = np.sqrt(np.sum(w * w))
        elif p == 1.0:
            norm = np.sum(np.abs(w))
        else:
            norm = np.sum(np.abs(w) ** w.dtype.type(p)) ** w.dtype.type(1.0 / p)
        return a.dtype.type(norm)


_ONE = np.array(1.0)   # 0-d: NumPy converts a Python float operand on every call, this it does not


# The textbook norm rule is _clip_to_norm below, shared by the public clip_by_norm (which
# validates its arguments) and _clip_rows_by_norm (the simulator's per-step call, which does
# not), so the package has one implementation of it. It does not set NumPy's error state:
# that costs microseconds per call, which add up in the simulator's loop, so callers do it.


def _clip_to_norm(a: np.ndarray, axis: Any, tau: np.ndarray) -> np.ndarray:
    """``a * min(1, tau / ||a||)``, the norm taken over ``axis`` in float64; NaN where it is NaN.

    ``tau`` broadcasts against the norm, whose reduced axes are kept as size 1. The norm is
    rescaled where the squares overflow: the textbook rule should shrink a huge but finite
    gradient (1e200) to the threshold instead of zeroing it, so the norm is only infinite
    when an entry is. Call with overflow, invalid and divide errors ignored.
    """
    w = a.astype(np.float64, copy=False)
    norm = np.sqrt(np.add.reduce(w * w, axis=axis, keepdims=True))
    # One test for both special cases (tobytes: NumPy stores a boolean as one byte, 0 or 1;
    # far cheaper than .all() on a few elements): an infinite or a NaN norm.
    special = b"\x00" in np.isfinite(norm).tobytes()
    if special:
        overflow = np.isinf(norm)
        if overflow.any():
            big = np.max(np.abs(w), axis=axis, keepdims=True)
            scaled = big * np.sqrt(np.sum((w / big) ** 2, axis=axis, keepdims=True))
            # Where an entry really is inf, inf/inf above gave NaN: the norm is inf.
            scaled = np.where(np.isinf(big), np.inf, scaled)
            norm = np.where(overflow, scaled, norm)
    return a * _norm_scale(norm, tau, special).astype(a.dtype, copy=False)


def _norm_scale(norm: np.ndarray, tau: Any, special: bool = True) -> np.ndarray:
    r""":math:`\min(1, \tau / \lVert g\rVert)`, the factor norm clipping multiplies by, for
    norms and thresholds that broadcast; NaN where the norm is NaN (with ``special``: the caller
    may know there is none). Call with divide and invalid errors ignored.

    >>> with np.errstate(divide="ignore"):
    ...     _norm_scale(np.array([0.5, 2.0, 0.0]), 1.0)
    array([1. , 0.5, 1. ])
    """
    # fmin(tau / norm, 1) is where(norm > tau, tau / norm, 1) in one call: for norm > tau
    # the quotient is below 1 (division rounds monotonically), for norm <= tau it is >= 1, and
    # where it is NaN (0/0, inf/inf, a NaN norm) fmin returns the 1 that the comparison picks.
    scale = np.fmin(tau / norm, _ONE)
    if special:
        undefined = np.isnan(norm)
        if undefined.any():
            scale = np.where(undefined, np.nan, scale)
    return scale


def _clip_rows_by_norm(g: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """:func:`clip_by_norm` of each row of ``g`` with ``axis=-1``, without checking anything.

    ``g`` is a float64 array of shape ``(runs, k)`` and ``cap`` a float64 array of shape
    ``(runs,)``, every entry >= 0 or inf. The result is bit for bit what
    ``clip_by_norm(g, cap, axis=-1)`` returns (:func:`_clip_to_norm` computes both). For the
    simulator's loop, whose arguments were checked once; call with floating-point errors
    ignored (``np.errstate(all="ignore")``).

    Examples
    --------
    >>> import numpy as np
    >>> with np.errstate(all="ignore"):
    ...     _clip_rows_by_norm(np.array([[3.0, 4.0], [0.3, 0.4]]), np.array([1.0, 1.0]))
    array([[0.6, 0.8],
           [0.3, 0.4]])
    """
    return _clip_to_norm(g, -1, cap[:, None])


def _clamp(a: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    """``min(max(a, lo), hi)`` elementwise: the one formula of :func:`clip_by_value`, unchecked.

    NaN passes through. The simulator calls it directly with per-run bounds of shape
    ``(runs, 1)``; :func:`clip_by_value` checks its arguments first.
    """
    return np.minimum(np.maximum(a, lo), hi)


def _total_norm(arrays: list[np.ndarray], p: float) -> np.floating:
    """PyTorch's total norm: the p-norm of the per-tensor p-norms.

    Per-tensor norms are computed in each tensor's dtype, then stacked in PyTorch's order
    (grouped by dtype, groups in order of first appearance) and promoted to a common dtype.
    """
    if not arrays:
        # torch returns torch.tensor(0.0): float32 zero.
        return np.float32(0.0)
    first = arrays[0].dtype
    if p == 2.0 and first.itemsize >= 4 and all(a.dtype == first for a in arrays):
        # The usual case, computed as below call for call (np.sum is np.add.reduce over all
        # axes), in one error-state block: a training loop clips every step.
        with np.errstate(over="ignore", invalid="ignore"):
            stacked = np.array([np.sqrt(np.add.reduce(a * a, axis=None)) for a in arrays], dtype=first)
            return np.sqrt(np.add.reduce(stacked * stacked, axis=None))
    dtypes = list(dict.fromkeys(a.dtype for a in arrays))
    common = np.result_type(*dtypes)
    norms = [
        _pnorm(a, p, f"grads[{i}]")
        for dt in dtypes
        for i, a in enumerate(arrays)
        if a.dtype == dt
    ]
    stacked = np.array(norms, dtype=common)
    return _pnorm(stacked, p, "grads")


def _scale_by_total_norm(arrays: list[np.ndarray], max_norm: float, total: np.floating) -> list[np.ndarray]:
    """PyTorch's ``clip_grads_with_norm_``: multiply every gradient by min(1, max_norm/(total+eps)).

    Computed as PyTorch does it: ``max_norm / (total + 1e-6)`` on a tensor is
    ``(total + 1e-6).reciprocal() * max_norm`` (Tensor.__rtruediv__), each operation in the
    total's dtype (a Python number joins in the opmath type, float32 for float16, and the
    result is rounded to the dtype); the coefficient is clamped at 1 and multiplied in even
    when it is 1, each gradient in its own opmath type with the coefficient converted to it.
    """
    dt = np.asarray(total).dtype.type
    op = _opmath(np.dtype(dt)).type
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        shifted = dt(op(total) + op(TORCH_EPS))
        coef = dt(op(dt(op(1.0) / op(shifted))) * op(max_norm))
        coef = np.minimum(coef, dt(1.0))  # np.minimum propagates NaN, as torch.clamp does
        return [np.asarray((a.astype(_opmath(a.dtype), copy=False) * _opmath(a.dtype).type(coef))
                           .astype(a.dtype, copy=False)) for a in arrays]


def _l2_global(arrays: list[np.ndarray]) -> np.floating:
    """sqrt(sum over tensors of sum of squares), as optax.tree.norm and Keras global_norm compute it."""
    if not arrays:
        return np.float32(0.0)
    common = np.result_type(*[a.dtype for a in arrays])
    with np.errstate(over="ignore", invalid="ignore"):
        sums = np.array([np.sum(a * a) for a in arrays], dtype=common)
        return np.sqrt(np.sum(sums))


# --------------------------------------------------------------------------- textbook rules


def clip_by_norm(g: Any, max_norm: Any, *, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    r"""Rescale ``g`` so that its Euclidean norm is at most ``max_norm`` (the textbook rule).

    .. math::

        \operatorname{clip}(g) = \begin{cases} g \,\dfrac{\tau}{\lVert g\rVert_2} & \lVert g\rVert_2 > \tau \\
        g & \text{otherwise} \end{cases}

    The direction of ``g`` is kept; only its length changes. Unlike PyTorch there is no
    epsilon, so a vector exactly at the threshold is returned unchanged.

    Parameters
    ----------
    g : array_like
        The gradient. Floating dtypes are kept; integers become float64.
    max_norm : float or array_like
        The threshold :math:`\tau \ge 0` (``inf`` means "never clip"). With ``axis`` given it
        may be an array that broadcasts against ``g``'s other axes (one threshold per run).
    axis : int or tuple of int, optional
        Clip each slice along ``axis`` on its own (its norm is taken over ``axis``). The
        simulator passes ``axis=-1`` with gradients of shape ``(runs, 2)``. ``None``: one
        norm over all of ``g``; ``max_norm`` must then be a single number.

    Returns
    -------
    numpy.ndarray
        A new array of ``g``'s shape and dtype.

    Notes
    -----
    A zero vector stays zero. A slice containing NaN comes back all NaN (its length is
    unknown, so no finite rescaling is right). A slice containing ``inf`` has infinite
    norm: its finite entries become 0 and its infinite ones NaN (``inf * 0``). Huge finite
    norms (whose squares overflow) are computed with rescaling, so they clip correctly.

    Examples
    --------
    >>> import numpy as np
    >>> clip_by_norm([3.0, 4.0], 1.0)
    array([0.6, 0.8])
    >>> clip_by_norm([0.3, 0.4], 1.0)              # below the threshold: unchanged
    array([0.3, 0.4])
    >>> clip_by_norm(np.array([[3.0, 4.0], [6.0, 8.0]]), np.array([1.0, 20.0]), axis=-1)
    array([[0.6, 0.8],
           [6. , 8. ]])
    """
    a = _as_float_array(g, "g")
    tau = real_array(max_norm, "max_norm", lo=0)
    if axis is None:
        if tau.ndim != 0:
            raise ValueError(
                f"max_norm must be a single number when axis is None, got shape {tau.shape}; "
                "pass axis=... to clip slices with one threshold each"
            )
        axes = None
        tau_k = tau
    else:
        axes = _normalize_axes(axis, a.ndim)  # the norm keeps them as size-1 axes
        other_shape = tuple(n for i, n in enumerate(a.shape) if i not in axes)
        try:
            tau_b = np.broadcast_to(tau, other_shape)
        except ValueError:
            raise ValueError(
                f"max_norm of shape {tau.shape} does not broadcast against g's other axes "
                f"{other_shape} (g shape {a.shape}, axis={axis!r})"
            ) from None
        tau_k = np.expand_dims(tau_b, axes)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return np.asarray(_clip_to_norm(a, axes, tau_k))


def clip_by_value(
    g: Any,
    clip_value: Any = None,
    *,
    min_value: Any = None,
    max_value: Any = None,
) -> np.ndarray:
    r"""Clamp every component of ``g`` into ``[-c, c]`` or into ``[min_value, max_value]``.

    .. math:: \operatorname{clip}(g)_i = \min(\max(g_i, \ell), u)

    with :math:`(\ell, u) = (-c, c)` or the explicit bounds. Unlike norm clipping this can
    change the direction of ``g``: a large component is cut back more than a small one.

    Parameters
    ----------
    g : array_like
        The gradient. Floating dtypes are kept; integers become float64.
    clip_value : float or array_like, optional
        :math:`c \ge 0`. An array broadcasts against ``g`` by NumPy's rules (for one value
        per run with ``g`` of shape ``(runs, 2)``, pass ``c[:, None]``).
    min_value, max_value : float or array_like, optional
        Explicit bounds, instead of ``clip_value``; either may be omitted (unbounded).

    Returns
    -------
    numpy.ndarray
        A new array of ``g``'s shape and dtype. NaN entries pass through unchanged.

    Examples
    --------
    >>> clip_by_value([0.5, -3.0, 2.0], 1.0)
    array([ 0.5, -1. ,  1. ])
    >>> clip_by_value([0.5, -3.0, 2.0], min_value=0.0)
    array([0.5, 0. , 2. ])
    """
    a = _as_float_array(g, "g")
    if clip_value is not None:
        if min_value is not None or max_value is not None:
            raise ValueError("give either clip_value or min_value/max_value, not both")
        c = real_array(clip_value, "clip_value", lo=0)
        lo, hi = -c, c
    else:
        if min_value is None and max_value is None:
            raise ValueError("give clip_value (>= 0) or at least one of min_value, max_value")
        lo = real_array(-np.inf if min_value is None else min_value, "min_value")
        hi = real_array(np.inf if max_value is None else max_value, "max_value")
    try:
        shape = np.broadcast_shapes(a.shape, np.shape(lo), np.shape(hi))
    except ValueError:
        shape = None
    if shape != a.shape:
        raise ValueError(
            f"the bounds (shape {np.shape(lo)}) must broadcast to g's shape {a.shape} without "
            "enlarging it; for per-run values with g of shape (runs, k) pass clip_value[:, None]"
        )
    if np.any(lo > hi):
        raise ValueError(f"min_value must be <= max_value, got {min_value!r} and {max_value!r}")
    # Bounds in g's dtype so that float32 stays float32 (the frameworks do the same).
    with np.errstate(over="ignore"):     # beyond float16's range: inf, which clamps the same
        lo = np.asarray(lo).astype(a.dtype)
        hi = np.asarray(hi).astype(a.dtype)
    return np.asarray(_clamp(a, lo, hi))


# --------------------------------------------------------------------------- PyTorch


def angle_degrees(a: np.ndarray, b: np.ndarray, decimals: int = 10) -> float:
    """Angle between two vectors in degrees (how far clipping turned a gradient), rounded to ``decimals``; 0 when either is the
    zero vector or not finite.

    .. math:: \\angle(a, b) = 2 \\arctan \\frac{\\lVert \\lVert a\\rVert b - \\lVert b\\rVert a \\rVert}
              {\\lVert \\lVert a\\rVert b + \\lVert b\\rVert a \\rVert}

    (Kahan's form: unlike :math:`\\arccos` of the cosine it stays accurate for nearly
    parallel vectors, so a rescaled vector reads exactly 0°.)

    >>> angle_degrees(np.array([1.0, 0.0]), np.array([1.0, 1.0]))
    45.0
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if not (na > 0 and nb > 0 and math.isfinite(na) and math.isfinite(nb)):
        return 0.0
    u, v = na * b, nb * a
    return round(math.degrees(2.0 * math.atan2(np.linalg.norm(u - v), np.linalg.norm(u + v))), decimals)


def global_norm(grads: Any, norm_type: float = 2.0) -> float:
    r"""The total norm of a list of gradients, as PyTorch computes it.

    .. math:: \lVert (g_1, \dots, g_k) \rVert_p = \bigl\lVert (\lVert g_1\rVert_p, \dots, \lVert g_k\rVert_p) \bigr\rVert_p

    (for ``p = inf``: the largest absolute entry), i.e. the p-norm of all entries viewed as
    one long vector. Each tensor's norm is computed in its own dtype, like
    ``torch.nn.utils.get_total_norm``; no rescaling guards the squares against overflow,
    as in PyTorch.

    Parameters
    ----------
    grads : list of array_like, or one array
        The gradients (one array per parameter tensor). An empty list has norm 0.
    norm_type : float
        :math:`p > 0`, or ``inf`` (``float("inf")``).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> global_norm([np.array([3.0]), np.array([4.0])])
    5.0
    >>> global_norm([np.array([3.0, -4.0])], norm_type=float("inf"))
    4.0
    """
    arrays = _as_array_list(grads)
    return float(_total_norm(arrays, _norm_type(norm_type)))


def clip_grad_norm(
    grads: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> tuple[list[np.ndarray], float]:
    r"""``torch.nn.utils.clip_grad_norm_`` (PyTorch 2.13), without modifying anything in place.

    .. math::

        c = \min\Bigl(1, \frac{\tau}{\lVert g\rVert_p + 10^{-6}}\Bigr), \qquad g_i \leftarrow c\, g_i

    where :math:`\lVert g\rVert_p` is :func:`global_norm`. Reproduced step by step from
    ``torch/nn/utils/clip_grad.py``: the coefficient is computed in the total norm's dtype
    as ``(total + 1e-6).reciprocal() * max_norm``, clamped at 1, and multiplied in
    *always*, so a gradient exactly at the threshold is still scaled by
    :math:`\tau/(\tau + 10^{-6})`. A NaN total makes every entry NaN; an infinite total
    makes finite entries 0 and infinite ones NaN.

    float16 gradients come out as PyTorch's, bit for bit: each tensor's norm is summed in
    float32 and rounded to float16 (so ``[300, 400]`` has norm 500, although 300² overflows
    float16), and the coefficient is computed in float16. NumPy has no bfloat16; a float32
    copy of bfloat16 gradients gives the total PyTorch computes before rounding it.

    Parameters
    ----------
    grads : list of array_like, or one array
        The gradients, one per parameter tensor (a single array counts as one tensor).
    max_norm : float
        :math:`\tau \ge 0`.
    norm_type : float
        :math:`p > 0` or ``inf``.
    error_if_nonfinite : bool
        Raise :class:`NonFiniteNormError` (a ``RuntimeError``) when the total norm is NaN
        or infinite, instead of scaling by it. Nothing is returned or changed then.

    Returns
    -------
    clipped : list of numpy.ndarray
        New arrays, same shapes and dtypes as the inputs.
    total_norm : float
        The norm before clipping (0.0 for an empty list).

    Examples
    --------
    >>> import numpy as np
    >>> clipped, total = clip_grad_norm([np.array([3.0, 4.0])], 5.0)
    >>> total, clipped[0]                 # scaled by 5/(5 + 1e-6) even at the threshold
    (5.0, array([2.9999994, 3.9999992]))
    """
    arrays = _as_array_list(grads)
    tau = real(max_norm, "max_norm", lo=0, finite=False)
    p = _norm_type(norm_type)
    error_if_nonfinite = boolean(error_if_nonfinite, "error_if_nonfinite")
    total = _total_norm(arrays, p)
    if error_if_nonfinite and not np.isfinite(total):
        raise NonFiniteNormError(
            f"the total norm of order {p} of the gradients is {float(total)}, so it cannot be "
            "clipped; pass error_if_nonfinite=False to scale by the non-finite norm anyway"
        )
    return _scale_by_total_norm(arrays, tau, total), float(total)


def clip_grad_value(grads: Any, clip_value: float) -> list[np.ndarray]:
    r"""``torch.nn.utils.clip_grad_value_``: clamp every entry into :math:`[-c, c]`.

    .. math:: g_i \leftarrow \min(\max(g_i, -c), c)

    In PyTorch's order (``clamp_min(-c)`` then ``clamp_max(c)``). NaN passes through;
    :math:`\pm\infty` become :math:`\pm c`.

    Parameters
    ----------
    grads : list of array_like, or one array
    clip_value : float
        :math:`c \ge 0`.

    Returns
    -------
    list of numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> clip_grad_value([np.array([0.5, -3.0, np.inf, np.nan])], 1.0)
    [array([ 0.5, -1. ,  1. ,  nan])]
    """
    arrays = _as_array_list(grads)
    c = real(clip_value, "clip_value", lo=0, finite=False)
    for i, a in enumerate(arrays):
        big = float(np.finfo(a.dtype).max)
        if math.isfinite(c) and c > big:     # PyTorch refuses a bound its dtype cannot hold
            raise ValueError(f"clip_value must be <= {big:g} (or inf) for grads[{i}] of dtype {a.dtype}, "
                             f"got {clip_value!r}; PyTorch cannot convert it either")
    return [np.asarray(np.minimum(np.maximum(a, a.dtype.type(-c)), a.dtype.type(c))) for a in arrays]


# --------------------------------------------------------------------------- Keras and optax


def clip_by_norm_per_tensor(grads: Any, max_norm: float) -> list[np.ndarray]:
    r"""Keras ``clipnorm``: each gradient tensor clipped on its own, as ``tf.clip_by_norm`` does.

    .. math:: g_i \leftarrow \frac{g_i\,\tau}{\max(\lVert g_i\rVert_2, \tau)}

    Reproduced from ``keras/src/optimizers/base_optimizer.py`` (``_clip_by_norm``; the
    TensorFlow backend calls ``tf.clip_by_norm``, ``tensorflow/python/ops/clip_ops.py``,
    with the same formula): the sum of squares is computed per tensor, its square root
    taken only where it is positive, and the division is by ``maximum(norm, clip_norm)``.
    There is no epsilon and no branch, so a tensor at the threshold is "scaled" by
    :math:`\tau/\tau` (1 up to rounding). A tensor with a NaN entry comes back all NaN (the
    maximum propagates NaN, as ``jnp.maximum`` and ``np.maximum`` do); one with an ``inf``
    entry gets 0 for its finite entries and NaN for the infinite ones. Other tensors are
    unaffected: the directions of the *total* gradient can change.

    Parameters
    ----------
    grads : list of array_like, or one array
    max_norm : float
        :math:`\tau > 0`, finite (Keras ignores ``clipnorm <= 0``).

    Returns
    -------
    list of numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> clip_by_norm_per_tensor([np.array([3.0, 4.0]), np.array([0.3, 0.4])], 1.0)
    [array([0.6, 0.8]), array([0.3, 0.4])]
    """
    arrays = _as_array_list(grads)
    tau = real(max_norm, "max_norm", lo=0, lo_open=True)
    out = []
    for a in arrays:
        c = a.dtype.type(tau)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            l2sum = np.sum(a * a)
            # "Two-tap where": sqrt only of positive sums, so a zero tensor has norm 0.
            l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
            out.append(np.asarray((a * c) / np.maximum(l2norm, c)))
    return out


def clip_by_global_norm(grads: Any, max_norm: float, convention: str = "optax") -> list[np.ndarray]:
    r"""Clip a list of gradients by their global L2 norm, as optax or Keras does it.

    Both use the global norm :math:`n = \sqrt{\sum_i \sum_j g_{ij}^2}` but differ at the edges:

    ``convention="optax"`` (``optax.clip_by_global_norm``, optax/transforms/_clipping.py)::

        g_i <- g_i                      if n < max_norm
        g_i <- (g_i / n) * max_norm     otherwise

    No epsilon. At :math:`n = \tau` the rescaling branch is taken, which gives back
    :math:`g` up to rounding. A NaN norm fails the ``<`` test and makes everything NaN;
    an infinite norm zeroes finite entries (and makes infinite ones NaN).

    ``convention="keras"`` (Keras ``global_clipnorm``: ``clip_by_global_norm`` in
    keras/src/optimizers/base_optimizer.py, which follows ``tf.clip_by_global_norm``)::

        scale = max_norm * min(1/n, 1/max_norm) + (n - n)
        g_i <- g_i * scale

    The ``(n - n)`` term is 0 for a finite norm and NaN otherwise, so **any** NaN or
    ``inf`` anywhere makes *every* entry of *every* tensor NaN. Below the threshold the
    scale is :math:`\tau \cdot (1/\tau)`, which is 1 up to rounding.

    Parameters
    ----------
    grads : list of array_like, or one array
    max_norm : float
        :math:`\tau > 0`, finite.
    convention : {"optax", "keras"}

    Returns
    -------
    list of numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> clip_by_global_norm([np.array([3.0]), np.array([4.0])], 1.0)
    [array([0.6]), array([0.8])]
    >>> clip_by_global_norm([np.array([np.inf, 1.0])], 1.0, convention="keras")
    [array([nan, nan])]
    """
    choice(convention, "convention", ("optax", "keras"))
    arrays = _as_array_list(grads)
    tau = real(max_norm, "max_norm", lo=0, lo_open=True)
    n = _l2_global(arrays)
    dt = np.asarray(n).dtype.type
    out = []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if convention == "optax":
            keep = bool(n < tau)
            for a in arrays:
                out.append(np.array(a, copy=True) if keep else np.asarray((a / a.dtype.type(n)) * a.dtype.type(tau)))
        else:
            scale = dt(tau) * np.minimum(dt(1.0) / n, dt(1.0) / dt(tau)) + (n - n)
            for a in arrays:
                out.append(np.asarray(a * a.dtype.type(scale)))
    return out
