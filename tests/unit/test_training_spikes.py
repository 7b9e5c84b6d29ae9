"""The loss-spikes page: ZClip's skip options held to the reference and to the kernel, a training
run that skips a bad batch's step, and the page's demo."""

from __future__ import annotations

import numpy as np
import pytest

from gradclip import demos
from gradclip.tasks import AddingTask, BadBatches
from gradclip.train import RunSpec, train_runs
from gradclip.zclip import ZClip, ZClipKernel, zclip_step
from support import need, run_page_block
from test_adaptive import ReferenceZClip, spiky_norms


@pytest.mark.parametrize("mode", ["zscore", "percentile"])
def test_skip_update_on_spike_kernel_equals_reference_step_and_the_reference_code(mode):
    norms = spiky_norms(np.random.default_rng(3)).tolist()
    start = ZClip(warmup_steps=10, mode=mode, skip_update_on_spike=True)
    kernel, state, ref = ZClipKernel(start), start, ReferenceZClip(warmup_steps=10, mode=mode,
                                                                    skip_update_on_spike=True)
    spikes = 0
    for n in norms:
        before = (state.mean, state.var)
        state, want = zclip_step(state, n)
        got = kernel.update(n)
        assert (np.inf if got is None else got) == want
        assert (kernel.mean, kernel.var) == (state.mean, state.var)
        assert min(n, want) == pytest.approx(ref.step(n), rel=1e-12)
        if kernel.spiked:        # the reference freezes its statistics on a spike, and still clips
            spikes += 1
            assert (state.mean, state.var) == before and want < n
    assert spikes >= 5


def test_kernel_spike_flag_on_arrays():
    norms = spiky_norms(np.random.default_rng(4))
    x = np.stack([norms, norms[::-1]], axis=1)
    start = ZClip(warmup_steps=10, skip_update_on_spike=True)
    kernel, state = ZClipKernel(start, square_by_multiply=True), start
    for n in x:
        state, want = zclip_step(state, n)
        got = kernel.update(n)
        if got is not None:
            assert got.tobytes() == want.tobytes() and kernel.mean.tobytes() == state.mean.tobytes()
            np.testing.assert_array_equal(kernel.spiked, want < n)


@pytest.fixture(scope="module")
def skip_runs():
    task = BadBatches(AddingTask(), count=2, scale=30.0, start=40)
    out = {}
    for opt in ("momentum", "adam"):
        out[opt] = train_runs("rnn1", task, [RunSpec("zclip", 2.5, 0.02), RunSpec("zclip", 2.5, 0.02,
                              skip_step_on_spike=True)], steps=80, optimizer=opt, rho=1.0)
    return out


@pytest.mark.parametrize("opt", ["momentum", "adam"])
def test_a_skipped_step_is_no_step_at_all(skip_runs, opt):
    clip, skip = skip_runs[opt]
    bad = np.flatnonzero(skip.bad_batch)
    assert skip.skipped[bad].all() and not clip.skipped.any()
    first = int(np.flatnonzero(skip.skipped)[0])
    assert first == bad[0] and np.all(skip.update_norm[skip.skipped] == 0.0)
    # identical up to the first skip, different after it
    np.testing.assert_array_equal(skip.loss[: first + 1], clip.loss[: first + 1])
    assert clip.update_norm[first] > 0 and skip.loss[first + 1] != clip.loss[first + 1]


@pytest.mark.parametrize("opt", ["momentum", "adam"])
def test_a_skipped_row_keeps_its_optimiser_state_and_step_count(opt):
    """Row 1 skips step 2: afterwards it is exactly a run that never saw that gradient, which a
    zero gradient would not give (momentum would still move; Adam would decay its moments)."""
    from types import SimpleNamespace
    from gradclip.optim import ArrayStepper
    from gradclip.train import _optimiser_step
    rng = np.random.default_rng(0)
    g = rng.standard_normal((3, 2, 5))            # 3 steps, 2 rows
    flat = SimpleNamespace(stepper=ArrayStepper(opt, np.array([[0.1], [0.1]]), (2, 5), bias_in_lr=False),
                           taken=np.zeros((2, 1)))
    moves = [_optimiser_step(flat, g[s], s, [1] if s == 1 else []).copy() for s in range(3)]
    assert np.all(moves[1][1] == 0.0)
    alone = ArrayStepper(opt, np.array([[0.1]]), (1, 5), bias_in_lr=False)
    want = [alone.step(g[s][1:2], k).copy() for s, k in ((0, 1), (2, 2))]
    np.testing.assert_array_equal(moves[0][1], want[0][0])
    np.testing.assert_array_equal(moves[2][1], want[1][0])
    zeroed = ArrayStepper(opt, np.array([[0.1]]), (1, 5), bias_in_lr=False)
    z = [zeroed.step(x, k).copy() for x, k in ((g[0][1:2], 1), (np.zeros((1, 5)), 2), (g[2][1:2], 3))]
    assert np.abs(z[1]).max() > 0 and not np.allclose(z[2], want[1])


