"""The trainers page: its table checked against the installed libraries, its recipes run.

The table of docs/training/trainers.md is parsed from the Markdown; each library's row must
name the installed version and state the default the library really has. Each recipe block
is read from the page (:func:`support.run_page_block`) and run on a tiny model; what it
does is checked where the optimizer sees it: a global optimizer-step pre-hook records the
norm of the gradient each ``optimizer.step()`` is about to use, which must be the logged
(pre-clip) norm clipped to the threshold.
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import numpy as np
import pytest

import gradclip
from support import make_fixtures, need, page_block, run_page_block

PAGE = "training/trainers.md"
ROOT = Path(__file__).resolve().parents[2]
TAU = 1.0


def table_rows() -> dict[str, dict[str, str]]:
    """The page's table: {library cell: {column: cell}}."""
    lines = [l for l in (ROOT / "docs" / PAGE).read_text().splitlines() if l.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[1:]:                     # (the |---| line does not start with "| ")
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells))
    return rows


def row(prefix: str) -> dict[str, str]:
    found = [r for name, r in table_rows().items() if name.startswith(prefix)]
    assert len(found) == 1, prefix
    return found[0]


def version_in(cell: str) -> str:
    return re.search(r"\(([a-z]+ )?([0-9.]+)\)", cell).group(2)


@pytest.fixture
def step_norms():
    """The norm of the gradient each optimizer.step() is about to use, in order."""
    torch = need("torch")
    seen = []

    def hook(optimizer, args, kwargs):
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        seen.append(float(torch.nn.utils.get_total_norm(grads)))

    from torch.optim.optimizer import register_optimizer_step_pre_hook

    handle = register_optimizer_step_pre_hook(hook)
    yield seen
    handle.remove()


