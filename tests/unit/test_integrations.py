"""Gradient norms from real training loops: the Hugging Face and Lightning callbacks, the
TensorBoard reader, ``NormTracker.measure``, and the fixture files the real tools wrote.

Each framework test runs the framework itself (a few optimizer steps of a tiny model on CPU)
and is skipped, with the reason, where the framework is not installed. Versions checked:
torch 2.13.0, transformers 5.25.0, lightning 2.6.6, tensorboard 2.21.0.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradclip.tracker import NormTracker
from support import make_fixtures

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "normlogs"
TB_RUN = FIXTURES / "tb_events"


def read_log(text: str) -> np.ndarray:
    """The package's reader of norm-log files (the one place that names it here)."""
    from gradclip.tracker import parse_norm_log
    return parse_norm_log(text)


def need(module: str):
    return pytest.importorskip(module, reason=f"{module} is not installed (make venv installs it for these tests)")


def fresh(code: str) -> subprocess.CompletedProcess:
    """``code`` run in a new interpreter, from the repository (so this checkout's gradclip)."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)


def tiny_data(n: int):
    torch = need("torch")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return x, 3.0 * x.sum(dim=1, keepdim=True)


# ------------------------------------------------------------------------------------ Hugging Face


def test_the_hf_callback_records_the_trainers_pre_clip_norm_at_every_step(tmp_path):
    torch = need("torch")
    transformers = need("transformers")
    from gradclip.integrations.huggingface import GradNormCallback

    Regressor, Rows = make_fixtures().trainer_parts()

    steps, max_grad_norm = 6, 0.5
    torch.manual_seed(0)
    callback = GradNormCallback(tmp_path / "norms.csv")
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=steps, per_device_train_batch_size=4, learning_rate=0.01,
        logging_steps=1, max_grad_norm=max_grad_norm, save_strategy="no", report_to=[], use_cpu=True,
        disable_tqdm=True, remove_unused_columns=False, seed=0)
    trainer = transformers.Trainer(model=Regressor(torch.nn.Linear(4, 1)), args=args, train_dataset=Rows(*tiny_data(4 * steps)),
                                   callbacks=[callback])
    trainer.train()

    logged = [row for row in trainer.state.log_history if "grad_norm" in row]
    t = callback.tracker
    assert t.steps == list(range(1, steps + 1))                         # global_step counts from 1
    assert t.values == [row["grad_norm"] for row in logged]
    assert t.losses == [row["loss"] for row in logged]
    assert max(t.values) > max_grad_norm        # the Trainer clipped to 0.5: these are the norms before
    assert read_log((tmp_path / "norms.csv").read_text()).tolist() == t.values


def test_the_hf_callback_skips_logs_without_a_norm():
    need("transformers")
    from gradclip.integrations.huggingface import GradNormCallback

    class State:
        global_step, is_world_process_zero = 20, True

    cb = GradNormCallback()
    cb.on_log(None, State(), None, logs={"eval_loss": 1.5, "epoch": 1.0})     # an evaluation
    cb.on_log(None, State(), None, logs={"train_runtime": 3.0, "train_loss": 2.0})
    cb.on_log(None, State(), None, logs={"loss": 2.0, "grad_norm": 7.5, "learning_rate": 0.1})
    assert (cb.tracker.steps, cb.tracker.values, cb.tracker.losses) == ([20], [7.5], [2.0])
    with pytest.raises(TypeError, match="path must be a file path"):
        GradNormCallback(path=3)


# --------------------------------------------------------------------------------------- Lightning


def _lightning_run(tmp_path, clip: float, accumulate: int = 1, batches: int = 8):
    """Fit a linear model for one epoch with a GradNormCallback; the module measures its own
    gradient norm (Lightning's grad_norm utility) in its on_before_optimizer_step, which
    Lightning calls right after the callbacks' and before clipping."""
    torch = need("torch")
    L = need("lightning.pytorch")
    from lightning.pytorch.utilities import grad_norm

    from gradclip.integrations.lightning import GradNormCallback

    class Regressor(make_fixtures().lightning_module()):
        def __init__(self):
            super().__init__(torch.nn.Linear(4, 1))
            self.own, self.losses = [], []

        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            self.losses.append(loss.item())
            return loss

        def on_before_optimizer_step(self, optimizer):
            self.own.append((self.trainer.global_step, grad_norm(self, norm_type=2)["grad_2.0_norm_total"].item()))

    torch.manual_seed(0)
    x, y = tiny_data(4 * batches)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    callback = GradNormCallback(tmp_path / "norms.csv")
    model = Regressor()
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, gradient_clip_val=clip,
                        accumulate_grad_batches=accumulate, default_root_dir=str(tmp_path))
    trainer.callbacks.append(callback)
    trainer.fit(model, loader)
    return callback, model


