"""The simulator page's demos in CPython: what the browser shows is gradclip's own numbers.

These tests pin the contract between ``gradclip/demos/simulator.py`` and the page: the
parameters and their ranges, results equal to :func:`gradclip.simulate`, the figures'
items (trajectory to the edge, tau line, clipped steps, synchronised marker paths), the
phase diagram's clickable cells, and the CSV export.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gradclip.demos import REGISTRY, run, validate
from gradclip.web import run_json
from gradclip.demos import simulator as sim
from gradclip.figures import helpers, landscape
from gradclip.figures import paths as figure_paths
from gradclip.landscapes import LANDSCAPES
from gradclip.simulate import simulate, simulate_batch, sweep

FAST = {"steps": 60}   # keep the suite quick; the stories below use the real defaults


def items(fig: dict, t: str) -> list[dict]:
    return [it for it in fig["items"] if it["t"] == t]


def marker_lines(fig: dict) -> list[dict]:
    return [it for it in items(fig, "line") if it.get("marker")]


def expected_results(r) -> dict[str, str]:
    """The unrounded value strings the page must carry, straight from a Run's summary."""
    s = r.summary
    return {
        "final_loss": repr(float(s.final_loss)),
        "max_raw_norm": repr(float(s.max_raw_norm)),
        "clip_events": str(int(s.clip_events)),
        "diverged": "true" if s.diverged else "false",
        "diverged_at": "none" if s.diverged_at is None else str(s.diverged_at),
        "loss_reduction_pct": repr(float(s.loss_reduction_pct)),
        "verdict": s.verdict.code,
    }


# ---------------------------------------------------------------------------------------
# The spec: the controls the issue asks for


def test_simulator_spec_has_the_issue_controls_and_ranges():
    spec = REGISTRY["simulator"]
    p = {q.name: q for q in spec.params}
    assert (p["tau"].min, p["tau"].max, p["tau"].default, p["tau"].log) == (0.1, 10.0, 1.0, True)
    assert (p["lr"].min, p["lr"].max, p["lr"].default, p["lr"].log) == (0.001, 1.0, 0.05, True)
    assert (p["steps"].kind, p["steps"].min, p["steps"].max, p["steps"].default) == ("int", 10, 2000, 200)
    assert [c[0] for c in p["method"].choices] == ["none", "norm", "value", "adaptive"]
    assert p["method"].default == "norm"
    assert [c[0] for c in p["landscape"].choices] == list(LANDSCAPES)
    assert p["landscape"].default == "cliff"
    assert [c[0] for c in p["optimizer"].choices] == ["sgd", "momentum", "adam"]
    assert p["px"].kind == p["py"].kind == "hidden"
    assert p["compare"].kind == "bool" and p["compare"].default is False
    assert [f for f, _ in spec.figures] == ["contour", "loss", "norm"]
    assert [r for r, _ in spec.results] == ["final_loss", "max_raw_norm", "clip_events", "diverged",
                                            "diverged_at", "loss_reduction_pct", "verdict"]


def test_spec_serialises_to_strict_json():
    for name in ("simulator", "phase", "simulator_export"):
        json.dumps(REGISTRY[name].to_dict(), allow_nan=False)


def test_tampered_values_are_clamped_with_a_notice_not_an_exception():
    clean, notices = validate("simulator", {"tau": "1e9", "lr": -3, "steps": 99999,
                                            "method": "magic", "landscape": "moon"})
    assert (clean["tau"], clean["lr"], clean["steps"]) == (10.0, 0.001, 2000)
    assert (clean["method"], clean["landscape"]) == ("norm", "cliff")
    assert len(notices) == 5
    assert any("Clip threshold" in n and "10" in n for n in notices)


# ---------------------------------------------------------------------------------------
# Results: exactly gradclip.simulate's summary


