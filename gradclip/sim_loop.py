"""The simulator's array loop: many runs stepped together, in three parts.

* :func:`array_loop`, the step loop: gradient, clipping (:mod:`gradclip.sim_clip`), optimiser
  (:class:`gradclip.optim.ArrayStepper`);
* :class:`Watch`, the boundary rule: a run diverges at the first step that takes it out of the
  landscape's bound (or, checked eagerly, to a non-finite loss) and stops at the point where
  that step crosses the edge (:func:`edge_points`); ``diverged_at`` is the steps taken;
* :class:`Recorder`, the recording: history in lists during the loop, arrays after it, and
  everything after each run's divergence blanked to NaN. The result is a :class:`Trace`.

The browser recomputes a run on every slider move, and in WebAssembly each NumPy call on a
tiny array costs microseconds, so the loop makes few calls per step: arguments are checked
once (in :func:`gradclip.simulate.simulate_batch`); "did anything happen" questions are
answered by comparing a boolean array's bytes or a Python counter rather than
``.any()``/``.all()`` (a reduction costs several ufunc calls). Every such shortcut keeps each
run's numbers bit for bit (the tests compare them with the plain computation). Two of them
skip work outright:

* The loss feeds nothing but the divergence check, so it is computed after the loop in one
  call (:meth:`Recorder.finish`); if it is non-finite at a step taken inside the bound (a
  landscape infinite inside its own bound) the loop returns None and the caller runs it again
  with ``eager_loss=True``, which computes and checks the loss at every step.
* A single run (``R = 1``) checks its bound every :data:`CHECK_EVERY` steps, on all the new
  positions at once. Nothing computed after it left can change what came before, so the steps
  after the exit are dropped and the exit is handled as the plain check handles it. (In a
  batch, a run that left stays at its edge point and takes part in later steps, so batches
  check every step.)

Examples
--------
>>> import numpy as np
>>> from gradclip.landscapes import get_landscape
>>> land = get_landscape("cliff")
>>> trace = array_loop(land, np.array(["none", "norm"]), np.ones(2), np.full(2, 0.05), 50,
...                    "sgd", np.array(land.start), 0)
>>> trace.diverged_at.tolist()
[1, -1]
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from gradclip.landscapes import Landscape
from gradclip.optim import ArrayStepper
from gradclip.sim_clip import batch_clipper, row_norms

__all__ = ["SIM_MAX_STEPS", "CHECK_EVERY", "Trace", "Watch", "Recorder", "array_loop", "edge_points", "bad_batches"]

SIM_MAX_STEPS = 2000  # the longest simulated run (bad batches are always drawn this long)
CHECK_EVERY = 32      # a single run of array_loop checks its bound every this many steps


@dataclass
class Trace:
    """One simulation of ``R`` runs, time-major; ``diverged_at`` is ``-1`` for a run that did not.

    ``positions`` ``(steps + 1, R, 2)``, ``losses`` ``(steps + 1, R)``, ``raw_norms``,
    ``clipped_norms`` ``(steps, R)``, ``clipped`` ``(steps, R)`` bool, ``diverged_at`` ``(R,)``.
    """

    positions: np.ndarray
    losses: np.ndarray
    raw_norms: np.ndarray
    clipped_norms: np.ndarray
    clipped: np.ndarray
    diverged_at: np.ndarray


def edge_points(p: np.ndarray, q: np.ndarray, bound: tuple[float, float, float, float]) -> np.ndarray:
    """Where the segment from ``p`` (inside) towards ``q`` leaves the box (``q`` if it does not)."""
    d = np.nan_to_num(q - p, nan=0.0, posinf=1e300, neginf=-1e300)
    lo = np.array([bound[0], bound[2]])
    hi = np.array([bound[1], bound[3]])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(d > 0, (hi - p) / d, np.where(d < 0, (lo - p) / d, np.inf))
    s = np.clip(s.min(axis=1), 0.0, 1.0)
    return p + s[:, None] * d


def bad_batches(land: Landscape, seed: int, steps: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The gradient noise ``(nx, ny)`` of the first ``steps`` steps, or None (no noise).

    One draw for a whole batch, so every run meets the same bad batches; always
    :data:`SIM_MAX_STEPS` long, so a longer or shorter run meets them at the same steps.
    """
    if land.noise_fn is None:
        return None
    nx, ny = land.noise_fn(np.random.default_rng(seed), (SIM_MAX_STEPS,))
    return nx[:steps], ny[:steps]


