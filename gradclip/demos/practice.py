"""Demos for the practice pages: where clipping is used, its pitfalls, and the guides.

Every number shown comes from the package: the runs from :func:`gradclip.simulate_batch`,
the clipping from :mod:`gradclip.clipping`, the thresholds from :mod:`gradclip.adaptive`.
The few inputs that are not a landscape (the gradients of a toy transformer, a chain of
recurrent Jacobians, a log of gradient norms) are made by the small pure functions at the
top of this module, so tests can check them on their own. The trajectory, loss and norm
figures reuse the simulator's drawing functions, so a run looks the same on every page.
The inputs are made in :mod:`gradclip.demos.practice_inputs`; the figures of the sweeps and
the framework comparison in :mod:`gradclip.demos.practice_figures`.

Demos registered here:

``rnn_clip_run``            the one-unit RNN of Pascanu et al. trained with and without clipping
``transformer_tensors``     global-norm clipping over the tensors of a toy transformer, with spikes
``policy_gradient_spikes``  rare huge gradient estimates (a policy-gradient stand-in), clipped or not
``step_limiter``            norm clipping as a crude step limit on the Rosenbrock function
``vanishing_not_fixed``     a vanishing backpropagated gradient: clipping never enlarges it
``tau_too_small``           final loss against the threshold: too small a tau crawls
``lr_not_safe``             final loss against the learning rate, clipped and not
``clip_event_reader``       how to read clip events, streaks and the raw norm of one run
``sustained_norms``         a norm log with a lasting level shift: a fixed tau clips every step
``framework_compare``       PyTorch, Keras and optax clipping of the same two tensors
``python_call``             one :func:`gradclip.simulate` call, its Python and CLI spelling
``api_clip``                one call of a clipping function from the API reference
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradclip.adaptive import autoclip_threshold, zclip_series
from gradclip.clipping import (NonFiniteNormError, clip_by_global_norm, clip_by_norm,
                               clip_by_norm_per_tensor, clip_grad_norm, clip_grad_value, global_norm)
from gradclip.demos import DemoOutput, DemoSpec, Param, register, result
from gradclip.demos.practice_calls import API_FUNCTIONS, api_call, python_literal, tensors_text, two_tensors
from gradclip.demos.practice_figures import (CALIBRATION, LR_GRID, TAU_GRID, clip_events_figure, excess,
                                             framework_bars_figure,
                                             lr_sweep_figure, norm_log_figures, norm_series_figure,
                                             tau_sweep_figure, tensor_bars_figure, vanishing_figure)
from gradclip.demos.practice_inputs import (TRANSFORMER_TENSORS, ToyGradients, max_step,  # noqa: F401 - re-exported
                                            backprop_chain, longest_streak, step_lengths,
                                            synthetic_norm_log, toy_transformer_gradients)
from gradclip.demos.run_figures import (METHOD_COLORS, contour_figure, loss_figure, norm_figure,
                                        start_point, summary_results)
from gradclip.demos.teaching_theory import angle_degrees
from gradclip.figures.numbers import count_share_text, fmt_number
from gradclip.landscapes import LANDSCAPES
from gradclip.methods import CLIP_METHODS
from gradclip.simulate import METHODS, OPTIMIZERS, Run, simulate, simulate_batch

__all__ = [
    "ToyGradients", "toy_transformer_gradients", "backprop_chain", "synthetic_norm_log",
    "longest_streak", "step_lengths", "TRANSFORMER_TENSORS", "TAU_GRID", "LR_GRID",
]


def _verdict(run: Run) -> dict[str, str]:
    return summary_results(run)["verdict"]


# ---------------------------------------------------------------------------------------
# Where clipping is used


RNN_START = (5.5, -4.75)   # next to the cliff: a plain step from here lands on the wall


def _compute_rnn(p: dict[str, Any]) -> DemoOutput:
    land = LANDSCAPES["pascanu_rnn"]
    start, notices = start_point(land, p["px"], p["py"])
    tau, lr = float(p["tau"]), float(p["lr"])
    runs = simulate_batch(land.name, ["norm", "none"], tau=tau, lr=lr, steps=int(p["steps"]),
                          start=start).runs()
    clipped, plain = runs
    figures = {
        "surface": contour_figure(land, runs, compare=True, handle=start).to_dict(),
        "loss": loss_figure(runs, compare=True).to_dict(),
        "norm": norm_figure(runs, tau, compare=True).to_dict(),
    }
    long_plain, long_clip = max_step(plain.positions), max_step(clipped.positions)
    results = {
        "verdict_none": _verdict(plain),
        "verdict_norm": _verdict(clipped),
        "max_norm_none": result(float(plain.summary.max_raw_norm)),
        "step_none": result(long_plain),
        "step_norm": result(long_clip, f"{fmt_number(long_clip)} (cap η·τ = {fmt_number(lr * tau)})"),
        "clip_events": result(int(clipped.summary.clip_events),
                              count_share_text(int(clipped.summary.clip_events), int(clipped.steps))),
    }
    desc = (f"One-unit recurrent net from ({fmt_number(start[0])}, {fmt_number(start[1])}): without "
            f"clipping the longest step is {fmt_number(long_plain)} and the run "
            f"{'diverges' if plain.summary.diverged else 'survives'}; with norm clipping at "
            f"τ = {fmt_number(tau)} no step is longer than {fmt_number(long_clip)}.")
    return DemoOutput(figures=figures, results=results, description=desc,
                      extra={"notices": notices})


register(DemoSpec(
    name="rnn_clip_run",
    title="Training the one-unit recurrent net, with and without clipping",
    params=(
        Param("tau", "float", 1.0, "Clip threshold τ", min=0.1, max=10.0, log=True),
        Param("lr", "float", 0.05, "Learning rate η", min=0.005, max=0.5, log=True),
        Param("steps", "int", 80, "Training steps", min=20, max=300, step=1),
        Param("px", "hidden", RNN_START[0], "Start w"),
        Param("py", "hidden", RNN_START[1], "Start b"),
    ),
    compute=_compute_rnn,
    results=(("verdict_none", "Without clipping"), ("verdict_norm", "Clipped by norm"),
             ("max_norm_none", "Largest raw norm, unclipped run"),
             ("step_none", "Longest step, unclipped"), ("step_norm", "Longest step, clipped"),
             ("clip_events", "Clip events")),
    figures=(("surface", "Loss of the one-unit RNN over its weight w and bias b; drag the start."),
             ("loss", "Loss per step, both runs."),
             ("norm", "Raw gradient norm per step; the red line is τ.")),
))


_TENSOR_CHOICES = (("random", "a random tensor"),) + tuple(
    (name, name) for name, _, _ in TRANSFORMER_TENSORS)


def _degrees(a: float) -> str:
    """An angle for people; below 0.001 degrees it is rounding noise, shown as 0."""
    return "0°" if a < 1e-3 else f"{a:.3g}°"


def _compute_transformer(p: dict[str, Any]) -> DemoOutput:
    tau = float(p["tau"])
    names = [n for n, _, _ in TRANSFORMER_TENSORS]
    which = None if p["tensor"] == "random" else names.index(p["tensor"])
    toy = toy_transformer_gradients(300, spike=float(p["spike"]), spike_rate=float(p["rate"]),
                                    spike_tensor=which, seed=int(p["seed"]))
    flat = toy.flat()
    # Global-norm clipping of every step at once: one norm per row, the textbook rule.
    raw = np.sqrt((flat * flat).sum(axis=1))
    clipped_rows = clip_by_norm(flat, tau, axis=-1)
    after = np.sqrt((clipped_rows * clipped_rows).sum(axis=1))
    was_clipped = raw > tau
    steps = toy.steps
    x = np.arange(steps)
    series = norm_series_figure(raw, after, tau)

    k = int(np.argmax(raw))
    step_grads = toy.at(k)
    global_out, total = clip_grad_norm(step_grads, tau)          # PyTorch clip_grad_norm_
    per_out = clip_by_norm_per_tensor(step_grads, tau)           # Keras clipnorm
    series.marker(k, float(raw[k]), shape="circle", color="fg", size=5, label=f"largest, step {k}")
    n_raw = np.array([global_norm([g]) for g in step_grads])
    n_glob = np.array([global_norm([g]) for g in global_out])
    n_per = np.array([global_norm([g]) for g in per_out])
    bars = tensor_bars_figure(names, n_raw, n_glob, n_per, tau, k)

    raw_vec = np.concatenate(step_grads)
    ang_per = angle_degrees(np.concatenate(per_out), raw_vec, decimals=6)
    ang_glob = angle_degrees(np.concatenate(global_out), raw_vec, decimals=6)
    late = x >= 100
    results = {
        "clipped": result(int(was_clipped.sum()), count_share_text(int(was_clipped.sum()), steps)),
        "clipped_late": result(int(was_clipped[late].sum()),
                               count_share_text(int(was_clipped[late].sum()), int(late.sum()))),
        "max_norm": result(float(total), f"{fmt_number(float(total))} at step {k}"),
        "coef": result(float(n_glob.sum() / n_raw.sum()) if n_raw.sum() else 1.0),
        "angle_global": result(ang_glob, _degrees(ang_glob)),
        "angle_per": result(ang_per, _degrees(ang_per)),
    }
    desc = (f"Toy transformer, 300 steps, threshold {fmt_number(tau)}: {int(was_clipped.sum())} steps "
            f"clipped, {int(was_clipped[late].sum())} of them after step 100. At the largest step "
            f"per-tensor clipping turns the update by {ang_per:.3g} degrees; global clipping does not turn it.")
    return DemoOutput(figures={"series": series.to_dict(), "spike": bars.to_dict()},
                      results=results, description=desc)


register(DemoSpec(
    name="transformer_tensors",
    title="Global-norm clipping in a toy transformer",
    params=(
        Param("tau", "float", 1.0, "Clip threshold τ (global norm)", min=0.05, max=20.0, log=True),
        Param("spike", "float", 50.0, "Spike size (× usual norm)", min=1.0, max=1000.0, log=True),
        Param("rate", "float", 0.02, "Spike rate (per step)", min=0.0, max=0.1),
        Param("tensor", "choice", "mlp.2", "Spiking tensor", choices=_TENSOR_CHOICES),
        Param("seed", "int", 0, "Random seed", min=0, max=999, step=1),
    ),
    compute=_compute_transformer,
    results=(("clipped", "Steps clipped"), ("clipped_late", "Clipped after step 100"),
             ("max_norm", "Largest global norm"), ("coef", "Scale factor at that step"),
             ("angle_global", "Turn of the update, global"),
             ("angle_per", "Turn of the update, per tensor")),
    figures=(("series", "Global gradient norm per step, before and after clipping."),
             ("spike", "At the largest step: each tensor's norm raw, globally clipped, clipped alone.")),
))


def _compute_policy(p: dict[str, Any]) -> DemoOutput:
    land = LANDSCAPES["spiky"]
    tau, steps, seed = float(p["tau"]), int(p["steps"]), int(p["seed"])
    runs = simulate_batch(land.name, ["norm", "none"], tau=tau, lr=float(p["lr"]), steps=steps,
                          seed=seed).runs()
    clipped, plain = runs
    # The same draw the simulator makes for this seed: how many bad batches the runs met.
    nx, ny = land.noise_fn(np.random.default_rng(seed), (steps,))
    bad = int(np.count_nonzero(np.hypot(nx, ny)))
    results = {
        "bad_batches": result(bad, f"{bad} of {steps} steps"),
        "verdict_none": _verdict(plain),
        "verdict_norm": _verdict(clipped),
        "final_none": summary_results(plain)["final_loss"],
        "final_norm": summary_results(clipped)["final_loss"],
        "clip_events": result(int(clipped.summary.clip_events),
                              count_share_text(int(clipped.summary.clip_events), steps)),
    }
    desc = (f"Bowl with {bad} bad batches in {steps} steps: without clipping the final loss is "
            f"{results['final_none']['text']}, with norm clipping at τ = {fmt_number(tau)} it is "
            f"{results['final_norm']['text']}.")
    return DemoOutput(figures={"loss": loss_figure(runs, compare=True).to_dict(),
                               "norm": norm_figure(runs, tau, compare=True).to_dict()},
                      results=results, description=desc)


register(DemoSpec(
    name="policy_gradient_spikes",
    title="Rare huge gradient estimates, clipped and not",
    params=(
        Param("tau", "float", 0.5, "Clip threshold τ", min=0.1, max=10.0, log=True),
        Param("lr", "float", 0.1, "Learning rate η", min=0.01, max=0.5, log=True),
        Param("steps", "int", 200, "Steps", min=50, max=1000, step=1),
        Param("seed", "int", 0, "Seed of the bad batches", min=0, max=999, step=1),
    ),
    compute=_compute_policy,
    results=(("bad_batches", "Bad batches met"), ("verdict_none", "Without clipping"),
             ("verdict_norm", "Clipped by norm"), ("final_none", "Final loss, unclipped"),
             ("final_norm", "Final loss, clipped"), ("clip_events", "Clip events")),
    figures=(("loss", "Loss per step, both runs (log scale)."),
             ("norm", "Raw gradient norm per step; the red line is τ.")),
))


def _compute_step_limiter(p: dict[str, Any]) -> DemoOutput:
    land = LANDSCAPES["rosenbrock"]
    start, notices = start_point(land, p["px"], p["py"])
    tau, lr = float(p["tau"]), float(p["lr"])
    runs = simulate_batch(land.name, ["norm", "none"], tau=tau, lr=lr, steps=int(p["steps"]),
                          start=start).runs()
    clipped, plain = runs
    long_plain, long_clip = max_step(plain.positions), max_step(clipped.positions)
    results = {
        "verdict_none": _verdict(plain),
        "verdict_norm": _verdict(clipped),
        "step_none": result(long_plain),
        "step_norm": result(long_clip),
        "cap": result(lr * tau),
        "final_norm": summary_results(clipped)["final_loss"],
    }
    desc = (f"Rosenbrock from ({fmt_number(start[0])}, {fmt_number(start[1])}) at learning rate "
            f"{fmt_number(lr)}: plain gradient descent's longest step is {fmt_number(long_plain)}; "
            f"with steps capped at {fmt_number(lr * tau)} the final loss is "
            f"{results['final_norm']['text']}.")
    return DemoOutput(figures={"path": contour_figure(land, runs, compare=True, handle=start).to_dict(),
                               "loss": loss_figure(runs, compare=True).to_dict()},
                      results=results, description=desc, extra={"notices": notices})


register(DemoSpec(
    name="step_limiter",
    title="Clipping as a step limit on the Rosenbrock function",
    params=(
        Param("tau", "float", 2.0, "Clip threshold τ", min=0.1, max=50.0, log=True),
        Param("lr", "float", 0.01, "Learning rate η", min=0.0005, max=0.05, log=True),
        Param("steps", "int", 300, "Steps", min=50, max=1000, step=1),
        Param("px", "hidden", LANDSCAPES["rosenbrock"].start[0], "Start x"),
        Param("py", "hidden", LANDSCAPES["rosenbrock"].start[1], "Start y"),
    ),
    compute=_compute_step_limiter,
    results=(("verdict_none", "Without clipping"), ("verdict_norm", "Clipped by norm"),
             ("step_none", "Longest step, unclipped"), ("step_norm", "Longest step, clipped"),
             ("cap", "Step cap η·τ"), ("final_norm", "Final loss, clipped")),
    figures=(("path", "Rosenbrock contours and both paths; drag the start."),
             ("loss", "Loss per step, both runs.")),
))


# ---------------------------------------------------------------------------------------
# Pitfalls


def _compute_vanishing(p: dict[str, Any]) -> DemoOutput:
    rho, length, tau = float(p["rho"]), int(p["length"]), float(p["tau"])
    G = backprop_chain(rho, length)
    raw = np.sqrt((G * G).sum(axis=1))
    C = clip_by_norm(G, tau, axis=-1)
    after = np.sqrt((C * C).sum(axis=1))
    acted = raw > tau
    fig = vanishing_figure(raw, after, tau, rho, length)
    ratio = float(after[-1] / raw[-1]) if raw[-1] > 0 else 1.0
    results = {
        "raw_last": result(float(raw[-1])),
        "clipped_last": result(float(after[-1])),
        "ratio": result(ratio, "unchanged (1)" if ratio == 1.0 else fmt_number(ratio)),
        "acted": result(int(acted.sum()), f"{int(acted.sum())} of {length + 1}"),
    }
    desc = (f"With ρ = {fmt_number(rho)} the gradient {length} steps back has norm "
            f"{fmt_number(float(raw[-1]))}; clipping at τ = {fmt_number(tau)} leaves "
            f"{fmt_number(float(after[-1]))}.")
    return DemoOutput(figures={"norms": fig.to_dict()}, results=results, description=desc)


register(DemoSpec(
    name="vanishing_not_fixed",
    title="Clipping and a vanishing gradient",
    params=(
        Param("rho", "float", 0.9, "Spectral radius ρ", min=0.5, max=1.5, step=0.01),
        Param("length", "int", 100, "Sequence length T", min=1, max=300, step=1),
        Param("tau", "float", 1.0, "Clip threshold τ", min=0.01, max=100.0, log=True),
    ),
    compute=_compute_vanishing,
    results=(("raw_last", "Norm T steps back, raw"), ("clipped_last", "… after clipping"),
             ("ratio", "Clipped ÷ raw"), ("acted", "Steps where clipping acted")),
    figures=(("norms", "Gradient norm against distance back in time, before and after clipping."),),
))


_SWEEP_LANDSCAPES = tuple((n, LANDSCAPES[n].title) for n in ("cliff", "ravine", "rosenbrock", "spiky"))


def _compute_tau_small(p: dict[str, Any]) -> DemoOutput:
    land = LANDSCAPES[p["landscape"]]
    tau, lr, steps = float(p["tau"]), float(p["lr"]), int(p["steps"])
    taus = np.r_[TAU_GRID, tau]
    batch = simulate_batch(land.name, "norm", tau=taus, lr=lr, steps=steps)
    ex = excess(batch.final_loss, land.min_value)
    grid_ex, grid_codes = ex[:-1], batch.codes[:-1]
    ok = np.isfinite(grid_ex)
    best = int(np.argmin(np.where(ok, grid_ex, np.inf))) if ok.any() else 0
    fig = tau_sweep_figure(land, ex, grid_codes, tau, steps, best)
    runs = [batch.run(len(taus) - 1), batch.run(best)]
    curves = loss_figure(runs, compare=False)
    # Two runs of the same method: relabel and recolour them by their threshold.
    lines = [it for it in curves.items if it["t"] == "line"]
    for it, color, label in zip(lines, ("s0", "ok"), (f"τ = {fmt_number(tau)} (yours)",
                                                     f"τ = {fmt_number(float(TAU_GRID[best]))} (best on the grid)")):
        it["color"], it["label"] = color, label
    curves.legend = True
    chosen = batch.run(len(taus) - 1)
    results = {
        "final_loss": summary_results(chosen)["final_loss"],
        "verdict": _verdict(chosen),
        "clip_events": result(int(chosen.summary.clip_events),
                              count_share_text(int(chosen.summary.clip_events), steps)),
        "best_tau": result(float(TAU_GRID[best])),
        "best_loss": summary_results(batch.run(best))["final_loss"],
    }
    desc = (f"{land.title}, learning rate {fmt_number(lr)}, {steps} steps: at τ = {fmt_number(tau)} "
            f"the final loss is {results['final_loss']['text']} ({results['verdict']['value']}); "
            f"the best threshold on the grid is {fmt_number(float(TAU_GRID[best]))}.")
    return DemoOutput(figures={"sweep": fig.to_dict(), "curves": curves.to_dict()},
                      results=results, description=desc)


register(DemoSpec(
    name="tau_too_small",
    title="Is a smaller threshold always safer?",
    params=(
        Param("tau", "float", 0.01, "Clip threshold τ", min=0.001, max=100.0, log=True),
        Param("lr", "float", 0.05, "Learning rate η", min=0.005, max=0.5, log=True),
        Param("steps", "int", 200, "Steps", min=50, max=1000, step=1),
        Param("landscape", "choice", "spiky", "Loss landscape", choices=_SWEEP_LANDSCAPES),
    ),
    compute=_compute_tau_small,
    results=(("final_loss", "Final loss at your τ"), ("verdict", "Verdict at your τ"),
             ("clip_events", "Clip events at your τ"), ("best_tau", "Best τ on the grid"),
             ("best_loss", "Final loss at the best τ")),
    figures=(("sweep", "Final loss after the run for 31 thresholds, coloured by verdict."),
             ("curves", "Loss per step at your threshold and at the best one.")),
))


def _compute_lr(p: dict[str, Any]) -> DemoOutput:
    land = LANDSCAPES[p["landscape"]]
    tau, lr, steps = float(p["tau"]), float(p["lr"]), int(p["steps"])
    lrs = np.r_[LR_GRID, lr]
    batch = simulate_batch(land.name, np.array(["norm", "none"])[:, None], tau=tau, lr=lrs[None, :],
                           steps=steps)
    n = lrs.size
    ex = excess(batch.final_loss, land.min_value).reshape(2, n)
    codes = batch.codes.reshape(2, n)
    fig = lr_sweep_figure(land, ex, codes, lr, tau, steps)
    runs = [batch.run(n - 1), batch.run(2 * n - 1)]     # the chosen lr: norm, then none
    clipped, plain = runs
    healthy = np.flatnonzero(codes[0, :-1] == "healthy")
    results = {
        "verdict_norm": _verdict(clipped),
        "verdict_none": _verdict(plain),
        "cap": result(lr * tau),
        "final_norm": summary_results(clipped)["final_loss"],
        "largest_ok": (result(float(LR_GRID[healthy.max()])) if healthy.size
                       else {"value": "none", "text": "none on the grid"}),
    }
    desc = (f"{land.title}, τ = {fmt_number(tau)}, η = {fmt_number(lr)}: clipped run "
            f"{results['verdict_norm']['value']}, unclipped run {results['verdict_none']['value']}.")
    return DemoOutput(figures={"sweep": fig.to_dict(),
                               "curves": loss_figure(runs, compare=True).to_dict()},
                      results=results, description=desc)


register(DemoSpec(
    name="lr_not_safe",
    title="Does clipping make any learning rate safe?",
    params=(
        Param("lr", "float", 0.3, "Learning rate η", min=0.001, max=5.0, log=True),
        Param("tau", "float", 1.0, "Clip threshold τ", min=0.1, max=10.0, log=True),
        Param("steps", "int", 200, "Steps", min=50, max=1000, step=1),
        Param("landscape", "choice", "ravine", "Loss landscape", choices=_SWEEP_LANDSCAPES),
    ),
    compute=_compute_lr,
    results=(("verdict_norm", "Clipped run"), ("verdict_none", "Unclipped run"),
             ("cap", "Step cap η·τ"), ("final_norm", "Final loss, clipped"),
             ("largest_ok", "Largest healthy η (clipped)")),
    figures=(("sweep", "Final loss for 29 learning rates, with and without clipping."),
             ("curves", "Loss per step at your learning rate, both runs.")),
))


# ---------------------------------------------------------------------------------------
# Using the simulator and practical notes


_READER_METHODS = tuple((m, label or CLIP_METHODS[m].label)
                        for m, label in (("norm", ""), ("value", ""), ("adaptive", ""),
                                         ("autoclip", "AutoClip (10th percentile)"),
                                         ("agc", "Adaptive gradient clipping (AGC)")))


_OPTIMIZER_LABELS = {"sgd": "plain SGD", "momentum": "SGD with momentum", "adam": "Adam"}


def _compute_reader(p: dict[str, Any]) -> DemoOutput:
    tau, steps = float(p["tau"]), int(p["steps"])
    run = simulate(p["landscape"], p["method"], tau=tau, lr=float(p["lr"]), steps=steps,
                   optimizer=p["optimizer"])
    s = run.summary
    taken = steps if s.diverged_at is None else int(s.diverged_at)
    clipped = run.clipped[:taken]
    ev = clip_events_figure(clipped, steps)
    idx = np.flatnonzero(clipped)
    streak = longest_streak(clipped)
    results = {
        "clip_events": result(int(s.clip_events), count_share_text(int(s.clip_events), taken)),
        "streak": result(streak, f"{streak} steps"),
        "first": (result(int(idx[0]) + 1, f"step {int(idx[0]) + 1}") if idx.size
                  else {"value": "none", "text": "never"}),
        "last": (result(int(idx[-1]) + 1, f"step {int(idx[-1]) + 1}") if idx.size
                 else {"value": "none", "text": "never"}),
        "max_raw_norm": result(float(s.max_raw_norm)),
        "verdict": _verdict(run),
    }
    desc = (f"{LANDSCAPES[p['landscape']].title}, {p['method']} at τ = {fmt_number(tau)} with "
            f"{_OPTIMIZER_LABELS[p['optimizer']]}: "
            f"{s.clip_events} of {taken} steps clipped, longest streak {streak}. "
            f"{results['verdict']['text']}")
    return DemoOutput(figures={"norm": norm_figure([run], tau).to_dict(), "events": ev.to_dict()},
                      results=results, description=desc)


register(DemoSpec(
    name="clip_event_reader",
    title="Reading clip events",
    params=(
        Param("tau", "float", 1.0, "Clip threshold τ", min=0.01, max=100.0, log=True),
        Param("lr", "float", 0.05, "Learning rate η", min=0.001, max=1.0, log=True),
        Param("steps", "int", 200, "Steps", min=10, max=1000, step=1),
        Param("method", "choice", "norm", "Clipping method", choices=_READER_METHODS),
        Param("landscape", "choice", "spiky", "Loss landscape",
              choices=tuple((n, l.title) for n, l in LANDSCAPES.items())),
        Param("optimizer", "choice", "sgd", "Optimizer",
              choices=tuple((o, _OPTIMIZER_LABELS[o]) for o in OPTIMIZERS)),
    ),
    compute=_compute_reader,
    results=(("clip_events", "Clip events"), ("streak", "Longest clipped streak"),
             ("first", "First clip"), ("last", "Last clip"),
             ("max_raw_norm", "Max raw norm"), ("verdict", "Verdict")),
    figures=(("norm", "Raw gradient norm per step; the bar along the bottom marks clipped steps."),
             ("events", "Clip events counted step by step, against the line of clipping every step.")),
))


LOG_STEPS = 300     # length of the synthetic norm log


def _compute_sustained(p: dict[str, Any]) -> DemoOutput:
    steps = LOG_STEPS
    shift_at = int(p["shift_at"])
    norms = synthetic_norm_log(steps, shift_at=shift_at, shift=float(p["shift"]),
                               spike_rate=float(p["spike_rate"]), seed=int(p["seed"]))
    pct = float(p["percentile"])
    # A fixed threshold: the chosen percentile of the calibration window (AutoClip's statistic,
    # computed once instead of at every step).
    tau = float(autoclip_threshold(norms[:CALIBRATION], percentile=pct))
    z = zclip_series(norms)
    fixed_mask = norms > tau
    t = np.arange(steps)
    log, share = norm_log_figures(norms, z, fixed_mask, tau, pct, shift_at)
    before = (t >= CALIBRATION) & (t < shift_at)
    after = t >= shift_at

    def frac(mask: np.ndarray, where: np.ndarray) -> dict[str, str]:
        if not where.any():
            return {"value": "none", "text": "no steps"}
        k = int(mask[where].sum())
        return result(k / int(where.sum()), count_share_text(k, int(where.sum())))

    streak = longest_streak(fixed_mask)
    results = {
        "tau": result(tau),
        "fixed_before": frac(fixed_mask, before),
        "fixed_after": frac(fixed_mask, after),
        "zclip_after": frac(z.clipped, after),
        "streak": result(streak, f"{streak} steps"),
    }
    desc = (f"Fixed threshold {fmt_number(tau)} from the first {CALIBRATION} steps: it clips "
            f"{results['fixed_before']['text']} steps before the shift and "
            f"{results['fixed_after']['text']} after; ZClip clips {results['zclip_after']['text']} after.")
    return DemoOutput(figures={"log": log.to_dict(), "share": share.to_dict()}, results=results,
                      description=desc)


register(DemoSpec(
    name="sustained_norms",
    title="Spikes against a sustained rise",
    params=(
        Param("shift_at", "int", 200, "Level shift at step", min=100, max=300, step=1),
        Param("shift", "float", 2.0, "Shift factor", min=1.0, max=20.0, log=True),
        Param("spike_rate", "float", 0.02, "Spike rate", min=0.0, max=0.1),
        Param("percentile", "float", 95.0, "Fixed τ: percentile of steps 1–100", min=50.0, max=99.9),
        Param("seed", "int", 0, "Random seed", min=0, max=999, step=1),
    ),
    compute=_compute_sustained,
    results=(("tau", "Fixed τ"), ("fixed_before", "Fixed τ clips, before the shift"),
             ("fixed_after", "Fixed τ clips, after the shift"),
             ("zclip_after", "ZClip clips, after the shift"),
             ("streak", "Longest clipped streak, fixed τ")),
    figures=(("log", "Gradient norms with a fixed threshold and ZClip's moving one."),
             ("share", "Share of recent steps clipped by each rule.")),
))


# ---------------------------------------------------------------------------------------
# Framework recipes, Python and the API reference


def _compute_frameworks(p: dict[str, Any]) -> DemoOutput:
    tau = float(p["tau"])
    grads = two_tensors(p)
    torch_out, total = clip_grad_norm(grads, tau)
    try:
        clip_grad_norm(grads, tau, error_if_nonfinite=True)
        strict = "same as without the flag"
    except NonFiniteNormError:
        strict = "raises RuntimeError: the run stops unless caught"
    # torch.amp.GradScaler: unscale_ records whether any gradient entry is inf or NaN, and
    # scaler.step then skips optimizer.step() (update() lowers the scale). Under fp16 loss
    # scaling such steps are expected, so they must not raise.
    overflow = not all(np.isfinite(g).all() for g in grads)
    amp = ("scaler.step skips this step; scaler.update lowers the scale" if overflow
           else "scaler.step calls optimizer.step with these gradients")
    outs = {
        "pytorch": torch_out,
        "keras_clipnorm": clip_by_norm_per_tensor(grads, tau),
        "keras_global": clip_by_global_norm(grads, tau, convention="keras"),
        "optax": clip_by_global_norm(grads, tau, convention="optax"),
        "value": clip_grad_value(grads, tau),
    }
    results = {k: {"value": tensors_text(v), "text": tensors_text(v)} for k, v in outs.items()}
    results["global_norm"] = result(float(total))
    results["strict"] = {"value": strict, "text": strict}
    results["amp"] = {"value": amp, "text": amp}
    fig = framework_bars_figure([
        ("raw", METHOD_COLORS["none"], grads),
        ("PyTorch clip_grad_norm_", "s0", outs["pytorch"]),
        ("Keras clipnorm", "s2", outs["keras_clipnorm"]),
        ("optax clip_by_global_norm", "s5", outs["optax"]),
        ("clip by value (all three)", "s4", outs["value"]),
    ], f"Two tensors clipped at τ = {fmt_number(tau)}", None)
    desc = (f"Gradients {tensors_text(grads)} with global norm {fmt_number(float(total))}, threshold "
            f"{fmt_number(tau)}: PyTorch gives {results['pytorch']['text']}, Keras clipnorm "
            f"{results['keras_clipnorm']['text']}, optax {results['optax']['text']}.")
    return DemoOutput(figures={"bars": fig.to_dict()}, results=results, description=desc)


_ENTRY_PARAMS = (
    Param("g1a", "float", 3.0, "g1[0]", min=-100.0, max=100.0),
    Param("g1b", "float", 4.0, "g1[1]", min=-100.0, max=100.0),
    Param("g2a", "float", 0.3, "g2[0]", min=-100.0, max=100.0),
    Param("g2b", "float", 0.4, "g2[1]", min=-100.0, max=100.0),
)

register(DemoSpec(
    name="framework_compare",
    title="The same two gradients through each framework's clipping",
    params=(Param("tau", "float", 1.0, "Clip threshold τ", min=0.01, max=100.0, log=True),)
    + _ENTRY_PARAMS + (
        Param("special", "choice", "none", "Replace g1[0] with",
              choices=(("none", "nothing"), ("inf", "inf"), ("nan", "NaN"))),
    ),
    compute=_compute_frameworks,
    results=(("global_norm", "Global norm (PyTorch's return value)"),
             ("pytorch", "PyTorch clip_grad_norm_"),
             ("strict", "… with error_if_nonfinite=True"),
             ("amp", "… under GradScaler (fp16 AMP), flag off"),
             ("keras_clipnorm", "Keras clipnorm"), ("keras_global", "Keras global_clipnorm"),
             ("optax", "optax.clip_by_global_norm"),
             ("value", "clip_grad_value_ / clipvalue / optax.clip")),
    figures=(("bars", "Every entry of the two gradients, raw and after each framework's rule."),),
))


def _compute_python(p: dict[str, Any]) -> DemoOutput:
    args = dict(landscape=p["landscape"], method=p["method"], tau=float(p["tau"]),
                lr=float(p["lr"]), steps=int(p["steps"]), optimizer=p["optimizer"])
    run = simulate(**args)
    tau_s, lr_s = python_literal(args["tau"]), python_literal(args["lr"])
    code = (f'gradclip.simulate("{args["landscape"]}", method="{args["method"]}", tau={tau_s}, '
            f'lr={lr_s}, steps={args["steps"]}, optimizer="{args["optimizer"]}")')
    cli = (f'gradclip simulate --landscape {args["landscape"]} --method {args["method"]} '
           f'--tau {tau_s} --lr {lr_s} --steps {args["steps"]} --optimizer {args["optimizer"]}')
    res = summary_results(run)
    results = {"python": {"value": code, "text": code}, "cli": {"value": cli, "text": cli}}
    for key in ("final_loss", "max_raw_norm", "clip_events", "diverged", "loss_reduction_pct", "verdict"):
        results[key] = res[key]
    return DemoOutput(figures={"loss": loss_figure([run]).to_dict()}, results=results,
                      description=f"{code} returns a run whose verdict is {run.summary.verdict.code}.")


register(DemoSpec(
    name="python_call",
    title="One call of gradclip.simulate",
    params=(
        Param("landscape", "choice", "cliff", "landscape",
              choices=tuple((n, n) for n in LANDSCAPES)),
        Param("method", "choice", "norm", "method", choices=tuple((m, m) for m in METHODS)),
        Param("tau", "float", 1.0, "tau", min=0.01, max=100.0, log=True),
        Param("lr", "float", 0.05, "lr", min=0.001, max=1.0, log=True),
        Param("steps", "int", 200, "steps", min=10, max=1000, step=1),
        Param("optimizer", "choice", "sgd", "optimizer", choices=tuple((o, o) for o in OPTIMIZERS)),
    ),
    compute=_compute_python,
    results=(("python", "Python"), ("cli", "Command line"),
             ("final_loss", "run.summary.final_loss"), ("max_raw_norm", "run.summary.max_raw_norm"),
             ("clip_events", "run.summary.clip_events"), ("diverged", "run.summary.diverged"),
             ("loss_reduction_pct", "run.summary.loss_reduction_pct"),
             ("verdict", "run.summary.verdict")),
    figures=(("loss", "run.losses: the loss at every step (log scale)."),),
))


def _compute_api(p: dict[str, Any]) -> DemoOutput:
    tau = float(p["tau"])
    grads = two_tensors(p)
    code, out, note = api_call(p["function"], grads, tau)
    text = tensors_text(out) + (f"   ({note})" if note else "")
    fig = framework_bars_figure([("input", METHOD_COLORS["none"], grads), ("returned", "s0", out)],
                       p["function"], tau if p["function"] in ("clip_by_value", "clip_grad_value") else None)
    return DemoOutput(figures={"bars": fig.to_dict()},
                      results={"code": {"value": code, "text": code},
                               "returned": {"value": tensors_text(out), "text": text}},
                      description=f"{code} returns {text}.")


register(DemoSpec(
    name="api_clip",
    title="Call a clipping function",
    params=(Param("function", "choice", "clip_grad_norm", "Function", choices=API_FUNCTIONS),
            Param("tau", "float", 1.0, "Threshold", min=0.01, max=100.0, log=True)) + _ENTRY_PARAMS,
    compute=_compute_api,
    results=(("code", "Call"), ("returned", "Returns")),
    figures=(("bars", "The input entries and what the function returned."),),
))