@pytest.mark.parametrize("landscape", list(LANDSCAPES))
@pytest.mark.parametrize("method", ["none", "norm", "value", "adaptive"])
def test_results_equal_cpython_simulate(landscape, method):
    params = {"landscape": landscape, "method": method, "tau": 0.7, "lr": 0.03, **FAST}
    out = run("simulator", params)
    r = simulate(landscape, method, tau=0.7, lr=0.03, steps=FAST["steps"])
    got = {k: v["value"] for k, v in out["results"].items()}
    assert got == expected_results(r)


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_results_follow_the_optimizer(optimizer):
    out = run("simulator", {"optimizer": optimizer, "landscape": "ravine", **FAST})
    r = simulate("ravine", "norm", steps=FAST["steps"], optimizer=optimizer)
    assert {k: v["value"] for k, v in out["results"].items()} == expected_results(r)


def test_default_story_norm_clipping_is_healthy_and_readable():
    res = run("simulator", {})["results"]
    assert res["verdict"]["value"] == "healthy"
    assert res["diverged"]["text"] == "no"
    assert res["diverged_at"]["text"] == "never"
    # "45 (22%)": a count and a percentage of the steps taken
    count = int(res["clip_events"]["value"])
    assert res["clip_events"]["text"] == f"{count} ({round(100 * count / 200)}%)"
    for field in res.values():   # numbers for people: no 17-digit floats, no NaN
        assert "nan" not in field["text"].lower()
        assert not any(len(tok) > 10 for tok in field["text"].replace("(", " ").split()
                       if tok[:1].isdigit())


def test_divergence_reads_infinity_and_the_step_never_nan():
    res = run("simulator", {"method": "none"})["results"]
    assert res["final_loss"] == {"value": "inf", "text": "∞ (diverged)"}
    assert res["diverged"] == {"value": "true", "text": "diverged at step 1"}
    assert res["diverged_at"] == {"value": "1", "text": "step 1"}
    assert res["loss_reduction_pct"]["text"] == "diverged"
    assert res["verdict"]["value"] == "diverged"
    assert res["verdict"]["text"].startswith("Diverged:") and res["verdict"]["text"].endswith(".")
    assert res["clip_events"]["text"] == "0 (clipping off)"


def test_output_is_strict_json_even_when_the_run_diverges():
    for params in ({"method": "none"}, {"method": "none", "compare": True},
                   {"landscape": "spiky", "method": "none", "steps": 300}):
        text = run_json("simulator", json.dumps(params))
        assert "NaN" not in text and "Infinity" not in text
        json.loads(text)


# ---------------------------------------------------------------------------------------
# Figures


def test_three_figures_with_marker_paths_indexed_by_step():
    out = run("simulator", FAST)
    n = FAST["steps"]
    contour, loss, norm = (out["figures"][k] for k in ("contour", "loss", "norm"))
    # setMarker(i) puts the marker at step i in all three figures: one point per step.
    assert [len(it["x"]) for it in marker_lines(contour)] == [n + 1]
    assert [len(it["x"]) for it in marker_lines(loss)] == [n + 1]
    assert [len(it["x"]) for it in marker_lines(norm)] == [n]
    assert loss["y_log"] and norm["y_log"] and contour["aspect_equal"]
    assert all(it.get("hover") for it in marker_lines(loss) + marker_lines(norm))
    assert all(fig["alt"] for fig in (contour, loss, norm))


def test_contour_has_shading_contours_minimum_and_a_start_handle():
    contour = run("simulator", {"landscape": "rosenbrock", **FAST})["figures"]["contour"]
    (raster,) = items(contour, "raster")
    values = [v for row in raster["values"] for v in row if v is not None]
    assert min(values) == 0.0 and max(values) == 1.0          # the whole colour map is used
    assert items(contour, "contours")[0]["paths"]
    (star,) = [m for m in items(contour, "marker") if m["shape"] == "star"]
    assert (star["x"], star["y"]) == (1.0, 1.0)
    (handle,) = items(contour, "handle")
    assert handle["params"] == ["px", "py"]
    assert (handle["x"], handle["y"]) == LANDSCAPES["rosenbrock"].start


