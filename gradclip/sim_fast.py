"""The simulator's fast path: one run of a stateless method, stepped in Python floats.

The browser's case: one run, recomputed on every slider move. On ``(1, 2)`` arrays each step
is a dozen NumPy calls of a microsecond or more (several under WebAssembly), so one run steps
with Python floats instead. Each operation is the one the array loop
(:func:`gradclip.sim_loop.array_loop`, the reference) makes, in the same order: ``+ - * /``
and ``sqrt`` are correctly rounded in IEEE arithmetic, so Python and NumPy give the same bits;
the functions that are not (the landscape's ``sinh`` or ``tanh``, ``hypot``) are still
NumPy's, called on one float. Tests compare every field of both paths bit for bit.

Examples
--------
>>> from gradclip.landscapes import get_landscape
>>> land = get_landscape("cliff")
>>> one_run(land, "norm", 1.0, 0.05, 20, "sgd", np.array(land.start), 0).diverged_at.tolist()
[-1]
"""

from __future__ import annotations

import numpy as np

from gradclip.landscapes import Landscape
from gradclip.optim import float_stepper
from gradclip.sim_clip import float_clipper
from gradclip.sim_loop import Trace, bad_batches, edge_points

__all__ = ["one_run"]


def one_run(land: Landscape, method: str, tau: float, lr: float, steps: int, optimizer: str,
            start: np.ndarray, seed: int) -> Trace | None:
    """:func:`gradclip.sim_loop.array_loop` for one run of a method in
    :data:`gradclip.sim_clip.FLOAT_METHODS`, stepping in Python floats (None: rerun eagerly).

    The same results, bit for bit, as the array loop (the tests compare them). The
    landscape's ``grad_fn`` is called on two floats (0-d inputs); the raw and clipped norms
    and the losses are computed after the loop, in one NumPy call each, and the bound is
    checked at every step (a comparison of floats costs less than collecting blocks).
    """
    grad_fn = land.grad_fn
    x0, x1, y0, y1 = land.bound
    clip = float_clipper(method, tau)
    move = float_stepper(optimizer, lr)
    bad = bad_batches(land, seed, steps)
    nx, ny = (None, None) if bad is None else (bad[0].tolist(), bad[1].tolist())

    x, y = float(start[0]), float(start[1])
    xs, ys, gxs, gys = [x], [y], [], []
    clip_steps, cxs, cys = [], [], []
    div_at = -1
    for t in range(steps):
        gx, gy = grad_fn(x, y)
        gx, gy = float(gx), float(gy)
        if nx is not None:
            gx, gy = gx + nx[t], gy + ny[t]
        gxs.append(gx)
        gys.append(gy)
        cx, cy, clipped = clip(gx, gy)
        if clipped:
            clip_steps.append(t)
            cxs.append(cx)
            cys.append(cy)
        dx, dy = move(t + 1, cx, cy)
        qx, qy = x - dx, y - dy
        if not (x0 <= qx <= x1 and y0 <= qy <= y1):   # out, or NaN: stop at the edge
            edge = edge_points(np.array([[x, y]]), np.array([[qx, qy]]), land.bound)
            qx, qy = edge[0].tolist()
            div_at = t + 1
            xs.append(qx)
            ys.append(qy)
            break
        x, y = qx, qy
        xs.append(x)
        ys.append(y)

    return _record(land, steps, (xs, ys), (gxs, gys), (clip_steps, cxs, cys), div_at)


def _record(land: Landscape, steps: int, walked: tuple[list, list], grads: tuple[list, list],
            clips: tuple[list, list, list], div_at: int) -> Trace | None:
    """The float path's lists as a :class:`Trace`; the norms and losses in one NumPy call
    each. None when a step taken inside the bound has a non-finite loss (see array_loop)."""
    xs, ys = walked
    clip_steps, cxs, cys = clips
    taken = len(grads[0])
    pos = np.full((steps + 1, 1, 2), np.nan)
    pos[: taken + 1, 0, 0] = xs
    pos[: taken + 1, 0, 1] = ys
    loss = np.full((steps + 1, 1), np.nan)
    done = pos[: taken + 1]
    loss[: taken + 1] = land.value_fn(done[..., 0], done[..., 1])
    checked = loss[1: taken + 1 if div_at < 0 else div_at]
    if np.count_nonzero(~np.isfinite(checked)):
        return None
    raw = np.full((steps, 1), np.nan)
    raw[:taken, 0] = np.hypot(*grads)
    clipn = raw.copy()   # an unclipped step keeps its raw norm
    mask = np.zeros((steps, 1), dtype=bool)
    if clip_steps:
        clipn[clip_steps, 0] = np.hypot(cxs, cys)
        mask[clip_steps, 0] = True
    return Trace(pos, loss, raw, clipn, mask, np.array([div_at], dtype=np.int64))
