"""Where PyTorch, Keras and optax disagree: edge cases run through the four conventions.

The table on the Recipes page is this module's :func:`framework_differences`, computed at
build time by the functions of :mod:`gradclip.clipping`, so it cannot drift from them.
"""

from __future__ import annotations

import numpy as np

from gradclip.clipping import clip_by_global_norm, clip_by_norm_per_tensor, clip_grad_norm
from gradclip.figures.numbers import exact_text

__all__ = ["FRAMEWORK_CONVENTIONS", "framework_differences"]

# The four conventions compared by framework_differences(): (key, label).
FRAMEWORK_CONVENTIONS: tuple[tuple[str, str], ...] = (
    ("pytorch", "PyTorch clip_grad_norm_"),
    ("keras_clipnorm", "Keras clipnorm"),
    ("keras_global_clipnorm", "Keras global_clipnorm"),
    ("optax", "optax clip_by_global_norm"),
)



def _describe_one(before: np.ndarray, after: np.ndarray) -> str:
    if np.array_equal(before, after, equal_nan=True):
        return "unchanged"
    if np.isnan(after).all():
        return "NaN"
    usable = np.isfinite(before) & (before != 0)
    if np.isfinite(before).all() and usable.any():
        ratios = after[usable] / before[usable]
        if np.allclose(ratios, ratios[0], rtol=1e-12, atol=0.0) and np.all(after[~usable] == 0):
            if ratios[0] == 0:
                return "set to 0"
            return f"scaled by {exact_text(float(ratios[0]))}"
    return "[" + ", ".join(exact_text(float(v)) for v in after.ravel()) + "]"


def _describe(before: list[np.ndarray], after: list[np.ndarray]) -> str:
    if all(np.isnan(a).all() for a in after):
        return "NaN everywhere"
    parts = [_describe_one(b, a) for b, a in zip(before, after)]
    if len(set(parts)) == 1:
        return parts[0]
    return "; ".join(f"g{i + 1}: {p}" for i, p in enumerate(parts))


def _edge_cases() -> list[tuple[str, list[np.ndarray], float, str]]:
    """(case, grads, max_norm, note) for framework_differences()."""
    return [
        ("norm exactly at threshold", [np.array([3.0, 4.0])], 5.0,
         "PyTorch always multiplies by max_norm/(norm + 1e-6), so it shrinks a gradient that is "
         "exactly at the limit; the others leave it as it is (optax takes its rescaling branch "
         "here, since its test is norm < max_norm; (g / 5) * 5 rounds back to g in NumPy, but XLA "
         "on the CPU divides by multiplying with 1/5, so real optax (JAX 0.10.2, float64) returns "
         "3.0000000000000004 for the 3: one unit in the last place)."),
        ("norm just above", [np.array([3.0, 4.0])], 4.9,
         "All four clip; PyTorch's factor is a hair smaller because of its 1e-6."),
        ("inf in a gradient", [np.array([np.inf, 1.0]), np.array([2.0])], 1.0,
         "An infinite global norm zeroes the finite entries (inf * 0 gives NaN for the infinite "
         "one); Keras global_clipnorm turns everything into NaN on purpose; Keras clipnorm only "
         "touches the tensor that holds the inf."),
        ("NaN in a gradient", [np.array([np.nan, 1.0]), np.array([2.0])], 1.0,
         "A NaN norm poisons every convention that uses a global norm; per-tensor clipping "
         "keeps the NaN inside its own tensor."),
        ("per-variable vs global", [np.array([3.0, 4.0]), np.array([0.3, 0.4])], 1.0,
         "Keras clipnorm clips each tensor by its own norm, so small tensors are left alone and "
         "the direction of the whole update changes; the global rules scale everything together."),
        ("zero gradient", [np.array([0.0, 0.0])], 1.0,
         "Nothing to clip; all four avoid dividing by zero."),
    ]


def framework_differences() -> list[dict[str, str]]:
    """Where PyTorch, Keras and optax disagree, found by running each edge case through them.

    Each row is a dict with keys ``"case"``, ``"setup"`` (the gradients and threshold),
    one key per convention in :data:`FRAMEWORK_CONVENTIONS` (``"pytorch"``,
    ``"keras_clipnorm"``, ``"keras_global_clipnorm"``, ``"optax"``) holding what that
    convention did (``"unchanged"``, ``"scaled by 0.98"``, ``"NaN everywhere"``, or the
    resulting entries), and ``"note"`` (why). The outcomes are computed on every call by
    :func:`clip_grad_norm`, :func:`clip_by_norm_per_tensor` and :func:`clip_by_global_norm`.

    Examples
    --------
    >>> rows = framework_differences()
    >>> [r["case"] for r in rows][:2]
    ['norm exactly at threshold', 'norm just above']
    >>> rows[0]["pytorch"], rows[0]["optax"]
    ('scaled by 0.9999998', 'unchanged')
    """
    rows = []
    for case, grads, tau, note in _edge_cases():
        setup = "g = " + ", ".join("[" + ", ".join(exact_text(float(v)) for v in g) + "]" for g in grads)
        outcomes = {
            "pytorch": clip_grad_norm(grads, tau)[0],
            "keras_clipnorm": clip_by_norm_per_tensor(grads, tau),
            "keras_global_clipnorm": clip_by_global_norm(grads, tau, convention="keras"),
            "optax": clip_by_global_norm(grads, tau, convention="optax"),
        }
        row = {"case": case, "setup": f"{setup}; max_norm = {exact_text(tau)}"}
        row.update({key: _describe(grads, outcomes[key]) for key, _ in FRAMEWORK_CONVENTIONS})
        row["note"] = note
        rows.append(row)
    return rows