def test_a_run_that_leaves_the_view_is_drawn_to_the_edge_and_marked():
    out = run("simulator", {"method": "none"})
    contour = out["figures"]["contour"]
    x0, x1, y0, y1 = LANDSCAPES["cliff"].view
    texts = [t["text"] for t in items(contour, "text")]
    assert texts == ["left the plot at step 1"]
    (cross,) = [m for m in items(contour, "marker") if m["shape"] == "cross"]
    assert cross["x"] == x0 or cross["x"] == x1 or cross["y"] in (y0, y1)   # on the frame
    # The drawn piece from the start reaches exactly that edge point.
    edge_lines = [it for it in items(contour, "line") if not it.get("marker")]
    ends = [(x, y) for it in edge_lines for x, y in zip(it["x"], it["y"]) if x is not None]
    assert (cross["x"], cross["y"]) in ends


def test_norm_figure_has_tau_in_danger_and_a_rug_of_clipped_steps():
    out = run("simulator", {"tau": 2.0})
    norm = out["figures"]["norm"]
    (tau_line,) = items(norm, "hline")
    assert (tau_line["y"], tau_line["color"]) == (2.0, "danger")
    rug = [it for it in items(norm, "line") if it.get("label") == "clipped steps"]
    assert len(rug) == 1
    r = simulate(tau=2.0)
    # every clipped step lies under a rug segment
    xs = rug[0]["x"]
    segs = [(xs[i], xs[i + 1]) for i in range(0, len(xs), 3)]
    for k in np.flatnonzero(r.clipped):
        assert any(a <= k <= b for a, b in segs)
    assert r.clipped.any()


def test_unclipped_run_says_tau_is_not_applied():
    norm = run("simulator", {"method": "none", "landscape": "ravine", **FAST})["figures"]["norm"]
    (tau_line,) = items(norm, "hline")
    assert "not applied" in tau_line["label"] and tau_line.get("dash")


def test_compare_mode_is_one_batch_with_three_coloured_runs_and_a_legend():
    params = {"compare": True, "landscape": "cliff", **FAST}
    out = run("simulator", params)
    batch = simulate_batch("cliff", ["norm", "none", "value"], steps=FAST["steps"])
    assert out["extra"]["methods"] == ["norm", "none", "value"]
    for fig in out["figures"].values():
        lines = marker_lines(fig)
        assert len(lines) == 3
        assert len({it["color"] for it in lines}) == 3
        assert fig["legend"]
    # the results panel is the selected method's run, identical to a single simulate()
    assert {k: v["value"] for k, v in out["results"].items()} == expected_results(
        simulate("cliff", "norm", steps=FAST["steps"]))
    rows = out["extra"]["compare"]
    assert [row["results"]["verdict"]["value"] for row in rows] == batch.codes.tolist()


def test_compare_mode_keeps_an_adaptive_selection_as_a_fourth_run():
    out = run("simulator", {"compare": True, "method": "adaptive", **FAST})
    assert out["extra"]["methods"] == ["adaptive", "none", "norm", "value"]


def test_display_lists_stay_small():
    text = run_json("simulator", json.dumps({"steps": 500}))
    assert len(text) < 120_000
    loss = json.loads(text)["figures"]["loss"]
    assert all(v is None or len(repr(v)) <= 12 for v in marker_lines(loss)[0]["y"])


def test_landscape_shading_is_computed_once_per_landscape():
    landscape.landscape_layers.cache_clear()
    run("simulator", FAST)
    run("simulator", {**FAST, "tau": 3.0})
    info = landscape.landscape_layers.cache_info()
    assert (info.misses, info.hits) == (1, 1)


# ---------------------------------------------------------------------------------------
# Start point


def test_start_point_none_means_the_landscapes_start():
    out = run("simulator", {"landscape": "ravine", "px": None, "py": None, **FAST})
    assert out["extra"]["start"] == list(LANDSCAPES["ravine"].start)
    assert out["extra"]["notices"] == []


def test_dragged_start_point_is_used_by_the_run():
    out = run("simulator", {"px": -1.0, "py": 0.5, **FAST})
    r = simulate("cliff", start=(-1.0, 0.5), steps=FAST["steps"])
    assert {k: v["value"] for k, v in out["results"].items()} == expected_results(r)
    (handle,) = items(out["figures"]["contour"], "handle")
    assert (handle["x"], handle["y"]) == (-1.0, 0.5)


