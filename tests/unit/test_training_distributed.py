"""The distributed-training page: gradclip.sharded, its demo, and the page's recipes run for real.

The DDP and FSDP2 blocks of docs/training/distributed.md run on two local processes (gloo,
CPU), started once for both recipes (``spawn``: a fresh interpreter per rank, a free port,
timeouts everywhere so nothing hangs). Each rank runs the block with
:func:`support.run_page_block` (the page's text, not a copy) and reports what it logged; the
parent compares the ranks with each other and with a single process that sees both ranks'
batches together. DeepSpeed is not installed (it builds its own operators): its JSON block is
parsed and its key checked.
"""

from __future__ import annotations

import datetime
import json
import os
import queue as queue_module
import re
import socket
import traceback
from pathlib import Path

import numpy as np
import pytest

import gradclip
from gradclip import demos
from gradclip.clipping import clip_grad_norm
from gradclip.demos import stacks_distributed as sd
from support import need, page_block, run_page_block

PAGE = "training/distributed.md"
ROOT = Path(__file__).resolve().parents[2]
WORLD, STEPS, ROWS, TAU, LR = 2, 2, 4, 1.0, 0.1
RECIPES = ("DistributedDataParallel", "fully_shard(")


# --------------------------------------------------------------------------- gradclip.sharded


def random_grads(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(5, 3)), rng.normal(size=7), rng.normal(size=(1, 4)), rng.normal(size=1)]


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, np.inf])
@pytest.mark.parametrize("ranks", [1, 2, 3, 5])
def test_local_norms_combine_to_the_unsharded_norm(p, ranks):
    grads = random_grads(ranks)
    shards = [list(part) for part in zip(*(np.array_split(g, ranks) for g in grads))]
    local = gradclip.shard_norms(shards, p)
    assert local.shape == (ranks,) and np.all(local <= gradclip.global_norm(grads, p) + 1e-12)
    assert gradclip.combine_norms(local, p) == pytest.approx(gradclip.global_norm(grads, p), rel=1e-12)


def test_clip_sharded_equals_pytorch_rule_on_the_whole_gradient():
    grads = random_grads()
    shards = [list(part) for part in zip(*(np.array_split(g, 3) for g in grads))]
    out = gradclip.clip_sharded(shards, 0.7)
    want, total = clip_grad_norm(grads, 0.7)
    assert out.total_norm == pytest.approx(total, rel=1e-13)
    got = [np.concatenate([out.clipped[r][i] for r in range(3)]) for i in range(len(grads))]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-13)
    assert out.coefficient == pytest.approx(0.7 / (total + 1e-6), rel=1e-13)
    assert gradclip.global_norm([np.concatenate([a.ravel() for a in got])]) == pytest.approx(0.7, rel=1e-5)


def test_a_replicated_piece_is_counted_once_and_scaled_everywhere():
    rng = np.random.default_rng(1)
    w, ln = rng.normal(size=(4, 6)), rng.normal(size=4)
    tp = [[w[:, :3], ln], [w[:, 3:], ln]]
    marks = [[False, True], [False, True]]
    assert gradclip.combine_norms(gradclip.shard_norms(tp, replicated=marks)) == \
        pytest.approx(gradclip.global_norm([w, ln]), rel=1e-13)
    assert gradclip.combine_norms(gradclip.shard_norms(tp)) > gradclip.global_norm([w, ln]) * 1.01
    out = gradclip.clip_sharded(tp, 1.0, replicated=marks)
    np.testing.assert_array_equal(out.clipped[0][1], out.clipped[1][1])
    np.testing.assert_allclose(out.clipped[1][1], ln * out.coefficient)


def test_bad_replicated_marks_are_refused_by_name():
    with pytest.raises(ValueError, match="replicated"):
        gradclip.shard_norms([[np.ones(2)], [np.ones(2)]], replicated=[[True]])
    with pytest.raises(TypeError, match="replicated"):
        gradclip.shard_norms([[np.ones(2)]], replicated=[[1]])
    with pytest.raises(ValueError, match="shards"):
        gradclip.clip_sharded([], 1.0)


