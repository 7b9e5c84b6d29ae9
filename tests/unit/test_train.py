"""Training: synthetic tasks, the per-step log, determinism, and the worked examples' honesty.

The worked-example tests are the bars of the issue: the unclipped configurations really blow
up and the clipped ones do not. They also guard what the worked-examples page says about
them, so the page cannot drift from what gradclip computes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradclip
from gradclip import clipping
from gradclip.demos.monitor import WORKED_MLP_RUNS, WORKED_MLP_SETUP, WORKED_RNN_RUNS, WORKED_RNN_SETUP
from gradclip.tasks import AddingTask, BadBatches, RegressionTask, TemporalOrderTask, make_task
from gradclip.train import BLOWUP, RunSpec, train, train_iter, train_runs

LOG_ARRAYS = ("loss", "grad_norm", "clipped_norm", "update_norm", "clipped", "threshold", "layer_norms",
              "bad_batch")


# ---------------------------------------------------------------------------------- tasks


def test_adding_problem_target_is_the_sum_of_the_two_marked_values():
    b = AddingTask(seq_len=12).batches(3, 5, seed=1)[2]
    values, marks = b.x[:, :, 0], b.x[:, :, 1]
    assert np.all(marks.sum(axis=0) == 2)
    assert np.all(marks[:6].sum(axis=0) == 1)               # one marker in each half
    np.testing.assert_allclose(b.y[:, 0], (values * marks).sum(axis=0))


def test_temporal_order_class_encodes_the_two_relevant_symbols_in_order():
    b = TemporalOrderTask(seq_len=20).batches(1, 50, seed=3)[0]
    sym = b.x.argmax(axis=2)                                 # (T, B): 0..3 distractors, 4 = X, 5 = Y
    for j in range(50):
        relevant = [s - 4 for s in sym[:, j] if s >= 4]
        assert len(relevant) == 2
        assert b.y[j] == 2 * relevant[0] + relevant[1]


def test_regression_data_set_is_like_make_regression_and_epochs_visit_every_sample_once():
    task = RegressionTask()
    X, y, w = task.dataset(seed=0)
    assert (w != 0).sum() == 10 and w.max() <= 100 and w.min() >= 0
    residual = y[:, 0] - X @ w
    assert residual.std() == pytest.approx(0.1, rel=0.15)    # the noise level
    first_epoch = task.batches(8, 128, seed=0)                # 1000 = 7 * 128 + 104
    rows = np.concatenate([b.x for b in first_epoch])
    assert rows.shape == (1000, 20)
    assert len({r.tobytes() for r in rows}) == 1000


def test_tasks_are_deterministic_for_a_seed():
    for task in (AddingTask(), TemporalOrderTask(), RegressionTask()):
        a, b = task.batches(3, 4, seed=9), task.batches(3, 4, seed=9)
        c = task.batches(3, 4, seed=10)
        assert all(np.array_equal(p.x, q.x) and np.array_equal(p.y, q.y) for p, q in zip(a, b))
        assert not np.array_equal(a[0].x, c[0].x)


def test_make_task_names_the_allowed_tasks():
    with pytest.raises(ValueError, match="adding, temporal_order, regression"):
        make_task("mnist")
    with pytest.raises(ValueError, match="seq_len"):
        AddingTask(seq_len=1)


# ------------------------------------------------------------------------- bad batches


@pytest.mark.parametrize("task, part", [(AddingTask(), "targets"), (RegressionTask(), "targets"),
                                        (TemporalOrderTask(), "inputs"), (AddingTask(), "inputs")])
def test_bad_batches_scale_only_the_chosen_steps_and_leave_the_stream_as_it_was(task, part):
    bad = BadBatches(task, count=4, scale=7.5, part=part, start=3)
    plain, spiked = task.batches(30, seed=2), bad.batches(30, seed=2)
    steps = bad.bad_steps(30, seed=2)
    assert steps.size == 4 == np.unique(steps).size and steps.min() >= 3 and steps.max() <= 29
    for s, (a, b) in enumerate(zip(plain, spiked)):
        k = 7.5 if s in steps else 1.0
        np.testing.assert_array_equal(b.x, k * a.x if part == "inputs" else a.x)
        np.testing.assert_array_equal(b.y, k * a.y if part == "targets" else a.y)


def test_the_bad_steps_depend_on_the_seed_and_nothing_else():
    bad = BadBatches(AddingTask(), count=5, start=10)
    a, b = bad.bad_steps(200, seed=1), bad.bad_steps(200, seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, bad.bad_steps(200, seed=2))
    # scale and part choose what a bad batch is, not where it falls
    assert np.array_equal(a, BadBatches(AddingTask(), count=5, start=10, scale=3.0, part="inputs").bad_steps(200, 1))
    assert BadBatches(AddingTask(), count=0).bad_steps(50).size == 0


def test_a_task_with_bad_batches_describes_itself_as_the_task_it_wraps():
    bad = BadBatches(TemporalOrderTask(seq_len=20), count=2, scale=4.0, part="inputs")
    assert (bad.name, bad.n_in, bad.n_out, bad.loss, bad.seq_len, bad.sequence) == ("temporal_order", 6, 4, "xent", 20, True)
    assert bad.baseline_loss == TemporalOrderTask().baseline_loss
    assert "2 bad batches" in bad.title and "inputs × 4" in bad.title


@pytest.mark.parametrize("kwargs, kind, match", [
    ({"count": -1}, ValueError, r"count must be an integer from 0 to 10000, got -1"),
    ({"count": 2.5}, ValueError, r"count must be an integer"),
    ({"scale": 0.0}, ValueError, r"scale must be a number > 0 and <= 1e\+06, got 0.0"),
    ({"scale": math.nan}, ValueError, r"scale must be"),
    ({"scale": math.inf}, ValueError, r"scale must be"),
    ({"scale": "big"}, TypeError, r"scale must be"),
    ({"part": "labels"}, ValueError, r"part must be one of targets, inputs; got 'labels'"),
    ({"start": 0}, ValueError, r"start must be an integer from 1 to 100000, got 0"),
    ({"start": 10**6}, ValueError, r"start must be an integer from 1 to 100000, got 1000000"),
    ({"task": "adding"}, TypeError, r"task must be an AddingTask, TemporalOrderTask or RegressionTask"),
    ({"task": BadBatches(AddingTask())}, TypeError, r"task must be an AddingTask"),
    ({"task": TemporalOrderTask()}, ValueError, r"part must be 'inputs' for a classification task"),
])
def test_bad_batches_name_every_bad_argument(kwargs, kind, match):
    with pytest.raises(kind, match=match):
        BadBatches(**{"task": AddingTask(), **kwargs})


def test_more_bad_batches_than_steps_is_refused_when_training_is_called():
    task = BadBatches(AddingTask(), count=5, start=8)
    with pytest.raises(ValueError, match=r"count must be at most steps - start = 2 .*got 5"):
        train_iter("rnn1", task, [RunSpec()], steps=10)


def test_every_run_meets_the_same_bad_batches_and_its_log_marks_them():
    task = BadBatches(AddingTask(), count=2, scale=10.0, start=20)
    where = task.bad_steps(60, seed=0)
    first = int(where[0])
    (plain,) = train_runs("rnn1", task, [RunSpec("none")], steps=60, rho=1.0)
    # A bad batch is a spike: far above the norms before it.
    assert plain.grad_norm[first] > 10 * np.median(plain.grad_norm[:first])
    # A threshold above every norm before it: the clipped run is the unclipped one until the
    # bad batch, which it clips to tau.
    tau = 1.5 * float(plain.grad_norm[:first].max())
    again, clipped = train_runs("rnn1", task, [RunSpec("none"), RunSpec("norm", tau)], steps=60, rho=1.0)
    for log in (plain, again, clipped):
        np.testing.assert_array_equal(np.flatnonzero(log.bad_batch), where)
    np.testing.assert_array_equal(again.loss, plain.loss)          # batched or alone: one run
    np.testing.assert_array_equal(clipped.loss[:first + 1], plain.loss[:first + 1])
    assert np.flatnonzero(clipped.clipped)[0] == first
    assert clipped.clipped_norm[first] == pytest.approx(tau, rel=1e-5)
    assert clipped.loss[first + 1] != plain.loss[first + 1]


def test_a_bad_batch_is_its_own_loss_not_a_blow_up():
    task = BadBatches(AddingTask(), count=1, scale=100.0, start=10)
    log = train("rnn1", task, "norm", 0.1, 0.01, 30, rho=1.0)
    s = int(np.flatnonzero(log.bad_batch)[0])
    assert log.loss[s] > BLOWUP * log.loss[0]          # by construction: targets x 100
    assert not log.summary.diverged
    ordinary = log.loss[~log.bad_batch]
    assert log.summary.min_loss == ordinary.min()
    tail = slice(27, 30)
    assert log.summary.final_loss == pytest.approx(log.loss[tail][~log.bad_batch[tail]].mean())
    # ... but a non-finite loss still is one, bad batch or not
    broken = train("rnn1", BadBatches(AddingTask(), count=1, scale=1e6, start=5), "none", 1.0, 1.0, 40, rho=1.0)
    assert broken.summary.diverged


# ---------------------------------------------------------------------------------- the log


def test_training_is_deterministic_for_a_seed():
    a = train("rnn2", "adding", "norm", 1.0, 0.05, 40, "momentum", seed=3)
    b = train("rnn2", "adding", "norm", 1.0, 0.05, 40, "momentum", seed=3)
    c = train("rnn2", "adding", "norm", 1.0, 0.05, 40, "momentum", seed=4)
    for name in LOG_ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.loss, c.loss)


def test_runs_in_one_batch_match_the_same_runs_trained_alone():
    specs = [RunSpec("norm", 1.0, 0.05), RunSpec("value", 0.05, 0.02), RunSpec("none", 1.0, 0.01)]
    together = train_runs("rnn1", "adding", specs, steps=30, seed=2)
    for spec, log in zip(specs, together):
        alone = train("rnn1", "adding", spec.method, spec.tau, spec.lr, 30, seed=2)
        np.testing.assert_allclose(log.loss, alone.loss, rtol=1e-9)
        np.testing.assert_allclose(log.grad_norm, alone.grad_norm, rtol=1e-9)


def test_norm_clipping_caps_the_gradient_and_an_sgd_step_at_lr_times_tau():
    log = train("rnn3", "adding", "norm", 0.5, 0.05, 60, "sgd", seed=0)
    assert np.all(log.clipped_norm <= 0.5 * (1 + 1e-9))
    np.testing.assert_array_equal(log.clipped, log.grad_norm > 0.5)
    # SGD: the update is lr times the clipped gradient.
    np.testing.assert_allclose(log.update_norm, 0.05 * log.clipped_norm, rtol=1e-9)
    below = ~log.clipped
    np.testing.assert_allclose(log.clipped_norm[below], log.grad_norm[below], rtol=1e-12)
    assert np.all(log.threshold == 0.5)


def test_clipping_goes_through_the_package_functions(monkeypatch):
    calls = []
    real = clipping.clip_grad_norm

    def spy(grads, max_norm, *args, **kwargs):
        calls.append(max_norm)
        return real(grads, max_norm, *args, **kwargs)

    monkeypatch.setattr(clipping, "clip_grad_norm", spy)
    train("rnn1", "adding", "norm", 0.7, 0.05, 5, seed=0)
    assert calls == [0.7] * 5


def test_a_clip_hook_replaces_every_runs_clip_and_can_skip_a_step():
    """The hook sees each run's tensors; clipping like method 'norm' gives that run's numbers, and
    a step it skips moves nothing (the optimiser's state on a skip: test_training_spikes)."""
    seen = []

    def hook(grads, params, run, step):
        seen.append((run, step, len(grads) == len(params)))
        out, _ = clipping.clip_grad_norm(grads, 0.5)
        return out, 0.5, run == 1 and step == 2
    specs = [RunSpec("none", 1.0, 0.01)] * 2
    hooked, skipping = train_runs("rnn1", "adding", specs, 6, "adam", seed=1, clip=hook)
    plain = train("rnn1", "adding", "norm", 0.5, 0.01, 6, "adam", seed=1)
    assert sorted(seen) == [(r, s, True) for r in (0, 1) for s in range(6)]
    np.testing.assert_allclose(hooked.loss, plain.loss, rtol=1e-9)
    assert np.all(hooked.threshold == 0.5) and not hooked.skipped.any()
    assert skipping.skipped.tolist() == [False, False, True, False, False, False]
    assert skipping.update_norm[2] == 0.0 and hooked.update_norm[2] > 0.0
    np.testing.assert_array_equal(skipping.loss[:3], hooked.loss[:3])     # same until the skip
    assert skipping.loss[3] != hooked.loss[3]
    with pytest.raises(TypeError, match="clip must be a function"):
        train_iter("rnn1", "adding", steps=2, clip=3)


def test_per_layer_norms_add_up_to_the_global_norm():
    log = train("rnn3", "temporal_order", "none", 1.0, 0.05, 10, seed=1)
    assert log.layer_names == ("layer 1", "layer 2", "layer 3", "output")
    np.testing.assert_allclose(np.sqrt((log.layer_norms ** 2).sum(axis=1)), log.grad_norm, rtol=1e-12)
    assert not log.clipped.any() and np.all(np.isinf(log.threshold))


def test_value_clipping_flags_steps_where_a_component_was_clamped():
    log = train("mlp", "regression", "value", 1.0, 0.01, 20, "sgd", seed=0)
    assert log.clipped.all()                      # gradients of ~100-sized targets exceed 1
    assert np.all(log.clipped_norm < log.grad_norm)


@pytest.mark.parametrize("method, tau", [("agc", 0.05), ("autoclip", 10.0), ("zclip", 2.5)])
def test_adaptive_rules_train_and_log_their_threshold(method, tau):
    log = train("rnn1", "adding", method, tau, 0.05, 60, seed=0)
    assert np.isfinite(log.loss).all()
    if method == "zclip":
        assert np.all(np.isinf(log.threshold[:25])) and not log.clipped[:25].any()   # warm-up
        assert np.isfinite(log.threshold[25:]).all()
    elif method == "autoclip":
        # The 10th percentile of the norms so far: most steps are above it.
        assert log.clipped.mean() > 0.5 and np.all(log.threshold <= log.grad_norm.max())
    else:
        assert np.isnan(log.threshold).all() and log.clipped.any()


def test_adam_and_momentum_train_the_regression_mlp_with_norm_clipping():
    for opt, lr in (("adam", 0.1), ("momentum", 0.01)):
        log = train("mlp", "regression", "norm", 10.0, lr, 200, opt, seed=1)
        assert log.summary.final_loss < 0.2 * log.summary.initial_loss


@pytest.mark.torch
def test_mlp_training_matches_pytorch_step_for_step():
    """Same weights, same batches: PyTorch's autograd, clip_grad_norm_ and SGD with momentum
    give the losses and norms gradclip logs (a check of the backprop and the optimizer)."""
    torch = pytest.importorskip("torch")
    from gradclip.nets import MLP
    task = RegressionTask(n_samples=64)
    net = MLP(n_in=20, n_hidden=5)
    log = train(net, task, "norm", 50.0, 0.001, 6, "momentum", seed=0, momentum=0.8, batch_size=16)
    weights = [torch.tensor(p[0], requires_grad=True) for p in net.init(seed=0)]
    W1, b1, W2, b2 = weights
    opt = torch.optim.SGD(weights, lr=0.001, momentum=0.8)
    losses, norms = [], []
    for b in task.batches(6, 16, seed=0):
        x, y = torch.tensor(b.x), torch.tensor(b.y)
        loss = torch.nn.functional.mse_loss(torch.relu(x @ W1 + b1) @ W2 + b2, y)
        opt.zero_grad()
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(weights, 50.0).item())
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(log.loss, losses, rtol=1e-10)
    np.testing.assert_allclose(log.grad_norm, norms, rtol=1e-10)
    assert log.clipped.any()                     # the comparison covered clipped steps


