"""The teaching pages' demos (gradclip/demos/teaching.py), checked in CPython.

Each demo must run at its defaults and at the edges of every control, produce strict JSON,
and report numbers that equal the package functions it claims to show.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import gradclip.demos as demos
from gradclip.web import run_json
from gradclip.adaptive import (ZClip, adaptive_grad_clip, autoclip_series, suggest_thresholds,
                               unitwise_norm, zclip_series)
from gradclip.clipping import (clip_by_global_norm, clip_by_norm, clip_by_norm_per_tensor,
                               clip_by_value, clip_grad_value, global_norm)
from gradclip.demos import teaching
from gradclip.simulate import simulate

TEACHING = ("jacobian_product", "rnn_cliff", "clip_vector", "global_norm_tensors", "agc_units",
            "adaptive_thresholds", "cliff_methods", "tau_from_norms", "clip_bias")


def value(out: dict, field: str) -> float:
    """A result field's unrounded value as a float."""
    return float(out["results"][field]["value"])


def extremes(name: str) -> list[dict]:
    """Parameter sets at the corners of a demo's ranges: all minima, all maxima, every choice."""
    spec = demos.REGISTRY[name]
    numeric = [p for p in spec.params if p.min is not None and p.max is not None]
    sets = [{p.name: p.min for p in numeric}, {p.name: p.max for p in numeric}]
    for p in spec.params:
        if p.kind == "choice":
            sets += [{p.name: c} for c, _ in p.choices]
        if p.kind == "bool":
            sets += [{p.name: True}, {p.name: False}]
    return sets


# --- every demo runs, everywhere in its ranges ------------------------------------------


def test_the_teaching_demos_are_registered():
    demos._load_all()   # a lookup by name imports only that demo's module
    assert set(TEACHING) <= set(demos.REGISTRY)


@pytest.mark.parametrize("name", TEACHING)
def test_each_demo_runs_at_its_defaults_with_every_declared_figure_and_result(name):
    spec = demos.REGISTRY[name]
    out = json.loads(run_json(name, "{}"))
    assert out["notices"] == []
    assert set(out["figures"]) == {f for f, _ in spec.figures}
    assert set(out["results"]) == {r for r, _ in spec.results}
    for fig in out["figures"].values():
        assert fig["items"], "a figure with nothing drawn"
        assert fig["alt"], "every figure needs a text alternative"
    assert out["description"]


@pytest.mark.parametrize("name", TEACHING)
def test_each_demo_runs_at_the_edges_of_its_ranges(name):
    for params in extremes(name):
        out = json.loads(run_json(name, json.dumps(params)))  # strict JSON: no NaN
        assert out["notices"] == [], (params, out["notices"])
        assert all(r["text"] for r in out["results"].values())


def test_out_of_range_input_is_clamped_with_a_notice_not_an_error():
    out = demos.run("jacobian_product", {"rho": 50, "length": -3})
    assert out["params"]["rho"] == 2.0 and out["params"]["length"] == 1
    assert len(out["notices"]) == 2


# --- jacobian_product -------------------------------------------------------------------


def test_a_scaled_orthogonal_matrix_grows_exactly_like_rho_to_the_k():
    out = demos.run("jacobian_product", {"rho": 1.2, "length": 50, "matrix": "orthogonal"})
    assert value(out, "norm_T") == pytest.approx(1.2 ** 50, rel=1e-9)
    assert value(out, "rho_T") == pytest.approx(1.2 ** 50)
    assert value(out, "rate") == pytest.approx(1.2, rel=1e-9)
    assert out["results"]["trend"]["value"] == "explodes"


def test_below_one_the_product_vanishes():
    out = demos.run("jacobian_product", {"rho": 0.8, "length": 100})
    assert value(out, "norm_T") == pytest.approx(0.8 ** 100, rel=1e-6)
    assert out["results"]["trend"]["value"] == "vanishes"


