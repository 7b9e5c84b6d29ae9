"""The mixed-precision and gradient-accumulation pages: the package's simulation against real
PyTorch, every recipe run as written (read from the Markdown) against the real library, and
the two demos' claims at their defaults."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from gradclip.accumulation import accumulate, train_accumulated
from gradclip.demos import run, validate
from gradclip.loss_scale import CLIP_ORDERS, GradScalerRule, amp_clip, fp16_scaled, loss_scale_history
from support import need, run_page_block

MP, ACC = "training/mixed-precision.md", "training/accumulation.md"


# ---- the simulation -------------------------------------------------------------------------

def test_the_scale_sequence_equals_torch_grad_scaler_fed_the_same_overflows():
    torch = need("torch")
    pattern = [True, True, False, False, False, True] + [False] * 7 + [True, False, False]
    rule = GradScalerRule(init_scale=1024.0, growth_interval=3)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=3)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    seen = []
    for inf in pattern:
        seen.append(scaler.get_scale())
        p.grad = torch.tensor([math.inf if inf else 1.0])
        scaler.scale(p.sum())            # initialises the scale on first use
        scaler.step(opt)
        scaler.update()
    assert loss_scale_history(pattern, rule).tolist() == seen
    top = torch.amp.GradScaler("cpu", init_scale=2.0 ** 127, growth_interval=1)   # 2**128 is inf in float32
    tops = []
    for _ in range(2):
        tops.append(top.get_scale())
        p.grad = torch.tensor([1.0])
        top.scale(p.sum())
        top.step(opt)
        top.update()
    assert loss_scale_history([False, False], GradScalerRule(2.0 ** 127, growth_interval=1)).tolist() == tops
    assert GradScalerRule() == GradScalerRule(65536.0, 2.0, 0.5, 2000)
    defaults = torch.amp.GradScaler("cpu")
    assert (defaults.get_scale(), defaults.get_growth_factor(), defaults.get_backoff_factor(),
            defaults.get_growth_interval()) == (65536.0, 2.0, 0.5, 2000)


def test_fp16_scaled_overflows_and_underflows_like_float16():
    g, inf = fp16_scaled([np.array([1e-11, 1.0, 70000.0 / 1024])], 1024.0)
    assert inf and g[0][0] == 0.0 and g[0][1] == 1024.0 and np.isinf(g[0][2])


@pytest.mark.parametrize("order", CLIP_ORDERS)
def test_amp_clip_puts_the_threshold_where_the_order_says(order):
    g = [np.array([3.0, 4.0]), np.array([12.0])]
    step = amp_clip(g, 256.0, 1.0, order)
    norm = math.sqrt(sum(float(a @ a) for a in step.grads))
    assert norm == pytest.approx({"after_unscale": 1.0, "before_unscale": 1.0 / 256, "none": 13.0}[order], rel=1e-5)


def test_accumulate_once_is_the_clipped_mean_and_each_the_mean_of_clipped():
    rng = np.random.default_rng(0)
    micro = [[rng.normal(size=3), rng.normal(size=2)] for _ in range(4)]
    mean = [sum(m[i] for m in micro) / 4 for i in range(2)]
    total = math.sqrt(sum(float(a @ a) for a in mean))
    once = accumulate(micro, 0.5, "once")
    assert math.sqrt(sum(float(a @ a) for a in once)) == pytest.approx(0.5, rel=1e-5) and total > 0.5
    each = accumulate(micro, 0.5, "each")
    ref = [sum(a * min(1.0, 0.5 / (math.sqrt(sum(float(b @ b) for b in m)) + 1e-6)) for m in micro
               for a in [m[i]]) / 4 for i in range(2)]
    assert all(np.allclose(x, y) for x, y in zip(each, ref))
    with pytest.raises(ValueError, match="clip"):
        accumulate(micro, 0.5, "twice")


# ---- the demos --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def amp_demo():
    return run("amp_clip_order", {})


def test_amp_demo_the_wrong_order_barely_trains_and_its_threshold_is_tau_over_s(amp_demo):
    r = {k: float(v["value"]) for k, v in amp_demo["results"].items()}
    assert r["final_after"] < 0.5 * r["final_before"] and r["final_none"] < 0.5 * r["final_before"]
    assert r["eff_tau"] == pytest.approx(1.0 / r["scale_median"])
    assert r["update_ratio"] > 100 and r["skipped_after"] >= 1


def test_accumulation_demo_clip_each_gives_shorter_turned_updates():
    r = {k: float(v["value"]) for k, v in run("accumulation_clip", {})["results"].items()}
    assert r["norm_each"] < r["norm_once"] and r["angle"] > 1.0
    out = train_accumulated(k=1, tau=1.0, steps=5)            # one micro-batch: the two coincide
    assert np.allclose(out.norm_once, out.norm_each) and np.allclose(out.loss_once, out.loss_each)


def test_the_demos_clamp_bad_parameters():
    for name in ("amp_clip_order", "accumulation_clip"):
        params, notes = validate(name, {"tau": -5, "seed": 10 ** 9, "lr": "x"})
        assert params["tau"] == 0.01 and params["seed"] == 999 and params["lr"] == 0.05 and notes



def test_a_run_that_overflows_every_step_backs_its_scale_off_to_zero_and_skips_on():
    """As torch's float32 scale does: halving reaches 0, and then every step is skipped (at S = 0
    unscale_ multiplies by inf). The demo at the ends of its ranges keeps computing."""
    rule = GradScalerRule(init_scale=1.0)
    s, tracker = 1.0, 0
    for _ in range(200):
        s, tracker = rule.update(s, tracker, True)
    assert s == 0.0 and amp_clip([np.array([1e-3])], 0.0, 1.0).grads is None
    out = run("amp_clip_order", {"init_scale": 1.0, "lr": 0.5, "steps": 400})
    assert out["results"]["final_none"]["text"].startswith("blew up")


# ---- PyTorch recipes ---------------------------------------------------------------------------

def _torch_setup(torch, n_batches=4, batch=8, scale=1.0):
    torch.manual_seed(0)
    x = torch.randn(n_batches * batch, 4)
    data = torch.utils.data.TensorDataset(x, scale * 30.0 * x.sum(dim=1, keepdim=True))
    model = torch.nn.Linear(4, 1)
    return {"model": model, "loader": torch.utils.data.DataLoader(data, batch_size=batch),
            "optimizer": torch.optim.SGD(model.parameters(), lr=0.01), "loss_fn": torch.nn.functional.mse_loss}


def _spy_steps(torch, names):
    """Record the gradient norm the optimiser sees at each step it really takes."""
    opt, seen = names["optimizer"], []
    inner = opt.step

    def step(*a, **k):
        seen.append(float(torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in names["model"].parameters()]))))
        return inner(*a, **k)
    opt.step = step
    return seen


def test_the_amp_recipe_clips_the_true_gradient_and_skips_an_overflowing_step():
    torch = need("torch")
    names = _torch_setup(torch, n_batches=12)
    seen = _spy_steps(torch, names)
    plain, calls, stepped = names["loss_fn"], [], []
    inner = names["optimizer"].step
    names["optimizer"].step = lambda *a, **k: stepped.append(len(calls)) or inner(*a, **k)

    def loss_fn(out, target):           # the tenth batch's loss is made infinite
        calls.append(1)
        loss = plain(out.float(), target)
        return loss * math.inf if len(calls) == 10 else loss
    names["loss_fn"] = loss_fn
    ns = run_page_block(MP, "scaler.unscale_(optimizer)", names)
    skipped = 12 - len(seen)
    # the first steps overflow while the scale calibrates, then the injected one: each halves S
    assert 10 not in stepped and skipped >= 2 and ns["scaler"].get_scale() == 65536.0 * 0.5 ** skipped
    assert all(n <= ns["TAU"] * (1 + 1e-4) for n in seen)
    assert max(seen) == pytest.approx(ns["TAU"], rel=1e-4)        # these gradients are longer than TAU


def test_the_wrong_order_clips_to_tau_over_the_scale():
    torch = need("torch")
    names = _torch_setup(torch, n_batches=1)
    seen = _spy_steps(torch, names)
    scaler = torch.amp.GradScaler("cpu")
    inputs, targets = next(iter(names["loader"]))
    with torch.autocast("cpu", dtype=torch.float16):
        loss = names["loss_fn"](names["model"](inputs).float(), targets) / 2 ** 16   # S * g stays finite
    names.update(scaler=scaler, loss=loss, TAU=1.0, torch=torch)
    run_page_block(MP, "# WRONG", names)
    assert seen and seen[0] == pytest.approx(1.0 / 65536, rel=1e-3)


def test_the_bf16_recipe_clips_every_long_gradient():
    torch = need("torch")
    names = _torch_setup(torch)
    seen = _spy_steps(torch, names)
    ns = run_page_block(MP, "dtype=torch.bfloat16", names)
    assert len(seen) == 4 and all(n == pytest.approx(ns["TAU"], rel=1e-4) for n in seen)


def _torch_reference(torch, names, k, tau, lr=0.01):
    """Weights after SGD on the clipped mean of every k micro-batch gradients (gradclip clips)."""
    w = [p.detach().clone().requires_grad_(True) for p in names["model"].parameters()]
    batches = list(names["loader"])
    for s in range(0, len(batches), k):
        micro = []
        for x, y in batches[s:s + k]:
            loss = torch.nn.functional.mse_loss(torch.nn.functional.linear(x, w[0], w[1]), y)
            micro.append([g.double().numpy() for g in torch.autograd.grad(loss, w)])
        step = accumulate(micro, tau, "once")
        with torch.no_grad():
            for p, g in zip(w, step):
                p -= lr * torch.from_numpy(g).float()
    return [p.detach() for p in w]


def test_the_plain_accumulation_recipe_clips_the_mean_once_per_k():
    torch = need("torch")
    names = _torch_setup(torch, n_batches=8)
    ref = _torch_reference(torch, names, 4, 1.0)
    seen = _spy_steps(torch, names)
    run_page_block(ACC, "(i + 1) % K == 0", names)
    assert len(seen) == 2
    assert all(torch.allclose(p, r, atol=1e-5) for p, r in zip(names["model"].parameters(), ref))


def test_the_accelerate_recipe_clips_once_per_four_micro_batches(monkeypatch):
    torch = need("torch")
    accelerate = need("accelerate")
    from accelerate.state import AcceleratorState, GradientState

    names = _torch_setup(torch, n_batches=8)
    ref = _torch_reference(torch, names, 4, 1.0)
    calls = []
    original = accelerate.Accelerator.clip_grad_norm_
    monkeypatch.setattr(accelerate.Accelerator, "clip_grad_norm_",
                        lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    try:
        ns = run_page_block(ACC, "accelerator.sync_gradients", names)
    finally:
        AcceleratorState._reset_state(True)
        GradientState._reset_state()
    assert len(calls) == 2
    assert all(torch.allclose(p, r, atol=1e-5) for p, r in zip(ns["model"].parameters(), ref))


# ---- optax and Keras ----------------------------------------------------------------------------

def _linear_grads(w, b, x, y):
    """The MSE gradients of ``x @ w + b`` against ``y`` (the reference's micro-batch gradients)."""
    r = x @ w + b - y
    return [2 * x.T @ r / len(y), 2 * r.sum(axis=0) / len(y)]


def test_optax_multisteps_clips_the_mean_inside_and_each_micro_batch_outside():
    jax = need("jax")
    need("optax")
    jnp = jax.numpy
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(8, 3)).astype("float32"), (rng.normal(size=8) * 5).astype("float32"))
               for _ in range(8)]

    def loss_fn(params, batch):
        x, y = batch
        return jnp.mean((x @ params["w"] + params["b"] - y) ** 2)
    ns = run_page_block(ACC, "optax.MultiSteps(", {"loss_fn": loss_fn})
    for name in ("once", "each"):
        got = ns["train"](ns[name], {"w": jnp.zeros(3), "b": jnp.zeros(())}, batches)
        w, b = np.zeros(3), 0.0
        for s in range(0, 8, 4):
            micro = [_linear_grads(w, b, x.astype(float), y.astype(float)) for x, y in batches[s:s + 4]]
            gw, gb = accumulate(micro, ns["TAU"], name)
            w, b = w - ns["LR"] * gw, b - ns["LR"] * gb
        assert np.allclose(got["w"], w, atol=1e-5) and np.allclose(got["b"], b, atol=1e-5), name
    assert not np.allclose(ns["train"](ns["once"], {"w": jnp.zeros(3), "b": jnp.zeros(())}, batches)["w"],
                           got["w"], atol=1e-3)          # the two placements differ on these batches