def test_progress_streams_every_step_and_ends_complete():
    seen = [p.done for p in train_iter("rnn1", "adding", [RunSpec("norm", 1.0, 0.05)], steps=7)]
    assert seen == list(range(1, 8))
    p = list(train_iter("rnn1", "adding", [RunSpec()], steps=7))[3]
    assert p.logs()[0].steps == 4


def test_summary_definitions():
    log = train("rnn1", "adding", "norm", 1.0, 0.05, 50, seed=0)
    assert not log.bad_batch.any()                      # a plain task has no bad batch
    s = log.summary
    assert s.initial_loss == log.loss[0]
    assert s.final_loss == pytest.approx(log.loss[-5:].mean())        # the last tenth
    assert s.clip_events == log.clipped.sum() and s.clip_fraction == s.clip_events / 50
    assert s.loss_reduction_pct == pytest.approx(100 * (1 - s.final_loss / s.initial_loss))


@pytest.mark.parametrize("kwargs, word", [
    ({"steps": 0}, "steps"), ({"steps": 10**6}, "steps"), ({"optimizer": "rmsprop"}, "optimizer"),
    ({"method": "clip"}, "method"), ({"tau": -1.0}, "tau"), ({"lr": 0.0}, "lr"),
    ({"model": "mlp"}, "tabular task"), ({"momentum": 1.0}, "momentum"),
    ({"method": "autoclip", "tau": 150.0}, "percentile"),
])
def test_bad_arguments_name_the_argument(kwargs, word):
    args = {"model": "rnn1", "task": "adding", "steps": 5, **kwargs}
    with pytest.raises(ValueError, match=word):
        train(**args)


