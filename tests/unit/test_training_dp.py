"""The DP-SGD page's recipes against the real libraries, and gradclip.dp against Opacus 1.6.0.

* gradclip's MLP per-example gradients equal ``torch.func.vmap(torch.func.grad(...))`` on the
  same weights (the page's block, read from the Markdown), to 1e-6.
* ``gradclip.dp_sgd_step`` with ``noise_multiplier=0`` equals the gradient Opacus's
  ``DPOptimizer`` (flat) and ``DPPerLayerOptimizer`` hand to the optimizer, on the same
  per-example gradients, to 1e-6.
* The page's ``PrivacyEngine.make_private`` recipes (flat and per layer) set what the page
  says and clip every example as gradclip does; ``clip_grad_norm_`` between ``backward()`` and
  ``step()`` leaves an Opacus update unchanged, as the page's pitfall says.

Opacus is imported once per module (it takes seconds). A missing library skips with the reason.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradclip
from gradclip.nets import MLP
from gradclip.tasks import RegressionTask
from support import need, run_page_block

PAGE = "training/dp-sgd.md"
pytestmark = [pytest.mark.torch,
              pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning"),
              pytest.mark.filterwarnings("ignore:Secure RNG turned off:UserWarning")]


@pytest.fixture(scope="module")
def torch():
    return need("torch")


@pytest.fixture(scope="module")
def opacus():
    return need("opacus")


@pytest.fixture(scope="module")
def mlp_case():
    """gradclip's MLP (one run), a batch of 16, and its per-example gradients in PyTorch's
    layout (weight matrices transposed: nn.Linear stores (out, in))."""
    task = RegressionTask()
    net, batch = MLP(n_in=task.n_in), task.batches(1, 16, seed=3)[0]
    params = net.init(seed=1, runs=1)
    _, rows = net.per_example_grads(params, batch)
    torch_rows = [rows[0][0].transpose(0, 2, 1), rows[1][0], rows[2][0].transpose(0, 2, 1), rows[3][0]]
    return net, batch, params, torch_rows


def torch_mlp(torch, params):
    """nn.Sequential(Linear, ReLU, Linear) in float64 holding gradclip's MLP weights (run 0)."""
    W1, b1, W2, b2 = (torch.tensor(p[0]) for p in params)
    model = torch.nn.Sequential(torch.nn.Linear(*W1.shape), torch.nn.ReLU(), torch.nn.Linear(*W2.shape)).double()
    with torch.no_grad():
        model[0].weight.copy_(W1.T), model[0].bias.copy_(b1), model[2].weight.copy_(W2.T), model[2].bias.copy_(b2)
    return model


def tiny_setup(torch, *, poisson: bool = True):
    """The page's reader: a Linear(4, 1) in float64, 16 rows in batches of 8, SGD, MSE."""
    torch.manual_seed(0)
    x = torch.randn(16, 4, dtype=torch.float64)
    data = torch.utils.data.TensorDataset(x, 3.0 * x.sum(dim=1, keepdim=True))
    model = torch.nn.Linear(4, 1).double()
    return {"model": model, "loader": torch.utils.data.DataLoader(data, batch_size=8),
            "optimizer": torch.optim.SGD(model.parameters(), lr=0.01), "loss_fn": torch.nn.functional.mse_loss}


def per_sample(ns: dict, torch) -> tuple[list, list[np.ndarray]]:
    """One more backward pass of the wrapped model on 8 fixed rows; the parameters and their
    per-example gradients (Opacus's ``grad_sample``) as NumPy arrays."""
    torch.manual_seed(1)
    x = torch.randn(8, 4, dtype=torch.float64) * 10.0           # large: most examples get clipped
    ns["optimizer"].zero_grad()
    ns["loss_fn"](ns["model"](x), 3.0 * x.sum(dim=1, keepdim=True)).backward()
    params = [p for p in ns["model"].parameters() if p.requires_grad]
    return params, [p.grad_sample.detach().numpy().copy() for p in params]