def regression(torch, rows=16):
    """Rows whose targets are far from a fresh Linear(4, 1)'s output: the first norms are large."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, 4, generator=g)
    return x, 3.0 * x.sum(dim=1, keepdim=True) + 10.0


def assert_clipped(pre: float, post: float):
    assert post == pytest.approx(pre * min(1.0, TAU / (pre + 1e-6)), rel=1e-5)


# --------------------------------------------------------------------------- the table


def test_hugging_face_row_matches_transformers():
    transformers = need("transformers")
    r = row("Hugging Face")
    assert version_in(r["Library (version)"]) == transformers.__version__
    default = transformers.TrainingArguments.__dataclass_fields__["max_grad_norm"].default
    assert r["Default"] == f"`{default}`"


def test_lightning_row_matches_lightning():
    lightning = need("lightning")
    r = row("PyTorch Lightning")
    assert version_in(r["Library (version)"]) == lightning.__version__
    params = inspect.signature(lightning.pytorch.Trainer).parameters
    assert r["Default"] == f"`{params['gradient_clip_val'].default}`"
    assert params["gradient_clip_algorithm"].default is None     # "norm" once a value is set, as the row says


def test_keras_row_matches_keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = need("keras")
    r = row("Keras")
    assert version_in(r["Library (version)"]) == keras.__version__
    for opt in (keras.optimizers.SGD, keras.optimizers.Adam, keras.optimizers.AdamW):
        params = inspect.signature(opt).parameters
        for knob in ("clipnorm", "global_clipnorm", "clipvalue"):
            assert r["Default"] == f"`{params[knob].default}`", (opt, knob)
    with pytest.raises(ValueError, match="Only one of"):
        keras.optimizers.SGD(clipnorm=1.0, global_clipnorm=1.0)


def test_optax_row_matches_optax():
    optax = need("optax")
    r = row("optax")
    assert version_in(r["Library (version)"]) == optax.__version__
    assert inspect.signature(optax.clip_by_global_norm).parameters["max_norm"].default is inspect.Parameter.empty
    assert r["Default"] == "required"
    jnp = need("jax").numpy
    assert optax.clip_by_global_norm(1.0).init(jnp.zeros(2)) == optax.EmptyState()   # no norm kept


def test_flax_row_matches_flax():
    flax = need("flax")
    nnx = need("flax.nnx")
    r = row("Flax")
    assert version_in(r["Library (version)"]) == flax.__version__
    params = inspect.signature(nnx.Optimizer.__init__).parameters
    assert "tx" in params and not any("clip" in name for name in params)     # no knob of its own


# --------------------------------------------------------------------------- the recipes


def test_hugging_face_trainer_logs_the_norm_before_its_clip(step_norms, tmp_path, monkeypatch):
    torch = need("torch")
    need("transformers")
    Regressor, Rows = make_fixtures().trainer_parts()
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    ns = run_page_block(PAGE, "max_grad_norm=1.0", {"model": Regressor(torch.nn.Linear(4, 1)),
                                                    "train_dataset": Rows(*regression(torch))})
    logged = ns["logged"]
    assert len(logged) == len(step_norms) == 6                   # 16 rows, batch 8, 3 epochs
    for pre, post in zip(logged, step_norms):
        assert_clipped(pre, post)
    assert logged[0] > 5 * TAU and step_norms[0] == pytest.approx(TAU, rel=1e-5)


def lightning_names(torch):
    x, y = regression(torch)
    torch.manual_seed(0)
    return {"Regressor": make_fixtures().lightning_module(), "net": torch.nn.Linear(4, 1),
            "loader": torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)}


def test_lightning_clips_after_the_hook_that_logs(step_norms):
    torch = need("torch")
    need("lightning")
    ns = run_page_block(PAGE, "class LoggedRegressor", lightning_names(torch))
    logged = float(ns["trainer"].callback_metrics["grad_2.0_norm_total"])   # the last step's
    assert len(step_norms) == 2 and logged > 2 * TAU
    assert_clipped(logged, step_norms[-1])


def test_lightning_manual_optimisation_clips_with_clip_gradients(step_norms):
    torch = need("torch")
    lightning = need("lightning")
    ns = lightning_names(torch)
    ns["L"] = lightning.pytorch
    run_page_block(PAGE, "manual_backward", ns)
    assert len(step_norms) == 2
    assert step_norms == pytest.approx([TAU] * 2, rel=1e-5)      # each step's raw norm was far above 1
    assert dict(ns["trainer"].callback_metrics) == {}             # Lightning logged nothing by itself
    from lightning.fabric.utilities.exceptions import MisconfigurationException
    refusing = lightning.pytorch.Trainer(max_epochs=1, gradient_clip_val=1.0, logger=False,
                                         enable_checkpointing=False, enable_progress_bar=False)
    with pytest.raises(MisconfigurationException, match="not supported for manual optimization"):
        refusing.fit(ns["ManualRegressor"](ns["net"]), train_dataloaders=ns["loader"])


def test_keras_clipnorm_is_per_variable_and_global_clipnorm_is_global():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    need("jax")
    need("keras")
    ns = run_page_block(PAGE, 'for knob in ("clipnorm", "global_clipnorm")', {})
    per, glob = ns["clipped"]["clipnorm"], ns["clipped"]["global_clipnorm"]
    assert [float(np.linalg.norm(g)) for g in per] == pytest.approx([1.0, 0.5], rel=1e-6)
    assert float(np.linalg.norm(np.concatenate(per))) > 1.1
    assert float(np.linalg.norm(np.concatenate(glob))) == pytest.approx(1.0, rel=1e-6)
    for got, want in zip(per, gradclip.clip_by_norm_per_tensor(ns["grads"], 1.0)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    for got, want in zip(glob, gradclip.clip_by_global_norm(ns["grads"], 1.0, convention="keras")):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_optax_clip_after_adam_clips_nothing_and_lets_the_spike_in():
    need("jax")
    optax = need("optax")
    ns = run_page_block(PAGE, "adam_then_clip = ", {})
    plain = ns["update_norms"](optax.adam(0.1), ns["grads"])
    assert ns["adam_then_clip"] == plain                            # the clip never acted
    assert max(ns["adam_then_clip"]) < 1.0
    spike = 3
    assert ns["clip_then_adam"][:spike] == pytest.approx(plain[:spike], rel=1e-6)
    after = slice(spike + 1, None)
    ratio = np.array(ns["clip_then_adam"][after]) / np.array(ns["adam_then_clip"][after])
    assert ratio.min() > 1.5 and np.all(np.diff(ratio) > 0)        # shorter, and more so every step


def test_flax_clips_in_the_optax_chain_it_is_given():
    need("flax")
    jnp = need("jax").numpy
    optax = need("optax")
    source = page_block(PAGE, "nnx.Optimizer(model, tx")
    before, after = source.split("optimizer.update(model, grads)")
    ns = run_page_block(PAGE, "nnx.Optimizer(model, tx", {})
    fresh = {}
    exec(compile(before, "flax-before", "exec"), fresh)                # the same model, not yet updated
    moved = optax.tree.norm({"w": fresh["model"].kernel[...] - ns["model"].kernel[...],
                             "b": fresh["model"].bias[...] - ns["model"].bias[...]})
    assert ns["grad_norm"] > 100 * TAU
    assert float(moved) == pytest.approx(0.1 * TAU, rel=1e-5)          # lr times the clipped norm
    assert float(jnp.abs(fresh["grads"]["kernel"][...] - ns["grads"]["kernel"][...]).max()) == 0.0


def test_every_python_block_is_run_here_or_by_the_build():
    from site_hooks.cells import find_blocks

    markers = ["max_grad_norm=1.0", "class LoggedRegressor", "manual_backward",
               'for knob in ("clipnorm", "global_clipnorm")', "adam_then_clip = ", "nnx.Optimizer(model, tx",
               "gradclip.clip_grad_norm("]
    blocks = find_blocks((ROOT / "docs" / PAGE).read_text().splitlines())
    assert len(blocks) == len(markers)
    for marker in markers:
        assert page_block(PAGE, marker)
