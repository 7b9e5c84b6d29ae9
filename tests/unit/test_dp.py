"""gradclip.dp in NumPy: per-example clipping, the DP-SGD step, DP-SGD training and its demo.

The properties DP-SGD relies on (every example's clipped gradient has norm at most C, in every
tensor with per-layer clipping; small examples pass unchanged; sigma = 0 gives the mean of the
clipped rows; the noise has standard deviation sigma * C on the sum), the validation, the
fast factored path held equal to its reference, and the demo's claims at its defaults.
The comparison with Opacus and torch.func is in test_training_dp.py.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gradclip import demos
from gradclip.demos import stacks_dp
from gradclip.dp import _clip_sum, _factored_clip_sum, clip_per_example, dp_sgd_step, dp_sgd_train
from gradclip.nets import MLP
from gradclip.tasks import RegressionTask
from gradclip.train import RunSpec, train_runs


def rows(seed: int = 0, B: int = 6) -> list[np.ndarray]:
    """Per-example gradients of three tensors, norms spread over two decades."""
    rng = np.random.default_rng(seed)
    scale = np.geomspace(0.1, 10.0, B)
    return [rng.standard_normal((B, 3, 2)) * scale[:, None, None], rng.standard_normal((B, 2)) * scale[:, None],
            rng.standard_normal((B,)) * scale]


def row_norms(grads: list[np.ndarray]) -> np.ndarray:
    return np.sqrt(sum((g.reshape(g.shape[0], -1) ** 2).sum(axis=1) for g in grads))


def test_flat_clipping_bounds_every_example_and_keeps_its_direction():
    g = rows()
    before, C = row_norms(g), 1.0
    out = clip_per_example(g, C)
    after = row_norms(out)
    assert (before > C).any() and (before < C).any()
    assert np.all(after <= C * (1 + 1e-12))
    small = before < C - 1e-6
    for a, b in zip(out, g):
        assert np.array_equal(a[small], b[small])        # factor clamped at exactly 1
        ratio = (a.reshape(len(a), -1) / b.reshape(len(b), -1))
        assert np.allclose(ratio, ratio[:, :1])           # one factor per example: same direction
    big = before > C
    assert np.allclose(after[big], C / (before[big] + 1e-6) * before[big], rtol=1e-14)   # Opacus's factor


def test_per_layer_clipping_bounds_each_tensor_with_its_own_threshold():
    g, caps = rows(1), [0.5, 1.0, 2.0]
    out = clip_per_example(g, caps, per_layer=True)
    for t, (a, b) in enumerate(zip(out, g)):
        na, nb = row_norms([a]), row_norms([b])
        assert np.all(na <= caps[t] * (1 + 1e-12)) and (nb > caps[t]).any()
    same = clip_per_example(g, 1.0, per_layer=True)        # one value: every tensor's threshold
    assert all(np.array_equal(a, b) for a, b in zip(same, clip_per_example(g, [1.0] * 3, per_layer=True)))


def test_sigma_zero_gives_the_mean_of_the_clipped_rows():
    g = rows(2)
    step = dp_sgd_step(g, 1.0, 0.0)
    for a, c in zip(step.grad, clip_per_example(g, 1.0)):
        assert np.allclose(a, c.mean(axis=0), rtol=1e-14, atol=1e-16)
    assert np.allclose(step.norms, row_norms(g))
    assert step.clipped_fraction == pytest.approx(np.mean(row_norms(g) > 1.0))
    by_expected = dp_sgd_step(g, 1.0, 0.0, expected_batch_size=12)
    assert np.allclose(by_expected.grad[0] * 12, step.grad[0] * 6) and by_expected.divisor == 12


@pytest.mark.parametrize("per_layer", [False, True])
def test_the_noise_has_standard_deviation_sigma_times_c_on_the_sum(per_layer):
    B, sigma, caps = 4, 1.5, [2.0, 3.0]
    g = [np.ones((B, 40_000)), np.ones((B, 10_000))]
    step = dp_sgd_step(g, caps if per_layer else 2.0, sigma, per_layer=per_layer, seed=3)
    want = sigma * (math.hypot(*caps) if per_layer else 2.0)
    assert step.noise_std == pytest.approx(want)
    clean = dp_sgd_step(g, caps if per_layer else 2.0, 0.0, per_layer=per_layer)
    noise = np.concatenate([(a - c) * B for a, c in zip(step.grad, clean.grad)])
    assert abs(noise.mean()) < 0.02 * want and noise.std() == pytest.approx(want, rel=0.02)
    again = dp_sgd_step(g, caps if per_layer else 2.0, sigma, per_layer=per_layer, seed=3)
    other = dp_sgd_step(g, caps if per_layer else 2.0, sigma, per_layer=per_layer, seed=4)
    assert np.array_equal(step.grad[0], again.grad[0]) and not np.array_equal(step.grad[0], other.grad[0])


@pytest.mark.parametrize("call, match", [
    (lambda: clip_per_example(rows(), 0.0), "max_norm"),
    (lambda: clip_per_example(rows(), -1.0), "max_norm"),
    (lambda: clip_per_example(rows(), math.nan), "max_norm"),
    (lambda: clip_per_example(rows(), math.inf), "max_norm"),
    (lambda: clip_per_example(rows(), [1.0, 2.0], per_layer=True), "one threshold per tensor"),
    (lambda: clip_per_example(rows(), [1.0, 0.0, 1.0], per_layer=True), "max_norm"),
    (lambda: clip_per_example([np.ones((3, 2)), np.ones((4,))], 1.0), "leading example axis"),
    (lambda: clip_per_example([np.array([[1.0, math.nan]])], 1.0), r"grads\[0\]"),
    (lambda: clip_per_example([np.array([[1.0, math.inf]])], 1.0), r"grads\[0\]"),
    (lambda: clip_per_example([np.ones((0, 2))], 1.0), "at least|>= 1"),
    (lambda: dp_sgd_step(rows(), 1.0, -0.5), "noise_multiplier"),
    (lambda: dp_sgd_step(rows(), 1.0, math.nan), "noise_multiplier"),
    (lambda: dp_sgd_step(rows(), 1.0, 1.0, expected_batch_size=0), "expected_batch_size"),
    (lambda: dp_sgd_step(rows(), 1.0, 1.0, seed=-1), "seed"),
    (lambda: dp_sgd_train([math.inf], [1.0], steps=2), "noise_multipliers"),
    (lambda: dp_sgd_train([1.0, 2.0], [1.0, 2.0, 3.0], steps=2), "broadcast"),
    (lambda: dp_sgd_train([1.0], [1.0], lr=0.0, steps=2), "lr"),
])
def test_bad_input_is_a_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call", [lambda: clip_per_example(rows(), [1.0, 2.0, 3.0]),   # a list without per_layer
                                  lambda: clip_per_example("abc", 1.0),
                                  lambda: dp_sgd_step(rows(), 1.0, 1.0, per_layer="yes")])
def test_wrong_kinds_are_type_errors(call):
    with pytest.raises(TypeError):
        call()


def test_the_factored_fast_path_equals_the_built_per_example_gradients():
    task = RegressionTask()
    net, batch = MLP(n_in=task.n_in), task.batches(1, 32, seed=1)[0]
    params = net.init(seed=2, runs=3)
    caps = np.array([[100.0], [1000.0], [np.inf]])
    _, built = net.per_example_grads(params, batch)
    _, factors = net.per_example_factors(params, batch)
    ref, fast = _clip_sum(built, caps, False), _factored_clip_sum(factors, caps)
    for a, b in zip(ref[0], fast[0]):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(a).max())
    assert np.allclose(ref[1], fast[1], rtol=1e-12) and np.array_equal(ref[2], fast[2])


def test_dp_training_without_clipping_or_noise_is_plain_sgd():
    runs = dp_sgd_train([math.inf, 500.0], [0.0, 0.0], lr=0.003, steps=20, seed=1)
    plain = train_runs(MLP(n_in=20), RegressionTask(), [RunSpec("none", 1.0, 0.003)], 20, "sgd", 1, batch_size=64)[0]
    assert np.allclose(runs.logs[0].loss, plain.loss, rtol=1e-9)
    assert not np.allclose(runs.logs[1].loss, plain.loss, rtol=1e-3)          # C = 500 clips most examples
    assert np.all(runs.clipped_fraction[0] == 0) and runs.clipped_fraction[1].mean() > 0.5


def test_the_demo_shows_a_best_clip_norm_between_the_ends_of_the_grid():
    out = demos.run("dp_sgd", {})
    json.dumps(out, allow_nan=False)
    r = {k: float(v["value"]) for k, v in out["results"].items()}
    assert r["best_loss"] < r["smallest_clip_loss"] and r["best_loss"] < r["largest_clip_loss"]
    assert stacks_dp.DP_GRID[0] < r["best_clip"] < stacks_dp.DP_GRID[-1]
    assert 0.1 < r["best_clip"] / r["median_norm"] < 10      # within a decade of the median norm
    assert r["final_sgd"] < r["best_loss"]                    # privacy costs accuracy here
    # the reader's run at a grid C equals that grid run (shared noise draw)
    runs, final = stacks_dp.dp_grid_runs(1000.0, 1.0, 0.003, 0)
    i = 1 + stacks_dp.DP_GRID.index(1000.0)
    assert final[-2] == final[i] and r["final_dp"] == final[-2]


def test_the_demo_clamps_bad_settings():
    clean, notices = demos.validate("dp_sgd", {"clip": -5, "sigma": 99, "lr": "x", "seed": 5000})
    assert clean["clip"] == 10.0 and clean["sigma"] == 4.0 and clean["seed"] == 999 and len(notices) == 4
    out = demos.run("dp_sgd", {"clip": 1e9, "sigma": -1})
    json.dumps(out, allow_nan=False)


# --- the command line ------------------------------------------------------------------------

def test_the_dp_sgd_command_prints_a_row_per_clip_norm_from_dp_sgd_train(capsys):
    from gradclip import cli

    assert cli.main(["dp-sgd", "--clip", "100,1000", "--noise", "0.5", "--steps", "20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == ["no", "100", "1000"]
    final = dp_sgd_train([math.inf, 100.0, 1000.0], [0.0, 0.5, 0.5], steps=20).final_loss()
    from gradclip.figures.numbers import fmt_number
    assert [r[-3] for r in rows] == [fmt_number(v / RegressionTask().baseline_loss) for v in final]


@pytest.mark.parametrize("option", ["--clip", "--noise", "--lr", "--steps", "--batch-size", "--seed"])
@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "abc", "", "1e400", "1.5", "1,", "9" * 400, "\N{MINUS SIGN}1"])
def test_the_dp_sgd_command_answers_bad_input_with_one_line_and_status_2(capsys, option, value):
    from gradclip import cli

    extra = ["--steps", "2"] if option != "--steps" else []
    code = cli.main(["dp-sgd", f"{option}={value}", *extra])
    out, err = capsys.readouterr()
    if code == 0:                       # a value that happens to be valid (e.g. --noise 0)
        assert err == ""
        return
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("gradclip")


def test_the_pages_reading_of_the_demo_holds():
    """docs/training/dp-sgd.md, "Reading it": at the defaults the clipping, not the noise, makes
    most of the gap to SGD; the clipping-only curve falls with C until it meets SGD; a larger
    sigma moves the best C down (sigma 0.5 against 2)."""
    r = {k: float(v["value"]) for k, v in demos.run("dp_sgd", {})["results"].items()}
    assert r["final_clip_only"] > 0.5 * r["final_dp"] > 5 * r["final_sgd"]
    _, final = stacks_dp.dp_grid_runs(1000.0, 1.0, 0.003, 0)
    n = len(stacks_dp.DP_GRID)
    clip_only = final[1 + n:1 + 2 * n]
    assert np.all(np.diff(clip_only) <= 1e-12) and clip_only[-1] == pytest.approx(final[0], rel=1e-6)
    best = [float(demos.run("dp_sgd", {"sigma": s})["results"]["best_clip"]["value"]) for s in (0.5, 2.0)]
    assert best[1] < best[0]


@pytest.mark.parametrize("end", ["min", "max"])
def test_the_demo_runs_at_the_ends_of_its_ranges(end):
    spec = demos.REGISTRY["dp_sgd"]
    out = demos.run("dp_sgd", {p.name: getattr(p, end) for p in spec.params})
    json.dumps(out, allow_nan=False)
    assert set(out["figures"]) == {"sweep", "curves"} and set(out["results"]) == {k for k, _ in spec.results}