def test_the_demo_reports_the_median_of_the_package_function():
    params = {"rho": 1.05, "length": 80, "matrix": "gaussian", "tanh": True, "inputs": 0.3, "seed": 4}
    out = demos.run("jacobian_product", params)
    direct = teaching.jacobian_product_norms(1.05, 80, kind="gaussian", tanh=True,
                                             input_scale=0.3, seed=4)
    assert value(out, "norm_T") == pytest.approx(float(direct.median[-1]), rel=1e-12)


def test_jacobian_products_match_an_explicit_chain_rule():
    """Against an independent computation: multiply the Jacobians of a short tanh RNN by hand."""
    rho, length, hidden, scale, seed = 1.3, 6, 3, 0.5, 7
    got = teaching.jacobian_product_norms(rho, length, hidden=hidden, runs=1, kind="gaussian",
                                          tanh=True, input_scale=scale, seed=seed, max_points=length)
    w = teaching.recurrent_matrices(rho, hidden, 1, "gaussian", seed)[0]
    x = np.random.default_rng(seed + 1).normal(scale=scale, size=(length, 1, hidden))[:, 0]
    h, jac = np.zeros(hidden), []
    for t in range(length):
        h = np.tanh(w @ h + x[t])
        jac.append(np.diag(1 - h ** 2) @ w)
    for k in range(1, length + 1):
        prod = np.linalg.multi_dot([np.eye(hidden)] + jac[::-1][:k] + [np.eye(hidden)])
        assert got.norms[0, k - 1] == pytest.approx(np.linalg.norm(prod, 2), rel=1e-8)


def test_the_first_step_and_the_drop_below_one_are_read_at_every_k():
    params = {"rho": 0.95, "length": 60, "matrix": "gaussian"}
    out = demos.run("jacobian_product", params)
    every = teaching.jacobian_product_norms(0.95, 60, kind="gaussian", max_points=60).median
    assert value(out, "norm_first") == pytest.approx(every[0])
    k = int(value(out, "below_one_at"))
    assert (every[: k - 1] >= 1.0).all() and every[k - 1] < 1.0
    assert out["results"]["below_one_at"]["text"] == f"k = {k}"


def test_a_rotation_starts_at_rho_and_never_drops_below_one_when_rho_exceeds_one():
    up = demos.run("jacobian_product", {"rho": 1.2, "length": 30})
    assert value(up, "norm_first") == pytest.approx(1.2)
    assert up["results"]["below_one_at"] == {"value": "none", "text": "never"}
    down = demos.run("jacobian_product", {"rho": 0.9, "length": 30})
    assert down["results"]["below_one_at"]["text"] == "k = 1"


def test_large_products_read_as_powers_of_ten():
    out = demos.run("jacobian_product", {"rho": 1.2, "length": 100})
    assert out["results"]["norm_T"]["text"] == "8.28 × 10⁷"
    assert demos.run("jacobian_product", {})["results"]["norm_T"]["text"] == "304"


def test_the_why_page_claims_about_gaussian_and_tanh_products():
    """A Gaussian matrix below radius one amplifies at first and then vanishes; tanh with large
    inputs tames even rho 1.3, with small inputs rho 1.5 still explodes."""
    gauss = demos.run("jacobian_product", {"matrix": "gaussian", "rho": 0.95})
    assert value(gauss, "norm_first") > 1.0 and gauss["results"]["trend"]["value"] == "vanishes"
    saturated = demos.run("jacobian_product", {"tanh": True, "inputs": 1.0, "rho": 1.3})
    assert saturated["results"]["trend"]["value"] == "vanishes"
    gentle = demos.run("jacobian_product", {"tanh": True, "inputs": 0.1, "rho": 1.5})
    assert gentle["results"]["trend"]["value"] == "explodes"