# ----------------------------------------------------------------------- worked examples


@pytest.fixture(scope="module")
def worked_rnn():
    return train_runs(**WORKED_RNN_SETUP, runs=WORKED_RNN_RUNS, seed=0)


def test_worked_rnn_unclipped_blows_up_and_clipped_runs_do_not(worked_rnn):
    tau1, none, tau05 = worked_rnn
    assert none.summary.diverged
    assert not np.isfinite(none.loss[-1]) or none.loss[-1] > BLOWUP * none.loss[0]
    for log in (tau1, tau05):
        assert not log.summary.diverged and np.isfinite(log.loss).all()
        # Learned more than the mean: below the loss of always predicting 1.
        assert log.summary.final_loss < AddingTask().baseline_loss


def test_worked_rnn_page_claims(worked_rnn):
    """What the worked-examples page says in words: clipping acts on nearly every step at
    tau = 1, and the three runs share the first step (same seed)."""
    tau1, none, tau05 = worked_rnn
    assert tau1.summary.clip_fraction > 0.9
    assert tau1.loss[0] == none.loss[0] == tau05.loss[0]
    assert none.summary.diverged_at < 100             # early, not late as in the source's story
    at = none.summary.diverged_at
    assert none.grad_norm[:at + 1].max() > 100 * none.grad_norm[0]   # norms jump by orders of magnitude