def test_the_lightning_callback_measures_each_step_before_lightning_clips(tmp_path):
    clip = 0.5
    callback, model = _lightning_run(tmp_path, clip)
    t = callback.tracker
    assert t.steps == [step for step, _ in model.own] == list(range(8))   # global_step: 0, 1, 2, ...
    # Lightning's utility takes the norm of the per-parameter norms in float32: equal to rounding
    np.testing.assert_allclose(t.values, [norm for _, norm in model.own], rtol=1e-6)
    assert max(t.values) > clip                                            # measured before clipping
    assert t.losses == pytest.approx(model.losses)                         # training_step's loss
    assert read_log((tmp_path / "norms.csv").read_text()).tolist() == t.values


def test_with_gradient_accumulation_the_lightning_callback_keeps_norms_but_no_losses(tmp_path):
    callback, model = _lightning_run(tmp_path, clip=0.5, accumulate=2)
    t = callback.tracker
    assert t.steps == list(range(4)) and len(model.losses) == 8      # one optimizer step per 2 batches
    np.testing.assert_allclose(t.values, [norm for _, norm in model.own], rtol=1e-6)
    assert t.losses == [None] * 4   # Lightning hands over the last micro-batch's loss / 2: not the step's


def test_the_lightning_callback_refuses_a_bad_norm_type():
    need("lightning.pytorch")
    from gradclip.integrations.lightning import GradNormCallback

    with pytest.raises(ValueError, match=r"norm_type must be a number > 0 \(inf allowed\), got 0"):
        GradNormCallback(norm_type=0)


# ------------------------------------------------------------------------------ NormTracker.measure


def _params_with_an_inf():
    torch = need("torch")
    a, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2))
    a.grad = torch.tensor([1.0, math.inf, 2.0])
    b.grad = torch.tensor([3.0, 4.0])
    return [a, b]


def test_measure_reads_an_inf_gradient_without_turning_anything_into_nan():
    # PyTorch's side (clip_grad_norm_(params, inf) writes NaN; get_total_norm reads only) is
    # checked in test_practice_torch.py; this is the tracker's.
    torch = need("torch")
    params = _params_with_an_inf()
    before = [p.grad.clone() for p in params]
    t = NormTracker()
    assert t.measure(params, step=7) == math.inf and t.steps == [7] and t.values == [math.inf]
    assert all(torch.equal(p.grad, g) for p, g in zip(params, before))
    # the tracker's clip_grad_norm_ with its default max_norm=inf is the NaN trap measure avoids
    t.clip_grad_norm_(params)
    assert t.values[-1] == math.inf and all(torch.isnan(p.grad).all() for p in params)


def test_measure_is_the_norm_clip_grad_norm_returns_over_the_parameters_that_have_a_gradient():
    torch = need("torch")
    with_grad, without = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))
    with_grad.grad = torch.tensor([3.0, -4.0])
    t = NormTracker()
    assert t.measure([with_grad, without]) == 5.0
    assert t.measure(iter([with_grad]), norm_type=math.inf) == 4.0              # a generator, as .parameters()
    assert t.measure(with_grad, norm_type=1) == 7.0                              # one tensor
    assert t.measure([without]) == 0.0                                           # no gradient at all
    assert t.values[0] == torch.nn.utils.clip_grad_norm_([with_grad], math.inf).item()


def test_measure_refuses_bad_arguments_before_recording_anything():
    torch = need("torch")
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.ones(2)
    t = NormTracker()
    t.measure([p], step=3)
    with pytest.raises(ValueError, match=r"step must be an integer >= 4"):
        t.measure([p], step=3)
    with pytest.raises(ValueError, match=r"norm_type must be a number > 0 \(inf allowed\), got -1"):
        t.measure([p], norm_type=-1)
    with pytest.raises(ValueError, match=r"step must be an integer >= 4"):
        t.clip_grad_norm_([p], 0.5, step=2)
    assert t.steps == [3] and torch.equal(p.grad, torch.ones(2))               # and nothing clipped


