"""The norm-log analyser page's recording recipes, run as written against the real libraries.

Each block is read from docs/monitor/norm-log-analyser.md with the site's own block finder
(site_hooks.cells.find_blocks) and run in a namespace holding what the page leaves to the
reader (a tiny ``model``, its ``loader`` or ``train_dataset``, ``optimizer``, ``loss_fn``), in
an empty folder; the file it writes must be one the analyser reads, one row per optimizer
step. A library that is not installed skips its recipe with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gradclip.logfiles import read_norm_log
from support import make_fixtures, need, run_page_block

PAGE = "monitor/norm-log-analyser.md"


def run_recipe(marker: str, names: dict, where: Path, monkeypatch) -> object:
    monkeypatch.chdir(where)
    run_page_block(PAGE, marker, names)
    return read_norm_log((where / "norms.csv").read_text())


def torch_loop(torch) -> dict:
    torch.manual_seed(0)
    x = torch.randn(32, 4)
    data = torch.utils.data.TensorDataset(x, 3.0 * x.sum(dim=1, keepdim=True))
    model = torch.nn.Linear(4, 1)
    return {"model": model, "loader": torch.utils.data.DataLoader(data, batch_size=8),
            "optimizer": torch.optim.SGD(model.parameters(), lr=0.01), "loss_fn": torch.nn.functional.mse_loss}


@pytest.mark.parametrize("marker", ["tracker.measure(", "get_total_norm(grads)"])
def test_the_pytorch_recipes_write_one_norm_per_step(marker, tmp_path, monkeypatch):
    torch = need("torch")
    log = run_recipe(marker, torch_loop(torch), tmp_path, monkeypatch)
    assert log.norms.steps.tolist() == [0, 1, 2, 3] and (log.norms.values > 0).all()
    if marker == "tracker.measure(":
        assert log.loss is not None and log.loss.values.size == 4


def test_the_hugging_face_recipe_writes_the_trainers_norm_of_every_step(tmp_path, monkeypatch):
    torch = need("torch")
    need("transformers")

    Regressor, Rows = make_fixtures().trainer_parts()
    torch.manual_seed(0)
    x = torch.randn(16, 4)
    rows = Rows(x, 3.0 * x.sum(dim=1, keepdim=True))
    log = run_recipe("integrations.huggingface", {"model": Regressor(torch.nn.Linear(4, 1)), "train_dataset": rows},
                     tmp_path, monkeypatch)
    assert log.norms.steps.tolist() == [1, 2, 3, 4, 5, 6]          # 16 rows / batch 8, 3 epochs (the defaults)
    assert log.loss is not None


def test_the_lightning_recipe_writes_a_norm_for_every_step(tmp_path, monkeypatch):
    torch = need("torch")
    need("lightning")

    names = torch_loop(torch)
    names["model"] = make_fixtures().lightning_module()(torch.nn.Linear(4, 1))
    log = run_recipe("gradient_clip_val=1.0,", names, tmp_path, monkeypatch)
    assert log.norms.steps.tolist() == [0, 1, 2, 3] and log.loss is not None


def test_the_optax_fragment_records_the_global_norm_of_a_gradient_pytree():
    need("optax")
    jnp = need("jax.numpy")

    grads = {"w": jnp.array([[3.0, 0.0], [0.0, 0.0]]), "b": jnp.array([4.0])}
    names = run_page_block(PAGE, "optax.tree.norm(grads)", {"norms": [], "grads": grads})
    assert names["norms"] == [5.0]
