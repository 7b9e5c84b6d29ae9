"""The practice demos in CPython: they run everywhere in their ranges, and show the package's numbers.

Each demo of ``gradclip/demos/practice.py`` is run at its defaults and at the ends of its
parameter ranges (the output must be strict JSON, as the browser worker sends it). Then each
one is checked against the package functions it claims to show, and against the claims its
page makes in prose and in its "predict first" answers, so a change in the package that
would make a page wrong fails here.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import gradclip
from gradclip import demos
from gradclip.adaptive import autoclip_threshold, zclip_series
from gradclip.demos import practice
from gradclip.simulate import simulate, simulate_batch

ROOT = Path(__file__).resolve().parents[2]   # the repository
PRACTICE_DEMOS = [
    "rnn_clip_run", "transformer_tensors", "policy_gradient_spikes", "step_limiter",
    "vanishing_not_fixed", "tau_too_small", "lr_not_safe", "clip_event_reader",
    "sustained_norms", "framework_compare", "python_call", "api_clip",
]


def run(name: str, **params) -> dict:
    out = demos.run(name, params)
    assert out["notices"] == [], out["notices"]
    return out


def value(out: dict, field: str) -> str:
    return out["results"][field]["value"]


# --------------------------------------------------------------------------- every demo runs


def test_the_module_registers_exactly_the_documented_demos():
    demos._load_all()
    mine = {n for n, s in demos.REGISTRY.items() if s.compute.__module__ == practice.__name__}
    assert mine == set(PRACTICE_DEMOS)


@pytest.mark.parametrize("name", PRACTICE_DEMOS)
def test_each_demo_runs_at_its_defaults_with_every_declared_figure_and_result(name):
    spec = demos.REGISTRY[name]
    out = run(name)
    json.dumps(out, allow_nan=False)                      # what the worker sends must be strict JSON
    assert set(out["figures"]) == {f for f, _ in spec.figures}
    assert set(out["results"]) == {r for r, _ in spec.results}
    assert out["description"]
    for fig in out["figures"].values():
        assert fig["items"], "an empty figure"
        assert fig["alt"] or fig["title"]


def _extreme(spec, end: str) -> dict:
    params = {}
    for p in spec.params:
        if p.kind in ("float", "int") and p.min is not None and p.max is not None:
            params[p.name] = p.min if end == "min" else p.max
    return params


@pytest.mark.parametrize("end", ["min", "max"])
@pytest.mark.parametrize("name", PRACTICE_DEMOS)
def test_each_demo_runs_with_every_number_at_the_end_of_its_range(name, end):
    out = run(name, **_extreme(demos.REGISTRY[name], end))
    json.dumps(out, allow_nan=False)
    assert all(r["text"] for r in out["results"].values())


@pytest.mark.parametrize("name", PRACTICE_DEMOS)
def test_each_choice_of_each_demo_runs(name):
    for p in demos.REGISTRY[name].params:
        for choice, _ in p.choices:
            json.dumps(run(name, **{p.name: choice}), allow_nan=False)


# --------------------------------------------------------------------------- where clipping is used


def test_rnn_demo_shows_the_runs_of_simulate_batch_and_the_step_cap():
    out = run("rnn_clip_run")
    plain, clipped = simulate_batch("pascanu_rnn", ["none", "norm"], tau=1.0, lr=0.05, steps=80,
                                    start=practice.RNN_START).runs()
    assert value(out, "verdict_none") == plain.summary.verdict.code == "diverged"
    assert value(out, "verdict_norm") == clipped.summary.verdict.code == "healthy"
    assert int(value(out, "clip_events")) == clipped.summary.clip_events
    # Norm clipping caps every step at lr * tau; the unclipped run leaps far further.
    assert float(value(out, "step_norm")) <= 0.05 * 1.0 + 1e-12
    assert float(value(out, "step_none")) > 100 * float(value(out, "step_norm"))


def test_dragging_the_rnn_start_moves_both_runs():
    out = run("rnn_clip_run", px=6.0, py=-2.0)
    runs = simulate_batch("pascanu_rnn", ["norm", "none"], tau=1.0, lr=0.05, steps=80,
                          start=(6.0, -2.0)).runs()
    assert value(out, "verdict_norm") == runs[0].summary.verdict.code


def test_toy_transformer_norms_are_the_global_norms_gradclip_computes():
    toy = practice.toy_transformer_gradients(300, spike=50.0, spike_rate=0.02,
                                             spike_tensor=practice.TRANSFORMER_TENSORS.index(
                                                 next(t for t in practice.TRANSFORMER_TENSORS if t[0] == "mlp.2")))
    out = run("transformer_tensors")
    raw_line = out["figures"]["series"]["items"][0]
    for t in (0, 57, 299):
        assert raw_line["y"][t] == pytest.approx(gradclip.global_norm(toy.at(t)), rel=1e-3)
    k = int(np.argmax([gradclip.global_norm(toy.at(t)) for t in range(300)]))
    _, total = gradclip.clip_grad_norm(toy.at(k), 1.0)
    assert float(value(out, "max_norm")) == pytest.approx(total)


def test_global_clipping_keeps_the_direction_and_per_tensor_clipping_turns_it():
    out = run("transformer_tensors")
    assert float(value(out, "angle_global")) < 1e-3
    assert float(value(out, "angle_per")) > 10.0
    # The page: once the early phase is over, threshold 1.0 lets (almost) every step through.
    assert int(value(out, "clipped_late")) == 0
    assert int(value(out, "clipped")) > 0


def test_toy_gradients_spike_only_where_and_how_asked():
    quiet = practice.toy_transformer_gradients(120, spike_rate=0.0)
    assert quiet.spike_steps.size == 0
    loud = practice.toy_transformer_gradients(120, spike=100.0, spike_rate=1.0, spike_tensor=0)
    assert (loud.spike_steps >= 40).all() and (loud.spike_tensor == 0).all()
    ratio = np.linalg.norm(loud.grads[0][80]) / np.linalg.norm(quiet.grads[0][80])
    assert 20 < ratio < 500
    with pytest.raises(ValueError, match="spike_rate"):
        practice.toy_transformer_gradients(10, spike_rate=2.0)


def test_policy_demo_counts_the_bad_batches_the_runs_meet():
    out = run("policy_gradient_spikes", seed=3)
    nx, ny = gradclip.LANDSCAPES["spiky"].noise_fn(np.random.default_rng(3), (200,))
    assert int(value(out, "bad_batches")) == int(np.count_nonzero(np.hypot(nx, ny)))
    clipped = simulate("spiky", "norm", tau=0.5, lr=0.1, steps=200, seed=3)
    assert value(out, "verdict_norm") == clipped.summary.verdict.code


def test_policy_demo_defaults_show_what_the_page_says():
    out = run("policy_gradient_spikes")
    assert value(out, "verdict_norm") == "healthy"
    assert value(out, "verdict_none") in ("spiked", "diverged")
    assert float(value(out, "final_norm")) < 1e-2 < float(value(out, "final_none"))


def test_step_limiter_keeps_the_run_on_the_map_where_plain_descent_leaves():
    out = run("step_limiter")
    assert value(out, "verdict_none") == "diverged"
    assert value(out, "verdict_norm") != "diverged"
    assert float(value(out, "step_norm")) <= float(value(out, "cap")) + 1e-12
    clipped = simulate("rosenbrock", "norm", tau=2.0, lr=0.01, steps=300)
    assert float(value(out, "final_norm")) == clipped.summary.final_loss


# --------------------------------------------------------------------------- pitfalls


def test_backprop_chain_has_norm_rho_to_the_k():
    G = practice.backprop_chain(1.1, 30)
    np.testing.assert_allclose(np.linalg.norm(G, axis=1), 1.1 ** np.arange(31), rtol=1e-10)


@pytest.mark.parametrize("rho", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("tau", [1.0, 100.0])
def test_clipping_never_enlarges_a_vanishing_gradient(rho, tau):
    out = run("vanishing_not_fixed", rho=rho, tau=tau)
    assert value(out, "raw_last") == value(out, "clipped_last")
    assert value(out, "ratio") == "1.0"
    assert value(out, "acted") == "0"


def test_an_exploding_gradient_is_capped_at_tau():
    out = run("vanishing_not_fixed", rho=1.2, length=50, tau=2.0)
    assert float(value(out, "clipped_last")) == pytest.approx(2.0)
    assert float(value(out, "raw_last")) == pytest.approx(1.2 ** 50)


def test_pitfall_vanishing_prediction_matches_the_demo():
    out = run("vanishing_not_fixed")          # rho 0.9, T = 100, tau 1: the question's numbers
    assert float(value(out, "clipped_last")) == pytest.approx(0.9 ** 100)
    assert f"{0.9 ** 100:.1e}" == "2.7e-05"


def test_pitfall_small_tau_prediction_matches_the_demo():
    out = run("tau_too_small")                # spiky bowl, tau 0.01, lr 0.05, 200 steps
    run_ = simulate("spiky", "norm", tau=0.01, lr=0.05, steps=200)
    assert float(value(out, "final_loss")) == run_.summary.final_loss
    assert 4.6 < run_.summary.final_loss < 5.0            # "still around 4.8"
    assert run_.losses[0] == pytest.approx(5.125)         # "starts at loss 5.1"
    assert value(out, "verdict") == "over_clipped"
    assert run_.summary.clip_events == 200                # "100%"
    best = float(value(out, "best_tau"))
    assert 0.1 < best < 10                                # moderate, near the typical norm
    assert float(value(out, "best_loss")) < 1e-2


def test_tau_sweep_is_u_shaped_on_the_spiky_bowl():
    batch = simulate_batch("spiky", "norm", tau=practice.TAU_GRID, lr=0.05, steps=200)
    codes = batch.codes.tolist()
    assert codes[0] == "over_clipped" and codes[-1] in ("spiked", "slow")
    assert "healthy" in codes


def test_pitfall_learning_rate_prediction_matches_the_demo():
    out = run("lr_not_safe")                  # ravine, lr 0.3, tau 1
    assert value(out, "verdict_norm") == "oscillating"
    assert value(out, "verdict_none") == "diverged"
    plain = simulate("ravine", "none", lr=0.3, steps=200)
    assert plain.summary.diverged_at <= 5                 # "within a few steps"
    clipped = simulate("ravine", "norm", tau=1.0, lr=0.3, steps=200)
    assert float(value(out, "final_norm")) == clipped.summary.final_loss
    steps = practice.step_lengths(clipped.positions)
    assert steps.max() <= 0.3 + 1e-12                     # "steps of length up to 0.3"
    # "every learning rate above about 0.1 ending the same way"; the healthy limit stays near 2/30
    grid = simulate_batch("ravine", "norm", tau=1.0, lr=practice.LR_GRID, steps=200)
    assert (grid.codes[practice.LR_GRID > 0.1] == "oscillating").all()
    assert float(value(out, "largest_ok")) < 0.1


# --------------------------------------------------------------------------- guides


def test_clip_event_reader_counts_what_simulate_counts():
    out = run("clip_event_reader", landscape="cliff")
    r = simulate("cliff", "norm", tau=1.0, lr=0.05, steps=200)
    assert int(value(out, "clip_events")) == r.summary.clip_events == 45
    # The page: on the cliff at tau 1 clipping acts for the first 45 steps, then never again.
    assert value(out, "first") == "1" and value(out, "last") == "45"
    assert value(out, "streak") == "45"


def test_clip_event_reader_patterns_named_on_the_page():
    early = run("clip_event_reader")                       # spiky, tau 1
    assert 0 < int(value(early, "streak")) < int(value(early, "clip_events")) < 200
    diagonal = run("clip_event_reader", tau=0.1)
    assert value(diagonal, "clip_events") == "200" and value(diagonal, "streak") == "200"


def test_spiky_bowl_prediction_an_early_stretch_then_single_steps():
    """using-the-simulator's first prediction: a streak from step 1, then isolated clips."""
    out = run("clip_event_reader")
    clipped = simulate("spiky", "norm", tau=1.0, lr=0.05, steps=200).clipped
    streak = int(value(out, "streak"))
    assert value(out, "first") == "1" and clipped[:streak].all() and not clipped[streak]
    later = np.flatnonzero(clipped[streak:])
    assert later.size >= 2 and (np.diff(later) > 1).all()    # single steps, none adjacent
    assert int(value(out, "last")) == streak + int(later[-1]) + 1