# ------------------------------------------------------------------------------------- TensorBoard


def _export_rows() -> list[list[str]]:
    with open(FIXTURES / "tb_export.csv", newline="") as f:
        return list(csv.reader(f))


def test_read_scalars_gives_every_tag_with_the_steps_written():
    need("tensorboard")
    from gradclip.integrations.tensorboard import read_scalars

    scalars = read_scalars(TB_RUN)
    assert sorted(scalars) == ["train/grad_norm", "train/loss", "train/lr"]
    for steps, values in scalars.values():
        assert steps.dtype == np.int64 and values.dtype == np.float64
        np.testing.assert_array_equal(steps, np.arange(0, 100, 2))               # logged every 2nd step
    # the same numbers TensorBoard's own server hands out for download
    rows = _export_rows()[1:]
    steps, values = scalars["train/grad_norm"]
    assert steps.tolist() == [int(r[1]) for r in rows] and values.tolist() == [float(r[2]) for r in rows]
    # one event file, named directly, reads the same
    (file,) = TB_RUN.glob("events.out.tfevents.*")
    assert read_scalars(str(file))["train/lr"][1].tolist() == scalars["train/lr"][1].tolist()


def test_read_scalars_reads_tensor_scalars_as_tf2_writes_them(tmp_path):
    need("tensorboard")
    from tensorboard.summary import Writer      # TF2's format (rank-0 tensors), without TensorFlow

    from gradclip.integrations.tensorboard import read_scalars

    w = Writer(str(tmp_path))
    for step, value in [(10, 0.5), (20, 2.25), (30, 1.0)]:
        w.add_scalar("grad_norm", value, step=step)
    w.close()
    steps, values = read_scalars(tmp_path)["grad_norm"]
    assert steps.tolist() == [10, 20, 30] and values.tolist() == [0.5, 2.25, 1.0]


def test_read_scalars_refuses_what_holds_no_scalars(tmp_path):
    need("tensorboard")
    from gradclip.integrations.tensorboard import read_scalars

    with pytest.raises(ValueError, match=r"path '.*empty': no event files in this directory"):
        (tmp_path / "empty").mkdir()
        read_scalars(tmp_path / "empty")
    log = tmp_path / "norms.csv"
    log.write_text("step,grad_norm\n0,1.5\n")
    with pytest.raises(ValueError, match=r"norms.csv': not an event file name"):
        read_scalars(log)
    fake = tmp_path / "events.out.tfevents.0.host"
    fake.write_text("step,grad_norm\n0,1.5\n")
    with pytest.raises(ValueError, match=r"not a TensorBoard event file"):
        read_scalars(fake)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_scalars(tmp_path / "nowhere")
    with pytest.raises(TypeError, match="path must be a file or directory path"):
        read_scalars(None)


def test_read_scalars_refuses_event_files_without_scalars(tmp_path):
    need("tensorboard")
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    from gradclip.integrations.tensorboard import read_scalars

    writer = EventFileWriter(str(tmp_path))            # only the file_version event
    writer.add_event(event_pb2.Event(step=1, wall_time=0.0))
    writer.close()
    with pytest.raises(ValueError, match=r"the event files hold no scalars"):
        read_scalars(tmp_path)


def test_is_event_file_knows_an_event_file_by_its_first_record():
    from gradclip.integrations.tensorboard import is_event_file

    (file,) = TB_RUN.glob("events.out.tfevents.*")
    data = file.read_bytes()
    assert is_event_file(data) and is_event_file(data[:1024])
    assert not is_event_file(data[:40])                        # the first record cut short
    flipped = bytearray(data[:1024])
    flipped[20] ^= 1                                           # one bit of the first record: bad checksum
    assert not is_event_file(bytes(flipped))
    assert not is_event_file((FIXTURES / "tb_export.csv").read_bytes())
    assert not is_event_file(b"")
    assert not is_event_file(np.random.default_rng(0).bytes(1024))
    with pytest.raises(TypeError, match="data must be bytes"):
        is_event_file("step,grad_norm")