@pytest.mark.parametrize("px, py, expect", [(99.0, 0.0, (2.5, 0.0)), (0.0, -1e9, (0.0, -2.0)),
                                            ("abc", 1.0, (2.0, 1.5)), (float("nan"), 1.0, (2.0, 1.5))])
def test_start_point_outside_the_view_is_clamped(px, py, expect):
    point, notices = sim.start_point(LANDSCAPES["cliff"], px, py)
    assert point == expect
    assert len(notices) == 1     # clamped, or not a number: either way the reader is told


@pytest.mark.parametrize("px, py", [("abc", 1.0), (1.0, None), (True, 1.0), ("inf", "0")])
def test_an_unusable_start_point_falls_back_with_a_notice(px, py):
    point, notices = sim.start_point(LANDSCAPES["cliff"], px, py)
    assert point == LANDSCAPES["cliff"].start
    assert notices and notices[0].startswith("Start point:") and "usual start (2, 1.5)" in notices[0]


# ---------------------------------------------------------------------------------------
# Geometry helpers


def test_clip_segments_matches_the_box_edges():
    p = np.array([[0.0, 0.0], [0.0, 0.0], [2.0, 2.0], [-3.0, 0.5]])
    q = np.array([[0.5, 0.5], [3.0, 0.0], [3.0, 3.0], [3.0, 0.5]])
    a, b, ok = figure_paths.clip_segments(p, q, (-1.0, 1.0, -1.0, 1.0))
    assert ok.tolist() == [True, True, False, True]
    assert b[0].tolist() == [0.5, 0.5]            # inside: unchanged
    assert b[1].tolist() == [1.0, 0.0]            # leaves through the right edge
    assert a[3].tolist() == [-1.0, 0.5] and b[3].tolist() == [1.0, 0.5]   # crosses the box


def test_trajectory_paths_break_outside_and_report_the_first_exit():
    pos = np.array([[0.0, 0.0], [0.5, 0.0], [2.0, 0.0], [0.5, 0.5], [np.nan, np.nan]])
    paths = figure_paths.trajectory_paths(pos, (-1.0, 1.0, -1.0, 1.0))
    assert np.isnan(paths["x"][2]) and paths["x"][3] == 0.5
    assert paths["left_at"] == 2 and paths["exit"] == (1.0, 0.0)
    # the exit and the re-entry are both drawn as clipped pieces
    assert len(paths["edge_x"]) == 6


def test_round_sig_keeps_four_significant_digits_and_short_reprs():
    v = np.array([1.234567e-7, 98765.4321, -0.00123456, 3.0])
    r = helpers.round_sig(v)
    assert r.tolist() == [1.235e-07, 98770.0, -0.001235, 3.0]
    assert np.allclose(r, v, rtol=5e-4)


def test_clipped_rug_covers_every_clipped_step_once():
    mask = np.array([0, 1, 1, 0, 0, 1, 0], dtype=bool)
    xs, ys = helpers.clipped_rug(mask, 2.0)
    assert xs[0:2] == [0.5, 2.5] and xs[3:5] == [4.5, 5.5]
    assert ys.count(2.0) == 4


# ---------------------------------------------------------------------------------------
# Phase diagram


def test_phase_cells_are_the_sweeps_codes_and_clicking_sets_tau_and_lr():
    params = {"landscape": "cliff", "method": "norm", "steps": 60}
    out = run("phase", params)
    taus, lrs = sim.phase_axes()
    grid = sweep("cliff", "norm", taus=taus, lrs=lrs, steps=60)
    assert out["extra"]["codes"] == grid.codes.tolist()
    fig = out["figures"]["phase"]
    (rects,) = items(fig, "rects")
    assert len(rects["set"]) == len(taus) * len(lrs)
    assert rects["fill"] == [sim.OUTCOME_COLORS[c] for c in grid.codes.ravel()]
    for cell in rects["set"]:            # every click lands on allowed values
        assert 0.1 <= cell["tau"] <= 10 and 0.001 <= cell["lr"] <= 1
    (current,) = [m for m in items(fig, "marker") if m.get("label") == "current settings"]
    assert (current["x"], current["y"]) == (1.0, 0.05)