def test_the_why_page_predictions_hold_the_necessary_condition_is_not_sufficient():
    """jacobian-tanh: sigma_max = 1.3 > 1/gamma, inputs of scale 1: the product vanishes, far below
    rho^T; with inputs of 0.1 the same matrix explodes. jacobian-gaussian: rho < 1, yet the median
    starts above one and stays there for several steps."""
    saturated = demos.run("jacobian_product", {"tanh": True, "inputs": 1.0, "rho": 1.3})
    assert value(saturated, "norm_T") < 1e-3 and value(saturated, "rate") < 1.0
    assert value(saturated, "rho_T") > 1e6
    small_inputs = demos.run("jacobian_product", {"tanh": True, "inputs": 0.1, "rho": 1.3})
    assert small_inputs["results"]["trend"]["value"] == "explodes"
    gauss = demos.run("jacobian_product", {"matrix": "gaussian", "rho": 0.95})
    assert value(gauss, "norm_first") > 1.0 and int(value(gauss, "below_one_at")) > 5
    long = demos.run("jacobian_product", {"rho": 1.3, "length": 200})
    assert value(long, "rho_T") > 1e20                       # "more than twenty digits"


def test_a_gaussian_matrix_below_radius_one_has_a_singular_value_above_one():
    w = teaching.recurrent_matrices(0.95, 16, 6, "gaussian", seed=0)
    assert (np.linalg.norm(w, 2, axis=(1, 2)) > 1.0).all()


@pytest.mark.parametrize("kind", teaching.MATRIX_KINDS)
def test_recurrent_matrices_have_the_requested_spectral_radius(kind):
    w = teaching.recurrent_matrices(0.7, 12, 5, kind, seed=3)
    assert np.abs(np.linalg.eigvals(w)).max(axis=1) == pytest.approx(np.full(5, 0.7))


def test_orthogonal_recurrent_matrices_stretch_every_direction_equally():
    w = teaching.recurrent_matrices(1.5, 8, 2, "orthogonal")
    assert np.linalg.svd(w, compute_uv=False) == pytest.approx(np.full((2, 8), 1.5))


@pytest.mark.parametrize("bad", [{"rho": 0.0}, {"hidden": 0}, {"runs": 0}, {"kind": "normal"}])
def test_recurrent_matrices_reject_bad_arguments_by_name(bad):
    args = {"rho": 1.0, "hidden": 4, "runs": 1, "kind": "orthogonal", **bad}
    with pytest.raises(ValueError, match=next(iter(bad))):
        teaching.recurrent_matrices(**args)


@pytest.mark.parametrize("bad", [{"length": 0}, {"input_scale": -1.0}, {"max_points": 1}])
def test_jacobian_product_norms_rejects_bad_arguments_by_name(bad):
    args = {"rho": 1.0, "length": 5, **bad}
    with pytest.raises(ValueError, match=next(iter(bad))):
        teaching.jacobian_product_norms(**args)


# --- clip_vector ------------------------------------------------------------------------


@pytest.mark.parametrize("gx, gy, tau", [(6.0, 2.5, 2.0), (7.5, 0.5, 2.0), (-3.0, 4.0, 1.0),
                                         (0.5, 0.2, 2.0), (8.0, -8.0, 0.2)])
def test_clip_vector_shows_the_package_clipping_functions(gx, gy, tau):
    out = demos.run("clip_vector", {"gx": gx, "gy": gy, "tau": tau, "lr": 0.1})
    g = np.array([gx, gy])
    by_norm, by_value = clip_by_norm(g, tau), clip_by_value(g, tau)
    plane = {it["label"]: it for it in out["figures"]["plane"]["items"] if it.get("label")}
    assert [plane["clipped by norm"]["x1"], plane["clipped by norm"]["y1"]] == pytest.approx(by_norm)
    assert [plane["clipped by value"]["x1"], plane["clipped by value"]["y1"]] == pytest.approx(by_value)
    assert value(out, "raw_norm") == pytest.approx(math.hypot(gx, gy))
    assert value(out, "norm_norm") == pytest.approx(min(math.hypot(gx, gy), tau))
    assert value(out, "value_norm") == pytest.approx(np.linalg.norm(by_value))
    assert value(out, "angle_norm") == pytest.approx(0.0, abs=1e-6)
    turn = math.degrees(abs(math.atan2(gy, gx) - math.atan2(by_value[1], by_value[0])))
    assert value(out, "angle_value") == pytest.approx(turn, abs=1e-6)
    assert value(out, "step_norm") <= value(out, "step_bound") + 1e-12
    assert value(out, "step_bound") == pytest.approx(0.1 * tau)