def test_is_event_file_needs_no_tensorboard_and_read_scalars_names_what_to_install():
    code = ("import sys; sys.modules['tensorboard'] = None\n"
            "from gradclip.integrations.tensorboard import is_event_file, read_scalars\n"
            "assert not is_event_file(b'')\n"
            "try:\n    read_scalars('.')\nexcept ImportError as e:\n    print(e)\n")
    proc = fresh(code)
    assert proc.returncode == 0, proc.stderr
    assert "pip install tensorboard" in proc.stdout


@pytest.mark.parametrize("module, library", [("huggingface", "transformers"), ("lightning", "lightning")])
def test_a_missing_framework_is_an_import_error_naming_what_to_install(module, library):
    proc = fresh(f"import sys; sys.modules[{library!r}] = None\nimport gradclip.integrations.{module}")
    assert proc.returncode == 1
    assert f"ImportError: gradclip.integrations.{module} needs" in proc.stderr
    assert f"pip install {library}" in proc.stderr


# ---------------------------------------------------------------------------------------- fixtures

FIXTURE_FILES = ["hf_trainer_state.json", "hf_callback.csv", "lightning_metrics.csv", "lightning_callback.csv",
                 "tb_export.csv", "tb_export.json", "README.md", "make_fixtures.py"]


def test_every_fixture_file_is_there_and_small():
    files = [FIXTURES / name for name in FIXTURE_FILES] + list(TB_RUN.glob("events.out.tfevents.*"))
    assert len(files) == len(FIXTURE_FILES) + 1                # one event file: one run
    for f in files:
        assert f.stat().st_size < 60 * 1024, f
    m = make_fixtures()                                   # importable without any framework
    assert all(callable(getattr(m, name)) for name in ("make_huggingface", "make_lightning", "make_tensorboard",
                                                        "make_tb_export", "main"))


def test_the_hf_fixtures_come_from_one_run():
    state = json.loads((FIXTURES / "hf_trainer_state.json").read_text())
    logged = [row for row in state["log_history"] if "grad_norm" in row]
    evals = [row for row in state["log_history"] if "eval_loss" in row]
    assert [row["step"] for row in logged] == list(range(5, 61, 5)) and [row["step"] for row in evals] == [20, 40, 60]
    with open(FIXTURES / "hf_callback.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [row["step"] for row in logged]
    assert [float(r["grad_norm"]) for r in rows] == [row["grad_norm"] for row in logged]


def test_the_lightning_fixtures_come_from_one_run():
    with open(FIXTURES / "lightning_metrics.csv", newline="") as f:
        metrics = list(csv.DictReader(f))
    assert "step" in metrics[0] and "grad_2.0_norm_total" in metrics[0]
    train = [r for r in metrics if r["grad_2.0_norm_total"] != ""]      # validation rows: empty cells
    assert [int(r["step"]) for r in train] == list(range(2, 60, 3))      # log_every_n_steps=3
    with open(FIXTURES / "lightning_callback.csv", newline="") as f:
        ours = {int(r["step"]): float(r["grad_norm"]) for r in csv.DictReader(f)}
    assert sorted(ours) == list(range(60))
    np.testing.assert_allclose([ours[int(r["step"])] for r in train],
                               [float(r["grad_2.0_norm_total"]) for r in train], rtol=1e-6)


def test_tensorboards_json_download_holds_the_csv_downloads_rows():
    rows = _export_rows()
    assert rows[0] == ["Wall time", "Step", "Value"]
    assert json.loads((FIXTURES / "tb_export.json").read_text()) == \
        [[float(w), int(s), float(v)] for w, s, v in rows[1:]]


def test_make_fixtures_makes_the_event_file_again(tmp_path):
    """The cheapest fixture to remake: the same tags and steps (wall times differ)."""
    need("torch")
    need("tensorboard")
    from gradclip.integrations.tensorboard import read_scalars

    (file,) = make_fixtures().make_tensorboard(tmp_path)
    again, committed = read_scalars(file), read_scalars(TB_RUN)
    assert sorted(again) == sorted(committed)
    for tag in committed:
        np.testing.assert_array_equal(again[tag][0], committed[tag][0])
        np.testing.assert_allclose(again[tag][1], committed[tag][1], rtol=1e-5)
