"""What a reader would type: the two example tensors, calls of the clipping API, literals.

The framework and API demos show the same two small gradient tensors going through each
clipping function, with the call written out as Python. These functions build those tensors
from the demo's parameters, make the call, and write tensors and numbers as code.

>>> code, out, note = api_call("clip_grad_value", [np.array([3.0, -4.0]), np.array([0.5, 0.5])], 1.0)
>>> code, tensors_text(out)
('gradclip.clip_grad_value([np.array([3, -4]), np.array([0.5, 0.5])], 1.0)', '[1, -1]  [0.5, 0.5]')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradclip.adaptive import adaptive_grad_clip
from gradclip.clipping import (clip_by_global_norm, clip_by_norm, clip_by_norm_per_tensor, clip_by_value,
                               clip_grad_norm, clip_grad_value)
from gradclip.figures.numbers import exact_text, fmt_number

__all__ = ["tensors_text", "two_tensors", "python_literal", "API_FUNCTIONS", "AGC_PARAMS", "api_call"]


def tensors_text(arrays: list[np.ndarray]) -> str:
    """Tensors as a reader would type them: ``[3, 4]  [0.3, 0.4]`` (4 significant digits).

    >>> tensors_text([np.array([3.0, 4.0]), np.array([np.inf, 0.25])])
    '[3, 4]  [inf, 0.25]'
    """
    return "  ".join("[" + ", ".join(exact_text(float(v), 4) for v in a.ravel()) + "]" for a in arrays)


def two_tensors(p: dict[str, Any]) -> list[np.ndarray]:
    g1 = np.array([float(p["g1a"]), float(p["g1b"])])
    g2 = np.array([float(p["g2a"]), float(p["g2b"])])
    special = p.get("special", "none")
    if special == "inf":
        g1[0] = np.inf
    elif special == "nan":
        g1[0] = np.nan
    return [g1, g2]


def python_literal(x: float) -> str:
    """A float as a short Python literal (4 significant digits).

    >>> python_literal(0.123456), python_literal(2.0)
    ('0.1235', '2.0')
    """
    return repr(float(f"{x:.4g}"))


# The parameters AGC compares against: one weight tensor per gradient tensor.
AGC_PARAMS = [np.array([1.0, -2.0]), np.array([0.5, 0.5])]

API_FUNCTIONS = (
    ("clip_by_norm", "clip_by_norm(g, tau)"),
    ("clip_by_value", "clip_by_value(g, tau)"),
    ("clip_grad_norm", "clip_grad_norm(grads, tau)"),
    ("clip_grad_value", "clip_grad_value(grads, tau)"),
    ("clip_by_norm_per_tensor", "clip_by_norm_per_tensor(grads, tau)"),
    ("clip_by_global_norm", "clip_by_global_norm(grads, tau)"),
    ("adaptive_grad_clip", "adaptive_grad_clip(grads, params, tau)"),
)


def api_call(name: str, grads: list[np.ndarray], tau: float) -> tuple[str, list[np.ndarray], str]:
    """(code, returned arrays, note) for one API function on the two tensors."""
    t = python_literal(tau)
    g = "[" + ", ".join("np.array([" + ", ".join(f"{v:.4g}" for v in a) + "])" for a in grads) + "]"
    if name == "clip_by_norm":
        flat = np.concatenate(grads)
        out = clip_by_norm(flat, tau)
        return f"gradclip.clip_by_norm(np.concatenate({g}), {t})", np.split(out, [2]), "one vector"
    if name == "clip_by_value":
        flat = np.concatenate(grads)
        out = clip_by_value(flat, tau)
        return f"gradclip.clip_by_value(np.concatenate({g}), {t})", np.split(out, [2]), "one vector"
    if name == "clip_grad_norm":
        out, total = clip_grad_norm(grads, tau)
        return (f"clipped, total = gradclip.clip_grad_norm({g}, {t})", out,
                f"total = {fmt_number(float(total))}")
    if name == "clip_grad_value":
        return f"gradclip.clip_grad_value({g}, {t})", clip_grad_value(grads, tau), ""
    if name == "clip_by_norm_per_tensor":
        return f"gradclip.clip_by_norm_per_tensor({g}, {t})", clip_by_norm_per_tensor(grads, tau), ""
    if name == "clip_by_global_norm":
        return f"gradclip.clip_by_global_norm({g}, {t})", clip_by_global_norm(grads, tau), ""
    params = "[np.array([1.0, -2.0]), np.array([0.5, 0.5])]"
    out = adaptive_grad_clip(grads, AGC_PARAMS, clipping=tau)
    return f"gradclip.adaptive_grad_clip({g}, {params}, clipping={t})", list(out), "clipping = τ"