def test_clip_vector_can_be_dragged():
    out = demos.run("clip_vector", {"gx": 1.0, "gy": 2.0})
    handles = [it for it in out["figures"]["plane"]["items"] if it["t"] == "handle"]
    assert handles == [{"t": "handle", "x": 1.0, "y": 2.0, "params": ["gx", "gy"], "color": "start"}]


def test_value_clipping_can_exceed_tau_but_only_up_to_the_corner_of_the_box():
    out = demos.run("clip_vector", {"gx": 8.0, "gy": 8.0, "tau": 2.0})
    assert value(out, "value_norm") == pytest.approx(2.0 * math.sqrt(2))
    assert value(out, "norm_norm") == pytest.approx(2.0)


# --- global_norm_tensors ----------------------------------------------------------------


@pytest.mark.parametrize("spike, tau, clip_value", [(20.0, 1.0, 0.1), (0.1, 1.0, 0.1), (1000.0, 0.05, 2.0)])
def test_global_norm_demo_equals_the_clipping_functions(spike, tau, clip_value):
    out = demos.run("global_norm_tensors", {"spike": spike, "tau": tau, "clip_value": clip_value})
    raw = teaching.example_gradients(spike, 0)
    assert value(out, "global_raw") == pytest.approx(global_norm(raw))
    assert value(out, "scale") == pytest.approx(min(1.0, tau / global_norm(raw)))
    assert value(out, "norm_global") == pytest.approx(global_norm(clip_by_global_norm(raw, tau)))
    assert value(out, "norm_per_tensor") == pytest.approx(global_norm(clip_by_norm_per_tensor(raw, tau)))
    assert value(out, "norm_value") == pytest.approx(global_norm(clip_grad_value(raw, clip_value)))


def test_global_norm_clipping_keeps_the_direction_and_per_tensor_clipping_does_not():
    out = demos.run("global_norm_tensors", {"spike": 50.0, "tau": 1.0})
    assert value(out, "cos_global") == pytest.approx(1.0)
    assert value(out, "norm_global") == pytest.approx(1.0)
    assert value(out, "cos_per_tensor") < 0.99
    assert value(out, "cos_value") < 0.99


def test_example_gradients_put_the_spike_in_the_hidden_layer_only():
    calm, spiky = teaching.example_gradients(1.0), teaching.example_gradients(10.0)
    assert np.array_equal(calm[0], spiky[0]) and np.array_equal(calm[2], spiky[2])
    assert np.allclose(spiky[1], 10 * calm[1])
    with pytest.raises(ValueError, match="spike"):
        teaching.example_gradients(0.0)


# --- agc_units --------------------------------------------------------------------------


@pytest.mark.parametrize("clipping, spike", [(0.05, 10.0), (0.02, 10.0), (0.001, 1.0), (1.0, 1000.0)])
def test_agc_demo_equals_adaptive_grad_clip(clipping, spike):
    out = demos.run("agc_units", {"clipping": clipping, "spike": spike})
    w, g = teaching.example_layer(spike, 0)
    (clipped,) = adaptive_grad_clip([g], [w], clipping=clipping)
    ratio_before = unitwise_norm(g)[0] / np.maximum(unitwise_norm(w)[0], 1e-3)
    ratio_after = unitwise_norm(clipped)[0] / np.maximum(unitwise_norm(w)[0], 1e-3)
    assert value(out, "norm_after") == pytest.approx(np.linalg.norm(clipped))
    assert value(out, "max_before") == pytest.approx(ratio_before.max())
    assert value(out, "max_after") == pytest.approx(ratio_after.max())
    assert int(value(out, "units_clipped")) == int((ratio_before > clipping).sum())
    assert ratio_after.max() <= clipping * (1 + 1e-9)


def test_agc_judges_each_unit_against_its_own_weights():
    """The page's claim: at lambda 0.02 units 4 and 6 are clipped, unit 5 (bigger gradient) is not."""
    w, g = teaching.example_layer(10.0, 0)
    assert np.linalg.norm(g[:, 4]) > np.linalg.norm(g[:, 3])
    assert demos.run("agc_units", {})["results"]["which"]["value"] == "3"
    assert demos.run("agc_units", {"clipping": 0.02})["results"]["which"]["value"] == "3, 4, 6"