def test_runspec_checks_the_switches():
    with pytest.raises(ValueError, match="skip_step_on_spike applies to method 'zclip' only"):
        RunSpec("norm", 1.0, 0.1, skip_step_on_spike=True)
    with pytest.raises(TypeError, match="skip_update_on_spike"):
        RunSpec("zclip", 2.5, 0.1, skip_update_on_spike=1)


def test_spike_remedies_demo_at_defaults():
    out = demos.run("spike_remedies", {})
    r = {k: v["value"] for k, v in out["results"].items()}
    assert out["notices"] == [] and out["done"]
    assert out["results"]["final_none"]["text"].startswith("blew up")
    for name in ("norm", "zclip", "zclip_skip"):
        assert float(r[f"final_{name}"]) < 0.2
    assert int(r["skips_bad"]) == int(r["bad"]) == 3
    # the prediction's answer: ordinary steps are skipped too; the step after a bad batch is clipped
    # in the clipping run and not skipped in the skipping one; the guarded runs end close together
    assert int(r["skips_ordinary"]) > 0 and int(r["skips"]) == int(r["skips_bad"]) + int(r["skips_ordinary"])
    assert int(r["aftershock_clip"]) > int(r["aftershock_skip"]) == 0
    finals = [float(r[f"final_{n}"]) for n in ("norm", "zclip", "zclip_skip")]
    assert max(finals) < 1.3 * min(finals)
    assert float(r["step_zclip_skip"]) < 1e-6 * float(r["step_none"])


# --------------------------------------------------------------------------- the page's PyTorch recipes

PAGE = "training/loss-spikes.md"


def test_the_pytorch_skip_recipe_takes_no_step_on_the_bad_batch():
    torch = need("torch")
    torch.manual_seed(0)
    x = torch.randn(40, 8, 4)
    y = x.sum(dim=2, keepdim=True)
    y[30] *= 100.0                                      # one bad batch, after the 25-step warm-up
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    seen = {}

    def snapshot():
        st = optimizer.state[model.weight]
        return [p.detach().clone() for p in model.parameters()] + \
               [st[k].clone() for k in ("step", "exp_avg", "exp_avg_sq")]

    def loader():
        for i in range(40):
            if i in (30, 31):
                seen[i] = snapshot()                    # the state before and after step 30
            yield x[i], y[i]

    names = {"torch": torch, "model": model, "optimizer": optimizer, "loader": loader(),
             "loss_fn": torch.nn.functional.mse_loss}
    run_page_block(PAGE, "get_total_norm(grads)", names)
    assert 30 in names["skipped"] and len(names["skipped"]) <= 4
    assert all(torch.equal(a, b) for a, b in zip(seen[30], seen[31]))
    assert float(optimizer.state[model.weight]["step"]) == 40 - len(names["skipped"])


def test_the_z_loss_recipe_is_palms_formula():
    torch = need("torch")
    names = run_page_block(PAGE, "def z_loss", {"torch": torch})
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 3.0, 1.0]], dtype=torch.float64, requires_grad=True)
    z = names["z_loss"](logits)
    log_z = torch.log(torch.exp(logits.detach()).sum(dim=1))
    assert float(z.detach()) == pytest.approx(1e-4 * float((log_z ** 2).mean()), rel=1e-12)
    z.backward()
    want = 2e-4 * log_z[:, None] * torch.softmax(logits.detach(), dim=1) / 2     # mean over 2 rows
    assert torch.allclose(logits.grad, want, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- gradclip suggest --zclip-skip-update


def test_cli_suggest_replays_zclip_with_the_reference_option(tmp_path, capsys):
    import json

    from gradclip.cli import main
    from gradclip.zclip import zclip_series
    x = spiky_norms(np.random.default_rng(2))
    (tmp_path / "n.csv").write_text("grad_norm\n" + "\n".join(repr(float(v)) for v in x) + "\n")
    rows = {}
    for flag in ([], ["--zclip-skip-update"]):
        assert main(["suggest", str(tmp_path / "n.csv"), "--json", *flag]) == 0
        rows[bool(flag)] = next(s for s in json.loads(capsys.readouterr().out)["suggestions"] if s["rule"] == "zclip")
    for skip, row in rows.items():
        want = zclip_series(x, ZClip(skip_update_on_spike=skip))
        assert row["steps_clipped"] == int(want.clipped.sum())
        assert row["tau"] == pytest.approx(float(want.final_state.limit()), rel=1e-12)
    assert rows[True]["steps_clipped"] != rows[False]["steps_clipped"]
    assert "skip the spikes" in rows[True]["explanation"] and "skip" not in rows[False]["explanation"]
    assert main(["suggest", str(tmp_path / "n.csv"), "--zclip-skip-update=yes"]) == 2
