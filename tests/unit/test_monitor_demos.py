"""The training-run demos in CPython: what the pages (and the browser) are sent.

The worker runs exactly these functions under Pyodide, so a demo that is right here and
serialises to strict JSON is right on the page.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import gradclip.demos as demos
import gradclip.demos.monitor as monitor
import gradclip.demos.monitor_spikes as monitor_spikes
from gradclip.demos import run, run_iter


@pytest.fixture
def every_step(monkeypatch):
    """Stream a partial output after every training step (no timing involved)."""
    monkeypatch.setattr(monitor, "CHUNK_SECONDS", 0.0)


def values(out):
    return {k: v["value"] for k, v in out["results"].items()}


def test_the_demos_are_registered_with_their_figures_and_results():
    for name in ("bad_batches", "monitor", "worked_rnn", "worked_mlp", "norm_analyser"):
        spec = demos.REGISTRY[name]
        out = run(name)
        assert set(out["figures"]) == {f for f, _ in spec.figures}
        assert set(out["results"]) == {r for r, _ in spec.results}
        json.dumps(out, allow_nan=False)                  # strict JSON, as the worker sends it
    assert demos.REGISTRY["monitor"].stream and not demos.REGISTRY["norm_analyser"].stream
    assert demos.REGISTRY["bad_batches"].stream


def test_monitor_streams_partial_outputs_then_one_final_output(every_step):
    outs = list(run_iter("monitor", {"model": "rnn1", "steps": 30}))
    assert [o["done"] for o in outs] == [False] * (len(outs) - 1) + [True]
    done = [int(o["results"]["steps_done"]["value"]) for o in outs]
    assert len(outs) > 5 and done == sorted(done) and done[-1] == 30
    # Every partial spans the whole run on x, so the chart grows from left to right.
    assert {tuple(o["figures"]["loss"]["x_range"]) for o in outs} == {(0.0, 30.0)}


def test_the_final_numbers_do_not_depend_on_how_often_it_streamed(monkeypatch):
    params = {"model": "rnn2", "steps": 40, "method": "zclip", "tau": 2.5}
    monkeypatch.setattr(monitor, "CHUNK_SECONDS", 0.0)
    often = run("monitor", params)
    monkeypatch.setattr(monitor, "CHUNK_SECONDS", 1e9)
    never = run("monitor", params)
    assert values(often) == values(never)
    assert often["figures"] == never["figures"]


def test_compare_overlays_the_unclipped_run_from_the_same_seed():
    out = run("monitor", {"steps": 60, "compare": True})
    lines = [i for i in out["figures"]["loss"]["items"] if i["t"] == "line"]
    assert [l["label"] for l in lines] == ["norm, τ = 1", "no clipping"]
    assert lines[0]["y"][0] == lines[1]["y"][0]            # same seed: same first loss
    r = out["results"]
    assert r["other_label"]["text"] == "no clipping"
    assert r["diverged"]["value"] == "false" and r["other_diverged"]["value"] != "false"


def test_monitor_marks_the_clipped_steps_and_the_threshold():
    out = run("monitor", {"model": "rnn1", "steps": 50, "tau": 0.3})
    items = out["figures"]["norm"]["items"]
    assert any(i["t"] == "hline" and i["y"] == 0.3 for i in items)
    assert any(i["t"] == "line" and i.get("label", "").startswith("clipped steps") for i in items)
    assert out["figures"]["norm"]["y_log"] and out["figures"]["norm"]["y_range"][0] > 0


def test_monitor_fixes_an_incompatible_model_and_task_and_says_so():
    out = run("monitor", {"model": "mlp", "task": "adding", "steps": 20, "lr": 0.001})
    assert out["results"]["setup"]["value"] == "mlp/regression"
    assert "regression" in out["extra"]["notices"][0]


def test_out_of_range_settings_are_clamped_with_a_notice():
    out = run("monitor", {"steps": 10**6, "model": "rnn1"})
    assert out["params"]["steps"] == 2000
    assert any("outside the allowed range" in n for n in out["notices"])


def test_worked_rnn_reports_what_gradclip_computes():
    r = values(run("worked_rnn"))
    assert r["tau1_diverged"] == "false" and r["tau05_diverged"] == "false"
    assert int(r["none_diverged"]) > 0
    assert float(r["tau1_final_loss"]) < 0.2 and not math.isfinite(float(r["none_final_loss"]))
    assert r["steps_done"] == "500"


def test_worked_mlp_reports_what_gradclip_computes():
    r = values(run("worked_mlp", {"seed": 1}))
    assert r["value_diverged"] == "false" and r["norm_diverged"] == "false"
    assert r["none_diverged"] != "false"
    assert r["steps_done"] == "400"


# ------------------------------------------------------------------ rare bad batches


def spike_logs(**params):
    """The bad-batch demo's five runs, trained here from its setup: unclipped, then τ at each
    percentile of the unclipped run's first SPIKE_WINDOW norms."""
    from gradclip.tasks import AddingTask, BadBatches
    from gradclip.train import RunSpec, train_runs
    p = {**demos.REGISTRY["bad_batches"].defaults(), **params}
    setup = monitor_spikes.SPIKE_SETUP
    task = BadBatches(AddingTask(), count=p["count"], scale=p["scale"], start=monitor_spikes.SPIKE_WINDOW)
    opts = dict(steps=setup["steps"], optimizer=p["optimizer"], seed=p["seed"], rho=setup["rho"])
    (plain,) = train_runs(setup["model"], task, [RunSpec("none", 1.0, p["lr"])], **opts)
    taus = monitor_spikes.spike_thresholds(plain.grad_norm[:monitor_spikes.SPIKE_WINDOW])
    clipped = train_runs(setup["model"], task, [RunSpec("norm", float(t), p["lr"]) for t in taus], **opts)
    return plain, clipped