# --- rnn_cliff and cliff_methods: the simulator's own runs -------------------------------


def test_rnn_cliff_reports_the_simulators_runs():
    params = {"tau": 2.0, "lr": 0.03, "steps": 120, "w0": 4.75, "b0": -4.75}
    out = demos.run("rnn_cliff", params)
    plain = simulate("pascanu_rnn", method="none", lr=0.03, steps=120, start=(4.75, -4.75))
    clipped = simulate("pascanu_rnn", method="norm", tau=2.0, lr=0.03, steps=120, start=(4.75, -4.75))
    assert out["results"]["plain_outcome"]["value"] == plain.summary.verdict.code
    assert out["results"]["clip_outcome"]["value"] == clipped.summary.verdict.code
    assert value(out, "plain_max_norm") == pytest.approx(plain.summary.max_raw_norm)
    assert int(value(out, "clip_events")) == clipped.summary.clip_events
    assert value(out, "clip_max_step") == pytest.approx(0.03 * np.nanmax(clipped.clipped_norms))


def test_on_the_rnn_cliff_plain_descent_is_thrown_off_and_clipped_descent_is_not():
    out = demos.run("rnn_cliff", {})
    assert out["results"]["plain_outcome"]["value"] == "diverged"
    assert out["results"]["clip_outcome"]["value"] == "healthy"
    assert value(out, "plain_max_step") > 100 * value(out, "step_bound")
    assert value(out, "clip_max_step") <= value(out, "step_bound") * (1 + 1e-12)


def test_the_rnn_cliff_story_one_ordinary_step_then_thrown_off_and_clipped_only_at_first():
    out = demos.run("rnn_cliff", {})
    assert out["results"]["plain_outcome"]["text"] == "diverged at step 2"
    clipped = simulate("pascanu_rnn", method="norm", tau=1.0, lr=0.05, steps=60,
                       start=teaching._RNN_START)
    k = int(value(out, "clip_events"))
    assert clipped.clipped[:k].all() and not clipped.clipped[k:].any()


def test_on_the_plateau_plain_descent_is_thrown_off_from_a_few_starts_and_clipped_descent_from_none():
    """The why page: from most plateau starts plain descent crosses the edge unharmed, from a few
    (the default among them) it is thrown off; the clipped run never is, at the demo's settings."""
    from gradclip.landscapes import LANDSCAPES
    from gradclip.simulate import simulate_batch
    land = LANDSCAPES["pascanu_rnn"]
    starts = [teaching._RNN_START] + [(w, b) for w in np.linspace(2.2, 7.8, 8)
                                      for b in np.linspace(-4.9, -0.1, 12)
                                      if land.value(np.array(w), np.array(b)) > 10]
    plain = clipped = 0
    for start in starts:
        batch = simulate_batch("pascanu_rnn", method=["none", "norm"], tau=1.0, lr=0.05, steps=60,
                               start=start)
        plain += bool(batch.diverged[0])
        clipped += bool(batch.diverged[1])
    assert clipped == 0
    assert 1 <= plain < len(starts) / 4


def test_rnn_cliff_start_can_be_dragged():
    out = demos.run("rnn_cliff", {"w0": 3.0, "b0": -2.0})
    handle = [it for it in out["figures"]["surface"]["items"] if it["t"] == "handle"]
    assert handle and handle[0]["params"] == ["w0", "b0"] and handle[0]["x"] == 3.0


@pytest.mark.parametrize("tau, lr", [(1.0, 0.05), (0.1, 0.05), (1.0, 0.7)])
def test_cliff_methods_reports_the_simulators_verdicts(tau, lr):
    out = demos.run("cliff_methods", {"tau": tau, "lr": lr, "steps": 120})
    for method in ("none", "norm", "value"):
        run = simulate("cliff", method=method, tau=tau, lr=lr, steps=120)
        assert out["results"][f"{method}_outcome"]["value"] == run.summary.verdict.code
        if method != "none":
            assert int(value(out, f"{method}_clips")) == run.summary.clip_events
            assert value(out, f"{method}_final") == pytest.approx(run.summary.final_loss)


