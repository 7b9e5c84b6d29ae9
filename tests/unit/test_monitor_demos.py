"""The training-run demos in CPython: what the pages (and the browser) are sent.

The worker runs exactly these functions under Pyodide, so a demo that is right here and
serialises to strict JSON is right on the page.
"""

from __future__ import annotations

import json
import math

import pytest

import gradclip.demos as demos
import gradclip.demos.monitor as monitor
from gradclip.demos import DemoInputError, run, run_iter
from gradclip.web import run_json
from gradclip.tracker import MAX_ROWS


@pytest.fixture
def every_step(monkeypatch):
    """Stream a partial output after every training step (no timing involved)."""
    monkeypatch.setattr(monitor, "CHUNK_SECONDS", 0.0)


def values(out):
    return {k: v["value"] for k, v in out["results"].items()}


def test_the_demos_are_registered_with_their_figures_and_results():
    for name in ("monitor", "worked_rnn", "worked_mlp", "norm_analyser"):
        spec = demos.REGISTRY[name]
        out = run(name)
        assert set(out["figures"]) == {f for f, _ in spec.figures}
        assert set(out["results"]) == {r for r, _ in spec.results}
        json.dumps(out, allow_nan=False)                  # strict JSON, as the worker sends it
    assert demos.REGISTRY["monitor"].stream and not demos.REGISTRY["norm_analyser"].stream


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


# --------------------------------------------------------------------------- analyser


def test_the_analyser_shows_a_labelled_sample_until_a_file_arrives():
    out = run("norm_analyser")
    assert out["results"]["source"]["value"] == "sample"
    assert out["results"]["steps"]["value"] == "400"
    assert "synthetic" in out["results"]["source"]["text"]


def test_the_analyser_reads_a_dropped_file():
    text = "step,grad_norm\n" + "".join(f"{i},{1.0 + (i % 7) / 10}\n" for i in range(200)) + "200,nan\n"
    out = run("norm_analyser", {"file": text})
    r = out["results"]
    assert r["source"]["value"] == "file" and r["steps"]["value"] == "201"
    assert r["nonfinite"]["text"] == "1 (first at step 200)"
    assert "would clip" in r["rule_p90"]["text"]
    hist = [i for i in out["figures"]["histogram"]["items"] if i["t"] == "rects"][0]
    assert sum(hist["y1"]) == 200


def test_a_long_log_is_drawn_as_an_envelope_that_keeps_the_spikes():
    n = 5000
    text = "\n".join("50" if i == 3333 else "1" for i in range(n))
    fig = run("norm_analyser", {"file": text})["figures"]["series"]
    line = [i for i in fig["items"] if i["t"] == "line"][0]
    assert len(line["x"]) <= 1000 and max(line["y"]) == 50.0


@pytest.mark.parametrize("text, words", [
    ("", "the file is empty"),
    ("1\n2\nfoo\n", "line 3: 'foo' is not a number"),
    ("step,grad_norm\n0,1\n1,2,3\n", "line 3: expected 2 columns"),
    ("[1, 2", "line 1: the JSON is malformed"),
    ("grad_norm\n" + "1\n" * (MAX_ROWS + 1), "more than 1,000,000 rows"),
])
def test_a_bad_file_is_an_input_error_naming_the_problem(text, words):
    with pytest.raises(DemoInputError, match="could not be used") as err:
        run("norm_analyser", {"file": text})
    assert words in str(err.value)
    page = json.loads(run_json("norm_analyser", json.dumps({"file": text})))
    assert words in page["input_error"]                   # what the worker hands the page


def test_the_sample_is_plain_csv_the_reader_could_have_dropped():
    x = monitor.sample_norms()
    from gradclip.tracker import parse_norm_log
    assert parse_norm_log(monitor.SAMPLE_LOG).tolist() == x.tolist()


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
