"""The norm-log analyser: what it reads, what it shows, and that the command line says the same.

Each kind of file has a small inline example here, written to the shape of the real file that
``tests/fixtures/normlogs/`` holds beside it (made by running the tool; see its README); the
real files are read in ``test_real_logs.py``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import gradclip.demos.norm_analyser as analyser
from gradclip.demos import DemoInputError, run
from gradclip.logfiles import HF, LIGHTNING, TB_CSV, TB_JSON, WANDB, read_norm_log
from gradclip.tracker import MAX_ROWS, parse_norm_log
from gradclip.web import run_json

HF_STATE = json.dumps({"global_step": 30, "log_history": [
    {"epoch": 0.5, "grad_norm": 1.5, "learning_rate": 5e-5, "loss": 2.5, "step": 10},
    {"epoch": 0.5, "eval_loss": 2.4, "eval_runtime": 0.1, "step": 10},
    {"epoch": 1.0, "grad_norm": 9.0, "learning_rate": 4e-5, "loss": 2.2, "step": 20},
    {"epoch": 1.5, "grad_norm": 0.75, "learning_rate": 3e-5, "loss": 2.0, "step": 30},
    {"epoch": 1.5, "step": 30, "total_flos": 10.0, "train_loss": 2.2, "train_runtime": 1.0},
]}, indent=2, sort_keys=True)
LIGHTNING_CSV = ("epoch,grad_2.0_norm/layer.weight,grad_2.0_norm_total,step,train_loss,val_loss\n"
                 "0,0.5,0.6,2,1.25,\n0,0.25,0.3,5,1.0,\n0,,,5,,0.9\n1,0.125,0.2,8,0.75,\n")
WANDB_CSV = ('"Step","calm-sky-2 - train/grad_norm","calm-sky-2 - train/grad_norm__MIN",'
             '"calm-sky-2 - train/grad_norm__MAX","bold-sun-3 - train/grad_norm","bold-sun-3 - train/grad_norm__MIN",'
             '"bold-sun-3 - train/grad_norm__MAX","bold-sun-3 - train/loss"\n'
             '"0","1.5","1.5","1.5","3","3","3","4.5"\n'
             '"10","2.5","2.5","2.5","","","",""\n'
             '"20","","","","6","6","6","4"\n')


def figure_line(fig, label=None):
    return next(i for i in fig["items"] if i["t"] == "line" and (label is None or i.get("label") == label))


# ------------------------------------------------------------------------ recognised kinds


def test_a_trainer_state_gives_the_training_entries_at_their_steps_and_skips_evaluation():
    log = read_norm_log(HF_STATE)
    assert log.kind == HF
    assert log.norms.steps.tolist() == [10, 20, 30] and log.norms.values.tolist() == [1.5, 9.0, 0.75]
    assert log.loss.key == "loss" and log.loss.values.tolist() == [2.5, 2.2, 2.0]   # not eval_loss, not train_loss


def test_lightning_metrics_skip_empty_cells_and_keep_the_step_column():
    log = read_norm_log(LIGHTNING_CSV)
    assert log.kind == LIGHTNING and log.norms.key == "grad_2.0_norm_total"
    assert log.norms.steps.tolist() == [2, 5, 8] and log.norms.values.tolist() == [0.6, 0.3, 0.2]
    assert log.loss.key == "train_loss" and log.loss.steps.tolist() == [2, 5, 8]


def test_a_wandb_export_reads_the_main_column_of_the_run_asked_for():
    first = read_norm_log(WANDB_CSV)
    assert first.kind == WANDB and first.runs == ("calm-sky-2", "bold-sun-3") and first.run == "calm-sky-2"
    assert first.norms.steps.tolist() == [0, 10] and first.norms.values.tolist() == [1.5, 2.5]
    assert first.loss is None
    second = read_norm_log(WANDB_CSV, run="bold-sun-3")
    assert second.norms.values.tolist() == [3.0, 6.0] and second.norms.steps.tolist() == [0, 20]
    assert second.loss.key == "bold-sun-3 - train/loss" and read_norm_log(WANDB_CSV, run=2).run == "bold-sun-3"
    with pytest.raises(ValueError, match=r"run must be 1 to 2 or one of 'calm-sky-2', 'bold-sun-3'.*got 3"):
        read_norm_log(WANDB_CSV, run=3)


def test_tensorboard_downloads_use_their_step_column():
    csv = read_norm_log("Wall time,Step,Value\n1.7e9,0,3.5\n1.7e9,50,4\n")
    assert csv.kind == TB_CSV and csv.norms.steps.tolist() == [0, 50]
    js = read_norm_log("[[1.7e9, 0, 3.5], [1.7e9, 50, 4.0]]")
    assert js.kind == TB_JSON and js.norms.steps.tolist() == [0, 50] and js.norms.values.tolist() == [3.5, 4.0]


def test_a_tensorboard_event_file_is_named_and_pointed_to_the_command_line():
    header = "\x18\x00\x00\x00\x00\x00\x00\x00\xa3\x7f K\t\x00\x00\x00\x00\x00\x00\xf0?\x1a\rbrain.Event:2"
    with pytest.raises(ValueError, match=r"TensorBoard event file .*Scalars tab.*gradclip suggest"):
        read_norm_log(header + "\ufffd" * 20)


# ------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize("text, words", [
    ('{"log_history": [{"eval_loss": 1.0, "step": 5}]}',
     "Hugging Face trainer_state.json: none of the 1 log_history entries has 'grad_norm'; expected"),
    ('{"log_history": [\n {"grad_norm": 1, "step": 1},\n {"grad_norm": "big", "step": 2}\n]}',
     "Hugging Face trainer_state.json, line 3: log_history entry 2's 'grad_norm' ('\"big\"') is not a number"),
    ('{"log_history": [{"grad_norm": 1}]}', "log_history entry 1 has 'grad_norm' but no 'step'; expected"),
    ('{"log_history": {"a": 1}}', "key 'log_history': holds dict; expected a list of log entries"),
    ("epoch,grad_2.0_norm_total,step\n0,1,1\n0,x,2\n",
     "Lightning CSVLogger metrics.csv, line 3: 'x' (column 2, 'grad_2.0_norm_total') is not a number"),
    ("epoch,grad_2.0_norm_total,step\n0,1,\n", "line 2: a value of 'grad_2.0_norm_total' with no step; expected"),
    ("epoch,grad_2.0_norm_total,step\n0,,1\n", "the column 'grad_2.0_norm_total' is empty on every row"),
    ('"Step","r - train/loss"\n0,1\n', "Weights & Biases CSV export, line 1: no column holds a gradient norm"),
    ("[[1.7e9, 0, 3.5], [1.7e9, 1]]", "TensorBoard JSON download, line 1: entry 2 ('[1700000000.0, 1]') is not [wall time, step, value]"),
    ('{"loss": [1, 2]}', "JSON file, line 1: the JSON object has no list of norms (its keys: 'loss'); expected"),
])
def test_every_refusal_names_the_kind_the_place_and_what_was_expected(text, words):
    with pytest.raises(ValueError) as err:
        read_norm_log(text)
    assert words in str(err.value)


# ------------------------------------------------------------------------------ the demo


def test_the_analyser_shows_a_labelled_sample_until_a_file_arrives():
    out = run("norm_analyser")
    assert out["results"]["source"]["value"] == "sample"
    assert out["results"]["steps"]["value"] == "400"
    assert "synthetic" in out["results"]["source"]["text"]


def test_the_sample_is_a_csv_the_reader_could_have_dropped():
    log = read_norm_log(analyser.SAMPLE_LOG)
    assert log.norms.values.tolist() == analyser.sample_norms().tolist() and log.loss.key == "loss"


def test_the_analyser_reads_a_dropped_file():
    text = "step,grad_norm\n" + "".join(f"{i},{1.0 + (i % 7) / 10}\n" for i in range(200)) + "200,nan\n"
    out = run("norm_analyser", {"file": text})
    r = out["results"]
    assert r["source"]["value"] == "file" and r["steps"]["value"] == "201"
    assert r["source"]["text"] == "your file, read as a CSV file"
    assert r["nonfinite"]["text"] == "1 (first at step 200)"
    assert "of 200 logged steps" in r["rule_p90"]["text"]
    hist = [i for i in out["figures"]["histogram"]["items"] if i["t"] == "rects"][0]
    assert sum(hist["y1"]) == 200


def test_uneven_steps_are_drawn_at_their_step_numbers_with_the_loss_on_the_same_axis():
    out = run("norm_analyser", {"file": HF_STATE})
    r, figs = out["results"], out["figures"]
    assert r["source"]["text"] == "your file, read as a Hugging Face trainer_state.json"
    assert r["series"]["text"] == ("'grad_norm' at 3 logged steps (step 10 to 30, every 10); "
                                   "loss: 'loss' at 3 logged steps")
    assert figure_line(figs["series"], "norm")["x"] == [10, 20, 30]
    assert figure_line(figs["loss"])["x"] == [10, 20, 30] and figure_line(figs["loss"])["y"] == [2.5, 2.2, 2.0]
    assert figs["loss"]["x_range"] == figs["series"]["x_range"] == [10, 30]
    assert r["rule_p50"]["text"].endswith("of 3 logged steps (33%)")


def test_a_file_without_a_loss_says_so_in_the_loss_chart():
    fig = run("norm_analyser", {"file": "1\n2\n3\n"})["figures"]["loss"]
    assert any("no training-loss series" in i.get("text", "") for i in fig["items"] if i["t"] == "text")


def test_the_run_control_picks_a_wandb_run_and_a_number_past_the_last_shows_the_last():
    r = run("norm_analyser", {"file": WANDB_CSV, "run": 2})["results"]
    assert r["runs"]["text"] == "1: calm-sky-2 · 2: bold-sun-3 (shown)" and r["steps"]["value"] == "2"
    page = json.loads(run_json("norm_analyser", json.dumps({"file": WANDB_CSV, "run": 7})))
    assert page["results"]["runs"]["value"] == "bold-sun-3"
    assert "This file holds 2 runs; showing run 2, bold-sun-3." in page["notices"]


def test_a_long_log_is_drawn_as_an_envelope_that_keeps_the_spikes():
    n = 5000
    text = "\n".join("50" if i == 3333 else "1" for i in range(n))
    fig = run("norm_analyser", {"file": text})["figures"]["series"]
    line = figure_line(fig)
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


def test_parse_norm_log_is_the_norm_values_of_read_norm_log():
    assert parse_norm_log(HF_STATE).tolist() == [1.5, 9.0, 0.75]
    assert math.isnan(parse_norm_log("1\nnan\n")[1]) and np.isinf(parse_norm_log("inf\n")[0])


@pytest.mark.parametrize("text", [HF_STATE, LIGHTNING_CSV, WANDB_CSV, analyser.SAMPLE_LOG])
def test_gradclip_suggest_prints_what_the_page_shows_for_the_same_file(text, tmp_path, capsys):
    from gradclip.cli import main
    from gradclip.tracker import RULE_LABELS
    path = tmp_path / "log.txt"
    path.write_text(text)
    assert main(["suggest", str(path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    page = run("norm_analyser", {"file": text})["results"]
    kind = read_norm_log(text).kind
    assert printed[0] == f"{path}: read as a {kind}: {page['series']['text'].split('; loss:')[0]}"
    by_label = dict(line.strip().split(": ", 1) for line in printed[-len(RULE_LABELS):])
    assert {label: text.strip() for label, text in by_label.items()} == \
        {label: page[f"rule_{rule}"]["text"] for rule, label in RULE_LABELS.items()}