def test_the_conversation_settings_show_what_the_dialogue_says():
    default = demos.run("cliff_methods", {})
    assert default["results"]["none_outcome"]["text"] == "diverged at step 1"
    assert default["results"]["norm_outcome"]["value"] == "healthy"
    assert default["results"]["value_outcome"]["value"] == "healthy"
    tiny_tau = demos.run("cliff_methods", {"tau": 0.1})
    assert int(value(tiny_tau, "norm_clips")) == tiny_tau["params"]["steps"]
    assert tiny_tau["results"]["norm_outcome"]["value"] != "healthy"
    big_lr = demos.run("cliff_methods", {"lr": 0.7})
    assert big_lr["results"]["norm_outcome"]["value"] == "oscillating"
    assert big_lr["results"]["value_outcome"]["value"] == "oscillating"


def test_cliff_methods_reports_the_first_step_of_each_rule():
    from gradclip.landscapes import LANDSCAPES

    land = LANDSCAPES["cliff"]
    g0 = np.array([float(c) for c in land.grad(*land.start)])
    out = demos.run("cliff_methods", {"lr": 0.05, "tau": 1.0})
    assert out["results"]["start_grad"]["value"] == teaching._vec_text(g0)
    assert out["results"]["value_start"]["value"] == teaching._vec_text(clip_by_value(g0, 1.0))
    assert value(out, "none_step") == pytest.approx(0.05 * np.linalg.norm(g0))
    # The conversation: that step is many times wider than the plot.
    assert value(out, "none_step") > 5 * (land.view[1] - land.view[0])


def test_outcomes_read_as_words():
    assert demos.run("cliff_methods", {"tau": 0.1})["results"]["norm_outcome"]["text"] == "over-clipped"


# --- adaptive_thresholds and tau_from_norms ----------------------------------------------


def test_adaptive_thresholds_counts_equal_the_adaptive_functions():
    params = {"tau": 4.0, "percentile": 20.0, "z_thresh": 2.0, "spike_rate": 0.05,
              "spike_size": 30.0, "steps": 300, "seed": 2}
    out = demos.run("adaptive_thresholds", params)
    s = teaching.synthetic_norms(300, spike_rate=0.05, spike_size=30.0, seed=2)
    assert int(value(out, "spikes")) == int(s.spike.sum())
    assert int(value(out, "fixed_clipped")) == int((s.norms > 4.0).sum())
    assert int(value(out, "autoclip_clipped")) == int((s.norms > autoclip_series(s.norms, 20.0)).sum())
    z = zclip_series(s.norms, ZClip(z_thresh=2.0))
    assert int(value(out, "zclip_clipped")) == int(z.clipped.sum())
    assert int(value(out, "zclip_spikes")) == int((z.clipped & s.spike).sum())


def test_adaptive_thresholds_split_clipped_steps_into_spikes_and_ordinary_ones():
    out = demos.run("adaptive_thresholds", {})
    for rule in ("fixed", "autoclip", "zclip"):
        assert value(out, f"{rule}_ordinary") == value(out, f"{rule}_clipped") - value(out, f"{rule}_spikes")
    s = teaching.synthetic_norms(400, spike_rate=0.02, spike_size=20.0, seed=0)
    missed = np.flatnonzero(s.spike & (s.norms <= 10.0))
    assert out["results"]["fixed_missed"]["value"] == ", ".join(str(i) for i in missed)
    (i,) = missed   # the theory page speaks of "the one" spike a fixed tau = 10 lets through
    assert out["results"]["fixed_missed"]["text"] == f"step {i} (norm {demos.fmt_number(float(s.norms[i]))})"


