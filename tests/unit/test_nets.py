"""The hand-written backpropagation of every model agrees with finite differences.

Each gradient is compared with a central difference of the loss,
(L(θ + ε e_i) − L(θ − ε e_i)) / 2ε, for every single parameter of every tensor, in several
runs at once (the run axis must keep runs independent). Weights are perturbed away from
their initial values so no symmetry hides a wrong term.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradclip.nets import MLP, ElmanRNN, group_norms, make_model
from gradclip.tasks import AddingTask, RegressionTask, TemporalOrderTask

EPS = 1e-6


def finite_difference(net, params, batch, eps=EPS):
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape[1:]):
            at = (slice(None),) + idx            # the same entry in every run at once
            old = p[at].copy()
            p[at] = old + eps
            up = net.loss_only(params, batch)
            p[at] = old - eps
            down = net.loss_only(params, batch)
            p[at] = old
            g[at] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def jiggle(params, seed=0, scale=0.2):
    rng = np.random.default_rng(seed)
    return [p + scale * rng.standard_normal(p.shape) for p in params]


def assert_close(analytic, numeric):
    for a, n in zip(analytic, numeric):
        assert a.shape == n.shape
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("task", [AddingTask(seq_len=6), TemporalOrderTask(seq_len=10)],
                         ids=["adding-mse", "temporal-order-xent"])
def test_rnn_backprop_through_time_matches_finite_differences(layers, task):
    net = ElmanRNN(n_in=task.n_in, n_out=task.n_out, n_hidden=5, n_layers=layers, rho=1.3, loss=task.loss)
    params = jiggle(net.init(seed=1, runs=2))
    batch = task.batches(1, 3, seed=2)[0]
    loss, grads = net.loss_and_grads(params, batch)
    np.testing.assert_allclose(loss, net.loss_only(params, batch), rtol=1e-12)
    assert_close(grads, finite_difference(net, params, batch))


def test_mlp_backprop_matches_finite_differences():
    task = RegressionTask(n_samples=50)
    net = MLP(n_in=20, n_hidden=6)
    params = jiggle(net.init(seed=0, runs=2), scale=0.1)
    batch = task.batches(1, 8, seed=0)[0]
    _, grads = net.loss_and_grads(params, batch)
    # Targets are ~100 in size, so the loss is ~1e4: a larger step keeps rounding small.
    numeric = finite_difference(net, params, batch, eps=1e-4)
    for a, n in zip(grads, numeric):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-4)


def test_runs_are_independent():
    """Changing run 1's weights changes neither run 0's loss nor its gradients."""
    task = AddingTask(seq_len=5)
    net = ElmanRNN(n_in=2, n_hidden=4, n_layers=2)
    params = net.init(seed=0, runs=2)
    batch = task.batches(1, 4, seed=0)[0]
    loss0, grads0 = net.loss_and_grads(params, batch)
    params[1][1] += 3.0
    loss1, grads1 = net.loss_and_grads(params, batch)
    assert loss1[0] == loss0[0] and loss1[1] != loss0[1]
    for a, b in zip(grads0, grads1):
        np.testing.assert_array_equal(a[0], b[0])


def test_init_is_deterministic_identical_across_runs_and_rho_sets_the_spectral_radius():
    net = ElmanRNN(n_in=2, n_hidden=8, n_layers=3, rho=1.3)
    a, b = net.init(seed=4, runs=3), net.init(seed=4, runs=3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x[0], x[2])
    for l in range(3):
        eig = np.abs(np.linalg.eigvals(a[3 * l + 1][0]))
        np.testing.assert_allclose(eig, 1.3, rtol=1e-9)      # a scaled orthogonal matrix
    assert not np.array_equal(net.init(seed=5)[0], a[0][:1])


def test_saturated_tanh_stays_finite():
    """Huge pre-activations give ±1, not NaN, and the forward pass stays finite."""
    net = ElmanRNN(n_in=2, n_hidden=3)
    params = [p * 1e6 for p in net.init(seed=0)]
    batch = AddingTask(seq_len=4).batches(1, 2, seed=0)[0]
    loss, grads = net.loss_and_grads(params, batch)
    assert np.isfinite(loss).all() and all(np.isfinite(g).all() for g in grads)


def test_group_norms_are_the_norms_of_each_layer():
    net = ElmanRNN(n_in=2, n_hidden=4, n_layers=2)
    _, grads = net.loss_and_grads(net.init(seed=0, runs=2), AddingTask(seq_len=5).batches(1, 3)[0])
    norms = group_norms(grads, net.groups())
    assert norms.shape == (2, 3)
    by_hand = np.sqrt(sum(np.sum(grads[i][0] ** 2) for i in (0, 1, 2)))
    assert norms[0, 0] == pytest.approx(by_hand)
    total = np.sqrt(sum(np.sum(g[0] ** 2) for g in grads))
    assert np.sqrt(np.sum(norms[0] ** 2)) == pytest.approx(total)


def test_make_model_sizes_the_network_for_the_task_and_refuses_mismatches():
    assert make_model("rnn2", TemporalOrderTask()).n_out == 4
    assert make_model("mlp", RegressionTask()).n_hidden == 25
    with pytest.raises(ValueError, match="sequence task"):
        make_model("rnn1", RegressionTask())
    with pytest.raises(ValueError, match="tabular task"):
        make_model("mlp", AddingTask())
    with pytest.raises(ValueError, match="model must be one of"):
        make_model("lstm", AddingTask())


@pytest.mark.parametrize("kwargs, word", [
    ({"n_layers": 4}, "n_layers"), ({"n_hidden": 0}, "n_hidden"), ({"rho": 0.0}, "rho"),
    ({"loss": "hinge"}, "loss"),
])
def test_bad_rnn_arguments_name_the_argument_and_range(kwargs, word):
    with pytest.raises(ValueError, match=word):
        ElmanRNN(n_in=2, **kwargs)
