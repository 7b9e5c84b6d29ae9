"""Simulator speed: single runs per method, and a 64 x 64 tau x lr sweep done three ways.
Prints; asserts nothing.

On the ``cliff`` landscape with plain SGD, 500 steps per run:

1. one run of :func:`gradclip.simulate` for every clipping method, at the defaults tau = 1,
   lr = 0.05: what the browser recomputes on each slider move (goals in CPython: norm and
   value <= 8 ms, the adaptive rules <= 15 ms; in Pyodide each NumPy call costs several
   times more). A single run of none, norm or value steps in Python floats; the adaptive
   rules take the R = 1 case of the vectorised loop;
2. the whole 64 x 64 grid (4,096 runs) of norm clipping as one :func:`gradclip.sweep` call;
3. the same runs one by one with :func:`gradclip.simulate` (its float path: the fastest
   single-run code the package has, so the ratio is vectorisation against the best loop);
4. the same runs one by one in PyTorch: a 2-element parameter tensor, ``backward()``,
   ``torch.nn.utils.clip_grad_norm_`` and an SGD update, with the same divergence check.

The one-by-one loops would take minutes, so they are timed on a random sample of grid cells
(``--sample``) and scaled to 4,096 runs; the output says so. Every figure is a median over
repeats, measured in this one process, with wall-clock and CPU time both shown (the machine
is shared, so CPU time is the steadier of the two). Goals: the sweep under 1 s and at least
50x faster than the one-by-one loop.

Usage: ``python bench/simulate.py [--repeats 5] [--sample 48] [--no-torch] [--single-only]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gradclip.landscapes import CLIFF_K, CLIFF_Q, LANDSCAPES  # noqa: E402
from gradclip.simulate import METHODS, simulate, sweep  # noqa: E402

STEPS = 500
TAUS = np.logspace(-2, 2, 64)
LRS = np.logspace(-3, 0, 64)
RUNS = TAUS.size * LRS.size
SINGLE_GOAL_MS = {"norm": 8.0, "value": 8.0, "none": 8.0}   # the adaptive rules: 15 ms


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Median wall-clock and CPU seconds of ``fn()`` over ``repeats`` calls, and its last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def per_run(fn, cells: list[tuple[float, float]]) -> tuple[float, float, list]:
    """Median wall and CPU seconds per run over the sampled cells, and each run's result."""
    walls, cpus, outs = [], [], []
    for tau, lr in cells:
        w, c = time.perf_counter(), time.process_time()
        outs.append(fn(tau, lr))
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), outs


def torch_run(tau: float, lr: float) -> int:
    """One cliff run in PyTorch; returns the step it diverged at (-1: it did not)."""
    import torch

    land = LANDSCAPES["cliff"]
    x0, x1, y0, y1 = land.bound
    p = torch.tensor(land.start, dtype=torch.float64, requires_grad=True)
    for t in range(STEPS):
        p.grad = None
        loss = torch.cosh(CLIFF_K * p[0]) - 1.0 + 0.5 * CLIFF_Q * p[1] ** 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p], tau)
        with torch.no_grad():
            p -= lr * p.grad
            x, y = p.tolist()
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return t + 1
    return -1


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:9.1f} ms" if seconds < 10 else f"{seconds:9.1f} s "


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="repeats of the timed calls")
    ap.add_argument("--sample", type=int, default=48, help="grid cells run one by one")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch loop")
    ap.add_argument("--single-only", action="store_true", help="only the single-run timings")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    picks = rng.choice(RUNS, size=min(args.sample, RUNS), replace=False)
    cells = [(float(TAUS[i // LRS.size]), float(LRS[i % LRS.size])) for i in picks]

    print(f"gradclip simulator benchmark: cliff, SGD, {STEPS} steps per run")
    single_repeats = max(args.repeats, 21)
    print(f"single runs, tau 1, lr 0.05: medians of {single_repeats} repeats")
    for method in METHODS:
        run = simulate("cliff", method, 1.0, 0.05, STEPS)  # warm-up: imports, caches
        w, c, _ = timed(lambda: simulate("cliff", method, 1.0, 0.05, STEPS), single_repeats)
        goal = SINGLE_GOAL_MS.get(method, 15.0)
        steps = run.summary.diverged_at or STEPS
        print(f"    {method:<9} wall {fmt(w)}   cpu {fmt(c)}   cpu / goal {c * 1e3 / goal:5.2f}"
              f"   ({steps} steps taken, {run.summary.clip_events} clipped)")
    if args.single_only:
        return

    print(f"\nnorm clipping: sweep grid {TAUS.size} x {LRS.size} = {RUNS:,} runs; "
          f"medians of {args.repeats} repeats")
    one_w, one_c, _ = timed(lambda: simulate("cliff", "norm", 1.0, 0.05, STEPS), single_repeats)
    print(f"one run (simulate)                     wall {fmt(one_w)}   cpu {fmt(one_c)}")

    sw_w, sw_c, grid = timed(lambda: sweep("cliff", "norm", TAUS, LRS, steps=STEPS), args.repeats)
    print(f"sweep, vectorised (one call)           wall {fmt(sw_w)}   cpu {fmt(sw_c)}")
    print(f"    outcomes: {grid.counts()}")

    lo_w, lo_c, outs = per_run(lambda tau, lr: simulate("cliff", "norm", tau, lr, STEPS), cells)
    print(f"sweep, one by one with simulate()      wall {fmt(lo_w * RUNS)}   cpu {fmt(lo_c * RUNS)}"
          f"   (median of {len(cells)} sampled runs x {RUNS:,})")

    th_w = th_c = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("sweep, one by one in PyTorch           skipped: torch is not installed")
        else:
            torch.set_num_threads(1)  # 2-element tensors: threads only add overhead
            torch_run(1.0, 0.05)      # warm-up
            th_w, th_c, touts = per_run(torch_run, cells)
            print(f"sweep, one by one in PyTorch {torch.__version__:<9} wall {fmt(th_w * RUNS)}   "
                  f"cpu {fmt(th_c * RUNS)}   (median of {len(cells)} sampled runs x {RUNS:,})")
            ours = [int(grid.diverged_at.ravel()[i]) for i in picks]
            same = sum(a == b for a, b in zip(ours, touts))
            print(f"    PyTorch and gradclip agree on the divergence step in {same} of {len(cells)} runs")

    same_loop = sum(int(r.summary.diverged_at or -1) == int(grid.diverged_at.ravel()[i])
                    for r, i in zip(outs, picks))
    print(f"    one-by-one and vectorised agree on the divergence step in {same_loop} of {len(cells)} runs")

    print("\nratios (time of the one-by-one loop / time of the vectorised sweep)")
    ratio = lo_c * RUNS / sw_c
    print(f"    simulate() one by one : wall {lo_w * RUNS / sw_w:8.0f}x   cpu {ratio:8.0f}x   "
          f"(goal >= 50x: {'met' if ratio >= 50 else 'missed'})")
    if th_w is not None:
        print(f"    PyTorch one by one    : wall {th_w * RUNS / sw_w:8.0f}x   cpu {th_c * RUNS / sw_c:8.0f}x")
    print(f"goal: sweep under 1 s -> wall {sw_w:.2f} s, cpu {sw_c:.2f} s: {'met' if sw_w < 1 else 'missed'}")


if __name__ == "__main__":
    main()