class Watch:
    """The boundary rule for ``R`` runs: which runs are out, and where each one stops.

    With ``value_fn`` (the eager check) a step to a non-finite loss counts as leaving too,
    and ``losses`` collects the loss at every step. A run that left stays at its edge point
    and takes part in later steps with finite arithmetic.
    """

    def __init__(self, bound: tuple[float, float, float, float], R: int, value_fn=None):
        x0, x1, y0, y1 = bound
        self.bound = bound
        self.lo = np.tile([x0, y0], (R, 1)).astype(float)
        self.hi = np.tile([x1, y1], (R, 1)).astype(float)
        self.symmetric = x0 == -x1 and y0 == -y1   # then |q| <= hi is lo <= q <= hi
        self.value_fn = value_fn
        self.losses: list[np.ndarray] | None = None
        self.div_at = np.full(R, -1, dtype=np.int64)
        self.live = R             # runs still going (a count: no per-step .any())
        self.gone: np.ndarray | None = None
        # "all True" for a boolean array a is a.tobytes() == ones: far cheaper than a.all()
        self.ones_r, self.ones_2r = b"\x01" * R, b"\x01" * (2 * R)

    def inside(self, q: np.ndarray) -> np.ndarray:
        """Where q (rows of points) is in the bound; NaN fails every comparison, so is out."""
        return np.abs(q) <= self.hi if self.symmetric else (q >= self.lo) & (q <= self.hi)

    def first_exit(self, block: np.ndarray) -> int | None:
        """The index of the first point of ``block`` (rows of one run) outside, or None."""
        ok = self.inside(block)
        if ok.tobytes() == b"\x01" * ok.size:
            return None
        return int(np.flatnonzero(~(ok[:, 0] & ok[:, 1]))[0])

    def check(self, P: np.ndarray, Q: np.ndarray) -> np.ndarray | None:
        """The rows whose step ``P -> Q`` left (an array), or None when every run is fine."""
        ok = self.inside(Q)
        eager = self.value_fn is not None
        if eager:
            self.loss = self.value_fn(Q[:, 0], Q[:, 1])
            self.losses.append(self.loss)
            finite = np.isfinite(self.loss)
        if self.gone is not None:
            Q[self.gone] = P[self.gone]   # a diverged run stays at its edge point
            ok[self.gone] = True
            if eager:
                finite[self.gone] = True
        # one test for the whole batch; only a step where some run leaves looks at rows
        if ok.tobytes() == self.ones_2r and (not eager or finite.tobytes() == self.ones_r):
            return None
        ok = ok[:, 0] & ok[:, 1]
        if eager:
            ok &= finite
        return np.flatnonzero(~ok)

    def stop(self, rows: np.ndarray, before: np.ndarray, Q: np.ndarray, t: int) -> None:
        """Step ``t`` took ``rows`` out: each stops where its step crosses the edge (in ``Q``)."""
        edge = edge_points(before[rows], Q[rows], self.bound)
        Q[rows] = edge
        if self.value_fn is not None:
            self.loss[rows] = self.value_fn(edge[:, 0], edge[:, 1])
        self.div_at[rows] = t + 1
        self.live -= rows.size
        self.gone = self.div_at >= 0


class Recorder:
    """A loop's history: appended to lists during the loop (an append is far cheaper than
    writing a row of an array), copied into arrays by :meth:`flush` and :meth:`finish`.
    An array appended is not changed afterwards, except a position whose step left the
    bound (it becomes the edge point)."""

    def __init__(self, steps: int, P: np.ndarray, loss0: np.ndarray | None):
        self.steps, self.R = steps, P.shape[0]
        self.pos = np.full((steps + 1, self.R, 2), np.nan)
        self.pos_t, self.raw_t = [P], []
        self.flushed = 0          # pos_t[:flushed] are copied into pos
        self.loss_t = None if loss0 is None else [loss0]
        # steps where something was clipped, the clipped gradients and the clip masks
        self.clip_steps: list[int] = []
        self.clip_gc: list[np.ndarray] = []
        self.clip_over: list[np.ndarray] = []

    def clipped(self, t: int, gc: np.ndarray, over: np.ndarray) -> None:
        self.clip_steps.append(t)
        self.clip_gc.append(gc)
        self.clip_over.append(over)

    def flush(self) -> tuple[int, np.ndarray]:
        """Copy the positions not yet copied; returns the first one's index and them (a view)."""
        first, self.flushed = self.flushed, len(self.pos_t)
        block = self.pos[first:self.flushed].reshape(-1, 2)   # a view: pos is C-contiguous
        np.concatenate(self.pos_t[first:], out=block)
        return first, block

    def rewind(self, s: int) -> None:
        """Forget everything after position ``s`` (the steps after a run's exit at step ``s``)."""
        del self.pos_t[s + 1:], self.raw_t[s:]
        kept = bisect.bisect_left(self.clip_steps, s)
        del self.clip_steps[kept:], self.clip_gc[kept:], self.clip_over[kept:]
        self.pos[s:] = np.nan
        self.flushed = s

    def finish(self, value_fn, div_at: np.ndarray) -> Trace | None:
        """The arrays, blanked after each run's divergence; None if a loss computed after the
        loop is non-finite at a step that was taken inside the bound (then the loop must run
        again with the loss checked at every step)."""
        steps, R, pos, taken = self.steps, self.R, self.pos, len(self.raw_t)
        if self.flushed < len(self.pos_t):
            self.flush()
        gone = div_at >= 0
        some_gone = bool(np.count_nonzero(gone))
        loss = np.full((steps + 1, R), np.nan)
        if self.loss_t is not None:
            np.concatenate(self.loss_t, out=loss[: taken + 1].reshape(-1))
        else:
            walked = pos[: taken + 1]
            loss[: taken + 1] = value_fn(walked[..., 0], walked[..., 1])
            # the steps to check are those before each run's divergence (1 .. diverged_at - 1)
            unchecked = ~np.isfinite(loss[1: taken + 1])
            if np.count_nonzero(unchecked) and some_gone:
                unchecked &= ~(gone & (np.arange(1, taken + 1)[:, None] >= div_at))
            if np.count_nonzero(unchecked):
                return None
        # (concatenate, not stack: stack would index every array once more to add an axis)
        raw = np.full((steps, R), np.nan)
        np.concatenate(self.raw_t, out=raw[:taken].reshape(-1))
        clipn = raw.copy()   # an unclipped row keeps its raw norm
        mask = np.zeros((steps, R), dtype=bool)
        if self.clip_steps:
            clipn[self.clip_steps] = row_norms(np.concatenate(self.clip_gc)).reshape(-1, R)
            mask[self.clip_steps] = np.concatenate(self.clip_over).reshape(-1, R)
        trace = Trace(pos, loss, raw, clipn, mask, div_at)
        if some_gone:
            _blank_after_divergence(trace, gone)
        return trace