@pytest.fixture(scope="module")
def spikes():
    return spike_logs(), run("bad_batches")


def test_the_thresholds_are_percentiles_of_the_clean_measuring_window(spikes):
    (plain, clipped), out = spikes
    W = monitor_spikes.SPIKE_WINDOW
    assert not plain.bad_batch[:W].any() and plain.bad_batch[W:].sum() == 3
    expected = np.percentile(plain.grad_norm[:W], monitor_spikes.SPIKE_PERCENTILES)
    np.testing.assert_allclose([l.tau for l in clipped], expected)
    r = values(out)
    assert float(r["tau_p10"]) == pytest.approx(expected[0], rel=1e-3)
    assert float(r["tau_p99"]) == pytest.approx(expected[-1], rel=1e-3)
    assert float(r["median"]) == pytest.approx(np.median(plain.grad_norm[:W]), rel=1e-3)
    hlines = [i["y"] for i in out["figures"]["norm"]["items"] if i["t"] == "hline"]
    np.testing.assert_allclose(hlines, expected)
    # The demo's numbers are these runs' numbers.
    assert int(r["clips_p99"]) == clipped[-1].clipped.sum() and int(r["clips_p10"]) == clipped[0].clipped.sum()
    assert float(r["step_none"]) == pytest.approx(plain.update_norm.max(), rel=1e-3)
    assert float(r["step_typical"]) == pytest.approx(np.median(plain.update_norm[:W]), rel=1e-3)


def test_by_default_every_threshold_clips_every_bad_batch_and_they_differ_in_the_ordinary_steps(spikes):
    (plain, clipped), _ = spikes
    bad, steps = plain.bad_batch, plain.steps
    for log in clipped:
        assert log.clipped[bad].all(), log.tau
    low, high = clipped[0], clipped[-1]
    assert low.clipped.mean() > 0.8                               # the 10th percentile clips most steps
    assert (high.clipped & ~bad).sum() <= 0.03 * steps            # the 99th: hardly any ordinary one
    clips = [int(l.clipped.sum()) for l in clipped]
    assert clips == sorted(clips, reverse=True)


def test_the_page_claims_about_the_bad_batch_runs(spikes):
    """docs/monitor/training-monitor.md, 'What the runs show', checked against gradclip."""
    (plain, clipped), _ = spikes
    W, bad, high = monitor_spikes.SPIKE_WINDOW, plain.bad_batch, clipped[-1]
    # The SGD bound: no clipped update longer than lr * tau; unclipped, a bad batch's is far longer.
    for log in clipped:
        assert np.nanmax(log.update_norm) <= log.lr * log.tau * (1 + 1e-9)
    assert plain.update_norm.max() > 10 * high.update_norm.max()
    typical = np.median(plain.update_norm[:W])
    assert np.all(plain.update_norm[bad] > 10 * typical)          # "each bad batch", "a long way"
    # "barely below the 1/6 of always answering 1", and worse than every clipped run
    final = plain.summary.final_loss
    assert 0.85 / 6 < final < 1 / 6
    assert all(final > l.summary.final_loss for l in clipped)
    # Each clip rate above its percentile's promise, because the clipped runs' own norms are larger.
    for p, log in zip(monitor_spikes.SPIKE_PERCENTILES, clipped):
        assert log.clipped.mean() > 1 - p / 100
        assert np.median(log.grad_norm[:W]) > np.median(plain.grad_norm[:W])
    # The ordinary steps the 99th percentile clips: mostly the first steps and those right after a bad batch.
    ordinary = np.flatnonzero(high.clipped & ~bad)
    after = np.flatnonzero(bad) + 1
    explained = [s for s in ordinary if s < 20 or s in after]
    assert len(explained) > len(ordinary) / 2
    # ZClip note: a cap at 1.0 would clip most of this run's ordinary steps.
    assert np.median(plain.grad_norm[:W]) > 1.0


def test_adam_does_not_stop_a_bad_batch_either():
    """The page: with Adam, compare the longest update with the typical one."""
    r = values(run("bad_batches", {"optimizer": "adam"}))
    assert float(r["step_none"]) > 10 * float(r["step_typical"])