def test_the_mlps_per_example_gradients_match_torch_func(torch, mlp_case):
    net, batch, params, want = mlp_case
    ns = run_page_block(PAGE, "vmap(grad(", {
        "model": torch_mlp(torch, params), "loss_fn": torch.nn.functional.mse_loss,
        "inputs": torch.tensor(batch.x), "targets": torch.tensor(batch.y)})
    got = [g.numpy() for g in ns["per_example"].values()]
    assert [g.shape for g in got] == [w.shape for w in want]
    for g, w in zip(got, want):
        assert np.allclose(g, w, rtol=1e-6, atol=1e-6 * np.abs(w).max())
    for c, w in zip(ns["clipped"], gradclip.clip_per_example(want, 1.0)):
        assert np.allclose(c, w, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("per_layer", [False, True])
def test_dp_sgd_step_matches_opacus_with_no_noise(torch, opacus, mlp_case, per_layer):
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer, DPPerLayerOptimizer

    net, batch, params, rows = mlp_case
    norms = np.sqrt(sum((r.reshape(len(r), -1) ** 2).sum(axis=1) for r in rows))
    C = float(np.median(norms))                                   # half the examples clipped
    caps = [C / 2] * 4
    model = GradSampleModule(torch_mlp(torch, params))
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    if per_layer:
        opt = DPPerLayerOptimizer(sgd, noise_multiplier=0.0, max_grad_norm=caps, expected_batch_size=16)
    else:
        opt = DPOptimizer(sgd, noise_multiplier=0.0, max_grad_norm=C, expected_batch_size=16)
    torch.nn.functional.mse_loss(model(torch.tensor(batch.x)), torch.tensor(batch.y)).backward()
    for p, r in zip(model.parameters(), rows):                   # Opacus sees the same per-example gradients
        assert np.allclose(p.grad_sample.numpy(), r, rtol=1e-6, atol=1e-6 * np.abs(r).max())
    assert opt.pre_step()
    step = gradclip.dp_sgd_step(rows, caps if per_layer else C, 0.0, per_layer=per_layer)
    assert 0 < step.clipped_fraction < 1
    for p, g in zip(model.parameters(), step.grad):
        assert np.allclose(p.grad.numpy(), g, rtol=1e-6, atol=1e-9 * np.abs(g).max())
    # the noise's scale: sigma times C (per layer: times the norm of the thresholds), as Opacus's
    noisy = gradclip.dp_sgd_step(rows, caps if per_layer else C, 1.0, per_layer=per_layer)
    assert opt.max_grad_norm == pytest.approx(math.hypot(*caps) if per_layer else C)
    assert noisy.noise_std == pytest.approx(1.0 * opt.max_grad_norm)   # Opacus: std = noise_multiplier * max_grad_norm


def test_the_flat_privacy_engine_recipe_clips_every_example_as_gradclip_does(torch, opacus):
    from opacus.optimizers import DPOptimizer, DPPerLayerOptimizer

    ns = run_page_block(PAGE, "privacy_engine = PrivacyEngine()", tiny_setup(torch))
    opt = ns["optimizer"]
    assert isinstance(opt, DPOptimizer) and not isinstance(opt, DPPerLayerOptimizer)
    assert opt.max_grad_norm == 1.0 and opt.noise_multiplier == 1.0
    assert opt.expected_batch_size == 8                      # 16 rows / 2 batches
    assert ns["privacy_engine"].accountant.mechanism() == "prv"
    params, rows = per_sample(ns, torch)
    norms = np.sqrt(sum((r.reshape(len(r), -1) ** 2).sum(axis=1) for r in rows))
    assert (norms > 1.0).all()
    opt.clip_and_accumulate()
    want = [c.sum(axis=0) for c in gradclip.clip_per_example(rows, 1.0)]
    for p, w in zip(params, want):
        assert np.allclose(p.summed_grad.detach().numpy(), w, rtol=1e-6, atol=1e-9)
    assert math.sqrt(sum(float((w ** 2).sum()) for w in want)) <= 8 * 1.0   # each of 8 examples <= C


def test_the_per_layer_recipe_gives_each_tensor_its_threshold(torch, opacus, capsys):
    from opacus.optimizers import DPPerLayerOptimizer

    ns = run_page_block(PAGE, 'clipping="per_layer"', tiny_setup(torch))
    opt = ns["optimizer"]
    assert isinstance(opt, DPPerLayerOptimizer) and opt.max_grad_norms == [0.5, 0.5]
    assert opt.max_grad_norm == pytest.approx(0.5 * math.sqrt(2))
    assert capsys.readouterr().out.strip() == repr(opt.max_grad_norm)
    # the recipe does not train: one backward pass to check the clipping
    params, rows = per_sample(ns, torch)
    opt.clip_and_accumulate()
    want = gradclip.clip_per_example(rows, [0.5, 0.5], per_layer=True)
    for p, w in zip(params, want):
        assert np.allclose(p.summed_grad.detach().numpy(), w.sum(axis=0), rtol=1e-6, atol=1e-9)
        assert (np.sqrt((w.reshape(len(w), -1) ** 2).sum(axis=1)) <= 0.5 + 1e-9).all()


def test_clip_grad_norm_before_an_opacus_step_changes_nothing(torch, opacus):
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    after = []
    for batch_clip in (False, True):
        ns = tiny_setup(torch)
        model = GradSampleModule(ns["model"])
        opt = DPOptimizer(torch.optim.SGD(model.parameters(), lr=0.1), noise_multiplier=0.0,
                          max_grad_norm=1.0, expected_batch_size=8)
        x, y = next(iter(ns["loader"]))
        torch.nn.functional.mse_loss(model(x), y).backward()
        if batch_clip:
            before = torch.nn.utils.clip_grad_norm_(model.parameters(), 1e-9)
            assert before > 1.0                                # it did rescale p.grad
        opt.step()
        after.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(after[0], after[1])
