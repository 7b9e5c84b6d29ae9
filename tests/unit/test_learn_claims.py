"""The qualitative claims of the Learn pages (conversation, FAQ, applications, pitfalls), held
against gradclip.

The pages quote numbers through ``{gc:…}`` values and code cells, which the build computes. The
words around them ("the clipped run oscillates", "τ stops mattering under Adam", "the update
turns under momentum") are claims about those numbers; each test here fails if gradclip stops
bearing one out, so a sentence cannot quietly go stale when a demo or an optimiser changes.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradclip
import gradclip.demos as demos
from gradclip.optim import ADAM_BETAS, ArrayStepper
from gradclip.demos.practice_figures import LR_GRID


def _final(optimizer: str, method: str, tau: float, lr: float) -> tuple[float, int]:
    s = gradclip.train("mlp", "regression", optimizer=optimizer, method=method, tau=tau, lr=lr,
                       steps=400).summary
    return s.final_loss, s.clip_events


def _values(name: str, params: dict | None = None) -> dict[str, str]:
    return {k: v["value"] for k, v in demos.run(name, params or {})["results"].items()}


# --------------------------------------------------------------- FAQ: is clipping every step a smaller lr?


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_always_clipped_sgd_and_momentum_depend_on_lr_times_tau_only(optimizer):
    a, clips_a = _final(optimizer, "norm", 1.0, 0.05)
    b, clips_b = _final(optimizer, "norm", 0.1, 0.5)
    assert clips_a == clips_b == 400
    assert a == pytest.approx(b, rel=1e-9)


def test_under_sgd_the_threshold_changes_the_result_a_lot():
    losses = [_final("sgd", "norm", tau, 0.05) for tau in (0.1, 1.0, 10.0)]
    assert all(c == 400 for _, c in losses)
    values = [v for v, _ in losses]
    assert max(values) / min(values) > 100


def test_under_adam_the_threshold_hardly_matters_and_clipping_is_not_the_unclipped_run():
    lr = 0.05   # at 0.1 the runs are chaotic: the page shows only tau = 1 there
    clipped = [_final("adam", "norm", tau, lr) for tau in (0.1, 1.0, 10.0)]
    assert all(c == 400 for _, c in clipped)
    values = np.array([v for v, _ in clipped])
    none, _ = _final("adam", "none", 1.0, lr)
    assert values.max() / values.min() < 1.5                  # "close together"
    assert not values.min() <= none <= values.max()           # "away from the unclipped run"


def test_adam_with_every_step_clipped_ends_lower_at_lr_005_and_higher_at_lr_01():
    assert _final("adam", "norm", 1.0, 0.05)[0] < _final("adam", "none", 1.0, 0.05)[0]
    assert _final("adam", "norm", 1.0, 0.1)[0] > _final("adam", "none", 1.0, 0.1)[0]


# --------------------------------------------------------------- FAQ: bias whenever clipping acts


def _settles(a: np.ndarray, tau: float) -> float:
    lo, hi = a.min(), a.max()
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gradclip.clip_by_value(mid - a, tau).mean() < 0 else (lo, mid)
    return lo


def test_clipped_sgd_settles_away_from_the_minimum_at_every_threshold_that_clips():
    a = np.random.default_rng(0).lognormal(size=20_000)
    best = a.mean()
    gaps = [best - _settles(a, np.quantile(np.abs(best - a), q / 100)) for q in (50, 90, 99)]
    assert all(g > 1e-3 for g in gaps)                        # there at every threshold ...
    assert gaps[0] > gaps[1] > gaps[2]                        # ... and shrinking as tau rises
    assert _settles(a, np.abs(best - a).max() + 1) == pytest.approx(best, abs=1e-9)   # none clipped: no bias


# --------------------------------------------------------------- FAQ: what one spike does to Adam


def test_adam_spike_moves_match_the_formulas_on_the_faq():
    b1, b2 = ADAM_BETAS
    adam = ArrayStepper("adam", np.ones((1, 1)), (1, 1))
    grads = [0.01] * 5000 + [100.0] + [0.01] * 300
    moves = [adam.step(np.array([[g]]), k).item() for k, g in enumerate(grads, start=1)]
    assert moves[5000] == pytest.approx((1 - b1) / np.sqrt(1 - b2), rel=0.02)
    assert sum(moves[5000:5051]) == pytest.approx(1 / np.sqrt(1 - b2), rel=0.05)
    assert moves[5100] < 0.01 * moves[4999] and moves[5300] < 0.01 * moves[4999]   # shrunk for hundreds of steps


# --------------------------------------------------------------- FAQ: the tau demo


def test_the_faq_tau_demo_starts_between_the_90th_and_99th_percentile_and_catches_every_spike():
    r = demos.run("tau_from_norms", {"tau": 3.0})["results"]
    assert float(r["p90"]["value"]) < 3.0 < float(r["p99"]["value"])
    caught, total = r["spikes_caught"]["text"].split(" of ")
    assert caught == total
    assert float(r["autoclip"]["value"]) < float(r["p50"]["value"])   # AutoClip clips more than the median


# --------------------------------------------------------------- pitfalls: the update turns under momentum and Adam


def _turn(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


@pytest.mark.parametrize("name, turns", [("sgd", False), ("momentum", True), ("adam", True)])
def test_norm_clipping_turns_the_update_only_under_momentum_and_adam(name, turns):
    grads = [np.array([0.6, 0.2]), np.array([0.5, 0.3]), np.array([-3.0, 6.0])]
    raw, clipped = (ArrayStepper(name, np.ones((1, 1)), (1, 2)) for _ in range(2))
    for k, g in enumerate(grads, start=1):
        u_raw = raw.step(g[None], k)[0].copy()
        u_clip = clipped.step(gradclip.clip_by_norm(g, 1.0)[None], k)[0].copy()
    assert _turn(g, gradclip.clip_by_norm(g, 1.0)) < 1e-6
    assert (_turn(u_raw, u_clip) > 10.0) if turns else (_turn(u_raw, u_clip) < 1e-6)
    assert _turn(u_raw, u_clip) < 90.0                        # turned, "not all the way round"


# --------------------------------------------------------------- pitfalls: the three demos


def test_pitfalls_tau_demo_clips_every_step_and_barely_moves():
    r = demos.run("tau_too_small", {})["results"]
    assert r["clip_events"]["value"] == "200"
    land = gradclip.LANDSCAPES["spiky"]
    start = float(land.value(*land.start))
    assert 0.8 * start < float(r["final_loss"]["value"]) < start            # "barely below where it started"
    assert 200 * 0.05 * 0.01 < 0.1 * np.hypot(*np.subtract(land.start, land.minimum))   # "a small fraction"


def test_pitfalls_lr_demo_every_rate_above_the_largest_healthy_one_fails_to_settle():
    r = _values("lr_not_safe")
    assert r["verdict_norm"] == "oscillating" and r["verdict_none"] == "diverged"
    largest = float(r["largest_ok"])
    batch = gradclip.simulate_batch("ravine", "norm", tau=1.0, lr=LR_GRID, steps=200)
    assert set(batch.codes[LR_GRID > largest]) == {"oscillating"}
    assert abs(largest - 2 / 30) < 0.2 * (2 / 30)                          # "clipping barely moves it"


def test_pitfalls_cliff_sweep_a_loose_threshold_bounces():
    batch = gradclip.simulate_batch("cliff", "norm", tau=np.array([100.0, 0.001]), lr=0.05, steps=200)
    assert batch.codes.tolist() == ["oscillating", "over_clipped"]


# --------------------------------------------------------------- conversation and applications


def test_conversation_cliff_outcomes():
    r = _values("cliff_methods")
    assert r["none_outcome"] == "diverged" and r["norm_outcome"] == r["value_outcome"] == "healthy"
    x0, x1, y0, y1 = gradclip.LANDSCAPES["cliff"].view
    assert float(r["none_step"]) > max(x1 - x0, y1 - y0)                   # "far beyond the edges"
    small, big = _values("cliff_methods", {"tau": 0.1}), _values("cliff_methods", {"lr": 0.7})
    assert small["norm_outcome"] == "over_clipped" and small["norm_clips"] == "100"
    assert big["none_outcome"] == "diverged" and big["norm_outcome"] == big["value_outcome"] == "oscillating"


def test_applications_outcomes():
    t = _values("transformer_tensors")
    assert float(t["angle_global"]) < 1e-6 < 1.0 < float(t["angle_per"])   # per tensor turns "noticeably"
    steps = _values("step_limiter")
    assert steps["verdict_none"] == "diverged" and steps["verdict_norm"] == "oscillating"
    land = gradclip.LANDSCAPES["rosenbrock"]
    assert float(steps["final_norm"]) < 0.1 * float(land.value(*land.start))   # "the loss still falls"
    rl = _values("policy_gradient_spikes")
    assert int(rl["clip_events"]) > int(rl["bad_batches"])                  # clipping fires on more than bad batches
    run = gradclip.simulate("spiky", "norm", tau=0.5, lr=0.1, steps=200, seed=0)
    assert run.clipped[:20].all()                                            # ... because the early descent is clipped