def test_phase_reports_the_cell_under_the_current_settings():
    out = run("phase", {"steps": 60, "tau": 0.1, "lr": 0.001})
    taus, lrs = sim.phase_axes()
    code = sweep("cliff", "norm", taus=taus, lrs=lrs, steps=60).codes[0, 0]
    assert out["results"]["cell"]["value"] == code


def test_phase_sweep_is_reused_when_only_tau_and_lr_change():
    sim._phase_sweep.cache_clear()
    sim._phase_layers.cache_clear()
    run("phase", {"steps": 40, "tau": 0.5})
    run("phase", {"steps": 40, "tau": 2.0, "lr": 0.2})
    assert sim._phase_sweep.cache_info().misses == 1
    info = sim._phase_layers.cache_info()      # the sweep and its cells, kept together
    assert (info.misses, info.hits) == (1, 1)


def test_layers_that_do_not_depend_on_tau_and_lr_are_keyed_and_sent_once():
    from gradclip.demos import dedupe_layers
    a = run("simulator", {**FAST, "tau": 0.5})
    b = run("simulator", {**FAST, "tau": 2.0, "lr": 0.2})
    keyed = [it for it in a["figures"]["contour"]["items"] if "key" in it]
    assert [it["t"] for it in keyed] == ["raster", "contours"]
    assert keyed == [it for it in b["figures"]["contour"]["items"] if "key" in it]
    sent: set[str] = set()
    slim, new = dedupe_layers(a, sent)
    assert slim == a and new == {it["key"] for it in keyed}
    sent |= new
    slim, new = dedupe_layers(b, sent)
    assert not new
    refs = [it for it in slim["figures"]["contour"]["items"] if it.get("ref")]
    assert refs == [{"t": it["t"], "key": it["key"], "ref": True} for it in keyed]
    assert len(json.dumps(slim)) < len(json.dumps(b)) / 2
    # The phase map: the cells depend on the sweep only; tau and lr move the marker.
    p1 = run("phase", {"steps": 40, "tau": 0.5})["figures"]["phase"]["items"]
    p2 = run("phase", {"steps": 40, "tau": 2.0})["figures"]["phase"]["items"]
    assert p1[0]["t"] == "rects" and p1[0] == p2[0] and "key" in p1[0]
    assert run("phase", {"steps": 40, "method": "none"})["figures"]["phase"]["items"][0]["key"] != p1[0]["key"]


def test_phase_has_no_start_point_parameters():
    assert {p.name for p in REGISTRY["phase"].params} == {
        "tau", "lr", "steps", "method", "landscape", "optimizer"}


# ---------------------------------------------------------------------------------------
# Export


def test_csv_export_has_every_position_at_full_precision():
    out = run("simulator_export", {"landscape": "ravine", "steps": 30})
    r = simulate("ravine", steps=30)
    rows = [line.split(",") for line in out["extra"]["csv"].splitlines()]
    assert rows[0] == ["method", "step", "x", "y", "loss", "raw_norm", "clipped_norm", "clipped"]
    assert len(rows) == 1 + 31
    assert rows[5][:2] == ["norm", "4"]
    assert float(rows[5][2]) == r.positions[4, 0] and float(rows[5][4]) == r.losses[4]
    assert float(rows[5][5]) == r.raw_norms[4] and int(rows[5][7]) == int(r.clipped[4])
    assert rows[-1][5:] == ["", "", ""]


def test_csv_export_of_a_diverged_run_stops_at_the_edge():
    csv = run("simulator_export", {"method": "none"})["extra"]["csv"]
    assert len(csv.splitlines()) == 1 + 2   # start and the edge point of step 1
    assert "nan" not in csv.lower()