def test_nonfinite_pieces_reach_every_rank():
    out = gradclip.clip_sharded([[np.array([np.inf, 1.0])], [np.array([2.0])]], 1.0)
    assert out.total_norm == np.inf and out.clipped[1][0][0] == 0.0


def test_cli_combines_local_norms(capsys):
    from gradclip.cli import main

    assert main(["shards", "3", "4", "--tau", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["global_norm"] == 5.0 and out["ranks_above_tau"] == 2
    assert out["factor"] == pytest.approx(1.0 / (5.0 + 1e-6), rel=1e-15)
    assert main(["shards", "3", "-1"]) == 2 and "local norm" in capsys.readouterr().err
    assert main(["shards", "3", "--tau", "0"]) == 2 and "tau" in capsys.readouterr().err


# --------------------------------------------------------------------------- the demo


def test_demo_at_defaults_shows_what_the_page_says():
    out = demos.run("sharded_clip", {})
    r = {k: float(v["value"]) for k, v in out["results"].items()}
    p = demos.REGISTRY["sharded_clip"].defaults()
    shards = sd.sharded_gradient(p["ranks"], p["hot"], p["seed"])
    assert r["global_before"] == pytest.approx(gradclip.global_norm(shards), rel=1e-12)
    assert r["global_right"] == pytest.approx(p["tau"], rel=1e-5)
    # the page's prediction: per-shard clipping leaves the whole well above tau, some shards untouched
    assert r["global_naive"] > 1.2 * p["tau"]
    assert 0 < r["shards_clipped"] < p["ranks"] and r["angle"] > 1.0
    norms = np.array([np.linalg.norm(s) for s in sd.naive_shard_clip(shards, p["tau"])])
    assert np.all(norms <= p["tau"] * (1 + 1e-9))
    json.dumps(out, allow_nan=False)


def test_one_rank_makes_the_two_rules_agree():
    out = demos.run("sharded_clip", {"ranks": 1})
    assert float(out["results"]["angle"]["value"]) == 0.0
    assert out["results"]["global_naive"]["value"] == out["results"]["global_right"]["value"]


def test_demo_clamps_bad_params():
    clean, notices = demos.validate("sharded_clip", {"ranks": 99, "tau": -1, "hot": "x"})
    assert clean["ranks"] == 16 and clean["tau"] == 0.05 and notices
    demos.run("sharded_clip", clean)


# --------------------------------------------------------------------------- DDP and FSDP2, for real


def _data(torch):
    """Both ranks' batches: STEPS steps of ROWS rows per rank, targets far off so clipping acts."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(STEPS, WORLD, ROWS, 4, generator=g)
    return x, 3.0 * x.sum(dim=-1, keepdim=True) + 5.0


def _model(torch):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def _reference(torch):
    """One process on both ranks' batches of each step: its last norm and final weights."""
    x, y = _data(torch)
    model = _model(torch)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    for step in range(STEPS):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x[step].reshape(-1, 4)), y[step].reshape(-1, 1)).backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), TAU)
        opt.step()
    return float(norm), [p.detach().numpy().copy() for p in model.parameters()]


def _run_ddp(torch, rank):
    x, y = _data(torch)
    model = _model(torch)
    names = {"model": model, "loader": [(x[s, rank], y[s, rank]) for s in range(STEPS)],
             "optimizer": torch.optim.SGD(model.parameters(), lr=LR), "loss_fn": torch.nn.functional.mse_loss}
    ns = run_page_block(PAGE, "DistributedDataParallel", names)
    return {"norm": float(ns["total_norm"]), "weights": [p.detach().numpy().copy() for p in ns["model"].module.parameters()]}