def test_the_bad_batch_figures_mark_the_bad_batches_and_share_one_scale(spikes):
    _, out = spikes
    figs = out["figures"]
    assert set(figs) == {"norm", "loss", "update_p10", "update_p50", "update_p90", "update_p99"}
    for name, fig in figs.items():
        marks = [i for i in fig["items"] if i["t"] == "vline" and i["color"] == "danger"]
        assert len(marks) == 3, name
    panels = [figs[f"update_p{p}"] for p in monitor_spikes.SPIKE_PERCENTILES]
    assert len({tuple(f["y_range"]) for f in panels}) == 1
    for f, p in zip(panels, monitor_spikes.SPIKE_PERCENTILES):
        assert f["title"].startswith(f"τ at p{p} = ")
        assert any(i["t"] == "hline" and i.get("label", "").startswith("η·τ") for i in f["items"])
    adam = run("bad_batches", {"optimizer": "adam", "count": 0})["figures"]["update_p99"]
    assert not any(i["t"] == "hline" for i in adam["items"])         # the η·τ bound is SGD's only


def test_without_bad_batches_nothing_is_marked_and_the_results_say_so():
    out = run("bad_batches", {"count": 0})
    assert out["results"]["bad_norm"]["text"] == "— (none)"
    assert not any(i["t"] == "vline" and i["color"] == "danger" for i in out["figures"]["norm"]["items"])


def test_bad_batches_streams_and_its_final_output_does_not_depend_on_the_chunks(monkeypatch):
    params = {"count": 2, "seed": 4}
    monkeypatch.setattr(monitor, "CHUNK_SECONDS", 0.0)
    first = list(itertools.islice(run_iter("bad_batches", params), 3))
    assert [o["done"] for o in first] == [False] * 3
    assert [o["results"]["steps_done"]["text"] for o in first] == ["1 of 400", "2 of 400", "3 of 400"]
    assert first[0]["results"]["bad_norm"]["text"] == "— (none met yet)"
    json.dumps(first[-1], allow_nan=False)
    monkeypatch.setattr(monitor, "CHUNK_SECONDS", 0.02)
    often = run("bad_batches", params)
    monkeypatch.setattr(monitor, "CHUNK_SECONDS", 1e9)
    once = run("bad_batches", params)
    assert values(often) == values(once) and often["figures"] == once["figures"]


def test_spike_thresholds_measure_the_finite_norms_and_stay_in_range():
    t = monitor_spikes.spike_thresholds(np.array([1.0, 2.0, np.nan, np.inf, 3.0]), (0, 100))
    np.testing.assert_array_equal(t, [1.0, 3.0])
    assert np.isnan(monitor_spikes.spike_thresholds(np.array([np.inf]))).all()
    assert monitor_spikes.spike_thresholds(np.array([1e9]), (50,))[0] == 1e6


# ------------------------------------------------------------ the bad-initialisation preset


def test_the_bad_initialisation_preset_is_the_start_not_the_batches():
    """The page: from ρ = 1.3 the unclipped run explodes within a few dozen steps while τ = 1 clips
    nearly every step of the other; from ρ = 0.7 the unclipped run trains."""
    from gradclip.train import RunSpec, train_runs
    bad = run("monitor", {"compare": True})
    at = int(bad["results"]["other_diverged"]["value"])
    assert bad["params"]["rho"] == 1.3 and at < 50
    assert int(bad["results"]["clips"]["value"]) > 0.9 * 500        # "acts on nearly every step"
    good = run("monitor", {"compare": True, "rho": 0.7})
    assert good["results"]["other_diverged"]["value"] == "false"
    assert "ρ = 0.7" in good["results"]["setup"]["text"]
    # the knob is the model's: the same run from train_runs
    (plain,) = train_runs("rnn3", "adding", [RunSpec("none", 1.0, 0.05)], 500, rho=1.3)
    assert plain.summary.diverged_at == at


# ------------------------------------------------------- what the monitor page says


def test_monitor_page_claims():
    """docs/monitor/training-monitor.md, 'Things to try', checked against gradclip."""
    from gradclip.train import RunSpec, train, train_runs
    clipped, plain = train_runs("rnn3", "adding", [RunSpec("norm", 1.0, 0.05), RunSpec("none", 1.0, 0.05)],
                                steps=20)
    first = int(clipped.clipped.argmax())
    assert clipped.loss[0] == plain.loss[0] and first == 0 and clipped.loss[1] != plain.loss[1]
    small = train("rnn3", "adding", "norm", 0.1, 0.05, 500)
    assert not small.summary.diverged and small.summary.clip_fraction > 0.95
    assert small.summary.final_loss > train("rnn3", "adding", "norm", 1.0, 0.05, 500).summary.final_loss
    assert train("rnn3", "adding", "zclip", 2.5, 0.05, 60).summary.diverged_at < 25   # before warm-up ends
    adam_plain = train("mlp", "regression", "none", 1.0, 0.01, 400, "adam")
    adam_clip = train("mlp", "regression", "norm", 1.0, 0.01, 400, "adam")
    assert not adam_plain.summary.diverged
    assert adam_clip.summary.final_loss != pytest.approx(adam_plain.summary.final_loss, rel=0.1)