def test_a_low_fixed_threshold_catches_every_spike_and_clips_mostly_early_steps():
    """The theory page: at tau = 2 no spike gets through, and most ordinary clipped steps are early."""
    out = demos.run("adaptive_thresholds", {"tau": 2.0})
    assert out["results"]["fixed_missed"]["value"] == "none"
    s = teaching.synthetic_norms(400, spike_rate=0.02, spike_size=20.0, seed=0)
    ordinary = np.flatnonzero((s.norms > 2.0) & ~s.spike)
    assert ordinary.size == int(value(out, "fixed_ordinary"))
    assert (ordinary < 100).sum() > ordinary.size / 2


def test_tau_from_norms_reports_suggest_thresholds_and_the_fraction_clipped():
    params = {"tau": 2.5, "spike_rate": 0.03, "spike_size": 10.0, "steps": 400, "seed": 1}
    out = demos.run("tau_from_norms", params)
    s = teaching.synthetic_norms(400, spike_rate=0.03, spike_size=10.0, seed=1)
    for sug in suggest_thresholds(s.norms, percentiles=(50, 90, 95, 99)):
        assert value(out, sug.rule) == pytest.approx(sug.tau)
    assert value(out, "p50") == pytest.approx(np.median(s.norms))
    assert value(out, "clipped") == pytest.approx(np.mean(s.norms > 2.5))


def test_tau_from_norms_colours_the_histogram_bars_beyond_tau():
    out = demos.run("tau_from_norms", {"tau": 2.0})
    bars = next(it for it in out["figures"]["hist"]["items"] if it["t"] == "rects")
    for x0, x1, fill in zip(bars["x0"], bars["x1"], bars["fill"]):
        assert fill == ("danger" if math.sqrt(x0 * x1) > 2.0 else "s0")


def test_synthetic_norms_are_reproducible_and_spikes_are_where_they_say():
    a = teaching.synthetic_norms(500, spike_rate=0.05, spike_size=50.0, noise=0.0, seed=3)
    b = teaching.synthetic_norms(500, spike_rate=0.05, spike_size=50.0, noise=0.0, seed=3)
    assert np.array_equal(a.norms, b.norms)
    base = 0.6 + 1.4 * np.exp(-np.arange(500) / 150.0)
    assert np.allclose(a.norms[~a.spike], base[~a.spike])
    assert (a.norms[a.spike] > 20 * base[a.spike]).all()