def _blank_after_divergence(trace: Trace, gone: np.ndarray) -> None:
    """NaN (False for the mask) everywhere after each run's divergence, in one go."""
    div_at = trace.diverged_at
    tt = np.arange(trace.losses.shape[0])[:, None]
    after = gone & (tt > div_at)                  # (steps + 1, R): positions past the edge
    trace.positions[after] = np.nan
    trace.losses[after] = np.nan
    stepped = gone & (tt[:-1] >= div_at)          # steps never taken
    trace.raw_norms[stepped] = np.nan
    trace.clipped_norms[stepped] = np.nan
    trace.clipped[stepped] = False


def array_loop(land: Landscape, methods: np.ndarray, tau: np.ndarray, lr: np.ndarray, steps: int,
               optimizer: str, start: np.ndarray, seed: int, eager_loss: bool = False) -> Trace | None:
    """Step ``R`` runs together (``methods``, ``tau``, ``lr`` one per run); None: rerun eagerly.

    The losses are computed after the loop unless ``eager_loss``, and a single run checks its
    bound in blocks of :data:`CHECK_EVERY` steps (see the module docstring). Call with
    floating-point errors ignored (``simulate_batch`` does).
    """
    R = tau.shape[0]
    grad_fn, value_fn = land.grad_fn, land.value_fn
    P = np.repeat(start[None, :], R, axis=0)
    # per-run rates at the full (R, 2) shape: an operation between arrays of one shape takes
    # NumPy's fast path, one that broadcasts costs about twice as much
    stepper = ArrayStepper(optimizer, np.repeat(lr[:, None], 2, axis=1), (R, 2))
    clip = batch_clipper(methods, tau, steps)
    bad = bad_batches(land, seed, steps)
    noise = None if bad is None else np.stack(bad, axis=-1)
    watch = Watch(land.bound, R, value_fn if eager_loss else None)
    rec = Recorder(steps, P, value_fn(P[:, 0], P[:, 1]) if eager_loss else None)
    watch.losses = rec.loss_t
    pos_t, note_raw = rec.pos_t, rec.raw_t.append
    in_blocks = R == 1 and not eager_loss
    g = np.empty((R, 2))
    gx, gy = g[:, 0], g[:, 1]   # views, made once: g is refilled in place every step
    X, Y = P[:, 0], P[:, 1]
    for t in range(steps):
        gx[...], gy[...] = grad_fn(X, Y)
        if noise is not None:
            g += noise[t]
        n = np.hypot(gx, gy)
        note_raw(n)
        gc, over = clip(t, g, n, P)
        if over is not None:   # (gc is then a new array, never changed later)
            rec.clipped(t, gc, over)
        Q = P - stepper.step(gc, t + 1)
        pos_t.append(Q)
        if in_blocks:
            P, X, Y = Q, Q[:, 0], Q[:, 1]
            if len(pos_t) - rec.flushed < CHECK_EVERY and t + 1 < steps:
                continue
            first, block = rec.flush()
            out = watch.first_exit(block)
            if out is None:
                continue
            s = first + out                 # the run left at step s: handle it as below
            rec.rewind(s)
            t, before, Q, rows = s - 1, pos_t[s - 1], pos_t[s], np.zeros(1, dtype=np.int64)
        else:
            rows = watch.check(P, Q)
            if rows is None:
                P, X, Y = Q, Q[:, 0], Q[:, 1]
                continue
            before = P
        watch.stop(rows, before, Q, t)
        if not watch.live:
            break
        P, X, Y = Q, Q[:, 0], Q[:, 1]
    return rec.finish(value_fn, watch.div_at)