def test_the_over_clipped_setting_under_adam_reaches_the_floor():
    """using-the-simulator's second prediction: cliff, tau 0.1 clips every step under SGD (over-
    clipping) and reaches the floor under Adam, where clipping stops long before the end."""
    sgd = run("clip_event_reader", landscape="cliff", tau=0.1)
    adam = run("clip_event_reader", landscape="cliff", tau=0.1, optimizer="adam")
    assert value(sgd, "verdict") == "over_clipped" and value(sgd, "clip_events") == "200"
    assert value(adam, "verdict") == "healthy"
    assert int(value(adam, "last")) < 150 and int(value(adam, "clip_events")) < 150
    r = simulate("cliff", "norm", tau=0.1, lr=0.05, steps=200, optimizer="adam")
    assert int(value(adam, "clip_events")) == r.summary.clip_events


def test_longest_streak():
    assert practice.longest_streak([False] * 3) == 0
    assert practice.longest_streak([True, True, False, True]) == 2
    assert practice.longest_streak(np.ones(7, dtype=bool)) == 7


def test_sustained_norms_use_autoclip_percentile_and_zclip():
    out = run("sustained_norms", percentile=90.0)
    norms = practice.synthetic_norm_log(300, shift_at=200, shift=2.0, spike_rate=0.02, seed=0)
    assert float(value(out, "tau")) == pytest.approx(float(autoclip_threshold(norms[:100], percentile=90.0)))
    z = zclip_series(norms)
    assert float(value(out, "zclip_after")) == pytest.approx(z.clipped[200:].mean())