@pytest.mark.parametrize("bad", [{"steps": 5}, {"spike_rate": 0.9}, {"spike_size": -1.0}, {"noise": -0.1}])
def test_synthetic_norms_reject_bad_arguments_by_name(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        teaching.synthetic_norms(**{"steps": 100, **bad})


def test_angle_degrees():
    assert teaching.angle_degrees(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(90.0)
    assert teaching.angle_degrees(np.zeros(2), np.ones(2)) == 0.0
    for a, b in itertools.product([np.array([3.0, 4.0])], [np.array([6.0, 8.0]), np.array([-3.0, -4.0])]):
        assert teaching.angle_degrees(a, b) in (0.0, 180.0)


def test_the_landscape_surface_is_built_once_across_slider_moves():
    from gradclip.figures import landscape
    landscape.landscape_layers.cache_clear()
    demos.run("cliff_methods", {"tau": 1.0})
    demos.run("cliff_methods", {"tau": 2.0})
    demos.run("rnn_cliff", {"tau": 2.0})
    info = landscape.landscape_layers.cache_info()
    assert (info.misses, info.hits) == (2, 1)      # cliff once, pascanu_rnn once


def test_a_non_finite_vector_has_angle_zero():
    assert teaching.angle_degrees(np.array([np.inf, 1.0]), np.ones(2)) == 0.0


# --- clip_bias: clipping biases the average gradient -------------------------------------

from gradclip.demos import teaching_theory  # noqa: E402


def test_clip_bias_reports_the_average_of_each_batch_clipped_by_the_package():
    params = {"tau": 2.5, "spike_rate": 0.05, "spike_size": 12.0, "spikes": "aligned", "seed": 3}
    out = demos.run("clip_bias", params)
    g, _ = teaching_theory.batch_gradients(0.05, 12.0, "aligned", seed=3)
    clipped = np.array([clip_by_norm(row, 2.5) for row in g[:2000]])   # one batch at a time
    mean, rate, _ = teaching_theory.clipping_bias(g[:2000], 2.5)
    assert mean[0] == pytest.approx(clipped.mean(axis=0), rel=1e-12)
    assert rate[0] == np.mean(np.linalg.norm(g[:2000], axis=1) > 2.5)
    full_mean, full_rate, full_bias = teaching_theory.clipping_bias(g, 2.5)
    assert value(out, "clip_rate") == full_rate[0]
    raw = g.mean(axis=0)
    assert value(out, "rel_bias") == pytest.approx(np.linalg.norm(full_bias[0]) / np.linalg.norm(raw))
    assert value(out, "length_ratio") == pytest.approx(np.linalg.norm(full_mean[0]) / np.linalg.norm(raw))


def test_the_bias_is_minus_the_mean_excess_of_the_clipped_batches():
    g, _ = teaching_theory.batch_gradients(0.1, 30.0, "aligned", samples=5000, seed=1)
    norms = np.linalg.norm(g, axis=1)
    for tau in (0.5, 3.0, 20.0):
        _, _, bias = teaching_theory.clipping_bias(g, tau)
        excess = np.maximum(0.0, 1.0 - tau / norms)[:, None] * g
        assert bias[0] == pytest.approx(-excess.mean(axis=0), abs=1e-12)


def test_the_bias_vanishes_exactly_where_nothing_is_clipped_and_only_there():
    g, _ = teaching_theory.batch_gradients(seed=0)
    taus = np.geomspace(0.2, 60.0, 61)
    _, rate, bias = teaching_theory.clipping_bias(g, taus)
    size = np.linalg.norm(bias, axis=1)
    assert (size[rate > 0] > 0).all()
    assert (size[rate == 0] == 0).all()
    assert rate[0] > 0.9 and rate[-1] == 0      # the sweep spans "clip almost all" to "clip none"


def test_the_theory_page_story_a_few_aligned_bad_batches_bias_the_mean_symmetric_ones_barely():
    aligned = demos.run("clip_bias", {})
    assert value(aligned, "ordinary_clipped") < 0.001          # τ = 3 spares the ordinary batches
    assert 0.01 < value(aligned, "clip_rate") < 0.05            # so only the bad ones are clipped
    assert value(aligned, "rel_bias") > 0.2 and value(aligned, "angle") > 10
    assert value(aligned, "length_ratio") < 0.9
    symmetric = demos.run("clip_bias", {"spikes": "symmetric"})
    assert value(symmetric, "clip_rate") == pytest.approx(value(aligned, "clip_rate"), abs=0.005)
    assert value(symmetric, "rel_bias") < value(aligned, "rel_bias") / 5


def test_symmetric_bad_batches_average_to_the_ordinary_mean():
    g, spike = teaching_theory.batch_gradients(0.5, 40.0, "symmetric", samples=200_000, seed=2)
    assert g[~spike].mean(axis=0) == pytest.approx([1.0, 0.0], abs=0.01)
    along = (g[spike] - [1.0, 0.0]) @ teaching_theory._SPIKE_DIRECTION
    assert abs(along.mean()) < 0.02 * 40.0


@pytest.mark.parametrize("bad, kind", [({"spike_rate": 1.5}, ValueError), ({"spike_size": -1.0}, ValueError),
                                       ({"kind": "sideways"}, ValueError), ({"samples": 0}, ValueError),
                                       ({"spike_rate": "a"}, TypeError)])
def test_batch_gradients_reject_bad_arguments_by_name(bad, kind):
    with pytest.raises(kind, match=next(iter(bad))):
        teaching_theory.batch_gradients(**bad)


@pytest.mark.parametrize("g, taus, name", [(np.ones(3), 1.0, "g"), (np.ones((2, 2)), -1.0, "taus"),
                                           (np.array([[np.nan, 1.0]]), 1.0, "g")])
def test_clipping_bias_rejects_bad_arguments_by_name(g, taus, name):
    with pytest.raises(ValueError, match=name):
        teaching_theory.clipping_bias(g, taus)