def test_csv_export_in_compare_mode_holds_every_run():
    csv = run("simulator_export", {"compare": True, "steps": 20})["extra"]["csv"]
    methods = [line.split(",")[0] for line in csv.splitlines()[1:]]
    assert list(dict.fromkeys(methods)) == ["norm", "none", "value"]


def test_svg_export_matches_the_figures():
    # The writer is part of the package now, so every Python (Pyodide too) has it.
    svg = run("simulator_export", {"steps": 20})["extra"]["svg"]
    assert sorted(svg) == ["contour", "loss", "norm"]
    assert all(text.startswith("<svg") for text in svg.values())


# ---------------------------------------------------------------------------------------
# Presets: each tells its story


@pytest.mark.parametrize("preset", sim.PRESETS, ids=lambda p: p.name)
def test_each_preset_tells_its_story(preset):
    clean, notices = validate("simulator", preset.params())
    assert notices == []                       # every preset value is allowed by the controls
    out = run("simulator", preset.params())
    assert out["results"]["verdict"]["value"] == preset.expect
    if preset.compare:
        assert len(out["extra"]["methods"]) == 3


def test_the_leap_preset_leaves_the_plot_and_the_bad_batches_hurt_only_unclipped():
    leap = {p.name: p for p in sim.PRESETS}["leap"]
    texts = [t["text"] for t in items(run("simulator", leap.params())["figures"]["contour"], "text")]
    assert texts == ["left the plot at step 1"]
    spiky = {p.name: p for p in sim.PRESETS}["spiky"]
    rows = {row["method"]: row["results"]["verdict"]["value"]
            for row in run("simulator", spiky.params())["extra"]["compare"]}
    assert rows["norm"] == "healthy" and rows["none"] != "healthy"


def test_presets_reach_the_page_with_every_parameter():
    presets = run("simulator", FAST)["extra"]["presets"]
    names = {p.name for p in REGISTRY["simulator"].params}
    assert [p["name"] for p in presets] == [p.name for p in sim.PRESETS]
    assert all(set(p["params"]) == names for p in presets)
    assert len(presets) == 6


# ---------------------------------------------------------------------------------------
# What the pages say in words (the numbers themselves are quoted with {gc:…} at build time)


def test_the_default_runs_largest_gradient_is_the_one_at_the_start():
    """Home and simulator pages: 'the gradient at the start has length {gc:sim.max_raw_norm}'."""
    out = run("simulator", {})
    land = LANDSCAPES["cliff"]
    start_norm = math.hypot(*(float(g) for g in land.grad(*land.start)))
    assert float(out["results"]["max_raw_norm"]["value"]) == pytest.approx(start_norm, rel=1e-6)


def test_the_default_run_is_clipped_only_at_the_beginning():
    """'Clipping shortens {gc:sim.clip_events} of the 200 steps, all at the beginning.'"""
    r = simulate("cliff", "norm", tau=1.0, lr=0.05, steps=200)
    k = r.summary.clip_events
    assert 0 < k < 200
    assert r.clipped[:k].all() and not r.clipped[k:].any()


def test_value_clipping_makes_the_start_gradient_diagonal():
    """Bend preset: both components exceed tau = 1, one by far, and clamping makes them equal."""
    gx, gy = (float(g) for g in LANDSCAPES["cliff"].grad(*LANDSCAPES["cliff"].start))
    assert gy > 1.0 and gx > 100 * gy


def test_without_clipping_most_of_the_phase_map_diverges_and_with_it_none_does():
    none = run("phase", {"method": "none"})["results"]
    norm = run("phase", {"method": "norm"})["results"]
    assert float(none["diverged_share"]["value"]) > 0.5
    assert float(norm["diverged_share"]["value"]) == 0.0
    # The survivors without clipping are the smallest learning rates.
    codes = np.array(run("phase", {"method": "none"})["extra"]["codes"])
    survives = (codes != "diverged").any(axis=0)          # per learning-rate column
    assert survives[0] and not survives[-1]
    assert np.flatnonzero(survives).max() < codes.shape[1] // 2