def test_keras_gradient_accumulation_clips_the_accumulated_mean_once():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = need("keras")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) * 10).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    w0, b0 = (v.copy() for v in model.get_weights())
    run_page_block(ACC, "model.fit(", {"model": model, "x": x, "y": y})
    # the MSE gradients of each micro-batch of 8 at the initial weights
    micro = [_linear_grads(w0, b0, x[s:s + 8].astype(float), y[s:s + 8].astype(float)) for s in range(0, 32, 8)]
    w, b = model.get_weights()
    once = [p - 0.05 * g for p, g in zip((w0, b0), accumulate(micro, 1.0, "once"))]
    each = [p - 0.05 * g for p, g in zip((w0, b0), accumulate(micro, 1.0, "each"))]
    assert np.allclose(w, once[0], atol=1e-5) and np.allclose(b, once[1], atol=1e-5)
    assert not np.allclose(w, each[0], atol=1e-3)


def test_keras_clipnorm_per_variable_also_acts_on_the_accumulated_mean():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = need("keras")
    w, b = keras.Variable(np.zeros(2, "float32")), keras.Variable(np.zeros(1, "float32"))
    opt = keras.optimizers.SGD(learning_rate=1.0, clipnorm=1.0, gradient_accumulation_steps=2)
    micro = [[np.array([3.0, 0.0]), np.array([0.5])], [np.array([0.0, 1.0]), np.array([0.1])]]
    for g in micro:
        opt.apply([keras.ops.convert_to_tensor(a.astype("float32")) for a in g], [w, b])
    mean = [(micro[0][i] + micro[1][i]) / 2 for i in range(2)]
    per_variable = [m * min(1.0, 1.0 / np.linalg.norm(m)) for m in mean]      # clipnorm: each variable alone
    assert np.allclose(w.numpy(), -per_variable[0], atol=1e-6) and np.allclose(b.numpy(), -per_variable[1], atol=1e-6)