def test_sustained_norms_tell_the_story_of_the_page():
    double = run("sustained_norms")
    assert float(value(double, "fixed_before")) < 0.1
    assert float(value(double, "fixed_after")) > 0.9
    assert float(value(double, "zclip_after")) < 0.5      # ZClip catches up with a doubling
    for shift in (3.0, 4.0):                              # ... but locks out at 3 and above
        jump = run("sustained_norms", shift=shift)
        assert float(value(jump, "zclip_after")) > 0.9


def test_framework_compare_shows_each_frameworks_rule():
    out = run("framework_compare")
    grads = [np.array([3.0, 4.0]), np.array([0.3, 0.4])]
    expect = {
        "pytorch": gradclip.clip_grad_norm(grads, 1.0)[0],
        "keras_clipnorm": gradclip.clip_by_norm_per_tensor(grads, 1.0),
        "keras_global": gradclip.clip_by_global_norm(grads, 1.0, convention="keras"),
        "optax": gradclip.clip_by_global_norm(grads, 1.0, convention="optax"),
        "value": gradclip.clip_grad_value(grads, 1.0),
    }
    for field, arrays in expect.items():
        shown = [float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", value(out, field))]
        np.testing.assert_allclose(shown, np.concatenate(arrays), rtol=1e-3)
    assert value(out, "keras_clipnorm").endswith("[0.3, 0.4]")   # the small tensor is untouched


def test_framework_compare_non_finite_cases_match_the_table():
    inf = run("framework_compare", special="inf")
    assert value(inf, "keras_global") == "[NaN, NaN]  [NaN, NaN]"
    assert value(inf, "pytorch") == "[NaN, 0]  [0, 0]"
    assert value(inf, "strict").startswith("raises")
    # Under fp16 AMP the same step is skipped by GradScaler, not an error (the recipes page).
    assert value(inf, "amp").startswith("scaler.step skips")
    assert value(run("framework_compare"), "amp").startswith("scaler.step calls optimizer.step")
    nan = run("framework_compare", special="nan")
    assert value(nan, "optax") == "[NaN, NaN]  [NaN, NaN]"
    assert value(nan, "keras_clipnorm").endswith("[0.3, 0.4]")


def test_python_call_shows_code_that_returns_the_shown_run():
    out = run("python_call", landscape="ravine", method="value", tau=0.5, lr=0.02, steps=150,
              optimizer="momentum")
    code = value(out, "python")
    r = eval(code, {"gradclip": gradclip})                # the code shown is the code run
    assert value(out, "verdict") == r.summary.verdict.code
    assert float(value(out, "final_loss")) == r.summary.final_loss
    from gradclip.cli import build_parser
    args = build_parser().parse_args(value(out, "cli").split()[1:])
    assert (args.landscape, args.method, args.tau, args.lr, args.steps, args.optimizer) == \
        ("ravine", "value", 0.5, 0.02, 150, "momentum")


@pytest.mark.parametrize("function", [c for c, _ in dict(
    (p.name, p) for p in demos.REGISTRY["api_clip"].params)["function"].choices])
def test_api_clip_returns_what_the_function_returns(function):
    out = run("api_clip", function=function, tau=0.7, g1a=-3.0, g1b=4.0, g2a=0.3, g2b=-0.4)
    shown = [float(v) for v in re.findall(r"-?\d[\d.]*(?:e-?\d+)?", value(out, "returned"))]
    grads = [np.array([-3.0, 4.0]), np.array([0.3, -0.4])]
    flat = np.concatenate(grads)
    direct = {
        "clip_by_norm": lambda: [gradclip.clip_by_norm(flat, 0.7)],
        "clip_by_value": lambda: [gradclip.clip_by_value(flat, 0.7)],
        "clip_grad_norm": lambda: gradclip.clip_grad_norm(grads, 0.7)[0],
        "clip_grad_value": lambda: gradclip.clip_grad_value(grads, 0.7),
        "clip_by_norm_per_tensor": lambda: gradclip.clip_by_norm_per_tensor(grads, 0.7),
        "clip_by_global_norm": lambda: gradclip.clip_by_global_norm(grads, 0.7),
        "adaptive_grad_clip": lambda: gradclip.adaptive_grad_clip(
            grads, [np.array([1.0, -2.0]), np.array([0.5, 0.5])], clipping=0.7),
    }[function]()
    np.testing.assert_allclose(shown[:4], np.concatenate(direct), rtol=1e-3)


# --------------------------------------------------------------------------- pages


# The Python page's code and command-line output are computed when the page is built, and every
# cell is run again by tests/site/test_cells_site.py: nothing on it is typed by hand any more.


def test_each_practice_page_places_its_demos_and_ends_with_sources():
    pages = {
        "learn/applications.md": ["rnn_clip_run", "transformer_tensors", "policy_gradient_spikes", "step_limiter"],
        "learn/pitfalls.md": ["vanishing_not_fixed", "tau_too_small", "lr_not_safe"],
        "guide/using-the-simulator.md": ["clip_event_reader", "clip_event_reader"],
        "guide/practical-notes.md": ["clip_every_step", "threshold_rules", "sustained_norms"],
        "guide/recipes.md": ["framework_compare"],
        "guide/python.md": ["python_call"],
        "guide/reference.md": ["api_clip"],
    }
    for page, names in pages.items():
        text = (ROOT / "docs" / page).read_text()
        assert re.findall(r"```gradclip-demo\ndemo: (\w+)", text) == names, page
        assert re.findall(r"^## (.+)$", text, flags=re.M)[-1] == "Sources", page
    assert len(re.findall("```gradclip-predict", (ROOT / "docs/learn/pitfalls.md").read_text())) >= 3


def test_typical_ranges_quoted_in_the_notes_match_the_sources_we_cite():
    # The ZClip defaults on the practical-notes page are the package's defaults.
    z = gradclip.ZClip()
    text = (ROOT / "docs/guide/practical-notes.md").read_text()
    assert f"$z$ = {z.z_thresh}" in text and f"$\\alpha$ = {z.alpha}" in text
    assert math.isclose(z.alpha, 0.97) and math.isclose(z.z_thresh, 2.5)