def test_halving_tau_helps_or_hurts_depending_on_the_seed(worked_rnn, worked_rnn_seed1):
    """The page says the effect of tau = 0.5 on the final loss depends on the seed."""
    tau1, _, tau05 = worked_rnn
    other_tau1, _, other_tau05 = worked_rnn_seed1
    first = tau05.summary.final_loss > tau1.summary.final_loss
    second = other_tau05.summary.final_loss > other_tau1.summary.final_loss
    assert first != second


@pytest.fixture(scope="module")
def worked_rnn_seed1():
    return train_runs(**WORKED_RNN_SETUP, runs=WORKED_RNN_RUNS, seed=1)


def test_worked_rnn_blows_up_for_another_seed_too(worked_rnn_seed1):
    tau1, none, tau05 = worked_rnn_seed1
    assert none.summary.diverged and not tau1.summary.diverged and not tau05.summary.diverged


def test_a_narrower_rnn_would_not_have_been_an_honest_demonstration():
    """The page says why the RNNs have 32 units: with 24 the unclipped run does not blow up."""
    logs = train_runs(**WORKED_RNN_SETUP, runs=WORKED_RNN_RUNS[1:2], seed=0, n_hidden=24)
    assert not logs[0].summary.diverged


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_worked_mlp_unclipped_blows_up_and_clipped_runs_do_not(seed):
    value, none, norm = train_runs(**WORKED_MLP_SETUP, runs=WORKED_MLP_RUNS, seed=seed)
    assert none.summary.diverged and not math.isfinite(none.summary.final_loss)
    assert none.summary.diverged_at < 10                              # "within its first few steps"
    assert value.summary.initial_loss > 1e4                           # "tens of thousands"
    for log in (value, norm):
        assert not log.summary.diverged
        assert log.summary.final_loss < 0.01 * log.summary.initial_loss
    assert norm.summary.final_loss < value.summary.final_loss        # as the page says


