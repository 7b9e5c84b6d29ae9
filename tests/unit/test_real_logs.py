"""The norm-log reader on files real tools wrote (tests/fixtures/normlogs/, see its README).

Each file is also read here a second way, with the standard library or the tool's own reader,
so the test holds the analyser to what the file says rather than to what the reader returns.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from gradclip.cli import main
from gradclip.demos import run
from gradclip.logfiles import CSV, HF, LIGHTNING, TB_CSV, TB_EVENTS, TB_JSON, read_norm_log

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "normlogs"


def text(name: str) -> str:
    return (LOGS / name).read_text(encoding="utf-8")


def rows(name: str) -> list[dict[str, str]]:
    with open(LOGS / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_real_trainer_state_gives_every_training_log_entry_and_no_evaluation_entry():
    history = json.loads(text("hf_trainer_state.json"))["log_history"]
    train = [e for e in history if "grad_norm" in e]
    assert len(train) < len(history)                        # the file has evaluation entries
    log = read_norm_log(text("hf_trainer_state.json"))
    assert log.kind == HF and log.norms.every == 5
    assert log.norms.steps.tolist() == [e["step"] for e in train]
    assert log.norms.values.tolist() == [e["grad_norm"] for e in train]
    assert log.loss.values.tolist() == [e["loss"] for e in train]


def test_the_hugging_face_callback_recorded_what_the_trainer_logged():
    state = read_norm_log(text("hf_trainer_state.json")).norms
    mine = read_norm_log(text("hf_callback.csv"))
    assert mine.kind == CSV
    np.testing.assert_array_equal(mine.norms.steps, state.steps)
    np.testing.assert_array_equal(mine.norms.values, state.values)


def test_a_real_lightning_metrics_file_skips_the_validation_rows():
    table = rows("lightning_metrics.csv")
    with_norm = [r for r in table if r["grad_2.0_norm_total"] != ""]
    assert len(with_norm) < len(table)                     # validation rows leave the cell empty
    log = read_norm_log(text("lightning_metrics.csv"))
    assert log.kind == LIGHTNING and log.norms.key == "grad_2.0_norm_total" and log.norms.every == 3
    assert log.norms.steps.tolist() == [float(r["step"]) for r in with_norm]
    assert log.norms.values.tolist() == [float(r["grad_2.0_norm_total"]) for r in with_norm]
    assert log.loss.key == "train_loss" and log.loss.values.size == len(with_norm)


def test_the_lightning_callback_measured_every_step_and_agrees_on_the_logged_ones():
    logged = read_norm_log(text("lightning_metrics.csv")).norms
    mine = read_norm_log(text("lightning_callback.csv")).norms
    assert mine.every == 1 and mine.values.size > logged.values.size
    at = np.searchsorted(mine.steps, logged.steps)
    np.testing.assert_allclose(mine.values[at], logged.values, rtol=1e-6)


@pytest.mark.parametrize("name, kind", [("tb_export.csv", TB_CSV), ("tb_export.json", TB_JSON)])
def test_tensorboard_downloads_read_as_their_step_and_value_columns(name, kind):
    log = read_norm_log(text(name))
    assert log.kind == kind and log.norms.every == 2 and log.norms.values.size == 50
    first = rows("tb_export.csv")[0]
    assert (log.norms.steps[0], log.norms.values[0]) == (float(first["Step"]), float(first["Value"]))


def test_the_page_names_the_event_file_it_cannot_read():
    data = next((LOGS / "tb_events").iterdir()).read_bytes()
    with pytest.raises(ValueError, match="this is a TensorBoard event file"):
        read_norm_log(data.decode("utf-8", "replace"))          # what a browser's file.text() gives


def test_gradclip_suggest_reads_the_event_folder_like_the_page_reads_its_csv_download(capsys):
    pytest.importorskip("tensorboard", reason="reading event files needs the tensorboard package")
    assert main(["suggest", str(LOGS / "tb_events")]) == 0
    printed = capsys.readouterr().out
    assert f"read as a {TB_EVENTS}: 'train/grad_norm' at 50 logged steps (step 0 to 98, every 2)" in printed
    page = run("norm_analyser", {"file": text("tb_export.csv")})["results"]
    for rule in ("p50", "p90", "p99", "autoclip", "zclip"):
        assert page[f"rule_{rule}"]["text"] in printed


@pytest.mark.parametrize("name", ["hf_trainer_state.json", "hf_callback.csv", "lightning_metrics.csv",
                                  "lightning_callback.csv", "tb_export.csv", "tb_export.json"])
def test_the_analyser_draws_each_real_file_at_its_logged_steps(name):
    out = run("norm_analyser", {"file": text(name)})
    line = next(i for i in out["figures"]["series"]["items"] if i["t"] == "line")
    assert line["x"] == read_norm_log(text(name)).norms.steps.tolist()