def _run_fsdp(torch, rank):
    x, y = _data(torch)
    names = {"model": _model(torch), "inputs": x[0, rank], "targets": y[0, rank],
             "loss_fn": torch.nn.functional.mse_loss}
    ns = run_page_block(PAGE, "fully_shard(", names)
    grads = ns["grads"]
    clipped_local = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.to_local()) for g in grads]))
    return {"norm": float(ns["total_norm"]), "local": float(ns["local_norm"]),
            "dtensor": type(grads[0]).__name__, "clipped_local": float(clipped_local)}


def _rank(rank, port, results):
    """One rank: both recipes, in one process group; reports a dict or the traceback."""
    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    try:
        dist.init_process_group("gloo", rank=rank, world_size=WORLD, timeout=datetime.timedelta(seconds=30))
        torch.set_num_threads(1)
        results.put((rank, {"ddp": _run_ddp(torch, rank), "fsdp": _run_fsdp(torch, rank)}))
    except BaseException:
        results.put((rank, traceback.format_exc()))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks():
    """Both recipes on two spawned processes; {rank: results}."""
    torch = need("torch")
    import torch.distributed as dist
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("this torch has no gloo backend")
    ctx = torch.multiprocessing.get_context("spawn")
    results = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_rank, args=(r, port, results), daemon=True) for r in range(WORLD)]
    for p in procs:
        p.start()
    got = {}
    try:
        for _ in range(WORLD):
            rank, out = results.get(timeout=90)
            got[rank] = out
    except queue_module.Empty:
        pytest.fail(f"the distributed recipes did not finish in time; got ranks {sorted(got)}")
    finally:
        for p in procs:
            p.join(timeout=15)
            if p.is_alive():
                p.kill()
    for rank, out in got.items():
        assert isinstance(out, dict), f"rank {rank} failed:\n{out}"
    return got


def test_ddp_recipe_logs_one_norm_equal_to_a_single_process(ranks):
    torch = need("torch")
    ref_norm, ref_weights = _reference(torch)
    assert ranks[0]["ddp"]["norm"] == ranks[1]["ddp"]["norm"]
    assert ranks[0]["ddp"]["norm"] == pytest.approx(ref_norm, rel=1e-5)
    assert ref_norm > TAU                                   # the clip acted
    for rank in ranks.values():
        for got, want in zip(rank["ddp"]["weights"], ref_weights):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_fsdp2_recipe_clips_by_the_global_norm_of_dtensor_gradients(ranks):
    torch = need("torch")
    x, y = _data(torch)
    model = _model(torch)
    torch.nn.functional.mse_loss(model(x[0].reshape(-1, 4)), y[0].reshape(-1, 1)).backward()
    full = float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))
    a, b = ranks[0]["fsdp"], ranks[1]["fsdp"]
    assert a["dtensor"] == "DTensor"
    assert a["norm"] == b["norm"] == pytest.approx(full, rel=1e-5)
    assert a["local"] < a["norm"] and b["local"] < b["norm"]
    assert gradclip.combine_norms([a["local"], b["local"]]) == pytest.approx(a["norm"], rel=1e-5)
    # after the clip, the shards together have norm max_norm
    assert full > TAU
    assert gradclip.combine_norms([a["clipped_local"], b["clipped_local"]]) == pytest.approx(TAU, rel=1e-5)


def test_page_says_which_recipes_ran():
    text = (ROOT / "docs" / PAGE).read_text()
    for marker in RECIPES:
        assert page_block(PAGE, marker)
    assert "FSDP needs a non-CPU accelerator device" in text
    torch = pytest.importorskip("torch")
    src = Path(torch.__file__).parent / "distributed" / "fsdp" / "_init_utils.py"
    assert "FSDP needs a non-CPU accelerator device" in src.read_text()


def test_deepspeed_config_block_sets_gradient_clipping():
    text = (ROOT / "docs" / PAGE).read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    config = json.loads(blocks[0])
    assert config["gradient_clipping"] == 1.0