def test_dead_runs_leave_the_batch_with_nan_logs(worked_rnn):
    none = worked_rnn[1]
    dead = np.flatnonzero(np.isnan(none.loss))
    assert dead.size and np.all(np.isnan(none.loss[dead[0]:]))
    assert not none.clipped[dead[0]:].any()


def test_public_names_are_exported():
    for name in ("train", "train_runs", "train_iter", "RunSpec", "ElmanRNN", "MLP", "AddingTask",
                 "NormTracker", "parse_norm_log", "analyse_norms"):
        assert hasattr(gradclip, name)


# --- arguments (issue 17): each bad one named, with its range and the value -----------------


@pytest.mark.parametrize("kwargs, kind, match", [
    ({"seed": 1.5}, ValueError, r"seed must be an integer >= 0, got 1.5"),
    ({"seed": -1}, ValueError, r"seed must be an integer >= 0, got -1"),
    ({"n_hidden": 0}, ValueError, r"n_hidden must be an integer from 1 to 4096, got 0"),
    ({"tau": "a"}, TypeError, r"tau must be a number >= 1e-06 and <= 1e\+06, got 'a'"),
    ({"lr": None}, TypeError, r"lr must be a number >= 1e-06 and <= 10, got None"),
    ({"steps": math.nan}, ValueError, r"steps must be an integer from 1 to 5000, got nan"),
    ({"steps": math.inf}, ValueError, r"steps must be an integer from 1 to 5000, got inf"),
    ({"steps": True}, TypeError, r"steps must be an integer from 1 to 5000, got True"),
    ({"momentum": 1.0}, ValueError, r"momentum must be a number >= 0 and < 1, got 1.0"),
    ({"optimizer": None}, TypeError, r"optimizer must be one of sgd, momentum, adam; got None"),
    ({"rho": "x"}, TypeError, r"rho must be a number > 0 and <= 10, got 'x'"),
    ({"batch_size": 0}, ValueError, r"batch_size must be an integer"),
    ({"model": None}, TypeError, r"model must be one of rnn1, rnn2, rnn3, mlp or a model object, got None"),
    ({"task": 3}, TypeError, r"task must be one of adding, temporal_order, regression or a task object"),
])
def test_train_names_every_bad_argument(kwargs, kind, match):
    args = {"model": "rnn1", "task": "adding", "steps": 3, **kwargs}
    with pytest.raises(kind, match=match):
        train(**args)


def test_training_that_would_not_fit_in_memory_is_refused_before_it_starts():
    with pytest.raises(ValueError, match=r"the training run would need .* GiB of memory, more than the limit of 1 GiB"):
        train("rnn1", "adding", steps=3, batch_size=4096, seq_len=1000, n_hidden=4096)
    with pytest.raises(ValueError, match=r"the data set would need .* of memory, more than the limit of 1 GiB"):
        RegressionTask(n_samples=1_000_000, n_features=10_000)


@pytest.mark.parametrize("runs", ["norm", RunSpec(), 5, [5]])
def test_runs_must_be_a_list_of_runspecs(runs):
    with pytest.raises(TypeError, match="runs must"):
        train_runs("rnn1", "adding", runs, steps=2)
